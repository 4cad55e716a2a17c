//! The per-customer inputs the models fit on, validated and compressed.
//!
//! | type | models | module |
//! |---|---|---|
//! | [`RepeatData`] `(x, t_x, T)` | BG/NBD, MBG/NBD, Pareto/NBD | `repeat` |
//! | [`SpendData`] `(x, mean spend)` | Gamma-Gamma | `spend` |
//! | [`DiscreteData`] `(x, t_x, n)` | BG/BB | `discrete` |
//!
//! Each is built from per-customer slices (`new`, `with_weights`) or from a frame of
//! customers whose columns carry one of the accepted names per role (`from_frame`); the
//! stage layer builds them from a transaction summary (`Summary::repeat_data`,
//! `Summary::spend_data`). Customers with identical sufficient statistics are one
//! weighted row, so a fit costs in proportion to the number of distinct rows, not
//! customers. Rows are kept sorted (by `x`, then `t_x`, then `T`), which makes
//! compression and every later sum deterministic (`compress`).

pub(crate) mod compress;
mod discrete;
mod repeat;
mod spend;

pub use discrete::DiscreteData;
pub use repeat::RepeatData;
pub use spend::SpendData;

// The accepted column names per role, for the `from_frame` constructors.
#[cfg(feature = "frames")]
pub(crate) use names::*;

/// Column names accepted for each role in a per-customer frame, first match wins.
#[cfg(feature = "frames")]
mod names {
    /// Accepted names of the frequency (`x`) column.
    pub(crate) const FREQUENCY_NAMES: &[&str] = &["frequency", "x", "frequency_cal"];
    /// Accepted names of the recency (`t_x`) column.
    pub(crate) const RECENCY_NAMES: &[&str] = &["recency", "t_x", "recency_cal"];
    /// Accepted names of the `T` column.
    pub(crate) const T_NAMES: &[&str] = &["T", "T_cal"];
    /// Accepted names of the weight (customers per row) column.
    pub(crate) const WEIGHT_NAMES: &[&str] = &["weights", "weight", "count", "n_custs"];
    /// Accepted names of the mean repeat spend column.
    pub(crate) const MONETARY_NAMES: &[&str] = &["monetary_value", "zbar", "monetary_value_cal"];
    /// Accepted names of the BG/BB opportunities column.
    pub(crate) const PERIODS_NAMES: &[&str] = &["periods", "n", "n_periods", "T"];
}
