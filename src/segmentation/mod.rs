//! Behavioural segmentation: cluster customers on chosen features (k-means, by default
//! our own Hamerly-accelerated implementation with linfa-clustering's available as
//! [`KMeansEngine::Linfa`], or a Gaussian mixture through linfa-clustering), choose k on
//! evidence, describe each segment in the business's units, and reuse the fitted
//! segmentation on new customers.
//!
//! ```
//! use patronage::segmentation::{segment, SegmentationSpec, KChoice};
//! use polars::prelude::*;
//! let df = df!(
//!     "customer_id" => ["a", "b", "c", "d", "e", "f"],
//!     "recency_days" => [3.0, 5.0, 4.0, 300.0, 280.0, 310.0],
//!     "n_purchases" => [12.0, 15.0, 11.0, 1.0, 1.0, 2.0],
//!     "total_spend" => [900.0, 1200.0, 800.0, 20.0, 35.0, 40.0],
//! )?;
//! let seg = segment(&df, &SegmentationSpec::default().k(KChoice::Fixed(2)))?;
//! assert_eq!(seg.assignments[0], seg.assignments[1]);
//! assert_ne!(seg.assignments[0], seg.assignments[3]);
//! assert_eq!(seg.profiles[0].label, "fairly recent, regular, high spend");
//! # Ok::<(), patronage::Error>(())
//! ```

mod features;
mod kmeans;
mod labels;
mod metrics;
mod select;

pub use features::{FeatureSpec, Scale, Scaler};
pub use metrics::adjusted_rand_index;
pub use select::{KRule, STABILITY_TOLERANCE};

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::{GaussianMixtureModel, KMeans, KMeansInit};
use ndarray::Array2;
#[cfg(feature = "frames")]
use polars::prelude::*;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::{median, sorted};
#[cfg(feature = "frames")]
use features::raw_columns;
use features::{find, fit_scaler, matrix, named_columns, transform};

/// Version of the JSON layout of [`SegmentModel`].
pub const FORMAT_VERSION: u32 = 1;

/// The number of segments: fixed, or chosen over a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KChoice {
    /// Exactly k.
    Fixed(usize),
    /// The best k in `lo..=hi` by the rule of [`segment`].
    Range(usize, usize),
}

/// The clustering method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Method {
    /// k-means (k-means++ initialisation, several runs, the lowest inertia kept).
    KMeans,
    /// Gaussian mixture with full covariances (initialised by k-means); customers go to
    /// the most probable component.
    GaussianMixture,
}

/// Which implementation fits [`Method::KMeans`]. Both run k-means++ starts and Lloyd's
/// iterations to the same kind of fixed point; they draw different random starts, so on
/// data with several local optima they may keep different ones.
///
/// ```
/// use patronage::segmentation::{segment, KChoice, KMeansEngine, SegmentationSpec};
/// use polars::prelude::*;
/// let df = df!("recency_days" => [1.0, 2.0, 90.0, 95.0], "n_purchases" => [9.0, 8.0, 1.0, 1.0], "total_spend" => [500.0, 450.0, 20.0, 25.0])?;
/// let spec = |engine| SegmentationSpec::default().k(KChoice::Fixed(2)).kmeans_engine(engine);
/// let native = segment(&df, &spec(KMeansEngine::Native))?;
/// let linfa = segment(&df, &spec(KMeansEngine::Linfa))?;
/// assert_eq!(native.assignments, linfa.assignments);
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KMeansEngine {
    /// Our own k-means over the contiguous matrix: greedy k-means++ (2 + ln k candidates
    /// per centre), Hamerly-accelerated Lloyd iterations on rayon with sums in a fixed
    /// chunk order (bit-identical on any thread count), scikit-learn's stopping rule
    /// (no assignment changes, or summed squared centroid shift at most 1e-4 x the mean
    /// feature variance). Several times faster than `Linfa` on large tables.
    #[default]
    Native,
    /// linfa-clustering's `KMeans` (k-means++ init, tolerance 1e-4, seeded Xoshiro256+).
    Linfa,
}

/// What to cluster and how. Start from [`SegmentationSpec::default`] and set what
/// differs with the builder methods (the struct will gain settings, so it cannot be
/// written as a literal outside this crate):
///
/// ```
/// use patronage::segmentation::{KChoice, Method, SegmentationSpec};
/// let spec = SegmentationSpec::default().k(KChoice::Fixed(4)).method(Method::GaussianMixture).seed(7);
/// assert_eq!(spec.n_runs, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SegmentationSpec {
    /// Features (columns of the per-customer table) with their transforms.
    pub features: Vec<FeatureSpec>,
    /// Number of segments.
    pub k: KChoice,
    /// Method.
    pub method: Method,
    /// Implementation of [`Method::KMeans`] (absent in older JSON: the native one).
    #[serde(default)]
    pub kmeans_engine: KMeansEngine,
    /// Runs per k (each from its own k-means++ start); the best is kept.
    pub n_runs: usize,
    /// Iteration budget per run.
    pub max_iterations: u64,
    /// Seed of the initialisations and of the silhouette sample.
    pub seed: u64,
    /// Customers the silhouette is computed on (a seeded sample when there are more).
    pub silhouette_sample: usize,
    /// Above this many customers, k and the starts are chosen on a seeded sample of this
    /// size, and only the chosen k is then iterated on every customer (see
    /// [`FitSample`]); at or below it every k is fitted on every customer. 0: always
    /// every customer (the exhaustive search at any size).
    pub fit_sample: usize,
    /// How k is chosen from a range (default, and absent in older JSON:
    /// [`KRule::Silhouette`]).
    pub k_rule: KRule,
    /// Uniform reference sets of the gap statistic ([`KRule::Gap`]), at least 2.
    pub gap_references: usize,
    /// Pairs of subsamples of the stability criterion ([`KRule::Stability`]), at least 1.
    pub stability_pairs: usize,
    /// Share of the customers in each stability subsample, above 0.5 and below 1 (so
    /// the two subsamples of a pair share customers).
    pub stability_fraction: f64,
}

impl Default for SegmentationSpec {
    /// `recency_days, n_purchases, total_spend` (log1p + standardise), native k-means, k in
    /// 2..=8 chosen by the highest silhouette (10 reference sets for the gap, 5 pairs of
    /// 80% subsamples for the stability when those rules are asked for), 5 runs, 300
    /// iterations, seed 42, silhouette on up to 10,000 customers, k chosen on a sample
    /// of 200,000 customers above that many.
    fn default() -> Self {
        SegmentationSpec {
            features: ["recency_days", "n_purchases", "total_spend"]
                .iter()
                .map(|c| FeatureSpec::default_for(c))
                .collect(),
            k: KChoice::Range(2, 8),
            method: Method::KMeans,
            kmeans_engine: KMeansEngine::Native,
            n_runs: 5,
            max_iterations: 300,
            seed: 42,
            silhouette_sample: 10_000,
            fit_sample: 200_000,
            k_rule: KRule::default(),
            gap_references: 10,
            stability_pairs: 5,
            stability_fraction: 0.8,
        }
    }
}

impl SegmentationSpec {
    /// Sets the features (columns of the per-customer table with their transforms).
    #[must_use]
    pub fn features(mut self, features: Vec<FeatureSpec>) -> Self {
        self.features = features;
        self
    }
    /// Sets the number of segments, fixed or a range to choose from.
    #[must_use]
    pub fn k(mut self, k: KChoice) -> Self {
        self.k = k;
        self
    }
    /// Sets the clustering method.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }
    /// Sets the k-means implementation.
    #[must_use]
    pub fn kmeans_engine(mut self, engine: KMeansEngine) -> Self {
        self.kmeans_engine = engine;
        self
    }
    /// Sets the runs per k (each from its own k-means++ start; the best is kept).
    #[must_use]
    pub fn n_runs(mut self, n_runs: usize) -> Self {
        self.n_runs = n_runs;
        self
    }
    /// Sets the iteration budget of each run.
    #[must_use]
    pub fn max_iterations(mut self, max_iterations: u64) -> Self {
        self.max_iterations = max_iterations;
        self
    }
    /// Sets the seed of the initialisations and of the silhouette sample.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets how many customers the silhouette is computed on (a seeded sample when
    /// there are more).
    #[must_use]
    pub fn silhouette_sample(mut self, customers: usize) -> Self {
        self.silhouette_sample = customers;
        self
    }
    /// Sets the size of the sample k is chosen on when there are more customers (0:
    /// every k on every customer, at any size).
    #[must_use]
    pub fn fit_sample(mut self, customers: usize) -> Self {
        self.fit_sample = customers;
        self
    }
    /// Sets the rule k is chosen by (see [`KRule`]; ignored for a fixed k).
    ///
    /// ```
    /// use patronage::segmentation::{segment_columns, KChoice, KRule, SegmentationSpec};
    /// let recency = [3.0, 5.0, 4.0, 6.0, 300.0, 280.0, 310.0, 290.0];
    /// let purchases = [12.0, 15.0, 11.0, 14.0, 1.0, 1.0, 2.0, 1.0];
    /// let spend = [900.0, 1200.0, 800.0, 1000.0, 20.0, 35.0, 40.0, 30.0];
    /// let columns = [
    ///     ("recency_days", &recency[..]),
    ///     ("n_purchases", &purchases[..]),
    ///     ("total_spend", &spend[..]),
    /// ];
    /// let spec = SegmentationSpec::default().k(KChoice::Range(2, 3)).k_rule(KRule::Gap);
    /// let seg = segment_columns(&columns, &spec)?;
    /// assert_eq!(seg.k_rule, KRule::Gap);
    /// assert!(seg.k_table.iter().all(|row| row.gap.is_some()));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    #[must_use]
    pub fn k_rule(mut self, rule: KRule) -> Self {
        self.k_rule = rule;
        self
    }
    /// Sets the number of uniform reference sets of the gap statistic; [`segment`]
    /// refuses fewer than 2 with [`Error::InvalidOption`] for
    /// `segmentation.gap_references`.
    #[must_use]
    pub fn gap_references(mut self, references: usize) -> Self {
        self.gap_references = references;
        self
    }
    /// Sets the number of subsample pairs of the stability criterion; [`segment`]
    /// refuses 0 with [`Error::InvalidOption`] for `segmentation.stability_pairs`.
    #[must_use]
    pub fn stability_pairs(mut self, pairs: usize) -> Self {
        self.stability_pairs = pairs;
        self
    }
    /// Sets the share of the customers in each stability subsample; [`segment`]
    /// refuses a share that is not above 0.5 and below 1 with [`Error::InvalidOption`]
    /// for `segmentation.stability_fraction`.
    ///
    /// ```
    /// use patronage::segmentation::{segment_columns, SegmentationSpec};
    /// let x = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
    /// let spec = SegmentationSpec::default().stability_fraction(0.4);
    /// let err = segment_columns(&[("recency_days", &x[..]), ("n_purchases", &x[..]), ("total_spend", &x[..])], &spec);
    /// assert!(matches!(err, Err(patronage::Error::InvalidOption { option, .. }) if option == "segmentation.stability_fraction"));
    /// ```
    #[must_use]
    pub fn stability_fraction(mut self, fraction: f64) -> Self {
        self.stability_fraction = fraction;
        self
    }
}

/// How a large table was segmented: k and the starts chosen on a seeded sample of
/// customers, then Lloyd's iterations (k-means) on every customer from the sample's
/// centroids for the chosen k only. A Gaussian mixture is fitted on the sample and every
/// customer is assigned to its most probable component (EM is not rerun on all
/// customers). The `k_table` of such a run holds the sample's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FitSample {
    /// Customers in the sample.
    pub customers: usize,
    /// Adjusted Rand index between the sample fit's segments and the final segments of
    /// the same customers (1: the full-data iterations moved nobody in the sample).
    pub agreement: f64,
    /// Within-segment sum of squares of the final segments over every customer.
    pub inertia: f64,
}

/// Quality figures of one k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Number of segments.
    pub k: usize,
    /// Within-segment sum of squared distances in the scaled feature space.
    pub inertia: f64,
    /// Mean silhouette on the sample (higher is better; None for k = 1).
    pub silhouette: Option<f64>,
    /// Calinski-Harabasz (higher is better).
    pub calinski_harabasz: Option<f64>,
    /// Davies-Bouldin (lower is better).
    pub davies_bouldin: Option<f64>,
    /// Gap statistic (computed only under [`KRule::Gap`]; on the fit sample for large
    /// inputs).
    #[serde(default)]
    pub gap: Option<f64>,
    /// Standard error s(k) of the gap's reference dispersions (with [`KScore::gap`]).
    #[serde(default)]
    pub gap_se: Option<f64>,
    /// Mean adjusted Rand index between fits on subsample pairs (computed only under
    /// [`KRule::Stability`]; None for k = 1).
    #[serde(default)]
    pub stability: Option<f64>,
}

/// Mean and median of one feature within a segment, in the feature's own units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSummary {
    /// Feature column.
    pub feature: String,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
}

/// One segment described for a marketer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentProfile {
    /// Segment number (0 = the segment with the most revenue, or the largest).
    pub segment: usize,
    /// Generated description, e.g. "recent, frequent, top spend".
    pub label: String,
    /// Customers.
    pub customers: usize,
    /// Share of all customers.
    pub share: f64,
    /// Share of total spend (when the table has `total_spend`).
    pub revenue_share: Option<f64>,
    /// Share of gross profit (when the table has `gross_profit`).
    pub profit_share: Option<f64>,
    /// Mean and median of each feature.
    pub features: Vec<FeatureSummary>,
}

/// Gaussian-mixture parameters in the scaled feature space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureParams {
    /// Mixing weights per component.
    pub weights: Vec<f64>,
    /// Means per component (also the segment centroids).
    pub means: Vec<Vec<f64>>,
    /// Full covariance matrix per component.
    pub covariances: Vec<Vec<Vec<f64>>>,
}

/// A fitted segmentation: scalers, centroids (or mixture) and labels. Serialises to
/// JSON and assigns new customers exactly as the original run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentModel {
    /// Layout version.
    pub format_version: u32,
    /// Method used.
    pub method: Method,
    /// Features with their transforms.
    pub features: Vec<FeatureSpec>,
    /// Fitted centre and scale per feature.
    pub scalers: Vec<Scaler>,
    /// Segment centroids in the scaled space, in segment order.
    pub centroids: Vec<Vec<f64>>,
    /// Segment labels, in segment order.
    pub labels: Vec<String>,
    /// The mixture, for [`Method::GaussianMixture`].
    pub mixture: Option<MixtureParams>,
}

impl SegmentModel {
    /// Number of segments.
    pub fn k(&self) -> usize {
        self.centroids.len()
    }

    /// Assigns each row of a per-customer table (with the feature columns) to a segment.
    ///
    /// # Errors
    ///
    /// Missing or non-numeric feature columns, or a null/NaN value (row and column named).
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::segmentation::{segment, SegmentationSpec, KChoice};
    /// use polars::prelude::*;
    /// let df = df!("recency_days" => [1.0, 2.0, 90.0, 95.0], "n_purchases" => [9.0, 8.0, 1.0, 1.0], "total_spend" => [500.0, 450.0, 20.0, 25.0])?;
    /// let seg = segment(&df, &SegmentationSpec::default().k(KChoice::Fixed(2)))?;
    /// assert_eq!(seg.model.predict(&df)?, seg.assignments);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    #[cfg(feature = "frames")]
    pub fn predict(&self, df: &DataFrame) -> Result<Vec<usize>> {
        let features = resolve(&self.features, |c| df.column(c).is_ok());
        let raw = raw_columns(df, &features)?;
        self.predict_columns(&named(&features, &raw))
    }

    /// Assigns customers given as named columns (one value per customer, all columns
    /// the same length) to segments: the frame-free form of [`SegmentModel::predict`],
    /// with the same results, for crates built without the `frames` feature.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`] for a feature with no column of its name,
    /// [`Error::BadRow`] (1-based row) for a NaN or infinite value,
    /// [`Error::InvalidOption`] for columns of different lengths.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::segmentation::{segment_columns, KChoice, SegmentationSpec};
    /// let columns: [(&str, &[f64]); 3] = [
    ///     ("recency_days", &[1.0, 2.0, 90.0, 95.0]),
    ///     ("n_purchases", &[9.0, 8.0, 1.0, 1.0]),
    ///     ("total_spend", &[500.0, 450.0, 20.0, 25.0]),
    /// ];
    /// let seg = segment_columns(&columns, &SegmentationSpec::default().k(KChoice::Fixed(2)))?;
    /// assert_eq!(seg.model.predict_columns(&columns)?, seg.assignments);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn predict_columns(&self, columns: &[(&str, &[f64])]) -> Result<Vec<usize>> {
        common_len(columns)?;
        let features = resolve(&self.features, |c| find(columns, c).is_some());
        let raw = named_columns(columns, &features)?;
        let x = matrix(&raw, &self.features, &self.scalers);
        self.assign(&x)
    }

    fn assign(&self, x: &[f64]) -> Result<Vec<usize>> {
        let d = self.features.len();
        Ok(match &self.mixture {
            Some(m) => {
                let comps = mixture_components(m)?;
                x.par_chunks(d).map(|p| most_probable(p, &comps)).collect()
            }
            None => x
                .par_chunks(d)
                .map(|p| metrics::nearest(p, &self.centroids).0)
                .collect(),
        })
    }

    /// The model as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Serialize`] if serialisation fails.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| Error::Serialize {
            what: "segment model JSON".into(),
            source,
        })
    }

    /// Loads a model written by [`SegmentModel::to_json`].
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed JSON or another format version.
    pub fn from_json(json: &str) -> Result<Self> {
        let m: SegmentModel = serde_json::from_str(json).map_err(|e| Error::Parse {
            what: "segment model JSON".into(),
            reason: e.to_string(),
        })?;
        if m.format_version != FORMAT_VERSION {
            return Err(Error::Parse {
                what: "segment model JSON".into(),
                reason: format!(
                    "format version {} (this build reads {FORMAT_VERSION})",
                    m.format_version
                ),
            });
        }
        Ok(m)
    }
}

/// The result of [`segment`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Segmentation {
    /// The fitted, reusable model.
    pub model: SegmentModel,
    /// Segment of each input row: 0-based segment numbers, 0 the segment with the most
    /// revenue (or the largest, without `total_spend`); `profiles[s]` describes segment
    /// `s`.
    pub assignments: Vec<usize>,
    /// The chosen k.
    pub chosen_k: usize,
    /// Quality figures for every k tried.
    pub k_table: Vec<KScore>,
    /// Customers the silhouette was computed on.
    pub silhouette_sample_size: usize,
    /// One profile per segment, indexed by segment number: `profiles[s].segment == s`.
    pub profiles: Vec<SegmentProfile>,
    /// Features that were constant (they cannot separate anyone).
    pub constant_features: Vec<String>,
    /// With more customers than [`SegmentationSpec::fit_sample`]: the sample k was
    /// chosen on and how well the final segments agree with it; `None` when every k was
    /// fitted on every customer.
    pub fit_sample: Option<FitSample>,
    /// The rule k was chosen by.
    pub k_rule: KRule,
}

impl Segmentation {
    /// `customer_id` (when the input has it), `segment`, `segment_label` and the feature
    /// columns used, one row per input row.
    ///
    /// # Errors
    ///
    /// Polars errors building the frame.
    #[cfg(feature = "frames")]
    pub fn frame(&self, df: &DataFrame) -> Result<DataFrame> {
        self.frame_of(df, &self.assignments)
    }

    /// [`Segmentation::frame`] for some of the rows: `df` holds them and `assignments`
    /// their segments (a slice of [`Segmentation::assignments`]), so a table read in
    /// parts gets the gathered frame's rows part by part.
    #[cfg(feature = "frames")]
    pub(crate) fn frame_of(&self, df: &DataFrame, assignments: &[usize]) -> Result<DataFrame> {
        let mut cols = Vec::new();
        if let Ok(id) = df.column("customer_id") {
            cols.push(id.clone());
        }
        cols.push(Column::new(
            "segment".into(),
            assignments.iter().map(|&s| s as u32).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            "segment_label".into(),
            assignments
                .iter()
                .map(|&s| self.model.labels[s].clone())
                .collect::<Vec<_>>(),
        ));
        for f in resolve(&self.model.features, |c| df.column(c).is_ok()) {
            if let Ok(c) = df.column(&f.column) {
                cols.push(c.clone());
            }
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }

    /// The chosen k, the k-selection table and the profiles as one JSON value.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::json!({
            "chosen_k": self.chosen_k,
            "k_rule": self.k_rule,
            "k_selection_rule": self.k_rule.describe(),
            "silhouette_sample_size": self.silhouette_sample_size,
            "k_table": self.k_table,
            "profiles": self.profiles,
            "constant_features": self.constant_features,
            "fit_sample": self.fit_sample,
        })
    }
}

/// Maps the `tenure` alias to the summary's `T` when the table has no `tenure` column
/// (`has` says whether the table has a column of a name).
pub(crate) fn resolve(features: &[FeatureSpec], has: impl Fn(&str) -> bool) -> Vec<FeatureSpec> {
    features
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if f.column == "tenure" && !has("tenure") {
                f.column = "T".into();
            }
            f
        })
        .collect()
}

/// The features' columns under the names [`resolve`] gave them, for the slice entry
/// points.
#[cfg(feature = "frames")]
fn named<'a>(features: &'a [FeatureSpec], raw: &'a [Vec<f64>]) -> Vec<(&'a str, &'a [f64])> {
    features
        .iter()
        .zip(raw)
        .map(|(f, v)| (f.column.as_str(), v.as_slice()))
        .collect()
}

/// The number of customers in named columns: their common length (0 with no columns).
///
/// # Errors
///
/// [`Error::InvalidOption`] naming the first column whose length differs from the first.
fn common_len(columns: &[(&str, &[f64])]) -> Result<usize> {
    let Some((first, values)) = columns.first() else {
        return Ok(0);
    };
    let n = values.len();
    match columns.iter().find(|(_, v)| v.len() != n) {
        Some((name, v)) => Err(Error::invalid(
            "segmentation.columns",
            format!(
                "column `{name}` has {} values but `{first}` has {n}: give one value per customer in every column",
                v.len()
            ),
        )),
        None => Ok(n),
    }
}

/// The k values to fit for a table of `n` customers.
///
/// # Errors
///
/// [`Error::EmptyTable`] with no customers; the errors of [`validate`].
pub(crate) fn ks_for(spec: &SegmentationSpec, n: usize) -> Result<Vec<usize>> {
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "no customers to segment".into(),
        });
    }
    validate(spec, n)
}

/// Checks a spec before there is data (the k range against any number of customers).
#[cfg(feature = "frames")]
pub(crate) fn check_spec(spec: &SegmentationSpec) -> Result<()> {
    validate(spec, usize::MAX).map(|_| ())
}

fn validate(spec: &SegmentationSpec, n: usize) -> Result<Vec<usize>> {
    if spec.features.is_empty() {
        return Err(Error::invalid(
            "segmentation.features",
            "give at least one feature",
        ));
    }
    for (i, f) in spec.features.iter().enumerate() {
        if spec.features[..i].iter().any(|g| g.column == f.column) {
            return Err(Error::invalid(
                "segmentation.features",
                format!("`{}` is listed twice", f.column),
            ));
        }
    }
    if spec.n_runs == 0 {
        return Err(Error::invalid("segmentation.n_runs", "must be at least 1"));
    }
    if spec.max_iterations == 0 {
        return Err(Error::invalid(
            "segmentation.max_iterations",
            "must be at least 1",
        ));
    }
    if spec.fit_sample != 0 && spec.fit_sample < MIN_FIT_SAMPLE {
        return Err(Error::invalid(
            "segmentation.fit_sample",
            format!(
                "{} is too small a sample: give 0 (every customer) or at least {MIN_FIT_SAMPLE}",
                spec.fit_sample
            ),
        ));
    }
    if spec.gap_references < 2 {
        return Err(Error::invalid(
            "segmentation.gap_references",
            "must be at least 2",
        ));
    }
    if spec.stability_pairs == 0 {
        return Err(Error::invalid(
            "segmentation.stability_pairs",
            "must be at least 1",
        ));
    }
    if !(spec.stability_fraction > 0.5 && spec.stability_fraction < 1.0) {
        return Err(Error::invalid(
            "segmentation.stability_fraction",
            format!("{} must be above 0.5 and below 1", spec.stability_fraction),
        ));
    }
    if spec.silhouette_sample < 2 {
        return Err(Error::invalid(
            "segmentation.silhouette_sample",
            "must be at least 2",
        ));
    }
    let ks: Vec<usize> = match spec.k {
        KChoice::Fixed(k) => {
            if k == 0 {
                return Err(Error::invalid("segmentation.k", "must be at least 1"));
            }
            if k > n {
                return Err(Error::invalid(
                    "segmentation.k",
                    format!("{k} segments but only {n} customers"),
                ));
            }
            vec![k]
        }
        KChoice::Range(lo, hi) => {
            if lo == 0 || lo > hi {
                return Err(Error::invalid(
                    "segmentation.k",
                    format!("{lo}..{hi} is not a range of at least 1"),
                ));
            }
            // A k is only comparable by silhouette when k < n.
            let top = hi.min(n.saturating_sub(1)).max(1);
            if lo > top {
                return Err(Error::invalid(
                    "segmentation.k",
                    format!("{lo}..{hi} segments but only {n} customers: choose k below {n}"),
                ));
            }
            (lo..=top).collect()
        }
    };
    Ok(ks)
}

/// The smallest [`SegmentationSpec::fit_sample`] other than 0: a sample too small to
/// hold every segment of a k range would choose k on noise.
const MIN_FIT_SAMPLE: usize = 1_000;

/// Mixed into the seed for the fit sample, so that it is not the silhouette sample.
const FIT_SAMPLE_SALT: u64 = 0xF17_5A3F_1E00_0001;

struct Run {
    centroids: Vec<Vec<f64>>,
    mixture: Option<MixtureParams>,
    labels: Vec<usize>,
    score: KScore,
}

fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

fn fit_k(x: &[f64], d: usize, k: usize, spec: &SegmentationSpec, sample: &[usize]) -> Result<Run> {
    let n = x.len() / d;
    let seed = spec.seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let (centroids, mixture, labels) = if k == 1 {
        let mut mean = vec![0.0; d];
        for p in x.chunks(d) {
            for j in 0..d {
                mean[j] += p[j];
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        (vec![mean], None, None)
    } else if spec.method == Method::KMeans && spec.kmeans_engine == KMeansEngine::Native {
        let fit = kmeans::fit(
            x,
            d,
            &kmeans::Params {
                k,
                n_runs: spec.n_runs,
                max_iterations: spec.max_iterations,
                tol: 1e-4,
                seed,
            },
        )?;
        // The fit's labels are those of `metrics::nearest` on its centroids.
        (fit.centroids, None, Some(fit.labels))
    } else {
        let array = Array2::from_shape_vec((n, d), x.to_vec())
            .map_err(|e| Error::invalid("segmentation.features", e.to_string()))?;
        let data = DatasetBase::from(array);
        let rng = Xoshiro256Plus::seed_from_u64(seed);
        match spec.method {
            Method::KMeans => {
                let model = KMeans::params_with_rng(k, rng)
                    .n_runs(spec.n_runs)
                    .max_n_iterations(spec.max_iterations)
                    .tolerance(1e-4)
                    .init_method(KMeansInit::KMeansPlusPlus)
                    .fit(&data)
                    .map_err(|e| Error::Model {
                        model: "k-means".into(),
                        reason: e.to_string(),
                    })?;
                (rows(model.centroids()), None, None)
            }
            Method::GaussianMixture => {
                let model = GaussianMixtureModel::params_with_rng(k, rng)
                    .n_runs(spec.n_runs as u64)
                    .max_n_iterations(spec.max_iterations)
                    .tolerance(1e-6)
                    .fit(&data)
                    .map_err(|e| Error::Model {
                        model: "gaussian-mixture".into(),
                        reason: format!("{e}; try k-means or fewer segments"),
                    })?;
                let means = rows(model.means());
                let covariances = model
                    .covariances()
                    .outer_iter()
                    .map(|c| rows(&c.to_owned()))
                    .collect();
                let m = MixtureParams {
                    weights: model.weights().to_vec(),
                    means: means.clone(),
                    covariances,
                };
                (means, Some(m), None)
            }
        }
    };
    let labels: Vec<usize> = match (labels, &mixture) {
        (Some(labels), _) => labels,
        (None, Some(m)) => {
            let comps = mixture_components(m)?;
            x.par_chunks(d).map(|p| most_probable(p, &comps)).collect()
        }
        (None, None) => x
            .par_chunks(d)
            .map(|p| metrics::nearest(p, &centroids).0)
            .collect(),
    };
    let inertia = metrics::inertia(x, d, &labels, &centroids);
    let silhouette = metrics::silhouette(x, d, &labels, k, sample);
    let calinski_harabasz = metrics::calinski_harabasz(x, d, &labels, &centroids, inertia);
    let davies_bouldin = metrics::davies_bouldin(x, d, &labels, &centroids);
    let score = KScore {
        k,
        inertia,
        silhouette,
        calinski_harabasz,
        davies_bouldin,
        gap: None,
        gap_se: None,
        stability: None,
    };
    Ok(Run {
        centroids,
        mixture,
        labels,
        score,
    })
}

/// A mixture component prepared for scoring: ln weight, mean, Cholesky factor, ln det.
struct Component {
    ln_w: f64,
    mean: Vec<f64>,
    chol: Vec<Vec<f64>>,
    ln_det: f64,
}

fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                let v = a[i][i] - s;
                if v.is_nan() || v <= 0.0 {
                    return None;
                }
                l[i][i] = v.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// The components ready for scoring.
///
/// # Errors
/// [`Error::Model`] naming the component whose covariance is not positive definite even
/// with the 1e-9 ridge (a model file edited by hand, or non-finite values): scoring with
/// any substitute covariance would assign customers by a model that was never fitted.
fn mixture_components(m: &MixtureParams) -> Result<Vec<Component>> {
    m.weights
        .iter()
        .zip(&m.means)
        .zip(&m.covariances)
        .enumerate()
        .map(|(i, ((w, mean), cov))| {
            // A tiny ridge keeps a degenerate (constant-feature) covariance usable.
            let mut c = cov.clone();
            for (i, row) in c.iter_mut().enumerate() {
                row[i] += 1e-9;
            }
            let chol = cholesky(&c).ok_or_else(|| Error::Model {
                model: "gaussian-mixture".into(),
                reason: format!(
                    "the covariance of component {i} is not positive definite, so customers cannot be scored against it; refit, or use k-means"
                ),
            })?;
            let ln_det = 2.0 * (0..chol.len()).map(|i| chol[i][i].ln()).sum::<f64>();
            Ok(Component {
                ln_w: w.ln(),
                mean: mean.clone(),
                chol,
                ln_det,
            })
        })
        .collect()
}

fn most_probable(p: &[f64], comps: &[Component]) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (c, comp) in comps.iter().enumerate() {
        // Solve L y = (p - mean); Mahalanobis distance = |y|^2.
        let d = p.len();
        let mut y = vec![0.0; d];
        for i in 0..d {
            let s: f64 = (0..i).map(|j| comp.chol[i][j] * y[j]).sum();
            y[i] = (p[i] - comp.mean[i] - s) / comp.chol[i][i];
        }
        let score = comp.ln_w - 0.5 * comp.ln_det - 0.5 * y.iter().map(|v| v * v).sum::<f64>();
        if score > best.1 {
            best = (c, score);
        }
    }
    best.0
}

/// Clusters the customers of a per-customer table (a summary, optionally joined with
/// CLV scores) and describes the segments.
///
/// k is chosen, over a range, by [`SegmentationSpec::k_rule`]: by default the **highest
/// mean silhouette** on the (seeded) sample, fewer segments winning ties; or the
/// stability rule (the largest k whose segments agree, within 0.01 of the best, between
/// fits on seeded pairs of overlapping subsamples), or the gap statistic ([`KRule`]);
/// inertia, silhouette,
/// Calinski-Harabasz and Davies-Bouldin are reported beside it for judgement, with the
/// gap or the stability when the rule computed them. Segments are numbered by revenue
/// (`total_spend`) when the table has it, else by size, largest first.
///
/// Reads the feature columns (and `total_spend`, `gross_profit` when the table has them,
/// a null counting 0) and runs [`segment_columns`] on them: the two give the same
/// segmentation.
///
/// # Errors
///
/// [`Error::InvalidOption`] for an empty or duplicated feature list, k = 0, more
/// segments than customers, an empty k range; [`Error::EmptyTable`] with no rows;
/// [`Error::MissingColumn`] / [`Error::WrongType`] / [`Error::BadRow`] for the feature
/// columns (a null or NaN value names its row); [`Error::Model`] when the clustering
/// itself fails (e.g. a singular Gaussian mixture).
///
/// # Example
///
/// ```
/// use patronage::segmentation::{segment, KChoice, SegmentationSpec};
/// use polars::prelude::*;
/// let df = df!("recency_days" => [1.0, 2.0, 90.0, 95.0], "n_purchases" => [9.0, 8.0, 1.0, 1.0], "total_spend" => [500.0, 450.0, 20.0, 25.0])?;
/// let seg = segment(&df, &SegmentationSpec::default().k(KChoice::Fixed(2)))?;
/// assert_eq!(seg.assignments, [0, 0, 1, 1]);
/// # Ok::<(), patronage::Error>(())
/// ```
#[cfg(feature = "frames")]
pub fn segment(df: &DataFrame, spec: &SegmentationSpec) -> Result<Segmentation> {
    SegmentColumns::of(df, spec)?.segment(spec)
}

/// The columns [`segment`] reads from a frame, as numbers: the features (checked) and
/// `total_spend` and `gross_profit` when the frame has them and they are not features
/// (a null counting 0). Taking them out first lets a caller that built the frame only
/// for them (the segmentation on part files) drop it before the clustering.
#[cfg(feature = "frames")]
pub(crate) struct SegmentColumns {
    names: Vec<String>,
    values: Vec<Vec<f64>>,
}

#[cfg(feature = "frames")]
impl SegmentColumns {
    /// The columns of `df` that `spec` clusters on.
    ///
    /// # Errors
    /// As [`segment`], for everything but the clustering itself.
    pub(crate) fn of(df: &DataFrame, spec: &SegmentationSpec) -> Result<Self> {
        // The checks that need no column first, as before there was a slice entry point.
        ks_for(spec, df.height())?;
        let features = resolve(&spec.features, |c| df.column(c).is_ok());
        let mut names: Vec<String> = features.iter().map(|f| f.column.clone()).collect();
        let mut values = raw_columns(df, &features)?;
        for c in [REVENUE, PROFIT] {
            if features.iter().any(|f| f.column == c) {
                continue;
            }
            if let Ok(v) = crate::io::frame::nullable_f64(df, c) {
                names.push(c.to_string());
                values.push(v.into_iter().map(|v| v.unwrap_or(0.0)).collect());
            }
        }
        Ok(SegmentColumns { names, values })
    }

    /// [`segment_columns`] on them.
    ///
    /// # Errors
    /// As [`segment_columns`].
    pub(crate) fn segment(&self, spec: &SegmentationSpec) -> Result<Segmentation> {
        let columns: Vec<(&str, &[f64])> = self
            .names
            .iter()
            .zip(&self.values)
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        segment_columns(&columns, spec)
    }
}

/// The column that numbers the segments and gives their revenue share.
pub(crate) const REVENUE: &str = "total_spend";
/// The column that gives the segments' profit share.
pub(crate) const PROFIT: &str = "gross_profit";

/// Clusters customers given as named columns (one value per customer, every column the
/// same length) and describes the segments: [`segment`] without a frame, for crates
/// built without the `frames` feature, with the same results for the same values.
///
/// The features of `spec` are looked up by name (`tenure` falls back to `T`); a
/// `total_spend` column, when given, numbers the segments by revenue and gives
/// [`SegmentProfile::revenue_share`], and a `gross_profit` column gives
/// [`SegmentProfile::profit_share`]. Other columns are ignored.
///
/// # Errors
///
/// As [`segment`]: [`Error::InvalidOption`] for the spec or for columns of different
/// lengths; [`Error::EmptyTable`] with no customers; [`Error::MissingColumn`] for a
/// feature with no column; [`Error::BadRow`] (1-based row) for a NaN or infinite
/// feature value; [`Error::Model`] when the clustering fails.
///
/// # Example
///
/// ```
/// use patronage::segmentation::{segment_columns, KChoice, SegmentationSpec};
/// let recency = [3.0, 5.0, 4.0, 300.0, 280.0, 310.0];
/// let purchases = [12.0, 15.0, 11.0, 1.0, 1.0, 2.0];
/// let spend = [900.0, 1200.0, 800.0, 20.0, 35.0, 40.0];
/// let columns = [
///     ("recency_days", &recency[..]),
///     ("n_purchases", &purchases[..]),
///     ("total_spend", &spend[..]),
/// ];
/// let seg = segment_columns(&columns, &SegmentationSpec::default().k(KChoice::Fixed(2)))?;
/// assert_eq!(seg.assignments, [0, 0, 0, 1, 1, 1]);
/// assert_eq!(seg.profiles[0].label, "fairly recent, regular, high spend");
/// assert!(seg.profiles[0].revenue_share.unwrap() > 0.9);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn segment_columns(
    columns: &[(&str, &[f64])],
    spec: &SegmentationSpec,
) -> Result<Segmentation> {
    let n = common_len(columns)?;
    let ks = ks_for(spec, n)?;
    let features = resolve(&spec.features, |c| find(columns, c).is_some());
    let raw = named_columns(columns, &features)?;
    let d = features.len();
    let scalers: Vec<Scaler> = features
        .iter()
        .zip(&raw)
        .map(|(f, v)| fit_scaler(&transform(v, f), f.scale))
        .collect();
    let constant_features: Vec<String> = features
        .iter()
        .zip(&raw)
        .filter(|(_, v)| v.iter().all(|x| *x == v[0]))
        .map(|(f, _)| f.column.clone())
        .collect();
    let x = matrix(&raw, &features, &scalers);
    let sampled = spec.fit_sample != 0 && n > spec.fit_sample;
    let (run, k_table, silhouette_sample_size, fit_sample) = if sampled {
        sampled_fit(&x, d, n, &ks, spec)?
    } else {
        let sample = metrics::silhouette_sample(n, spec.silhouette_sample, spec.seed);
        let (run, k_table) = choose_k(&x, d, &ks, spec, &sample)?;
        (run, k_table, sample.len(), None)
    };
    let chosen_k = run.score.k;

    // Number segments by revenue (or size), largest first; ties by old index.
    let revenue = find(columns, REVENUE);
    let mut weight = vec![0.0; chosen_k];
    for (i, &l) in run.labels.iter().enumerate() {
        weight[l] += revenue.map_or(1.0, |r| r[i]);
    }
    let mut order: Vec<usize> = (0..chosen_k).collect();
    order.sort_by(|&a, &b| weight[b].total_cmp(&weight[a]).then(a.cmp(&b)));
    let mut new_of = vec![0usize; chosen_k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new;
    }
    let assignments: Vec<usize> = run.labels.iter().map(|&l| new_of[l]).collect();
    let centroids: Vec<Vec<f64>> = order.iter().map(|&o| run.centroids[o].clone()).collect();
    let mixture = run.mixture.map(|m| MixtureParams {
        weights: order.iter().map(|&o| m.weights[o]).collect(),
        means: order.iter().map(|&o| m.means[o].clone()).collect(),
        covariances: order.iter().map(|&o| m.covariances[o].clone()).collect(),
    });

    let profiles = profiles(columns, &features, &raw, &assignments, chosen_k);
    let model = SegmentModel {
        format_version: FORMAT_VERSION,
        method: spec.method,
        features: spec.features.clone(),
        scalers,
        centroids,
        labels: profiles.iter().map(|p| p.label.clone()).collect(),
        mixture,
    };
    Ok(Segmentation {
        model,
        assignments,
        chosen_k,
        k_table,
        silhouette_sample_size,
        profiles,
        constant_features,
        fit_sample,
        k_rule: spec.k_rule,
    })
}

/// Fits every k in `ks` on the rows of `x` and keeps the one `spec.k_rule` picks (the
/// silhouette on `sample`, the gap statistic or the stability; ties: the smaller k);
/// returns it with every k's figures (gap and stability filled in when the rule uses
/// them).
fn choose_k(
    x: &[f64],
    d: usize,
    ks: &[usize],
    spec: &SegmentationSpec,
    sample: &[usize],
) -> Result<(Run, Vec<KScore>)> {
    let mut runs: Vec<Run> = Vec::with_capacity(ks.len());
    for &k in ks {
        runs.push(fit_k(x, d, k, spec, sample)?);
    }
    let fit = |rows: &[f64], k: usize| -> Result<(Vec<Vec<f64>>, Vec<usize>)> {
        let r = fit_k(rows, d, k, spec, &[])?;
        Ok((r.centroids, r.labels))
    };
    let best = match spec.k_rule {
        KRule::Gap if ks.len() > 1 => {
            let inertia: Vec<f64> = runs.iter().map(|r| r.score.inertia).collect();
            let gaps = select::gap(x, d, ks, &inertia, spec.gap_references, spec.seed, &fit)?;
            for (r, &(g, se)) in runs.iter_mut().zip(&gaps) {
                r.score.gap = Some(g);
                r.score.gap_se = Some(se);
            }
            select::by_gap(&gaps)
        }
        KRule::Stability if ks.len() > 1 => {
            let stab = select::stability(
                x,
                d,
                ks,
                spec.stability_pairs,
                spec.stability_fraction,
                spec.seed,
                &fit,
            )?;
            for (r, &s) in runs.iter_mut().zip(&stab) {
                r.score.stability = s;
            }
            select::by_stability(&stab)
        }
        _ => select::by_highest(&runs.iter().map(|r| r.score.silhouette).collect::<Vec<_>>()),
    };
    let k_table: Vec<KScore> = runs.iter().map(|r| r.score.clone()).collect();
    Ok((runs.swap_remove(best), k_table))
}

/// The sampled path: k and the starts chosen on a seeded sample of `spec.fit_sample`
/// rows, then the chosen k's centroids iterated on every row (k-means) or every row
/// assigned by the sample's mixture. Returns the final run (its score over every row,
/// silhouette on a sample of every row), the sample's k table, the silhouette sample size
/// and the [`FitSample`] figures.
fn sampled_fit(
    x: &[f64],
    d: usize,
    n: usize,
    ks: &[usize],
    spec: &SegmentationSpec,
) -> Result<(Run, Vec<KScore>, usize, Option<FitSample>)> {
    let rows = metrics::silhouette_sample(n, spec.fit_sample, spec.seed ^ FIT_SAMPLE_SALT);
    let mut xs = Vec::with_capacity(rows.len() * d);
    for &i in &rows {
        xs.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    let sil_in_sample = metrics::silhouette_sample(rows.len(), spec.silhouette_sample, spec.seed);
    let (on_sample, k_table) = choose_k(&xs, d, ks, spec, &sil_in_sample)?;
    let k = on_sample.score.k;
    let (centroids, mixture, labels) = match &on_sample.mixture {
        Some(m) => {
            let comps = mixture_components(m)?;
            let labels: Vec<usize> = x.par_chunks(d).map(|p| most_probable(p, &comps)).collect();
            (on_sample.centroids.clone(), Some(m.clone()), labels)
        }
        None => {
            let fit = kmeans::refine(x, d, &on_sample.centroids, spec.max_iterations, 1e-4)?;
            (fit.centroids, None, fit.labels)
        }
    };
    let agreement = metrics::adjusted_rand_index(
        &on_sample.labels,
        &rows.iter().map(|&i| labels[i]).collect::<Vec<_>>(),
    );
    let sample = metrics::silhouette_sample(n, spec.silhouette_sample, spec.seed);
    let inertia = metrics::inertia(x, d, &labels, &centroids);
    let score = KScore {
        k,
        inertia,
        silhouette: metrics::silhouette(x, d, &labels, k, &sample),
        calinski_harabasz: metrics::calinski_harabasz(x, d, &labels, &centroids, inertia),
        davies_bouldin: metrics::davies_bouldin(x, d, &labels, &centroids),
        gap: None,
        gap_se: None,
        stability: None,
    };
    let fit_sample = FitSample {
        customers: rows.len(),
        agreement,
        inertia,
    };
    let run = Run {
        centroids,
        mixture,
        labels,
        score,
    };
    Ok((run, k_table, sample.len(), Some(fit_sample)))
}

fn profiles(
    columns: &[(&str, &[f64])],
    features: &[FeatureSpec],
    raw: &[&[f64]],
    assignments: &[usize],
    k: usize,
) -> Vec<SegmentProfile> {
    let n = assignments.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &s) in assignments.iter().enumerate() {
        members[s].push(i);
    }
    let share_of = |col: &str| -> Option<Vec<f64>> {
        let v = find(columns, col)?;
        let total: f64 = v.iter().sum();
        if total == 0.0 {
            return None;
        }
        Some(
            members
                .iter()
                .map(|m| m.iter().map(|&i| v[i]).sum::<f64>() / total)
                .collect(),
        )
    };
    let revenue = share_of(REVENUE);
    let profit = share_of(PROFIT);
    let sorted_base: Vec<Vec<f64>> = raw.par_iter().map(|v| sorted(v)).collect();
    let mut out = Vec::with_capacity(k);
    for (s, m) in members.iter().enumerate() {
        let summaries: Vec<FeatureSummary> = features
            .par_iter()
            .zip(raw)
            .map(|(f, v)| {
                let vals: Vec<f64> = m.iter().map(|&i| v[i]).collect();
                FeatureSummary {
                    feature: f.column.clone(),
                    mean: if vals.is_empty() {
                        f64::NAN
                    } else {
                        vals.iter().sum::<f64>() / vals.len() as f64
                    },
                    median: median(&vals),
                }
            })
            .collect();
        out.push(SegmentProfile {
            segment: s,
            label: String::new(),
            customers: m.len(),
            share: m.len() as f64 / n as f64,
            revenue_share: revenue.as_ref().map(|r| r[s]),
            profit_share: profit.as_ref().map(|p| p[s]),
            features: summaries,
        });
    }
    // Labels true relative to the base and distinct (labels.rs).
    let summaries: Vec<Vec<FeatureSummary>> = out.iter().map(|p| p.features.clone()).collect();
    let sizes: Vec<usize> = out.iter().map(|p| p.customers).collect();
    for (p, l) in out
        .iter_mut()
        .zip(labels::labels(&sorted_base, &summaries, &sizes))
    {
        p.label = l;
    }
    out
}

/// Prefix of the per-channel purchase-line counts in a customer table.
#[cfg(feature = "frames")]
const CHANNEL_LINES: &str = "channel_lines_";

/// The error for the channel mix of a table without channel columns.
#[cfg(feature = "frames")]
pub(crate) fn no_channel() -> Error {
    Error::MissingColumn {
        column: "channel".into(),
        available: "the transactions have no channel column mapped (--channel-col)".into(),
    }
}

/// The name of a channel's share column in [`channel_shares`].
#[cfg(feature = "frames")]
pub(crate) fn share_column(channel: &str) -> String {
    format!("channel_share_{channel}")
}

/// Channel mix per customer: `customer_id` and one `channel_share_<channel>` column per
/// channel with the share of the customer's purchase rows (returns left out) in that
/// channel, in the row order of `customers`, from the per-channel line counts of a
/// customer table (`channel_lines_<channel>`, as the customer-aggregation pass counts
/// them; channels in column order). Use the columns as segmentation features (the
/// CLI's `--features channel_mix` adds them all).
///
/// # Errors
///
/// [`Error::MissingColumn`] when the table has no channel counts (no channel column was
/// mapped).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::segmentation::channel_shares;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let mix = channel_shares(tx.customer_table(&SummaryOptions::weekly(), None)?.frame())?;
/// assert!(mix.column("channel_share_web").is_ok());
/// # Ok::<(), patronage::Error>(())
/// ```
#[cfg(feature = "frames")]
pub fn channel_shares(customers: &DataFrame) -> Result<DataFrame> {
    let channels: Vec<(String, Vec<f64>)> = customers
        .get_column_names()
        .iter()
        .filter_map(|n| Some((n.strip_prefix(CHANNEL_LINES)?.to_string(), n.as_str())))
        .map(|(channel, column)| {
            let lines = customers
                .column(column)?
                .cast(&DataType::Float64)?
                .f64()?
                .iter()
                .map(|v| v.unwrap_or(0.0))
                .collect();
            Ok((channel, lines))
        })
        .collect::<Result<_>>()?;
    if channels.is_empty() {
        return Err(no_channel());
    }
    let n = customers.height();
    let totals: Vec<f64> = (0..n)
        .map(|c| channels.iter().map(|(_, lines)| lines[c]).sum())
        .collect();
    let mut cols = vec![customers.column("customer_id")?.clone()];
    for (channel, lines) in channels {
        let shares: Vec<f64> = lines
            .iter()
            .zip(&totals)
            .map(|(&l, &t)| if t > 0.0 { l / t } else { 0.0 })
            .collect();
        cols.push(Column::new(share_column(&channel).into(), shares));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_covariance_that_is_not_positive_definite_is_an_error_not_an_identity() {
        let good = MixtureParams {
            weights: vec![0.5, 0.5],
            means: vec![vec![0.0, 0.0], vec![5.0, 5.0]],
            covariances: vec![
                vec![vec![1.0, 0.2], vec![0.2, 1.0]],
                vec![vec![2.0, 0.0], vec![0.0, 2.0]],
            ],
        };
        assert_eq!(mixture_components(&good).unwrap().len(), 2);
        let mut bad = good.clone();
        // Correlation above 1: not a covariance matrix.
        bad.covariances[1] = vec![vec![1.0, 3.0], vec![3.0, 1.0]];
        assert!(matches!(
            mixture_components(&bad),
            Err(Error::Model { model, .. }) if model == "gaussian-mixture"
        ));
    }

    const RECENCY: [f64; 6] = [3.0, 5.0, 4.0, 300.0, 280.0, 310.0];
    const PURCHASES: [f64; 6] = [12.0, 15.0, 11.0, 1.0, 1.0, 2.0];
    const SPEND: [f64; 6] = [900.0, 1200.0, 800.0, 20.0, 35.0, 40.0];

    fn two() -> SegmentationSpec {
        SegmentationSpec::default().k(KChoice::Fixed(2))
    }

    #[test]
    fn segments_named_columns_and_numbers_them_by_revenue() {
        let columns = [
            ("recency_days", &RECENCY[..]),
            ("n_purchases", &PURCHASES[..]),
            ("total_spend", &SPEND[..]),
        ];
        let seg = segment_columns(&columns, &two()).unwrap();
        assert_eq!(seg.assignments, [0, 0, 0, 1, 1, 1]);
        assert_eq!(seg.profiles[0].label, "fairly recent, regular, high spend");
        let revenue = SPEND[..3].iter().sum::<f64>() / SPEND.iter().sum::<f64>();
        assert_eq!(seg.profiles[0].revenue_share, Some(revenue));
        assert_eq!(seg.profiles[0].profit_share, None);
        assert_eq!(
            seg.model.predict_columns(&columns).unwrap(),
            seg.assignments
        );

        // Spend given only as the revenue column (not a feature) still numbers the
        // segments: the big spenders first, although they are the same size.
        let spec = two().features(vec![
            FeatureSpec::default_for("recency_days"),
            FeatureSpec::default_for("n_purchases"),
        ]);
        let seg = segment_columns(&columns, &spec).unwrap();
        assert_eq!(seg.assignments, [0, 0, 0, 1, 1, 1]);
        // Without it, by size: no revenue shares.
        let seg = segment_columns(&columns[..2], &spec).unwrap();
        assert_eq!(seg.profiles[0].revenue_share, None);
        assert_eq!(seg.profiles[0].customers, 3);
    }

    #[test]
    fn tenure_falls_back_to_t() {
        let t = [30.0, 32.0, 31.0, 2.0, 3.0, 1.0];
        let spec = |name: &str| {
            two().features(vec![
                FeatureSpec::default_for("n_purchases"),
                FeatureSpec::default_for(name),
            ])
        };
        let columns = [("n_purchases", &PURCHASES[..]), ("T", &t[..])];
        let by_t = segment_columns(&columns, &spec("T")).unwrap();
        let by_tenure = segment_columns(&columns, &spec("tenure")).unwrap();
        assert_eq!(by_tenure.assignments, by_t.assignments);
        assert_eq!(by_tenure.model.features[1].column, "tenure");
        assert_eq!(
            by_tenure.model.predict_columns(&columns).unwrap(),
            by_t.assignments
        );
    }

    #[test]
    fn slice_errors_name_the_column_and_row() {
        let mut bad = PURCHASES;
        bad[2] = f64::NAN;
        let columns = [
            ("recency_days", &RECENCY[..]),
            ("n_purchases", &bad[..]),
            ("total_spend", &SPEND[..]),
        ];
        match segment_columns(&columns, &two()) {
            Err(Error::BadRow { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (3, "n_purchases"));
            }
            other => panic!("expected BadRow, got {other:?}"),
        }
        let no_spend = [
            ("recency_days", &RECENCY[..]),
            ("n_purchases", &PURCHASES[..]),
        ];
        match segment_columns(&no_spend, &SegmentationSpec::default()) {
            Err(Error::MissingColumn { column, available }) => {
                assert_eq!(column, "total_spend");
                assert_eq!(available, "recency_days, n_purchases");
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        let short = [
            ("recency_days", &RECENCY[..]),
            ("n_purchases", &PURCHASES[..5]),
        ];
        match segment_columns(&short, &two()) {
            Err(Error::InvalidOption { option, .. }) => {
                assert_eq!(option, "segmentation.columns");
            }
            other => panic!("expected InvalidOption, got {other:?}"),
        }
        let empty: [(&str, &[f64]); 1] = [("recency_days", &[])];
        assert!(matches!(
            segment_columns(&empty, &two()),
            Err(Error::EmptyTable { .. })
        ));
        assert!(matches!(
            segment_columns(&[], &two()),
            Err(Error::EmptyTable { .. })
        ));
        let model = segment_columns(
            &[
                ("recency_days", &RECENCY[..]),
                ("n_purchases", &PURCHASES[..]),
                ("total_spend", &SPEND[..]),
            ],
            &two(),
        )
        .unwrap()
        .model;
        match model.predict_columns(&columns[..2]) {
            Err(Error::BadRow { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (3, "n_purchases"));
            }
            other => panic!("expected BadRow, got {other:?}"),
        }
    }
}
