//! The profit-contribution vs cost-to-serve matrix (Shapiro, Rangan, Moriarty & Ross,
//! "Manage customers for profits (not just sales)", HBR 1987).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::sorted;

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

    /// The textbook one-line action for the quadrant, whatever its figures; the
    /// recommendation [`summarise`] writes follows the figures instead ([`decide`]).
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
    let by_order = matches!(split, Split::Median | Split::Quantile(_));
    let sort_if_needed = |v: &[f64]| if by_order { sorted(v) } else { Vec::new() };
    let (sorted_margin, sorted_cost) = (sort_if_needed(margin), sort_if_needed(cost));
    thresholds_on(
        &Axes::new(margin, &sorted_margin),
        &Axes::new(cost, &sorted_cost),
        split,
    )
}

/// One axis's values in customer order and the same values sorted ascending (empty
/// when no quantile is taken), so that the thresholds and the grid's bands share one
/// sort per axis.
pub(crate) struct Axes<'a> {
    values: &'a [f64],
    sorted: &'a [f64],
}

impl<'a> Axes<'a> {
    pub(crate) fn new(values: &'a [f64], sorted: &'a [f64]) -> Self {
        Axes { values, sorted }
    }

    fn quantile(&self, q: f64) -> f64 {
        crate::stats::quantile(self.sorted, q)
    }
}

/// [`thresholds`] on axes already sorted.
pub(crate) fn thresholds_on(margin: &Axes, cost: &Axes, split: Split) -> Result<(f64, f64)> {
    if margin.values.is_empty() || cost.values.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customers for the matrix".into(),
        });
    }
    let t = match split {
        Split::Median => (margin.quantile(0.5), cost.quantile(0.5)),
        Split::Mean => (mean(margin.values), mean(cost.values)),
        Split::Quantile(q) if q > 0.0 && q < 1.0 => (margin.quantile(q), cost.quantile(q)),
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

/// What to do with a quadrant, decided from its figures by [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Decision {
    /// Brings at least a quarter of net contribution, or the most of any quadrant.
    Protect,
    /// Profitable, high margin (or contribution), not yet a large share: invest to grow.
    Grow,
    /// Profitable on a low margin: keep, at the lowest cost to serve.
    ServeEfficiently,
    /// Makes a loss, but its gross profit covers at least half its cost to serve.
    Reprice,
    /// Makes a loss and its gross profit covers less than half its cost to serve.
    LetGo,
    /// No customers.
    Empty,
}

impl Decision {
    /// The verb shown in tables: "Protect", "Invest to grow", "Serve efficiently",
    /// "Reprice", "Let go or reprice", "None".
    pub fn verb(self) -> &'static str {
        match self {
            Decision::Protect => "Protect",
            Decision::Grow => "Invest to grow",
            Decision::ServeEfficiently => "Serve efficiently",
            Decision::Reprice => "Reprice",
            Decision::LetGo => "Let go or reprice",
            Decision::Empty => "None",
        }
    }
}

/// Share of net contribution from which a quadrant is protected whatever its place.
pub const PROTECT_SHARE: f64 = 0.25;

/// Decides what to do with each quadrant from its figures, in the order given: a
/// loss-making quadrant is repriced (or let go when its gross profit covers less than
/// half its cost to serve) and only a loss-making one; a profitable quadrant bringing at
/// least [`PROTECT_SHARE`] of net contribution, or the most of any, is protected; the
/// other profitable ones are grown (high margin: Passive, Carriage trade) or served
/// efficiently (low margin).
///
/// # Example
///
/// ```
/// use patronage::profitability::{decide, quadrants, summarise, Decision};
/// let margin = [40.0, 40.0, 5.0, 5.0];
/// let cost = [1.0, 9.0, 1.0, 9.0];
/// let q = quadrants(&margin, &cost, (20.0, 5.0));
/// let gross = [50.0, 60.0, 8.0, 2.0];
/// let s = summarise(&q, &[100.0; 4], &gross, &cost);
/// let d = decide(&s);
/// assert_eq!(d, [Decision::Protect, Decision::Protect, Decision::ServeEfficiently, Decision::LetGo]);
/// ```
pub fn decide(summaries: &[QuadrantSummary]) -> Vec<Decision> {
    let largest = summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| s.customers > 0 && s.net_contribution > 0.0)
        .max_by(|a, b| a.1.net_contribution.total_cmp(&b.1.net_contribution))
        .map(|(i, _)| i);
    summaries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let high_margin = s.quadrant == Quadrant::Passive.name()
                || s.quadrant == Quadrant::CarriageTrade.name();
            if s.customers == 0 {
                Decision::Empty
            } else if s.net_contribution < 0.0 {
                if s.gross_profit < 0.5 * s.cost_to_serve {
                    Decision::LetGo
                } else {
                    Decision::Reprice
                }
            } else if Some(i) == largest || s.net_contribution_share >= PROTECT_SHARE {
                Decision::Protect
            } else if high_margin {
                Decision::Grow
            } else {
                Decision::ServeEfficiently
            }
        })
        .collect()
}

/// A number with thousands separators and no decimals.
fn grouped(x: f64) -> String {
    let r = x.round();
    let digits = format!("{:.0}", r.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 { format!("-{out}") } else { out }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The recommendation for a quadrant, with its figures: e.g. "Protect: brings 91% of net
/// contribution (1,234,567) from 30% of customers; keep service levels, cross-sell."
pub fn action_text(s: &QuadrantSummary, d: Decision) -> String {
    let brings = format!(
        "brings {} of net contribution ({}) from {} of customers",
        pct(s.net_contribution_share),
        grouped(s.net_contribution),
        pct(s.customer_share)
    );
    let covers = if s.cost_to_serve > 0.0 {
        format!(
            "gross profit covers {} of the cost to serve",
            pct(s.gross_profit / s.cost_to_serve)
        )
    } else {
        "gross profit is negative".to_string()
    };
    match d {
        Decision::Protect => format!("Protect: {brings}; keep service levels, cross-sell."),
        Decision::Grow => format!("Invest to grow: {brings}; win and develop more like them."),
        Decision::ServeEfficiently => format!(
            "Serve efficiently: {brings} on a low margin; low-touch channels, standard terms."
        ),
        Decision::Reprice => format!(
            "Reprice: loses {} ({} of customers), {covers}; charge for the service or move \
             them to cheaper channels.",
            grouped(-s.net_contribution),
            pct(s.customer_share)
        ),
        Decision::LetGo => format!(
            "Let go or reprice: loses {} ({} of customers), {covers}; reprice steeply or \
             stop serving at this cost.",
            grouped(-s.net_contribution),
            pct(s.customer_share)
        ),
        Decision::Empty => "No customers in this quadrant.".to_string(),
    }
}

/// One row of the quadrant summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadrantSummary {
    /// Quadrant name.
    pub quadrant: String,
    /// Recommended action, from the quadrant's figures ([`decide`], [`action_text`]).
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

/// Sums per quadrant, in [`Quadrant::ALL`] order, each with the action its figures
/// call for ([`decide`]).
///
/// # Example
///
/// ```
/// use patronage::profitability::{quadrants, summarise};
/// let q = quadrants(&[40.0, 5.0], &[1.0, 9.0], (20.0, 5.0));
/// let s = summarise(&q, &[100.0, 100.0], &[40.0, 5.0], &[1.0, 9.0]);
/// assert!(s[0].action.starts_with("Protect"));
/// assert!(s[3].action.starts_with("Reprice"));
/// ```
pub fn summarise(
    q: &[Quadrant],
    revenue: &[f64],
    gross: &[f64],
    cost: &[f64],
) -> Vec<QuadrantSummary> {
    let n = q.len() as f64;
    let total_rev: f64 = revenue.iter().sum();
    let total_net: f64 = gross.iter().zip(cost).map(|(g, c)| g - c).sum();
    let mut out: Vec<QuadrantSummary> = Quadrant::ALL
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
        .collect();
    let decisions = decide(&out);
    for (s, d) in out.iter_mut().zip(decisions) {
        s.action = action_text(s, d);
    }
    out
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
fn bands(axis: &Axes, bands: usize) -> Vec<usize> {
    let cuts: Vec<f64> = (1..bands)
        .map(|b| axis.quantile(b as f64 / bands as f64))
        .collect();
    axis.values
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
    let (sorted_margin, sorted_cost) = (sorted(margin), sorted(cost));
    grid_on(
        &Axes::new(margin, &sorted_margin),
        &Axes::new(cost, &sorted_cost),
        net,
        n,
        m,
    )
}

/// [`grid`] on axes already sorted.
pub(crate) fn grid_on(
    margin: &Axes,
    cost: &Axes,
    net: &[f64],
    n: usize,
    m: usize,
) -> Result<Vec<GridCell>> {
    if !(1..=20).contains(&n) || !(1..=20).contains(&m) {
        return Err(Error::invalid("grid", "bands must be between 1 and 20"));
    }
    if margin.values.is_empty() {
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
    for i in 0..margin.values.len() {
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
    let (codes, numbering) = numbered(groups.iter().map(|g| Some(g.as_str())));
    crosstab_coded(q, &codes, &numbering.names(), net)
}

/// The group of a customer without one in a cross-tab (missing from the RFM table).
pub(crate) const NO_GROUP: &str = "(none)";

/// A grouping's names numbered in order of first appearance (a missing group is
/// [`NO_GROUP`]), so that tallies go by index instead of by text: each row's number, and
/// the names by number ([`Numbering::names`]).
pub(crate) fn numbered<'a>(groups: impl Iterator<Item = Option<&'a str>>) -> (Vec<u32>, Numbering) {
    let mut numbering = Numbering::default();
    let codes = groups.map(|g| numbering.code(g)).collect();
    (codes, numbering)
}

/// Group names numbered in order of first appearance, one row at a time (the part-file
/// stage numbers each part's groups as it reads them, and gets [`numbered`]'s numbers).
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    names: Vec<String>,
    number: std::collections::HashMap<String, u32>,
}

impl Numbering {
    /// The number of group `g` (a missing group is [`NO_GROUP`]).
    pub(crate) fn code(&mut self, g: Option<&str>) -> u32 {
        let g = g.unwrap_or(NO_GROUP);
        if let Some(&k) = self.number.get(g) {
            return k;
        }
        let k = self.names.len() as u32;
        self.names.push(g.to_string());
        self.number.insert(g.to_string(), k);
        k
    }

    /// The names by number.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }
}

/// [`crosstab`] with the grouping numbered by [`numbered`]. Each cell sums its
/// customers' net contribution in customer order, as [`crosstab`] always has.
pub(crate) fn crosstab_coded(
    q: &[Quadrant],
    codes: &[u32],
    names: &[&str],
    net: &[f64],
) -> Vec<CrossTabRow> {
    let quadrant_index = |q: Quadrant| Quadrant::ALL.iter().position(|x| *x == q).unwrap_or(0);
    let mut cells = vec![(0usize, 0.0f64); Quadrant::ALL.len() * names.len()];
    for i in 0..q.len().min(codes.len()).min(net.len()) {
        let cell = &mut cells[quadrant_index(q[i]) * names.len() + codes[i] as usize];
        cell.0 += 1;
        cell.1 += net[i];
    }
    let mut by_name: Vec<usize> = (0..names.len()).collect();
    by_name.sort_unstable_by_key(|&g| names[g]);
    Quadrant::ALL
        .iter()
        .enumerate()
        .flat_map(|(k, quadrant)| {
            let cells = &cells;
            by_name.iter().filter_map(move |&g| {
                let (customers, net_contribution) = cells[k * names.len() + g];
                (customers > 0).then(|| CrossTabRow {
                    quadrant: quadrant.name().into(),
                    group: names[g].to_string(),
                    customers,
                    net_contribution,
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary row with the given customers, gross profit and cost-to-serve; shares
    /// are filled by `matrix`.
    fn row(q: Quadrant, customers: usize, gross: f64, cost: f64) -> QuadrantSummary {
        QuadrantSummary {
            quadrant: q.name().into(),
            action: String::new(),
            customers,
            revenue: gross * 3.0,
            gross_profit: gross,
            cost_to_serve: cost,
            net_contribution: gross - cost,
            customer_share: 0.0,
            revenue_share: 0.0,
            net_contribution_share: 0.0,
        }
    }

    fn matrix(rows: [(usize, f64, f64); 4]) -> Vec<QuadrantSummary> {
        let n: usize = rows.iter().map(|r| r.0).sum();
        let net: f64 = rows.iter().map(|r| r.1 - r.2).sum();
        Quadrant::ALL
            .iter()
            .zip(rows)
            .map(|(&q, (c, g, k))| {
                let mut r = row(q, c, g, k);
                r.customer_share = c as f64 / n as f64;
                r.net_contribution_share = (g - k) / net;
                r
            })
            .collect()
    }

    #[test]
    fn a_quadrant_bringing_most_of_the_contribution_is_protected_not_let_go() {
        // CDNOW-like: the low-margin, high-cost quadrant brings most of net contribution.
        let m = matrix([
            (100, 60.0, 10.0),
            (100, 40.0, 30.0),
            (100, 30.0, 20.0),
            (100, 1000.0, 90.0),
        ]);
        let d = decide(&m);
        assert_eq!(d[3], Decision::Protect);
        let text = action_text(&m[3], d[3]);
        assert!(text.starts_with("Protect"), "{text}");
        assert!(text.contains("93%"), "{text}");
        assert!(
            d.iter()
                .all(|d| !matches!(d, Decision::LetGo | Decision::Reprice))
        );
    }

    #[test]
    fn only_loss_makers_are_repriced_or_let_go() {
        let m = matrix([
            (10, 500.0, 100.0),
            (10, 80.0, 50.0),
            (10, 90.0, 100.0),
            (10, 10.0, 100.0),
        ]);
        let d = decide(&m);
        assert_eq!(
            d,
            [
                Decision::Protect,
                Decision::Grow,
                Decision::Reprice,
                Decision::LetGo
            ]
        );
        assert!(action_text(&m[3], d[3]).contains("covers 10% of the cost to serve"));
        assert!(action_text(&m[2], d[2]).starts_with("Reprice: loses 10 "));
    }

    #[test]
    fn a_quarter_of_the_contribution_is_protected_and_empty_quadrants_get_none() {
        let m = matrix([
            (10, 300.0, 0.0),
            (0, 0.0, 0.0),
            (10, 130.0, 30.0),
            (10, 110.0, 10.0),
        ]);
        let d = decide(&m);
        assert_eq!(d[0], Decision::Protect);
        assert_eq!(d[1], Decision::Empty);
        // 100 of 500 = 20%: low margin, served efficiently.
        assert_eq!(d[2], Decision::ServeEfficiently);
        assert_eq!(d[3], Decision::ServeEfficiently);
        let m = matrix([
            (10, 300.0, 0.0),
            (0, 0.0, 0.0),
            (10, 130.0, 30.0),
            (10, 210.0, 10.0),
        ]);
        // 200 of 600 = 33%.
        assert_eq!(decide(&m)[3], Decision::Protect);
    }

    #[test]
    fn summarise_writes_the_figure_driven_action() {
        let q = quadrants(&[5.0, 5.0, 40.0], &[9.0, 9.0, 1.0], (20.0, 5.0));
        let s = summarise(&q, &[100.0; 3], &[50.0, 50.0, 10.0], &[9.0, 9.0, 1.0]);
        assert!(s[3].action.starts_with("Protect"), "{}", s[3].action);
        assert!(s[0].action.starts_with("Invest to grow"), "{}", s[0].action);
        assert_eq!(grouped(-1234567.4), "-1,234,567");
        assert_eq!(grouped(999.0), "999");
    }

    /// The tally as it was written before the grouping was numbered: a sorted map keyed
    /// by (quadrant, group text), summing in customer order.
    fn crosstab_by_text(q: &[Quadrant], groups: &[String], net: &[f64]) -> Vec<CrossTabRow> {
        let mut cells: std::collections::BTreeMap<(usize, &str), (usize, f64)> =
            std::collections::BTreeMap::new();
        for i in 0..q.len().min(groups.len()).min(net.len()) {
            let k = Quadrant::ALL.iter().position(|x| *x == q[i]).unwrap();
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

    #[test]
    fn the_numbered_crosstab_equals_the_tally_by_text_to_the_bit() {
        // Groups whose first appearance is not their name order, a group absent from
        // some quadrants, and sums whose value depends on the order of addition.
        let names = ["Lost", "Champions", "At Risk", "(none)", "About To Sleep"];
        let n = 5000;
        let q: Vec<Quadrant> = (0..n)
            .map(|i| Quadrant::ALL[(i * 7 + i / 13) % 4])
            .collect();
        let groups: Vec<String> = (0..n)
            .map(|i| names[if i % 4 == 1 { 0 } else { (i * i + 3) % 5 }].to_string())
            .collect();
        let net: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.1 - 30.0 + 1e-9 * i as f64)
            .collect();
        let want = crosstab_by_text(&q, &groups, &net);
        let got = crosstab(&q, &groups, &net);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (&g.quadrant, &g.group, g.customers),
                (&w.quadrant, &w.group, w.customers)
            );
            assert_eq!(g.net_contribution.to_bits(), w.net_contribution.to_bits());
        }
        // A missing group is "(none)", as the text path spells it.
        let (codes, numbering) = numbered([Some("b"), None, Some("b")].into_iter());
        assert_eq!(
            (codes, numbering.names()),
            (vec![0, 1, 0], vec!["b", "(none)"])
        );
        // Numbered one row at a time, as the part-file stage does: the same numbers.
        let mut one_by_one = Numbering::default();
        let codes: Vec<u32> = [Some("c"), Some("b"), None, Some("c")]
            .into_iter()
            .map(|g| one_by_one.code(g))
            .collect();
        assert_eq!(
            (codes, one_by_one.names()),
            (vec![0, 1, 2, 0], vec!["c", "b", "(none)"])
        );
    }

    #[test]
    fn one_sort_per_axis_gives_the_thresholds_and_bands_of_the_plain_functions() {
        let margin: Vec<f64> = (0..999).map(|i| ((i * 37) % 101) as f64 * 0.37).collect();
        let cost: Vec<f64> = (0..999).map(|i| ((i * 53) % 97) as f64 * 1.3).collect();
        let net: Vec<f64> = margin.iter().zip(&cost).map(|(m, c)| m - c).collect();
        let (sm, sc) = (sorted(&margin), sorted(&cost));
        let (ma, ca) = (Axes::new(&margin, &sm), Axes::new(&cost, &sc));
        for split in [
            Split::Median,
            Split::Mean,
            Split::Quantile(0.3),
            Split::Values(5.0, 9.0),
        ] {
            assert_eq!(
                thresholds_on(&ma, &ca, split).unwrap(),
                thresholds(&margin, &cost, split).unwrap()
            );
        }
        // 999 values: the median is the 500th smallest.
        let mut copy = margin.clone();
        copy.sort_by(f64::total_cmp);
        assert_eq!(
            thresholds(&margin, &cost, Split::Median).unwrap().0,
            copy[499]
        );
        assert_eq!(
            grid_on(&ma, &ca, &net, 4, 3).unwrap(),
            grid(&margin, &cost, &net, 4, 3).unwrap()
        );
        assert!(matches!(
            thresholds(&margin, &cost, Split::Quantile(1.5)),
            Err(Error::InvalidOption { .. })
        ));
    }

    #[test]
    fn empty_and_nan_inputs_are_refused_or_carried_as_before() {
        // No customers: the thresholds and the grid refuse, the cross-tab is empty.
        assert!(matches!(
            thresholds(&[], &[], Split::Median),
            Err(Error::EmptyTable { .. })
        ));
        assert!(matches!(
            grid(&[], &[], &[], 3, 3),
            Err(Error::EmptyTable { .. })
        ));
        assert!(crosstab(&[], &[], &[]).is_empty());
        // A NaN sorts last (total order), so the median of [1, 2, NaN] is 2; a NaN axis
        // value compares above no cut, so it lands in the lowest band, and a NaN
        // contribution makes its cell's sum NaN.
        let margin = [1.0, f64::NAN, 2.0];
        let cost = [1.0, 1.0, 1.0];
        assert_eq!(
            thresholds(&margin, &cost, Split::Median).unwrap(),
            (2.0, 1.0)
        );
        assert!(matches!(
            thresholds(&[f64::NAN], &[1.0], Split::Median),
            Err(Error::InvalidOption { .. })
        ));
        let g = grid(&margin, &cost, &[1.0, f64::NAN, 3.0], 3, 1).unwrap();
        assert_eq!(g.iter().map(|c| c.customers).collect::<Vec<_>>(), [2, 1, 0]);
        assert!(g[0].net_contribution.is_nan());
        assert_eq!(g[1].net_contribution, 3.0);
        let q = [Quadrant::Passive; 3];
        let t = crosstab(
            &q,
            &["a".into(), "a".into(), "b".into()],
            &[1.0, f64::NAN, 3.0],
        );
        assert_eq!(t.len(), 2);
        assert!(t[0].net_contribution.is_nan());
        assert_eq!(t[1].net_contribution, 3.0);
    }
}
