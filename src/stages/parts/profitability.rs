//! The profitability stage on customer table part files ([`TableParts::profitability`]):
//! each part priced as it is read (a customer's costs are its own row's), the five
//! columns the matrix ranks and sums gathered with each customer's RFM segment, the
//! matrix decided by the gathered stage's own code, then each part priced again and
//! written with its customers' quadrants and tiers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

use super::{RfmParts, changed};
use crate::engine::{PartDir, TableParts, read_part};
use crate::error::Result;
use crate::profitability::{
    CostModel, MatrixAxis, MatrixColumns, MatrixOutcome, Numbering, Profitability, Split,
    activity_counts, cost_frame,
};
use crate::stages::profitability::{check_rates, customer_columns};
use crate::stages::segment::{different_customers, same_customers};

/// What the RFM argument is called in errors, and what it holds.
const RFM: (&str, &str) = ("rfm", "the RFM parts");

/// The profitability stage written as part files by [`TableParts::profitability`]: one
/// per table part, in the same order, each with
/// [`customer_frame`](crate::stages::profitability::customer_frame)'s columns for that
/// part's customers, and the stage's figures.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProfitabilityParts {
    /// The directory holding the part files (nothing else).
    pub dir: PathBuf,
    /// The part files, `part-00000.parquet` on, in order.
    pub files: Vec<PathBuf>,
    /// Customers over all parts.
    pub customers: usize,
    /// The gathered stage's [`Profitability`], field for field, except that its
    /// per-customer `table` has the part files' columns and no rows: the rows are in
    /// `files`. [`Profitability::figures`] gives the `--json` figures.
    pub profitability: Profitability,
}

impl TableParts {
    /// The profitability stage on the part files: each customer's cost of goods,
    /// cost-to-serve and net contribution priced with `model` from its own row (and
    /// `activity`'s service contacts and visits), the matrix split per `split` on `axis`
    /// against cost-to-serve, the whale curve, the pyramid, the 3 x 3 grid and the
    /// cross-tab by RFM segment over every customer, then each part's customers written
    /// to `out` with their quadrant and tier. `rfm` is the RFM stage's parts of the same
    /// table ([`SummaryParts::rfm`](crate::engine::SummaryParts::rfm) on `self.parts`;
    /// the gathered stage scores with [`RfmOptions::default`](crate::rfm::RfmOptions)).
    ///
    /// The files read in order are [`customer_frame`](crate::stages::profitability::customer_frame)
    /// of the gathered stage ([`analyse_customers`](crate::stages::profitability::analyse_customers)
    /// on the gathered table) row for row, and the figures are its figures to the bit:
    /// the pricing is the same code on the same rows, and the matrix, the curve and the
    /// sums run the gathered stage's code on the same numbers in the same order.
    ///
    /// Memory: the thresholds, the grid's bands, the whale curve and the pyramid rank
    /// every customer, so the stage holds five numbers a customer and two sorted copies
    /// (about 60 bytes a customer, with the quadrant, tier and segment number), and one
    /// part at a time. Never the customer rows.
    ///
    /// # Errors
    ///
    /// As [`analyse_customers`](crate::stages::profitability::analyse_customers): the
    /// cost model's [`Error::InvalidOption`](crate::Error::InvalidOption) (no rate, an invalid rate) and a malformed
    /// `activity` table before anything is read; `costs.margin_rate` when the parts have
    /// no `cogs` column and the model no margin rate. [`Error::InvalidOption`](crate::Error::InvalidOption) naming
    /// `rfm` when its parts hold other customers or another order; [`Error::Parse`](crate::Error::Parse)
    /// naming the directory when the parts change between the two passes; for `out`, as
    /// [`summary_parts`](crate::engine::summary_parts) for its directory, checked before
    /// anything is read.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, customer_table_parts};
    /// use patronage::prelude::*;
    /// use patronage::profitability::{CostModel, MatrixAxis, Split};
    /// use patronage::stages::profitability::analyse_customers;
    /// use patronage::stages::summary::summary;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let model = CostModel::from_path("datasets/costs_example.toml")?;
    /// let tmp = std::env::temp_dir().join(format!("patronage-doc-profit-{}", std::process::id()));
    /// let (table, _) = customer_table_parts(&tx, &options, None, &Engine::Memory, &tmp.join("customers"))?;
    /// let rfm = table.parts.rfm(&RfmOptions::default(), &tmp.join("rfm"))?;
    /// let on_parts = table.profitability(&model, None, Split::Median, MatrixAxis::Margin, &rfm, &tmp.join("profit"))?;
    /// let gathered = analyse_customers(&summary(&tx, &options, None)?, &model, None, Split::Median)?;
    /// assert_eq!(on_parts.profitability.quadrants, gathered.quadrants);
    /// std::fs::remove_dir_all(&tmp).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn profitability(
        &self,
        model: &CostModel,
        activity: Option<&DataFrame>,
        split: Split,
        axis: MatrixAxis,
        rfm: &RfmParts,
        out: &Path,
    ) -> Result<ProfitabilityParts> {
        check_rates(model)?;
        model.validate()?;
        let counts = activity.map(activity_counts).transpose()?;
        let files = &self.parts.files;
        if rfm.files.len() != files.len() {
            return Err(different_customers(RFM.0, RFM.1));
        }
        let mut dir = PartDir::new(out)?;
        // Pass 1: the matrix's columns and the RFM segments of every customer.
        let mut columns = MatrixColumns::default();
        let mut numbering = Numbering::default();
        let mut codes: Vec<u32> = Vec::new();
        for (path, rfm_path) in files.iter().zip(&rfm.files) {
            let priced = priced(path, model, counts.as_ref())?;
            let segments = read_part(rfm_path, Some(&["customer_id", "segment"]))?;
            same_customers(&priced, &segments, RFM.0, RFM.1)?;
            columns.append(MatrixColumns::of(&priced, axis)?);
            codes.extend(
                segments
                    .column("segment")?
                    .str()?
                    .iter()
                    .map(|g| numbering.code(g)),
            );
        }
        let outcome = MatrixOutcome::of(&columns, &codes, &numbering.names(), split)?;
        let customers = codes.len();
        drop((columns, codes));
        // Pass 2: each part priced again, with its customers' quadrants and tiers.
        let names: Vec<&str> = customer_columns().collect();
        let mut offset = 0;
        let mut last: Option<DataFrame> = None;
        for path in files {
            let mut priced = priced(path, model, counts.as_ref())?;
            let rows = priced.height();
            if offset + rows > customers {
                return Err(changed(&self.parts.dir));
            }
            for column in outcome.customer_columns(offset..offset + rows) {
                priced.with_column(column)?;
            }
            let mut frame = priced.select(names.iter().copied())?;
            dir.write(&mut frame)?;
            offset += rows;
            last = Some(frame);
        }
        if offset != customers {
            return Err(changed(&self.parts.dir));
        }
        let table = last.map(|f| f.clear()).unwrap_or_default();
        let (dir, files) = dir.commit()?;
        Ok(ProfitabilityParts {
            dir,
            files,
            customers,
            profitability: outcome.into_profitability(table, axis),
        })
    }
}

/// A table part priced: [`cost_table`](crate::profitability::cost_table)'s columns for
/// its customers.
fn priced(
    path: &Path,
    model: &CostModel,
    counts: Option<&HashMap<String, (f64, f64)>>,
) -> Result<DataFrame> {
    cost_frame(&read_part(path, None)?, model, counts)
}
