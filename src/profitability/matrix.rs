//! The profit-contribution vs cost-to-serve matrix (Shapiro, Rangan, Moriarty & Ross,
//! "Manage customers for profits (not just sales)", HBR 1987).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the axes are split. Written as text everywhere (TOML, JSON, the CLI's
/// `--split`): `median`, `mean`, `qN` or `x,y`; see [`Split::from_str`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Split {
    /// At each axis's median.
    Median,
    /// At each axis's mean.
    Mean,
    /// At the same quantile of each axis (0.5 = median).
    Quantile(f64),
    /// At given values: (margin or contribution, cost-to-serve).
    Values(f64, f64),
}

impl FromStr for Split {
    type Err = Error;
    /// `median`, `mean`, `qN` (N a percentage, e.g. `q75`), or `x,y` values (margin,
    /// cost-to-serve).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "profitability.split",
                format!("`{s}` is not median, mean, qN (e.g. q75) or x,y"),
            )
        };
        Ok(match s {
            "median" => Split::Median,
            "mean" => Split::Mean,
            q if q.starts_with('q') => {
                let p: f64 = q[1..].parse().map_err(|_| bad())?;
                if !(p > 0.0 && p < 100.0) {
                    return Err(bad());
                }
                Split::Quantile(p / 100.0)
            }
            xy => {
                let (x, y) = xy.split_once(',').ok_or_else(bad)?;
                Split::Values(
                    x.trim().parse().map_err(|_| bad())?,
                    y.trim().parse().map_err(|_| bad())?,
                )
            }
        })
    }
}

impl std::fmt::Display for Split {
    /// The text [`Split::from_str`] reads back (`q75` for the 0.75 quantile).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Split::Median => write!(f, "median"),
            Split::Mean => write!(f, "mean"),
            Split::Quantile(q) => write!(f, "q{}", q * 100.0),
            Split::Values(x, y) => write!(f, "{x},{y}"),
        }
    }
}

impl TryFrom<String> for Split {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Split> for String {
    fn from(s: Split) -> String {
        s.to_string()
    }
}

/// What the first axis of the matrix measures (the second is cost-to-serve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatrixAxis {
    /// Gross margin as a % of net revenue (Shapiro et al.'s net price realised).
    #[default]
    Margin,
    /// Gross profit in money (profit contribution before cost-to-serve).
    Contribution,
}

impl MatrixAxis {
    /// The per-customer column it reads: `margin_pct` or `gross_profit`.
    pub fn column(self) -> &'static str {
        match self {
            MatrixAxis::Margin => "margin_pct",
            MatrixAxis::Contribution => "gross_profit",
        }
    }
}

impl FromStr for MatrixAxis {
    type Err = Error;
    /// `margin` or `contribution`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "margin" => Ok(MatrixAxis::Margin),
            "contribution" => Ok(MatrixAxis::Contribution),
            _ => Err(Error::invalid(
                "profitability.axis",
                format!("`{s}` is not margin or contribution"),
            )),
        }
    }
}

/// The four quadrants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quadrant {
    /// High margin, low cost-to-serve.
    Passive,
    /// High margin, high cost-to-serve.
    CarriageTrade,
    /// Low margin, low cost-to-serve.
    BargainBasement,
    /// Low margin, high cost-to-serve.
    Aggressive,
}

impl Quadrant {
    /// All four, in display order.
    pub const ALL: [Quadrant; 4] = [
        Quadrant::Passive,
        Quadrant::CarriageTrade,
        Quadrant::BargainBasement,
        Quadrant::Aggressive,
    ];

    /// Shapiro et al.'s name.
    pub fn name(self) -> &'static str {
        match self {
            Quadrant::Passive => "Passive",
            Quadrant::CarriageTrade => "Carriage trade",
            Quadrant::BargainBasement => "Bargain basement",
            Quadrant::Aggressive => "Aggressive",
        }
    }

    /// A one-line recommended action.
    pub fn action(self) -> &'static str {
        match self {
            Quadrant::Passive => {
                "Protect and grow: profitable and cheap to serve; keep service levels, cross-sell."
            }
            Quadrant::CarriageTrade => {
                "Keep, but charge for the extra service or make it cheaper to deliver."
            }
            Quadrant::BargainBasement => {
                "Serve efficiently: low-touch channels, standard terms, no costly extras."
            }
            Quadrant::Aggressive => {
                "Fix or reprice: renegotiate terms, move to cheaper channels, or let go."
            }
        }
    }
}

fn quantile(values: &[f64], q: f64) -> f64 {
    crate::stats::quantile_of(values, q)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Thresholds for the two axes: (margin or contribution, cost-to-serve).
///
/// # Errors
///
/// [`Error::EmptyTable`] with no customers; [`Error::InvalidOption`] for a quantile
/// outside (0, 1) or non-finite values.
pub fn thresholds(margin: &[f64], cost: &[f64], split: Split) -> Result<(f64, f64)> {
    if margin.is_empty() || cost.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customers for the matrix".into(),
        });
    }
    let t = match split {
        Split::Median => (quantile(margin, 0.5), quantile(cost, 0.5)),
        Split::Mean => (mean(margin), mean(cost)),
        Split::Quantile(q) if q > 0.0 && q < 1.0 => (quantile(margin, q), quantile(cost, q)),
        Split::Quantile(q) => {
            return Err(Error::invalid(
                "profitability.split",
                format!("quantile {q} is not in (0, 1)"),
            ));
        }
        Split::Values(x, y) => (x, y),
    };
    if !(t.0.is_finite() && t.1.is_finite()) {
        return Err(Error::invalid(
            "profitability.split",
            "thresholds must be finite",
        ));
    }
    Ok(t)
}

/// Places each customer: high margin means strictly above the margin threshold, high
/// cost strictly above the cost threshold (customers on a threshold count as low).
///
/// # Example
///
/// ```
/// use patronage::profitability::{quadrants, Quadrant};
/// let q = quadrants(&[40.0, 40.0, 5.0, 5.0], &[1.0, 9.0, 1.0, 9.0], (20.0, 5.0));
/// assert_eq!(q, [Quadrant::Passive, Quadrant::CarriageTrade, Quadrant::BargainBasement, Quadrant::Aggressive]);
/// ```
pub fn quadrants(margin: &[f64], cost: &[f64], t: (f64, f64)) -> Vec<Quadrant> {
    margin
        .iter()
        .zip(cost)
        .map(|(&m, &c)| match (m > t.0, c > t.1) {
            (true, false) => Quadrant::Passive,
            (true, true) => Quadrant::CarriageTrade,
            (false, false) => Quadrant::BargainBasement,
            (false, true) => Quadrant::Aggressive,
        })
        .collect()
}

/// One row of the quadrant summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadrantSummary {
    /// Quadrant name.
    pub quadrant: String,
    /// Recommended action.
    pub action: String,
    /// Customers.
    pub customers: usize,
    /// Revenue (before returns).
    pub revenue: f64,
    /// Gross profit.
    pub gross_profit: f64,
    /// Cost-to-serve.
    pub cost_to_serve: f64,
    /// Net contribution.
    pub net_contribution: f64,
    /// Share of customers.
    pub customer_share: f64,
    /// Share of revenue.
    pub revenue_share: f64,
    /// Share of total net contribution (can be negative, or above 1).
    pub net_contribution_share: f64,
}

/// Sums per quadrant, in [`Quadrant::ALL`] order.
pub fn summarise(
    q: &[Quadrant],
    revenue: &[f64],
    gross: &[f64],
    cost: &[f64],
) -> Vec<QuadrantSummary> {
    let n = q.len() as f64;
    let total_rev: f64 = revenue.iter().sum();
    let total_net: f64 = gross.iter().zip(cost).map(|(g, c)| g - c).sum();
    Quadrant::ALL
        .iter()
        .map(|&quad| {
            let idx: Vec<usize> = (0..q.len()).filter(|&i| q[i] == quad).collect();
            let sum = |v: &[f64]| idx.iter().map(|&i| v[i]).sum::<f64>();
            let (rev, gp, cts) = (sum(revenue), sum(gross), sum(cost));
            let share = |x: f64, total: f64| if total != 0.0 { x / total } else { 0.0 };
            QuadrantSummary {
                quadrant: quad.name().into(),
                action: quad.action().into(),
                customers: idx.len(),
                revenue: rev,
                gross_profit: gp,
                cost_to_serve: cts,
                net_contribution: gp - cts,
                customer_share: share(idx.len() as f64, n),
                revenue_share: share(rev, total_rev),
                net_contribution_share: share(gp - cts, total_net),
            }
        })
        .collect()
}

/// One cell of an n x m grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridCell {
    /// Margin band, 1 = lowest.
    pub margin_band: usize,
    /// Cost-to-serve band, 1 = lowest.
    pub cost_band: usize,
    /// Customers.
    pub customers: usize,
    /// Their net contribution.
    pub net_contribution: f64,
}

/// Band (1..=bands) of each value by the value's quantiles (equal-count bands; ties go to
/// the lower band).
fn bands(values: &[f64], bands: usize) -> Vec<usize> {
    let cuts: Vec<f64> = (1..bands)
        .map(|b| quantile(values, b as f64 / bands as f64))
        .collect();
    values
        .iter()
        .map(|v| 1 + cuts.iter().filter(|c| v > c).count())
        .collect()
}

/// The n x m grid: margin in `n` quantile bands against cost-to-serve in `m`, with
/// customers and net contribution per cell (all `n * m` cells, margin band first).
///
/// # Errors
///
/// [`Error::InvalidOption`] unless `1 <= n, m <= 20`; [`Error::EmptyTable`] without
/// customers.
///
/// # Example
///
/// ```
/// use patronage::profitability::grid;
/// let g = grid(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 1.0, 1.0], 2, 2).unwrap();
/// assert_eq!(g.iter().map(|c| c.customers).collect::<Vec<_>>(), [2, 0, 0, 2]);
/// ```
pub fn grid(
    margin: &[f64],
    cost: &[f64],
    net: &[f64],
    n: usize,
    m: usize,
) -> Result<Vec<GridCell>> {
    if !(1..=20).contains(&n) || !(1..=20).contains(&m) {
        return Err(Error::invalid("grid", "bands must be between 1 and 20"));
    }
    if margin.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customers for the grid".into(),
        });
    }
    let (mb, cb) = (bands(margin, n), bands(cost, m));
    let mut cells: Vec<GridCell> = (1..=n)
        .flat_map(|a| {
            (1..=m).map(move |b| GridCell {
                margin_band: a,
                cost_band: b,
                customers: 0,
                net_contribution: 0.0,
            })
        })
        .collect();
    for i in 0..margin.len() {
        let cell = &mut cells[(mb[i] - 1) * m + (cb[i] - 1)];
        cell.customers += 1;
        cell.net_contribution += net[i];
    }
    Ok(cells)
}

/// One row of a cross-tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossTabRow {
    /// Quadrant name.
    pub quadrant: String,
    /// The other grouping (an RFM segment, a cluster label).
    pub group: String,
    /// Customers in both.
    pub customers: usize,
    /// Their net contribution.
    pub net_contribution: f64,
}

/// Customers and net contribution by quadrant and another grouping (non-empty cells,
/// sorted by quadrant order then group name).
///
/// # Example
///
/// ```
/// use patronage::profitability::{crosstab, Quadrant};
/// let t = crosstab(&[Quadrant::Passive, Quadrant::Passive], &["Champions".into(), "Lost".into()], &[5.0, -1.0]);
/// assert_eq!(t.len(), 2);
/// ```
pub fn crosstab(q: &[Quadrant], groups: &[String], net: &[f64]) -> Vec<CrossTabRow> {
    let mut cells: std::collections::BTreeMap<(usize, &str), (usize, f64)> =
        std::collections::BTreeMap::new();
    for i in 0..q.len().min(groups.len()).min(net.len()) {
        let k = Quadrant::ALL.iter().position(|x| *x == q[i]).unwrap_or(0);
        let e = cells.entry((k, groups[i].as_str())).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += net[i];
    }
    cells
        .into_iter()
        .map(|((k, group), (customers, net_contribution))| CrossTabRow {
            quadrant: Quadrant::ALL[k].name().into(),
            group: group.to_string(),
            customers,
            net_contribution,
        })
        .collect()
}
