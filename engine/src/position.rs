//! One perpetual position: base lots and cost basis, and how a trade changes them.

use crate::EngineError;
use bytemuck::{Pod, Zeroable};

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
    pub fn settle_accruals(&mut self, funding: i64, loss: i64) -> Result<i64, EngineError> {
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
        let funding_paid = if (self.base_lots > 0) == (funding_accrued > 0) { owed } else { -owed };
        let loss_paid = i64::try_from(crate::math::mul(size, loss_accrued.unsigned_abs())?).map_err(|_| overflow)?;
        funding_paid.checked_add(if loss_accrued > 0 { loss_paid } else { -loss_paid }).ok_or(overflow)
    }

    /// Applies `delta` lots at `price` per lot, where `notional = |delta| * price`.
    /// Returns the realized PnL of whatever part closed existing size.
    #[inline(always)]
    pub fn trade(&mut self, delta: i64, price: u64, notional: i64) -> Result<i64, EngineError> {
        let signed_notional = if delta > 0 { notional } else { -notional };
        if self.base_lots == 0 || (self.base_lots > 0) == (delta > 0) {
            self.base_lots = self.base_lots.checked_add(delta).ok_or(EngineError::Overflow)?;
            self.cost_basis = self.cost_basis.checked_add(signed_notional).ok_or(EngineError::Overflow)?;
            return Ok(0);
        }
        let open = self.base_lots.unsigned_abs();
        let moving = delta.unsigned_abs();
        if moving < open {
            // Partial reduce: release the closed share of the cost basis.
            let share = crate::math::mul_div(self.cost_basis.unsigned_abs(), moving, open) as i64;
            let released = if self.cost_basis < 0 { -share } else { share };
            self.base_lots += delta;
            self.cost_basis -= released;
            return (-signed_notional).checked_sub(released).ok_or(EngineError::Overflow);
        }
        // Close all, then open the remainder (if any) on the other side.
        let closing = crate::math::mul(open, price)?;
        let closing = i64::try_from(closing).map_err(|_| EngineError::Overflow)?;
        let closing_signed = if delta > 0 { closing } else { -closing };
        let realized = (-closing_signed).checked_sub(self.cost_basis).ok_or(EngineError::Overflow)?;
        self.base_lots += delta;
        self.cost_basis = signed_notional - closing_signed;
        Ok(realized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traded(p: &mut Position, delta: i64, price: u64) -> i64 {
        let notional = delta.unsigned_abs() as i64 * price as i64;
        p.trade(delta, price, notional).unwrap()
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
        assert_eq!(p.trade(1, 1, 1), Err(EngineError::Overflow));
    }
}
