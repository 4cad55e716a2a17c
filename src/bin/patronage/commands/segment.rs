//! `patronage segment`: parses k (fixed or a range), the method and the feature list;
//! builds the feature table from the summary, adding the CLV scores when a feature needs
//! them and the channel shares of the same cleaned rows for `channel_mix`; then clusters
//! (`finish_segment`), prints the segment profiles on stderr, optionally saves the model,
//! and writes the assignments and/or the JSON summary.

use std::path::PathBuf;

use patronage::stages::clv::{ClvSettings, clv_table};

use crate::args::{InputArgs, TimeArgs};
use crate::input::summarise_with;
use crate::print::{emit, to_json_text};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_segment(
    input: &InputArgs,
    time: &TimeArgs,
    k: Option<usize>,
    k_range: &str,
    features: &str,
    method: &str,
    seed: u64,
    output: Option<&PathBuf>,
    json: bool,
    save_model: Option<&PathBuf>,
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
    let spec = SegmentationSpec::default()
        .features(features)
        .k(k)
        .method(method)
        .seed(seed);
    // One cleaning pass feeds both the summary and, when asked for, the channel shares.
    let (summary, mix) = summarise_with(input, time, |table| {
        if wants_mix {
            patronage::segmentation::channel_shares(table.frame()).map(Some)
        } else {
            Ok(None)
        }
    })?;
    let needs_clv = spec.features.iter().any(|f| {
        ["p_alive", "expected_purchases", "expected_spend", "clv"].contains(&f.column.as_str())
    });
    let table = if needs_clv {
        let clv = clv_table(&summary, &ClvSettings::default())?;
        let mut df = summary.frame().clone();
        for name in ["p_alive", "expected_purchases", "expected_spend", "clv"] {
            df.with_column(clv.frame.column(name)?.clone())?;
        }
        df
    } else {
        summary.frame().clone()
    };
    let mut table = table;
    if let Some(mix) = mix {
        // Channel shares of the same cleaned rows, in customer_id order like the summary.
        if !mix
            .column("customer_id")?
            .equals_missing(table.column("customer_id")?)
        {
            return Err(patronage::Error::InvalidOption {
                option: "segmentation.features".into(),
                reason: "channel shares and summary disagree on the customers".into(),
            });
        }
        let mut spec = spec;
        for c in mix.columns().iter().skip(1) {
            table.with_column(c.clone())?;
            spec.features.push(FeatureSpec {
                column: c.name().to_string(),
                log1p: false,
                scale: patronage::segmentation::Scale::Standardize,
            });
        }
        return finish_segment(&table, &spec, output, json, save_model);
    }
    finish_segment(&table, &spec, output, json, save_model)
}

fn finish_segment(
    table: &polars::prelude::DataFrame,
    spec: &patronage::segmentation::SegmentationSpec,
    output: Option<&PathBuf>,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let table = table.clone();
    let seg = patronage::segmentation::segment(&table, spec)?;
    eprintln!(
        "patronage: {} segments (silhouette on {} customers): {}",
        seg.chosen_k,
        seg.silhouette_sample_size,
        seg.profiles
            .iter()
            .map(|p| format!("{} {} ({:.0}%)", p.segment, p.label, 100.0 * p.share))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if let Some(path) = save_model {
        std::fs::write(path, seg.model.to_json()?).map_err(|source| patronage::Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    if json {
        println!("{}", to_json_text(&seg.summary_json())?);
        if output.is_some() {
            emit(seg.frame(&table)?, output)?;
        }
        Ok(())
    } else {
        emit(seg.frame(&table)?, output)
    }
}
