//! RFM: quantile scores for recency, frequency and monetary value, and named segments.
//!
//! Scores come from the per-customer summary: R from `recency_days` (fewer days since the
//! last purchase = higher score), F from `n_purchases`, M from `total_spend` (or the mean
//! spend per purchase). `rfm_score = 100 R + 10 F + M`.

pub(crate) mod cuts;
pub mod scores;
pub mod segments;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

pub use scores::quantile_scores;
pub use segments::{OTHERS, SegmentRule, SegmentRules, SegmentTable};

use crate::error::{Error, Result};
use crate::io::frame::{column, nullable_f64};

/// What the M score ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonetaryBasis {
    /// Total spend over the observation period (the R `rfm` package's choice).
    #[default]
    Total,
    /// Mean spend per purchase.
    Mean,
}

/// Options of [`score`].
///
/// # Example
/// ```
/// use patronage::rfm::{RfmOptions, SegmentRules};
/// let opts = RfmOptions::default().bins(5).segments(SegmentRules::rf_map());
/// assert_eq!(opts.bins, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfmOptions {
    /// Number of score bins (2..=20; default 5).
    pub bins: u8,
    /// What M ranks.
    pub monetary: MonetaryBasis,
    /// The segment rule table (default: the R `rfm` package's).
    pub segments: SegmentRules,
}

impl Default for RfmOptions {
    fn default() -> Self {
        RfmOptions {
            bins: 5,
            monetary: MonetaryBasis::Total,
            segments: SegmentRules::rfm_package(),
        }
    }
}

impl RfmOptions {
    /// Sets the number of bins. A built-in rule table in force (the default rfm table,
    /// or the RF map) follows to the new scale ([`SegmentRules::rescaled`]); a table of
    /// your own is kept as given and must fit the bins.
    ///
    /// ```
    /// use patronage::rfm::{RfmOptions, SegmentRules};
    /// let o = RfmOptions::default().bins(4);
    /// assert_eq!(o.segments, SegmentRules::rfm_package().rescaled(5, 4));
    /// assert!(o.segments.validate(4).is_ok());
    /// ```
    #[must_use]
    pub fn bins(mut self, bins: u8) -> Self {
        for built_in in [SegmentRules::rfm_package(), SegmentRules::rf_map()] {
            if self.segments == built_in.rescaled(5, self.bins) {
                self.segments = built_in.rescaled(5, bins);
                break;
            }
        }
        self.bins = bins;
        self
    }
    /// Sets the monetary basis.
    #[must_use]
    pub fn monetary(mut self, basis: MonetaryBasis) -> Self {
        self.monetary = basis;
        self
    }
    /// Sets the segment rules.
    #[must_use]
    pub fn segments(mut self, rules: SegmentRules) -> Self {
        self.segments = rules;
        self
    }
}

/// Per-segment figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentStats {
    /// Segment name.
    pub segment: String,
    /// Customers in it.
    pub customers: u64,
    /// Share of all customers.
    pub share: f64,
    /// Sum of `total_spend`.
    pub revenue: f64,
    /// Share of all revenue (0 when total revenue is 0).
    pub revenue_share: f64,
    /// Mean days since the last purchase.
    pub mean_recency_days: f64,
    /// Mean number of purchases.
    pub mean_n_purchases: f64,
    /// Mean total spend.
    pub mean_total_spend: f64,
}

/// RFM scores and segments per customer, with the segment summary.
#[derive(Debug, Clone)]
pub struct RfmTable {
    frame: DataFrame,
    segments: Vec<SegmentStats>,
}

impl RfmTable {
    /// `customer_id, recency_days, n_purchases, total_spend, r_score, f_score, m_score,
    /// rfm_score, segment`, in the input's row order.
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }
    /// Takes the frame.
    pub fn into_frame(self) -> DataFrame {
        self.frame
    }
    /// One entry per segment that has customers, in rule order, "Others" last.
    pub fn segment_summary(&self) -> &[SegmentStats] {
        &self.segments
    }
    /// The segment summary as a frame ([`segment_summary_frame`]).
    ///
    /// # Errors
    /// A polars error if the frame cannot be built (it always can).
    pub fn segment_summary_frame(&self) -> Result<DataFrame> {
        segment_summary_frame(&self.segments)
    }
}

/// A segment summary as a frame: `segment, customers, share, revenue, revenue_share,
/// mean_recency_days, mean_n_purchases, mean_total_spend`, one row per entry.
///
/// # Errors
/// A polars error if the frame cannot be built (it always can).
///
/// # Example
/// ```
/// use patronage::prelude::*;
/// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
///     .summary(&SummaryOptions::weekly())?;
/// let rfm = s.rfm(&RfmOptions::default())?;
/// let frame = patronage::rfm::segment_summary_frame(rfm.segment_summary())?;
/// assert_eq!(frame.height(), rfm.segment_summary().len());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn segment_summary_frame(s: &[SegmentStats]) -> Result<DataFrame> {
    macro_rules! col {
        ($name:literal, $field:ident) => {
            Column::new(
                $name.into(),
                s.iter().map(|x| x.$field.clone()).collect::<Vec<_>>(),
            )
        };
    }
    Ok(DataFrame::new_infer_height(vec![
        col!("segment", segment),
        col!("customers", customers),
        col!("share", share),
        col!("revenue", revenue),
        col!("revenue_share", revenue_share),
        col!("mean_recency_days", mean_recency_days),
        col!("mean_n_purchases", mean_n_purchases),
        col!("mean_total_spend", mean_total_spend),
    ])?)
}

/// A numeric column as `f64`s, refusing nulls and NaN.
fn numeric(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    nullable_f64(df, name)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(x) if !x.is_nan() => Ok(x),
            other => Err(Error::BadRow {
                row: i as u64 + 1,
                column: name.to_string(),
                reason: "RFM needs a number".into(),
                value: format!("{other:?}"),
            }),
        })
        .collect()
}

/// The columns a table's scores come from, each as numbers (checked in this order,
/// which decides the error a table with several bad columns gets).
pub(crate) const SCORED_COLUMNS: [&str; 3] = ["recency_days", "n_purchases", "total_spend"];

/// One table's (or part's) scored columns: `recency_days`, `n_purchases`, `total_spend`.
pub(crate) struct RfmColumns {
    pub(crate) recency: Vec<f64>,
    pub(crate) n_purchases: Vec<f64>,
    pub(crate) total: Vec<f64>,
}

impl RfmColumns {
    /// Each of [`SCORED_COLUMNS`] of `df` as numbers, or its error
    /// ([`Error::MissingColumn`], [`Error::WrongType`], or [`Error::BadRow`] for the
    /// first null or NaN, numbering rows from 1).
    pub(crate) fn checked(df: &DataFrame) -> [Result<Vec<f64>>; 3] {
        SCORED_COLUMNS.map(|name| numeric(df, name))
    }

    /// The three columns of `df`, or the first column's error.
    pub(crate) fn of(df: &DataFrame) -> Result<Self> {
        let [recency, n_purchases, total] = Self::checked(df);
        Ok(RfmColumns {
            recency: recency?,
            n_purchases: n_purchases?,
            total: total?,
        })
    }

    /// What R ranks: fewer days since the last purchase rank higher.
    pub(crate) fn r_values(&self) -> Vec<f64> {
        self.recency.iter().map(|r| -r).collect()
    }

    /// What M ranks: total spend, or the mean per purchase (0 without purchases).
    pub(crate) fn m_values(&self, basis: MonetaryBasis) -> Vec<f64> {
        match basis {
            MonetaryBasis::Total => self.total.clone(),
            MonetaryBasis::Mean => self
                .total
                .iter()
                .zip(&self.n_purchases)
                .map(|(t, n)| if *n > 0.0 { t / n } else { 0.0 })
                .collect(),
        }
    }
}

/// The segment of each of the bins^3 score cells, looked up once instead of a scan of
/// the rule table per customer.
pub(crate) struct SegmentCells<'a> {
    names: Vec<&'a str>,
    of_cell: Vec<usize>,
    bins: usize,
}

impl<'a> SegmentCells<'a> {
    /// The cells of `rules` on `bins` bins (checked by [`SegmentRules::validate`]).
    pub(crate) fn new(rules: &'a SegmentRules, bins: u8) -> Self {
        let names = rules.names();
        let b = usize::from(bins);
        let mut cells = SegmentCells {
            names,
            of_cell: vec![0; b * b * b],
            bins: b,
        };
        for (rs, fs, ms) in (1..=bins)
            .flat_map(|r| (1..=bins).flat_map(move |f| (1..=bins).map(move |m| (r, f, m))))
        {
            let name = rules.segment(rs, fs, ms);
            let cell = cells.cell(rs, fs, ms);
            // `names` lists every name `segment` returns.
            cells.of_cell[cell] = cells.names.iter().position(|n| *n == name).unwrap_or(0);
        }
        cells
    }

    fn cell(&self, r: u8, f: u8, m: u8) -> usize {
        let b = self.bins;
        ((usize::from(r) - 1) * b + usize::from(f) - 1) * b + usize::from(m) - 1
    }

    /// The index among [`SegmentCells::names`] of the segment of scores `(r, f, m)`.
    pub(crate) fn segment(&self, r: u8, f: u8, m: u8) -> usize {
        self.of_cell[self.cell(r, f, m)]
    }

    /// Every segment name, in rule order, "Others" last.
    pub(crate) fn names(&self) -> &[&'a str] {
        &self.names
    }
}

/// One segment's running sums.
#[derive(Clone)]
struct Sums {
    customers: u64,
    revenue: f64,
    recency: f64,
    purchases: f64,
}

/// The segment summary's sums, added customer by customer in table order (so a table
/// seen in parts gives the figures of the whole table, to the bit).
pub(crate) struct SegmentTally {
    sums: Vec<Sums>,
    customers: u64,
    revenue: f64,
}

impl SegmentTally {
    /// An empty tally over `segments` segments.
    pub(crate) fn new(segments: usize) -> Self {
        // Sums start from -0.0, as `Sum` for f64 does, so the figures are the ones a sum
        // per segment gives.
        let zero: f64 = std::iter::empty::<f64>().sum();
        let empty = Sums {
            customers: 0,
            revenue: zero,
            recency: zero,
            purchases: zero,
        };
        SegmentTally {
            sums: vec![empty; segments],
            customers: 0,
            revenue: zero,
        }
    }

    /// Adds the customers of `columns`, in order, to their segments (`segment[i]`, an
    /// index among the segment names).
    pub(crate) fn add(&mut self, columns: &RfmColumns, segment: &[usize]) {
        for (i, &k) in segment.iter().enumerate() {
            let s = &mut self.sums[k];
            s.customers += 1;
            s.revenue += columns.total[i];
            s.recency += columns.recency[i];
            s.purchases += columns.n_purchases[i];
            self.revenue += columns.total[i];
        }
        self.customers += segment.len() as u64;
    }

    /// One entry per segment with customers, in the order of `names`.
    pub(crate) fn stats(&self, names: &[&str]) -> Vec<SegmentStats> {
        let n = self.customers as f64;
        names
            .iter()
            .zip(&self.sums)
            .filter(|(_, s)| s.customers > 0)
            .map(|(name, s)| {
                let k = s.customers as f64;
                SegmentStats {
                    segment: name.to_string(),
                    customers: s.customers,
                    share: k / n,
                    revenue: s.revenue,
                    revenue_share: if self.revenue == 0.0 {
                        0.0
                    } else {
                        s.revenue / self.revenue
                    },
                    mean_recency_days: s.recency / k,
                    mean_n_purchases: s.purchases / k,
                    mean_total_spend: s.revenue / k,
                }
            })
            .collect()
    }
}

/// The scores frame of `df`'s customers: its id and scored columns, the three scores,
/// `rfm_score` and the segment name.
pub(crate) fn scores_frame(
    df: &DataFrame,
    (r, f, m): (&[u8], &[u8], &[u8]),
    segment: &[usize],
    names: &[&str],
) -> Result<DataFrame> {
    let u8col = |name: &str, v: &[u8]| {
        Column::new(
            name.into(),
            v.iter().map(|&x| u32::from(x)).collect::<Vec<u32>>(),
        )
    };
    let rfm: Vec<u32> = (0..r.len())
        .map(|i| 100 * u32::from(r[i]) + 10 * u32::from(f[i]) + u32::from(m[i]))
        .collect();
    let seg: Vec<&str> = segment.iter().map(|&k| names[k]).collect();
    Ok(DataFrame::new_infer_height(vec![
        column(df, "customer_id")?.clone(),
        df.column("recency_days")?.clone(),
        df.column("n_purchases")?.clone(),
        df.column("total_spend")?.clone(),
        u8col("r_score", r),
        u8col("f_score", f),
        u8col("m_score", m),
        Column::new("rfm_score".into(), rfm),
        Column::new("segment".into(), seg),
    ])?)
}

/// Scores a per-customer table: the summary's frame, or any frame with `customer_id,
/// recency_days, n_purchases, total_spend` (`Summary::rfm` in the stage layer calls this
/// on its frame).
///
/// # Errors
/// [`Error::MissingColumn`] / [`Error::WrongType`] for a missing or non-numeric column,
/// [`Error::BadRow`] for a null or NaN value, [`Error::EmptyTable`] for no customers,
/// [`Error::InvalidOption`] for bins out of range or a rule table that does not fit them.
///
/// # Example
/// ```
/// use patronage::prelude::*;
/// use polars::prelude::*;
/// let df = df!(
///     "customer_id" => ["a", "b", "c"],
///     "recency_days" => [3, 40, 400],
///     "n_purchases" => [9u32, 3, 1],
///     "total_spend" => [500.0, 80.0, 10.0],
/// ).unwrap();
/// let rfm = patronage::rfm::score(&df, &RfmOptions::default().bins(3)
///     .segments(SegmentRules::from_toml_str("[[segment]]\nname = \"Best\"\nr = [3, 3]").unwrap())).unwrap();
/// assert_eq!(rfm.segment_summary()[0].segment, "Best");
/// ```
pub fn score(df: &DataFrame, options: &RfmOptions) -> Result<RfmTable> {
    scores::check_bins(options.bins)?;
    options.segments.validate(options.bins)?;
    if df.height() == 0 {
        return Err(no_customers());
    }
    column(df, "customer_id")?;
    let columns = RfmColumns::of(df)?;
    let (neg_recency, monetary) = (columns.r_values(), columns.m_values(options.monetary));
    let bins = options.bins;
    let (r, (f, m)) = rayon::join(
        || quantile_scores(&neg_recency, bins),
        || {
            rayon::join(
                || quantile_scores(&columns.n_purchases, bins),
                || quantile_scores(&monetary, bins),
            )
        },
    );
    let (r, f, m) = (r?, f?, m?);
    let cells = SegmentCells::new(&options.segments, bins);
    let segment: Vec<usize> = (0..r.len())
        .map(|i| cells.segment(r[i], f[i], m[i]))
        .collect();
    let mut tally = SegmentTally::new(cells.names().len());
    tally.add(&columns, &segment);
    let frame = scores_frame(df, (&r, &f, &m), &segment, cells.names())?;
    Ok(RfmTable {
        frame,
        segments: tally.stats(cells.names()),
    })
}

/// The error of a table without customers.
pub(crate) fn no_customers() -> Error {
    Error::EmptyTable {
        what: "the customer table has no rows".into(),
    }
}
