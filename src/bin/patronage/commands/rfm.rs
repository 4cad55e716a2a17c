//! `patronage rfm`: picks the segment rule table (`rfm`, `rf-map` or a rule file) and
//! checks it before reading the data, scores recency, frequency and monetary value in
//! quantile bins on the summary (or, with `--part-files`, on the summary's part files,
//! one part at a time), and writes the scores and the segment summary (as a text table
//! on stderr, or as JSON on stdout with `--json`).

use std::path::PathBuf;

use patronage::prelude::*;
use patronage::rfm::SegmentStats;

use crate::args::{InputArgs, TimeArgs};
use crate::input::{on_summary_parts, summarise};
use crate::print::{emit, grouped, percent, print_parts_written, text_table};

pub(crate) fn run_rfm(
    input: &InputArgs,
    time: &TimeArgs,
    (bins, segments, mean_monetary): (u8, &str, bool),
    output: Option<&PathBuf>,
    json: bool,
    part_files: bool,
) -> patronage::Result<()> {
    let rules = patronage::rfm::SegmentTable::from(segments).rules(bins)?;
    let options = RfmOptions::default()
        .bins(bins)
        .segments(rules)
        .monetary(if mean_monetary {
            MonetaryBasis::Mean
        } else {
            MonetaryBasis::Total
        });
    // Check the rule table before reading the data.
    options.segments.validate(bins)?;
    if let (true, Some(dir)) = (part_files, output) {
        let rfm = on_summary_parts(input, time, &[], dir, |parts| parts.rfm(&options, dir))?;
        print_segments(&rfm.segments, json)?;
        print_parts_written("scores", &rfm.dir, rfm.files.len());
        return Ok(());
    }
    let summary = summarise(input, time, &[])?;
    let table = summary.rfm(&options)?;
    print_segments(table.segment_summary(), json)?;
    if json && output.is_none() {
        // Standard output carries the JSON.
        return Ok(());
    }
    emit(table.into_frame(), output)
}

/// The segment summary: JSON on standard output, or a text table on stderr.
fn print_segments(segments: &[SegmentStats], json: bool) -> patronage::Result<()> {
    if json {
        println!("{}", crate::print::to_json_text(&segments)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = segments
        .iter()
        .map(|s| {
            vec![
                s.segment.clone(),
                grouped(s.customers as f64, 0),
                percent(s.share),
                grouped(s.revenue, 2),
                percent(s.revenue_share),
                grouped(s.mean_recency_days, 1),
                grouped(s.mean_n_purchases, 2),
                grouped(s.mean_total_spend, 2),
            ]
        })
        .collect();
    eprintln!(
        "{}",
        text_table(
            &[
                "segment",
                "customers",
                "share",
                "revenue",
                "revenue share",
                "mean days since last",
                "mean purchases",
                "mean spend",
            ],
            &rows,
            1,
        )
    );
    Ok(())
}
