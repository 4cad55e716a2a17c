//! The segmentation stage on summary part files ([`SummaryParts::segment`]): the
//! clustering's columns gathered from the parts (a few numbers per customer, not the
//! customer rows), clustered by the gathered stage's own code, then each part's
//! assignments written as it is read again.

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

use super::{ClvParts, changed};
use crate::engine::TableParts;
use crate::engine::{PartDir, SummaryParts, part_columns, read_part};
use crate::error::{Error, Result};
use crate::segmentation::{
    FeatureSpec, PROFIT, REVENUE, Scale, SegmentColumns, Segmentation, SegmentationSpec,
    channel_shares, ks_for, no_channel, resolve, share_column,
};
use crate::stages::segment::{
    CLV_COLUMNS, CLV_SCORES, SegmentSettings, different_customers, same_customers,
};
use crate::transactions::aggregate::{is_summary_column, lines_column};

/// The segmentation written as part files by [`SummaryParts::segment`]: one per summary
/// part, in the same order, each with
/// [`SegmentOutcome::frame`](crate::stages::segment::SegmentOutcome::frame)'s columns
/// (`customer_id`, `segment`, `segment_label` and the features) for that part's
/// customers, and the segmentation itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentParts {
    /// The directory holding the part files (nothing else).
    pub dir: PathBuf,
    /// The part files, `part-00000.parquet` on, in order.
    pub files: Vec<PathBuf>,
    /// The model, the k table, the profiles and every customer's segment, in the parts'
    /// order: the gathered stage's [`Segmentation`], field for field.
    pub segmentation: Segmentation,
}

/// Which columns the clustering reads, and from which parts.
struct Plan {
    /// Columns of the summary parts: the features that are not CLV scores, then
    /// `total_spend` and `gross_profit` (when the parts have them and they are not
    /// features: they number the segments and give their shares).
    summary: Vec<String>,
    /// Features that are CLV scores, read from the CLV parts.
    clv: Vec<String>,
    /// The channels' line counts the shares are computed from (empty without the
    /// channel mix).
    mix: Vec<String>,
    /// The channel share features computed from `mix`.
    shares: Vec<String>,
    /// The features as the gathered stage resolves them (`tenure` may read `T`).
    features: Vec<String>,
}

impl TableParts {
    /// [`SummaryParts::segment`] on the whole customer table's parts, where the channel
    /// mix is available: with `settings.channel_mix` each customer's channel shares
    /// (`channel_share_<channel>`, standardised) are computed from its part's
    /// per-channel line counts and added as features, as the gathered
    /// [`segment`](crate::stages::segment::segment) adds them from the gathered table.
    /// The result equals the gathered stage's, field for field, and the files its frame.
    ///
    /// # Errors
    ///
    /// As [`SummaryParts::segment`], less the channel mix's refusal; the gathered
    /// stage's [`Error::MissingColumn`] (`channel`) for the channel mix of a table
    /// without channels.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, customer_table_parts};
    /// use patronage::prelude::*;
    /// use patronage::segmentation::{KChoice, SegmentationSpec};
    /// use patronage::stages::segment::{SegmentSettings, segment};
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let tmp = std::env::temp_dir().join(format!("patronage-doc-mix-{}", std::process::id()));
    /// let (parts, _) = customer_table_parts(&tx, &options, None, &Engine::Memory, &tmp.join("customers"))?;
    /// let settings = SegmentSettings::new(SegmentationSpec::default().k(KChoice::Fixed(3)), true);
    /// let on_parts = parts.segment(&settings, None, &tmp.join("segments"))?;
    /// let table = tx.customer_table(&options, None)?;
    /// let gathered = segment(table.summary()?.frame(), Some(&table), &settings, None)?;
    /// assert_eq!(on_parts.segmentation, gathered.segmentation);
    /// std::fs::remove_dir_all(&tmp).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn segment(
        &self,
        settings: &SegmentSettings,
        clv: Option<&ClvParts>,
        out: &Path,
    ) -> Result<SegmentParts> {
        let mix = if settings.channel_mix {
            if self.channels.is_empty() {
                return Err(no_channel());
            }
            self.channels.clone()
        } else {
            Vec::new()
        };
        self.parts.segment_with(settings, mix, clv, out)
    }
}

impl SummaryParts {
    /// The segmentation stage on the part files: the feature columns (and `total_spend`
    /// and `gross_profit`, which number and describe the segments) gathered from the
    /// parts, clustered exactly as [`segment`](crate::stages::segment::segment) clusters
    /// the gathered summary, then each part's assignments written to `out` as a part
    /// file. With `clv` (the CLV stage's parts of the same summary) its [`CLV_COLUMNS`]
    /// can be features, as the gathered stage's `clv` argument allows.
    ///
    /// The files read in order are the gathered stage's
    /// [`frame`](crate::stages::segment::SegmentOutcome::frame) row for row, and
    /// [`SegmentParts::segmentation`] is its [`Segmentation`]: the same code
    /// ([`crate::segmentation::segment`]'s) runs on the same numbers in the same order,
    /// so the results are the same bits whatever the number of parts.
    ///
    /// Memory: the clustering needs every customer's features at once (its scalers,
    /// the Lloyd iterations on every customer above
    /// [`fit_sample`](crate::segmentation::SegmentationSpec::fit_sample), and the
    /// profiles' medians are whole-column figures), so the stage holds the feature
    /// columns and the clustering's working set, about 80 bytes a customer with three
    /// features (measured: 2.75 GB for 35M customers), and one part at a time. Never the
    /// customer rows (ids, dates, the other columns), which are what make the gathered
    /// frames 600-700 bytes a customer.
    ///
    /// # Errors
    ///
    /// As [`segment`](crate::stages::segment::segment) on the gathered summary: the
    /// spec's [`Error::InvalidOption`] and [`Error::EmptyTable`] before anything is read;
    /// [`Error::MissingColumn`] (with every column of the parts), [`Error::WrongType`],
    /// and [`Error::BadRow`] naming the row among all parts; [`Error::InvalidOption`]
    /// naming `clv` when its parts hold other customers or another order, and naming
    /// `segmentation.channel_mix` for the channel mix (it needs the customer table's
    /// per-channel counts, which summary parts do not hold); for `out`, as
    /// [`summary_parts`](crate::engine::summary_parts) for its directory, checked
    /// before anything is read.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, summary_parts};
    /// use patronage::prelude::*;
    /// use patronage::segmentation::{KChoice, SegmentationSpec};
    /// use patronage::stages::segment::{SegmentSettings, segment};
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let tmp = std::env::temp_dir().join(format!("patronage-doc-seg-{}", std::process::id()));
    /// let (parts, _) = summary_parts(&tx, &options, &Engine::Memory, &tmp.join("summary"))?;
    /// let settings = SegmentSettings::new(SegmentationSpec::default().k(KChoice::Fixed(3)), false);
    /// let on_parts = parts.segment(&settings, None, &tmp.join("segments"))?;
    /// let gathered = segment(tx.summary(&options)?.frame(), None, &settings, None)?;
    /// assert_eq!(on_parts.segmentation, gathered.segmentation);
    /// std::fs::remove_dir_all(&tmp).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn segment(
        &self,
        settings: &SegmentSettings,
        clv: Option<&ClvParts>,
        out: &Path,
    ) -> Result<SegmentParts> {
        if settings.channel_mix {
            return Err(Error::invalid(
                "segmentation.channel_mix",
                "the channel mix needs the customer table's per-channel counts, which summary part files do not hold: write the customer table as part files (customer_table_parts) and segment those",
            ));
        }
        self.segment_with(settings, Vec::new(), clv, out)
    }

    /// [`SummaryParts::segment`] with the channel shares of `mix` (the parts'
    /// `channel_lines_<channel>` columns) added as standardised features, as the
    /// gathered stage adds them.
    fn segment_with(
        &self,
        settings: &SegmentSettings,
        mix: Vec<String>,
        clv: Option<&ClvParts>,
        out: &Path,
    ) -> Result<SegmentParts> {
        let mut spec = settings.spec.clone();
        for share in mix.iter().map(|c| share_column(c)) {
            if !spec.features.iter().any(|f| f.column == share) {
                spec.features.push(FeatureSpec {
                    column: share,
                    log1p: false,
                    scale: Scale::Standardize,
                });
            }
        }
        let spec = &spec;
        ks_for(spec, usize::try_from(self.customers).unwrap_or(usize::MAX))?;
        if let Some(clv) = clv
            && clv.files.len() != self.files.len()
        {
            return Err(other_clv_customers());
        }
        let mut dir = PartDir::new(out)?;
        let plan = self.plan(spec, &mix, clv)?;
        // The gathered frame is dropped once its numbers are out: the clustering's own
        // copies are what it needs (0.8 GB less at 35M customers, three features).
        let columns = SegmentColumns::of(&self.gather(&plan, clv)?, spec)?;
        let segmentation = columns.segment(spec)?;
        drop(columns);
        // Each part again: its ids and the features the frame shows.
        let mut names = vec!["customer_id".to_string()];
        names.extend(
            plan.features
                .iter()
                .filter(|f| !plan.clv.contains(f) && !plan.shares.contains(f))
                .cloned(),
        );
        let mut offset = 0;
        for (i, path) in self.files.iter().enumerate() {
            let customers = self.part_with(path, &names, clv.map(|c| &c.files[i]), &plan)?;
            let rows = customers.height();
            let assignments = segmentation
                .assignments
                .get(offset..offset + rows)
                .ok_or_else(|| changed(&self.dir))?;
            dir.write(&mut segmentation.frame_of(&customers, assignments)?)?;
            offset += rows;
        }
        if offset != segmentation.assignments.len() {
            return Err(changed(&self.dir));
        }
        let (dir, files) = dir.commit()?;
        Ok(SegmentParts {
            dir,
            files,
            segmentation,
        })
    }

    /// The columns to gather, from the first part's schema (every part has the same),
    /// with the shares of the channels `mix` computed from the parts.
    fn plan(
        &self,
        spec: &SegmentationSpec,
        mix: &[String],
        clv: Option<&ClvParts>,
    ) -> Result<Plan> {
        // The summary's columns only: the gathered stage segments the summary, so a
        // whole table's parts offer the same features (and list the same columns when
        // one is missing) as summary parts.
        let mut available = match self.files.first() {
            Some(path) => part_columns(path)?,
            None => Vec::new(),
        };
        available.retain(|c| is_summary_column(c));
        let clv_names: &[&str] = if clv.is_some() { &CLV_COLUMNS } else { &[] };
        let shares: Vec<String> = mix.iter().map(|c| share_column(c)).collect();
        // The gathered stage adds the CLV columns and then the channel shares to the
        // customers (replacing any of the same name), so they are listed as it would
        // list them.
        available.retain(|c| !clv_names.contains(&c.as_str()) && !shares.contains(c));
        available.extend(clv_names.iter().map(|c| c.to_string()));
        available.extend(shares.iter().cloned());
        let has = |c: &str| available.iter().any(|a| a == c);
        let features: Vec<String> = resolve(&spec.features, has)
            .into_iter()
            .map(|f| f.column)
            .collect();
        if let Some(missing) = features.iter().find(|f| !has(f)) {
            return Err(Error::MissingColumn {
                column: missing.clone(),
                available: available.join(", "),
            });
        }
        let (clv_features, mut summary): (Vec<String>, Vec<String>) = features
            .iter()
            .filter(|f| !shares.contains(f))
            .cloned()
            .partition(|f| clv_names.contains(&f.as_str()));
        for money in [REVENUE, PROFIT] {
            if has(money) && !features.iter().any(|f| f == money) {
                summary.push(money.to_string());
            }
        }
        Ok(Plan {
            summary,
            clv: clv_features,
            mix: mix.iter().map(|c| lines_column(c)).collect(),
            shares,
            features,
        })
    }

    /// Every customer's clustering columns, in the parts' order, as one frame of
    /// `plan.summary` and `plan.clv` columns (no ids).
    fn gather(&self, plan: &Plan, clv: Option<&ClvParts>) -> Result<DataFrame> {
        let mut names = plan.summary.clone();
        let with_ids = clv.is_some() || !plan.mix.is_empty();
        if with_ids {
            // The CLV parts are checked against the summary's ids part by part; the
            // channel shares are computed with their customers' ids.
            names.push("customer_id".into());
        }
        let mut gathered: Option<DataFrame> = None;
        for (i, path) in self.files.iter().enumerate() {
            let mut part = self.part_with(path, &names, clv.map(|c| &c.files[i]), plan)?;
            if with_ids {
                part.drop_in_place("customer_id")?;
            }
            match &mut gathered {
                Some(all) => {
                    all.vstack_mut(&part)?;
                }
                None => gathered = Some(part),
            }
        }
        gathered.ok_or_else(|| Error::EmptyTable {
            what: "no customers to segment".into(),
        })
    }

    /// The columns `names` of a summary part, with the CLV columns `plan.clv` of the
    /// matching CLV part added after checking that both list the same customers, and
    /// the channel shares `plan.shares` computed from the part's `plan.mix` columns.
    fn part_with(
        &self,
        path: &Path,
        names: &[String],
        clv_path: Option<&PathBuf>,
        plan: &Plan,
    ) -> Result<DataFrame> {
        // The channels' line counts are read with the other columns (one read of the
        // part) and dropped once their shares are out: they are never features, which
        // are the summary's columns (`plan`).
        let as_str: Vec<&str> = names.iter().chain(&plan.mix).map(String::as_str).collect();
        let mut part = read_part(path, Some(&as_str))?;
        if !plan.mix.is_empty() {
            // `names` holds `customer_id` whenever there is a mix (see its callers).
            let shares = channel_shares(&part)?;
            for m in &plan.mix {
                part.drop_in_place(m)?;
            }
            for c in shares.columns().iter().skip(1) {
                part.with_column(c.clone())?;
            }
        }
        if let Some(clv_path) = clv_path {
            let mut wanted: Vec<&str> = vec!["customer_id"];
            wanted.extend(plan.clv.iter().map(String::as_str));
            let scores = read_part(clv_path, Some(&wanted))?;
            same_customers(&part, &scores, "clv", CLV_SCORES)?;
            for name in &plan.clv {
                part.with_column(scores.column(name)?.clone())?;
            }
        }
        Ok(part)
    }
}

/// The gathered stage's error for CLV scores of other customers.
fn other_clv_customers() -> Error {
    different_customers("clv", CLV_SCORES)
}
