//! One perpetual position: base lots and cost basis, and how a trade changes them.

use crate::{EngineError, RiskMarket};
use bytemuck::{Pod, Zeroable};

crate::idl::on_chain_type! {
    /// 40 bytes. A slot with `base_lots == 0` is free.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct Position {
        pub market_id: u16,
        pub _padding: [u8; 6],
        /// Signed size: positive long, negative short.
        pub base_lots: i64,
        /// Signed entry notional of the open size (quote native), for realized PnL.
        pub cost_basis: i64,
        /// The market's cumulative funding per lot when funding was last settled.
        pub funding_snapshot: i64,
        /// The market's cumulative socialized loss per lot when last settled.
        pub loss_snapshot: i64,
    }
}
const _: () = assert!(core::mem::size_of::<Position>() == 40);

impl Position {
    #[inline(always)]
    pub fn is_open(&self) -> bool {
        self.base_lots != 0
    }

    /// Settles what accrued in the market's indexes since the last settlement:
    /// funding (longs pay as `funding` rises, shorts receive) and socialized
    /// loss (every lot pays as `loss` rises). Returns what the position pays
    /// (negative: receives).
    #[inline(always)]
    pub(crate) fn settle_accruals(&mut self, funding: i64, loss: i64) -> Result<i64, EngineError> {
        let overflow = EngineError::Overflow;
        let funding_accrued = funding.checked_sub(self.funding_snapshot).ok_or(overflow)?;
        let loss_accrued = loss.checked_sub(self.loss_snapshot).ok_or(overflow)?;
        self.funding_snapshot = funding;
        self.loss_snapshot = loss;
        if (funding_accrued == 0 && loss_accrued == 0) || self.base_lots == 0 {
            return Ok(0);
        }
        let size = self.base_lots.unsigned_abs();
        let owed = i64::try_from(crate::math::mul(size, funding_accrued.unsigned_abs())?).map_err(|_| overflow)?;
        let funding_paid = if (self.base_lots > 0) == (funding_accrued > 0) { owed } else { owed.wrapping_neg() };
        let loss_paid = i64::try_from(crate::math::mul(size, loss_accrued.unsigned_abs())?).map_err(|_| overflow)?;
        funding_paid.checked_add(if loss_accrued > 0 { loss_paid } else { loss_paid.wrapping_neg() }).ok_or(overflow)
    }

    /// The one way a position changes size: settles what accrued since the
    /// last touch at the market's current indexes (so a fresh or reused slot
    /// takes them as its snapshot, and no trade can leave a stale one), then
    /// applies `delta` lots at `price` per lot, `notional = |delta| × price`.
    #[inline(always)]
    pub(crate) fn trade(
        &mut self,
        market: &RiskMarket,
        delta: i64,
        price: u64,
        notional: i64,
    ) -> Result<PositionChange, EngineError> {
        let accruals = self.settle_accruals(market.cumulative_funding, market.cumulative_loss)?;
        let base_before = self.base_lots;
        let realized = self.apply(delta, price, notional)?;
        Ok(PositionChange { accruals, realized, base_before, base_after: self.base_lots })
    }

    /// Size and cost basis after `delta` lots at `price`; returns the realized
    /// PnL of whatever part closed existing size.
    #[inline(always)]
    fn apply(&mut self, delta: i64, price: u64, notional: i64) -> Result<i64, EngineError> {
        let overflow = EngineError::Overflow;
        let signed_notional = if delta > 0 { notional } else { notional.checked_neg().ok_or(overflow)? };
        let base_after = self.base_lots.checked_add(delta).ok_or(overflow)?;
        if self.base_lots == 0 || (self.base_lots > 0) == (delta > 0) {
            self.base_lots = base_after;
            self.cost_basis = self.cost_basis.checked_add(signed_notional).ok_or(overflow)?;
            return Ok(0);
        }
        let open = self.base_lots.unsigned_abs();
        let moving = delta.unsigned_abs();
        if moving < open {
            // Partial reduce: release the closed share of the cost basis.
            let share = i64::try_from(crate::math::mul_div(self.cost_basis.unsigned_abs(), moving, open))
                .map_err(|_| overflow)?;
            let released = if self.cost_basis < 0 { share.checked_neg().ok_or(overflow)? } else { share };
            self.base_lots = base_after;
            self.cost_basis = self.cost_basis.checked_sub(released).ok_or(overflow)?;
            return signed_notional.checked_neg().and_then(|n| n.checked_sub(released)).ok_or(overflow);
        }
        // Close all, then open the remainder (if any) on the other side.
        let closing = i64::try_from(crate::math::mul(open, price)?).map_err(|_| overflow)?;
        let closing_signed = if delta > 0 { closing } else { closing.checked_neg().ok_or(overflow)? };
        let realized = closing_signed.checked_neg().and_then(|c| c.checked_sub(self.cost_basis)).ok_or(overflow)?;
        self.base_lots = base_after;
        self.cost_basis = signed_notional.checked_sub(closing_signed).ok_or(overflow)?;
        Ok(realized)
    }
}

/// What one trade did to a position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PositionChange {
    /// Funding and socialized loss settled before the trade (negative: received).
    pub accruals: i64,
    /// PnL realized against cost basis.
    pub realized: i64,
    pub base_before: i64,
    pub base_after: i64,
}

impl PositionChange {
    /// Change of the long size (the position's share of long open interest).
    pub fn long_change(&self) -> i64 {
        self.base_after.max(0).wrapping_sub(self.base_before.max(0))
    }

    /// Whether the change only shrinks the position, without flipping it.
    pub fn reduces(&self) -> bool {
        let (before, after) = (self.base_before, self.base_after);
        after.unsigned_abs() <= before.unsigned_abs() && (after == 0 || (after > 0) == (before > 0))
    }

    /// Change of the short size, in lots (positive: more short).
    pub fn short_change(&self) -> i64 {
        self.base_before.min(0).wrapping_sub(self.base_after.min(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(funding: i64, loss: i64) -> RiskMarket {
        RiskMarket {
            id: 0,
            params: crate::MarketParams::default(),
            oracle_price: 100,
            reference_price: 100,
            cumulative_funding: funding,
            cumulative_loss: loss,
        }
    }

    fn traded(p: &mut Position, delta: i64, price: u64) -> i64 {
        let notional = delta.unsigned_abs() as i64 * price as i64;
        p.trade(&market(0, 0), delta, price, notional).unwrap().realized
    }

    #[test]
    fn long_partial_then_full_close_realizes_against_cost() {
        let mut p = Position::default();
        assert_eq!(traded(&mut p, 10, 100), 0);
        assert_eq!((p.base_lots, p.cost_basis), (10, 1_000));
        assert_eq!(traded(&mut p, -4, 120), 80);
        assert_eq!((p.base_lots, p.cost_basis), (6, 600));
        assert_eq!(traded(&mut p, -6, 90), -60);
        assert_eq!((p.base_lots, p.cost_basis), (0, 0));
    }

    #[test]
    fn short_flip_to_long_opens_the_remainder_at_fill_price() {
        let mut p = Position::default();
        traded(&mut p, -10, 100);
        assert_eq!((p.base_lots, p.cost_basis), (-10, -1_000));
        assert_eq!(traded(&mut p, 15, 80), 200);
        assert_eq!((p.base_lots, p.cost_basis), (5, 400));
    }

    #[test]
    fn funding_is_paid_by_longs_when_the_index_rises() {
        let mut long = Position { base_lots: 10, funding_snapshot: 100, ..Default::default() };
        assert_eq!(long.settle_accruals(130, 0), Ok(300));
        assert_eq!(long.funding_snapshot, 130);
        assert_eq!(long.settle_accruals(130, 0), Ok(0));
        let mut short = Position { base_lots: -10, funding_snapshot: 100, ..Default::default() };
        assert_eq!(short.settle_accruals(130, 0), Ok(-300));
        assert_eq!(short.settle_accruals(90, 0), Ok(400));
        let mut closed = Position { funding_snapshot: 5, ..Default::default() };
        assert_eq!(closed.settle_accruals(50, 3), Ok(0));
        assert_eq!((closed.funding_snapshot, closed.loss_snapshot), (50, 3));
    }

    #[test]
    fn socialized_loss_is_paid_by_both_sides() {
        let mut long = Position { base_lots: 10, ..Default::default() };
        let mut short = Position { base_lots: -4, ..Default::default() };
        assert_eq!(long.settle_accruals(0, 7), Ok(70));
        assert_eq!(short.settle_accruals(0, 7), Ok(28));
        assert_eq!(short.settle_accruals(2, 7), Ok(-8));
    }

    #[test]
    fn growth_overflow_is_an_error() {
        let mut p = Position { base_lots: i64::MAX, ..Default::default() };
        assert_eq!(p.trade(&market(0, 0), 1, 1, 1), Err(EngineError::Overflow));
    }

    #[test]
    fn a_fresh_or_reused_slot_trades_from_the_current_indexes() {
        // A slot closed long ago, snapshots far behind the market's indexes.
        let mut p = Position { funding_snapshot: 3, loss_snapshot: 1, ..Default::default() };
        let change = p.trade(&market(5_000, 700), 10, 100, 1_000).unwrap();
        assert_eq!(change, PositionChange { accruals: 0, realized: 0, base_before: 0, base_after: 10 });
        assert_eq!((p.funding_snapshot, p.loss_snapshot), (5_000, 700));
        let change = p.trade(&market(5_010, 700), -15, 100, 1_500).unwrap();
        assert_eq!(change.accruals, 100);
        assert_eq!((change.long_change(), change.short_change()), (-10, 5));
    }
}
