//! Named segments: rule tables over R, F and M scores (first match wins, else "Others").

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An inclusive score range; `None` in a rule means any score.
pub type ScoreRange = (u8, u8);

/// One named segment: the customer belongs to it when each given score is in its range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// Segment name.
    pub name: String,
    /// Recency score range (inclusive).
    #[serde(default)]
    pub r: Option<ScoreRange>,
    /// Frequency score range (inclusive).
    #[serde(default)]
    pub f: Option<ScoreRange>,
    /// Monetary score range (inclusive).
    #[serde(default)]
    pub m: Option<ScoreRange>,
}

impl SegmentRule {
    fn new(
        name: &str,
        r: Option<ScoreRange>,
        f: Option<ScoreRange>,
        m: Option<ScoreRange>,
    ) -> Self {
        SegmentRule {
            name: name.to_string(),
            r,
            f,
            m,
        }
    }

    /// Whether the scores fall in this rule.
    pub fn matches(&self, r: u8, f: u8, m: u8) -> bool {
        let inside =
            |range: Option<ScoreRange>, v: u8| range.is_none_or(|(lo, hi)| lo <= v && v <= hi);
        inside(self.r, r) && inside(self.f, f) && inside(self.m, m)
    }
}

/// A rule table: the first rule that matches names the segment; no match is "Others".
///
/// # Example
/// ```
/// use patronage::rfm::SegmentRules;
/// let rules = SegmentRules::rfm_package();
/// assert_eq!(rules.segment(5, 5, 5), "Champions");
/// assert_eq!(rules.segment(1, 1, 1), "Lost");
/// let custom = SegmentRules::from_toml_str(r#"
///     [[segment]]
///     name = "Best"
///     r = [4, 5]
///     f = [4, 5]
/// "#).unwrap();
/// assert_eq!(custom.segment(5, 4, 1), "Best");
/// assert_eq!(custom.segment(3, 4, 1), "Others");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRules {
    /// The rules, in priority order.
    #[serde(rename = "segment")]
    pub rules: Vec<SegmentRule>,
}

/// The name given to customers no rule matches.
pub const OTHERS: &str = "Others";

impl SegmentRules {
    /// The R `rfm` package's table (scores 1-5, inclusive bounds, first match wins).
    pub fn rfm_package() -> Self {
        let r = |lo, hi| Some((lo, hi));
        SegmentRules {
            rules: vec![
                SegmentRule::new("Champions", r(5, 5), r(5, 5), r(5, 5)),
                SegmentRule::new("Potential Loyalist", r(3, 5), r(3, 5), r(2, 5)),
                SegmentRule::new("Loyal Customers", r(2, 4), r(2, 4), r(2, 4)),
                SegmentRule::new("Promising", r(3, 4), r(1, 3), r(3, 5)),
                SegmentRule::new("New Customers", r(4, 5), r(1, 3), r(1, 5)),
                SegmentRule::new("Can't Lose Them", r(1, 2), r(3, 4), r(4, 5)),
                SegmentRule::new("At Risk", r(1, 2), r(2, 5), r(4, 5)),
                SegmentRule::new("Need Attention", r(1, 3), r(3, 5), r(3, 5)),
                SegmentRule::new("About To Sleep", r(2, 3), r(1, 3), r(1, 4)),
                SegmentRule::new("Lost", r(1, 1), r(1, 5), r(1, 5)),
            ],
        }
    }

    /// The widely used recency-frequency map on quintile scores (M is ignored).
    pub fn rf_map() -> Self {
        let r = |lo, hi| Some((lo, hi));
        SegmentRules {
            rules: vec![
                SegmentRule::new("Hibernating", r(1, 2), r(1, 2), None),
                SegmentRule::new("At Risk", r(1, 2), r(3, 4), None),
                SegmentRule::new("Can't Lose", r(1, 2), r(5, 5), None),
                SegmentRule::new("About To Sleep", r(3, 3), r(1, 2), None),
                SegmentRule::new("Need Attention", r(3, 3), r(3, 3), None),
                SegmentRule::new("Loyal", r(3, 4), r(4, 5), None),
                SegmentRule::new("Promising", r(4, 4), r(1, 1), None),
                SegmentRule::new("New", r(5, 5), r(1, 1), None),
                SegmentRule::new("Potential Loyalist", r(4, 5), r(2, 3), None),
                SegmentRule::new("Champions", r(5, 5), r(4, 5), None),
            ],
        }
    }

    /// Parses a TOML table of `[[segment]]` entries (`name`, and any of `r`, `f`, `m` as
    /// `[low, high]`).
    ///
    /// # Errors
    /// [`Error::Parse`] for malformed TOML or unknown keys.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Parse {
            what: "segment rules (TOML)".into(),
            reason: e.to_string(),
        })
    }

    /// Parses JSON: `{"segment": [{"name": .., "r": [lo, hi], ..}, ..]}`.
    ///
    /// # Errors
    /// [`Error::Parse`] for malformed JSON or unknown keys.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Parse {
            what: "segment rules (JSON)".into(),
            reason: e.to_string(),
        })
    }

    /// Loads rules from a `.toml` or `.json` file (by extension; TOML otherwise).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Parse`] when it does not parse.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = crate::error::read_text(path)?;
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// The table moved from scores `1..=from` to scores `1..=to`. Scores are quantile
    /// bands: new score `s` covers ranks `(s - 1)/to .. s/to` and stands for the old
    /// score whose band holds the middle of that span; a range keeps the new scores
    /// that stand for an old score inside it (with 4 bins the rfm table's 5 is the new
    /// 4, its 3..=5 the new 3..=4, and the middle quintile 3 has no quartile of its
    /// own). A rule with a range no new score stands in can never match and is left
    /// out. The built-in tables are written for quintiles; this is how they serve other
    /// bin counts.
    ///
    /// # Example
    /// ```
    /// use patronage::rfm::SegmentRules;
    /// let quartiles = SegmentRules::rfm_package().rescaled(5, 4);
    /// assert_eq!(quartiles.segment(4, 4, 4), "Champions");
    /// assert_eq!(quartiles.segment(1, 1, 1), "Lost");
    /// assert!(quartiles.validate(4).is_ok());
    /// ```
    #[must_use]
    pub fn rescaled(&self, from: u8, to: u8) -> SegmentRules {
        if from == to || from < 2 || to < 2 {
            return self.clone();
        }
        let (from, to) = (u32::from(from), u32::from(to));
        // The old score new score s stands for: the band holding rank (s - 1/2)/to,
        // i.e. floor((2s - 1) from / (2 to)) + 1, in integers.
        let old = |s: u32| (2 * s - 1) * from / (2 * to) + 1;
        let map = |range: Option<ScoreRange>| -> Option<Option<ScoreRange>> {
            let Some((lo, hi)) = range else {
                return Some(None);
            };
            let inside: Vec<u8> = (1..=to)
                .filter(|&s| (u32::from(lo)..=u32::from(hi)).contains(&old(s)))
                .map(|s| s as u8)
                .collect();
            Some(Some((*inside.first()?, *inside.last()?)))
        };
        SegmentRules {
            rules: self
                .rules
                .iter()
                .filter_map(|rule| {
                    Some(SegmentRule {
                        name: rule.name.clone(),
                        r: map(rule.r)?,
                        f: map(rule.f)?,
                        m: map(rule.m)?,
                    })
                })
                .collect(),
        }
    }

    /// Checks the table against the number of score bins.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an empty table, an empty name, a range with low > high
    /// or bounds outside 1..=bins.
    pub fn validate(&self, bins: u8) -> Result<()> {
        if self.rules.is_empty() {
            return Err(Error::invalid("rfm.segments", "the rule table is empty"));
        }
        for rule in &self.rules {
            if rule.name.trim().is_empty() {
                return Err(Error::invalid("rfm.segments", "a rule has an empty name"));
            }
            for (dim, range) in [("r", rule.r), ("f", rule.f), ("m", rule.m)] {
                if let Some((lo, hi)) = range
                    && (lo == 0 || lo > hi || hi > bins)
                {
                    return Err(Error::invalid(
                        "rfm.segments",
                        format!(
                            "rule `{}`: {dim} range [{lo}, {hi}] is not within 1..={bins}",
                            rule.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The segment of one customer's scores.
    pub fn segment(&self, r: u8, f: u8, m: u8) -> &str {
        self.rules
            .iter()
            .find(|rule| rule.matches(r, f, m))
            .map_or(OTHERS, |rule| rule.name.as_str())
    }

    /// Segment names in table order, then "Others".
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for rule in &self.rules {
            if !v.contains(&rule.name.as_str()) {
                v.push(&rule.name);
            }
        }
        if !v.contains(&OTHERS) {
            v.push(OTHERS);
        }
        v
    }
}

/// Which segment rule table names the RFM segments: a setting, written as text in the
/// pipeline's TOML (`[rfm] segments`) and the CLI's `--segments`: `rfm` (the R rfm
/// package's table), `rf-map` (the recency x frequency map), or the path of a TOML/JSON
/// rule file.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum SegmentTable {
    /// [`SegmentRules::rfm_package`].
    #[default]
    Rfm,
    /// [`SegmentRules::rf_map`].
    RfMap,
    /// A rule file, read by [`SegmentRules::from_path`].
    File(std::path::PathBuf),
}

impl SegmentTable {
    /// The rules this setting names for scores `1..=bins`: the built-in tables, written
    /// for quintiles, [rescaled](SegmentRules::rescaled) to `bins`; a file as written
    /// (read now; its ranges must fit `bins`).
    ///
    /// # Errors
    /// As [`SegmentRules::from_path`] for a file.
    ///
    /// # Example
    /// ```
    /// use patronage::rfm::SegmentTable;
    /// let t: SegmentTable = "rf-map".into();
    /// assert_eq!(t, SegmentTable::RfMap);
    /// assert_eq!(t.rules(5)?, patronage::rfm::SegmentRules::rf_map());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn rules(&self, bins: u8) -> Result<SegmentRules> {
        match self {
            SegmentTable::Rfm => Ok(SegmentRules::rfm_package().rescaled(5, bins)),
            SegmentTable::RfMap => Ok(SegmentRules::rf_map().rescaled(5, bins)),
            SegmentTable::File(path) => SegmentRules::from_path(path),
        }
    }
}

impl From<&str> for SegmentTable {
    /// `rfm` and `rf-map` name the built-in tables; any other text is a file path.
    fn from(s: &str) -> Self {
        match s {
            "rfm" => SegmentTable::Rfm,
            "rf-map" => SegmentTable::RfMap,
            path => SegmentTable::File(path.into()),
        }
    }
}

impl From<String> for SegmentTable {
    fn from(s: String) -> Self {
        SegmentTable::from(s.as_str())
    }
}

impl From<SegmentTable> for String {
    fn from(t: SegmentTable) -> String {
        match t {
            SegmentTable::Rfm => "rfm".into(),
            SegmentTable::RfMap => "rf-map".into(),
            SegmentTable::File(path) => path.to_string_lossy().into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn built_in_tables_serve_every_bin_count() {
        for bins in 2..=20 {
            for table in [SegmentRules::rfm_package(), SegmentRules::rf_map()] {
                let t = table.rescaled(5, bins);
                assert!(t.validate(bins).is_ok(), "{bins} bins");
                // From terciles up the corners keep their meaning: the top scores are
                // the best segment's, the bottom scores the worst's. (Halves stand for
                // quintiles 2 and 4.)
                if bins >= 3 {
                    assert_eq!(
                        t.segment(bins, bins, bins),
                        table.segment(5, 5, 5),
                        "{bins}"
                    );
                    assert_eq!(t.segment(1, 1, 1), table.segment(1, 1, 1), "{bins}");
                }
            }
        }
        // Five bins: unchanged.
        assert_eq!(
            SegmentRules::rfm_package().rescaled(5, 5),
            SegmentRules::rfm_package()
        );
        // Ten bins: deciles 9-10 are the top quintile, 1-2 the bottom one.
        let ten = SegmentRules::rfm_package().rescaled(5, 10);
        assert_eq!(ten.rules[0].r, Some((9, 10)));
        let lost = ten.rules.iter().find(|r| r.name == "Lost").unwrap();
        assert_eq!(lost.r, Some((1, 2)));
        // Four bins: 3..=5 becomes 3..=4; quintile 3 alone has no quartile.
        let four = SegmentRules::rfm_package().rescaled(5, 4);
        let loyalist = four
            .rules
            .iter()
            .find(|r| r.name == "Potential Loyalist")
            .unwrap();
        assert_eq!(loyalist.r, Some((3, 4)));
    }

    use super::*;

    #[test]
    fn rf_map_covers_every_cell() {
        let rules = SegmentRules::rf_map();
        let expect = [
            [
                "Hibernating",
                "Hibernating",
                "At Risk",
                "At Risk",
                "Can't Lose",
            ],
            [
                "Hibernating",
                "Hibernating",
                "At Risk",
                "At Risk",
                "Can't Lose",
            ],
            [
                "About To Sleep",
                "About To Sleep",
                "Need Attention",
                "Loyal",
                "Loyal",
            ],
            [
                "Promising",
                "Potential Loyalist",
                "Potential Loyalist",
                "Loyal",
                "Loyal",
            ],
            [
                "New",
                "Potential Loyalist",
                "Potential Loyalist",
                "Champions",
                "Champions",
            ],
        ];
        for r in 1..=5u8 {
            for f in 1..=5u8 {
                assert_eq!(
                    rules.segment(r, f, 1),
                    expect[r as usize - 1][f as usize - 1],
                    "R{r} F{f}"
                );
            }
        }
    }

    #[test]
    fn rfm_package_first_match_wins() {
        let rules = SegmentRules::rfm_package();
        assert_eq!(rules.segment(5, 5, 5), "Champions");
        assert_eq!(rules.segment(5, 5, 4), "Potential Loyalist");
        assert_eq!(rules.segment(3, 3, 3), "Potential Loyalist");
        assert_eq!(rules.segment(2, 2, 2), "Loyal Customers");
        assert_eq!(rules.segment(4, 1, 3), "Promising");
        assert_eq!(rules.segment(5, 1, 1), "New Customers");
        assert_eq!(rules.segment(2, 3, 5), "Can't Lose Them");
        assert_eq!(rules.segment(2, 5, 5), "At Risk");
        assert_eq!(rules.segment(3, 3, 1), "About To Sleep");
        assert_eq!(rules.segment(3, 4, 1), "Others");
        assert_eq!(rules.segment(2, 1, 1), "About To Sleep");
        assert_eq!(rules.segment(1, 1, 1), "Lost");
        assert_eq!(rules.segment(1, 5, 1), "Lost");
        rules.validate(5).unwrap();
        assert!(rules.validate(4).is_err());
    }

    #[test]
    fn parses_json_and_rejects_bad_tables() {
        let rules =
            SegmentRules::from_json_str(r#"{"segment":[{"name":"Top","m":[5,5]}]}"#).unwrap();
        assert_eq!(rules.segment(1, 1, 5), "Top");
        assert!(SegmentRules::from_json_str(r#"{"segment":[{"name":"X","q":[1,2]}]}"#).is_err());
        assert!(
            SegmentRules::from_toml_str("[[segment]]\nname = \"X\"\nr = [3, 2]\n")
                .unwrap()
                .validate(5)
                .is_err()
        );
        assert!(SegmentRules { rules: vec![] }.validate(5).is_err());
    }
}
