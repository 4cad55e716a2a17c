//! The roles of the input columns and the per-row record of the first check each row
//! failed, which names the column in the rejects table.

use polars::prelude::Column;

use super::{RejectReason, RoleColumns};

/// The role of a column in a row check: which input column a rejected row is blamed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The customer id.
    Id,
    /// The date.
    Date,
    /// The amount (or the price of price x quantity).
    Amount,
    /// The quantity factor of price x quantity.
    AmountFactor,
    /// The quantity.
    Quantity,
    /// The cost (or the unit cost of unit cost x quantity).
    Cost,
    /// The quantity factor of unit cost x quantity.
    CostFactor,
    /// The return flag.
    ReturnFlag,
}

/// The first failing check of every row, and its reason.
pub(super) struct RowCheck {
    /// First failing role per row (`None`: the row passed every check so far).
    fail: Vec<Option<Role>>,
    /// The reason of each failing row, in the order found (few, so kept sparse).
    pub(super) reasons: Vec<(usize, RejectReason)>,
}

impl RowCheck {
    pub(super) fn new(n: usize) -> Self {
        RowCheck {
            fail: vec![None; n],
            reasons: Vec::new(),
        }
    }

    /// Records that row `i` failed on `role`, unless it already failed an earlier check.
    pub(super) fn mark(&mut self, i: usize, role: Role, reason: impl Into<RejectReason>) {
        if self.fail[i].is_none() {
            self.fail[i] = Some(role);
            self.reasons.push((i, reason.into()));
        }
    }

    /// Whether row `i` passed every check so far.
    pub(super) fn ok(&self, i: usize) -> bool {
        self.fail[i].is_none()
    }

    /// The role row `i` failed on.
    pub(super) fn role(&self, i: usize) -> Option<Role> {
        self.fail[i]
    }
}

impl RoleColumns {
    /// The input name and the values of the column in `role` (a role is only ever
    /// failed by a row when its column is mapped).
    pub(super) fn column<'a>(&'a self, role: Role) -> (&'a str, &'a Column) {
        let fallback = ("", &self.amount.1);
        let pick = |c: &'a Option<(String, Column)>| -> (&'a str, &'a Column) {
            c.as_ref().map_or(fallback, |(n, c)| (n.as_str(), c))
        };
        match role {
            Role::Id => (&self.id.0, &self.id.1),
            Role::Date => (&self.date.0, &self.date.1),
            Role::Amount => (&self.amount.0, &self.amount.1),
            Role::AmountFactor => pick(&self.amount_factor),
            Role::Quantity => pick(&self.quantity),
            Role::Cost => pick(&self.cost),
            Role::CostFactor => pick(&self.cost_factor),
            Role::ReturnFlag => pick(&self.return_flag),
        }
    }
}
