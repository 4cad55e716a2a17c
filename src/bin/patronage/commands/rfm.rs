//! `patronage rfm`: picks the segment rule table (`rfm`, `rf-map` or a rule file) and
//! checks it before reading the data, scores recency, frequency and monetary value in
//! quantile bins on the summary, and writes the scores and the segment summary (as a text
//! table on stderr, or as JSON on stdout with `--json`).

use std::path::PathBuf;

use patronage::prelude::*;

use crate::args::{InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{emit, grouped, percent, text_table};

pub(crate) fn run_rfm(
    input: &InputArgs,
    time: &TimeArgs,
    bins: u8,
    segments: &str,
    mean_monetary: bool,
    output: Option<&PathBuf>,
    json: bool,
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
    let summary = summarise(input, time, &[])?;
    let table = summary.rfm(&options)?;
    if json {
        let text = crate::print::to_json_text(&table.segment_summary())?;
        println!("{text}");
        if output.is_some() {
            emit(table.into_frame(), output)?;
        }
        Ok(())
    } else {
        let rows: Vec<Vec<String>> = table
            .segment_summary()
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
        emit(table.into_frame(), output)
    }
}
