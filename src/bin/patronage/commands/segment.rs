//! `patronage segment`: parses k (fixed or a range), the method and the feature list;
//! runs the CLV stage when a feature needs its scores (its notes on stderr and in the
//! JSON), then the segmentation stage (`stages::segment::segment`, which adds the CLV
//! columns and, for `channel_mix`, the channel shares); prints the segment profiles on
//! stderr, optionally saves the model, and writes the assignments and/or the JSON
//! summary. With `--part-files` the summary (the whole customer table for the channel
//! mix, and the CLV scores when a feature needs them) are written as part files in
//! hidden directories and segmented from there, and the assignments are written as part
//! files.

use std::path::PathBuf;

use patronage::engine::{SummaryParts, TableParts};
use patronage::segmentation::{KRule, Segmentation};
use patronage::stages::clv::{ClvSettings, ScoringPeriod, clv_table};
use patronage::stages::parts::ClvParts;
use patronage::stages::segment::{CLV_COLUMNS, SegmentSettings, segment};

use crate::args::{InputArgs, TimeArgs};
use crate::input::{customer_table, hidden_beside, on_summary_parts, on_table_parts};
use crate::print::{
    emit, grouped, percent, print_notes, print_parts_written, text_table, to_json_text,
};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_segment(
    input: &InputArgs,
    time: &TimeArgs,
    k: Option<usize>,
    k_range: &str,
    features: &str,
    method: &str,
    (seed, fit_sample, k_rule): (u64, usize, Option<&str>),
    output: Option<&PathBuf>,
    json: bool,
    save_model: Option<&PathBuf>,
    part_files: bool,
) -> patronage::Result<()> {
    use patronage::segmentation::{FeatureSpec, KChoice, Method, SegmentationSpec};
    let usage = |option: &str, reason: String| patronage::Error::InvalidOption {
        option: option.into(),
        reason,
    };
    let k = match k {
        Some(k) => KChoice::Fixed(k),
        None => {
            let (a, b) = k_range
                .split_once("..")
                .ok_or_else(|| usage("--k-range", format!("`{k_range}` is not A..B")))?;
            let parse = |v: &str| {
                v.trim()
                    .trim_start_matches('=')
                    .parse::<usize>()
                    .map_err(|_| usage("--k-range", format!("`{k_range}` is not A..B")))
            };
            KChoice::Range(parse(a)?, parse(b)?)
        }
    };
    let method = match method {
        "kmeans" | "k-means" => Method::KMeans,
        "gmm" | "gaussian-mixture" => Method::GaussianMixture,
        m => return Err(usage("--method", format!("`{m}` is not kmeans or gmm"))),
    };
    let wants_mix = features.split(',').any(|f| f.trim() == "channel_mix");
    let features: Vec<FeatureSpec> = features
        .split(',')
        .filter(|f| !f.trim().is_empty() && f.trim() != "channel_mix")
        .map(FeatureSpec::parse)
        .collect::<patronage::Result<_>>()?;
    let mut spec = SegmentationSpec::default()
        .features(features)
        .k(k)
        .method(method)
        .seed(seed)
        .fit_sample(fit_sample);
    if let Some(rule) = k_rule {
        spec = spec.k_rule(rule.parse()?);
    }
    let needs_clv = spec
        .features
        .iter()
        .any(|f| CLV_COLUMNS.contains(&f.column.as_str()));
    if let (true, Some(dir)) = (part_files, output) {
        let settings = SegmentSettings::new(spec, wants_mix);
        // The segments of the summary's parts, or of the whole table's (which hold the
        // per-channel counts) for the channel mix, with the CLV scores when a feature
        // needs them.
        let segment_on = |summary: &SummaryParts, table: Option<&TableParts>| {
            let seg = |clv: Option<&ClvParts>| match table {
                Some(table) => table.segment(&settings, clv, dir),
                None => summary.segment(&settings, clv, dir),
            };
            if !needs_clv {
                return Ok((seg(None)?, Vec::new()));
            }
            // The CLV scores go to a hidden directory beside the output, as the summary
            // does: they are only the segmentation's input.
            let clv_dir = hidden_beside(dir, "clv");
            let result = summary
                .clv(&ClvSettings::default(), ScoringPeriod::default(), &clv_dir)
                .and_then(|clv| {
                    print_notes(&clv.notes);
                    Ok((seg(Some(&clv))?, clv.notes))
                });
            let _ = std::fs::remove_dir_all(&clv_dir);
            result
        };
        let (parts, notes) = if wants_mix {
            // Every role, as the one-file run's customer table reads them.
            on_table_parts(input, time, dir, |table| {
                segment_on(&table.parts, Some(table))
            })?
        } else {
            // The cost, as the one-file run's customer table reads it: `gross_profit`
            // gives the profiles' profit shares.
            let cost = [patronage::io::OptionalRole::Cost];
            on_summary_parts(input, time, &cost, dir, |summary| segment_on(summary, None))?
        };
        describe(&parts.segmentation, &notes, json, save_model)?;
        print_parts_written("segments", &parts.dir, parts.files.len());
        return Ok(());
    }
    // One cleaning pass feeds the summary, the CLV fit and the channel shares.
    let table = customer_table(input, time)?;
    let summary = table.summary()?;
    let clv = if needs_clv {
        Some(clv_table(&summary, &ClvSettings::default())?)
    } else {
        None
    };
    let notes = clv.as_ref().map(|c| c.notes.clone()).unwrap_or_default();
    print_notes(&notes);
    let settings = SegmentSettings::new(spec, wants_mix);
    let out = segment(summary.frame(), Some(&table), &settings, clv.as_ref())?;
    describe(&out.segmentation, &notes, json, save_model)?;
    if json && output.is_none() {
        // Standard output carries the JSON.
        return Ok(());
    }
    emit(out.frame()?, output)
}

/// How k was chosen and the profiles (stderr), the saved model, and the JSON summary
/// (stdout) when asked.
fn describe(
    seg: &Segmentation,
    notes: &[String],
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    // The silhouette is computed on its sample; the gap and the stability on every
    // customer the k range was fitted on.
    let on = match seg.k_rule {
        KRule::Silhouette => seg.silhouette_sample_size,
        _ => seg.assignments.len(),
    };
    match (&seg.fit_sample, seg.k_table.len() > 1) {
        (_, false) => eprintln!("patronage: {} segments (k fixed)", seg.chosen_k),
        (Some(f), true) => eprintln!(
            "patronage: {} segments (k chosen by {} on a sample of {} customers; agreement with the final segments on it: adjusted Rand index {:.3})",
            seg.chosen_k, seg.k_rule, f.customers, f.agreement
        ),
        (None, true) => eprintln!(
            "patronage: {} segments (k chosen by {} on {on} customers)",
            seg.chosen_k, seg.k_rule,
        ),
    }
    eprintln!("{}", profiles_table(&seg.profiles));
    if let Some(path) = save_model {
        crate::print::save_model(path, seg.model.to_json()?)?;
    }
    if json {
        let mut summary = seg.summary_json();
        summary["notes"] = serde_json::json!(notes);
        println!("{}", to_json_text(&summary)?);
    }
    Ok(())
}

/// The segment profiles as a text table: number, label, size, revenue and profit share,
/// and each feature's mean and median.
fn profiles_table(profiles: &[patronage::segmentation::SegmentProfile]) -> String {
    let mut headers: Vec<String> = [
        "segment",
        "label",
        "customers",
        "share",
        "revenue share",
        "profit share",
    ]
    .map(String::from)
    .to_vec();
    if let Some(first) = profiles.first() {
        for f in &first.features {
            headers.push(format!("{} mean", f.feature));
            headers.push(format!("{} median", f.feature));
        }
    }
    let share = |s: Option<f64>| s.map(percent).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            let mut row = vec![
                p.segment.to_string(),
                p.label.clone(),
                grouped(p.customers as f64, 0),
                percent(p.share),
                share(p.revenue_share),
                share(p.profit_share),
            ];
            for f in &p.features {
                row.push(grouped(f.mean, 2));
                row.push(grouped(f.median, 2));
            }
            row
        })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    text_table(&headers, &rows, 2)
}
