//! One perpetual position: base lots and cost basis, and how a trade changes them.

use crate::EngineError;
use bytemuck::{Pod, Zeroable};

/// 32 bytes. A slot with `base_lots == 0` is free.
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
}
const _: () = assert!(core::mem::size_of::<Position>() == 32);

impl Position {
    #[inline(always)]
    pub fn is_open(&self) -> bool {
        self.base_lots != 0
    }

    /// Settles funding accrued since the last settlement at the market's
    /// `cumulative` funding per lot; returns what the position pays
    /// (negative: receives). Longs pay when the index rises.
    #[inline(always)]
    pub fn settle_funding(&mut self, cumulative: i64) -> Result<i64, EngineError> {
        let accrued = cumulative.checked_sub(self.funding_snapshot).ok_or(EngineError::Overflow)?;
        self.funding_snapshot = cumulative;
        if accrued == 0 || self.base_lots == 0 {
            return Ok(0);
        }
        let owed = crate::math::mul(self.base_lots.unsigned_abs(), accrued.unsigned_abs())?;
        let owed = i64::try_from(owed).map_err(|_| EngineError::Overflow)?;
        Ok(if (self.base_lots > 0) == (accrued > 0) { owed } else { -owed })
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
        assert_eq!(long.settle_funding(130), Ok(300));
        assert_eq!(long.funding_snapshot, 130);
        assert_eq!(long.settle_funding(130), Ok(0));
        let mut short = Position { base_lots: -10, funding_snapshot: 100, ..Default::default() };
        assert_eq!(short.settle_funding(130), Ok(-300));
        assert_eq!(short.settle_funding(90), Ok(400));
        let mut closed = Position { funding_snapshot: 5, ..Default::default() };
        assert_eq!(closed.settle_funding(50), Ok(0));
        assert_eq!(closed.funding_snapshot, 50);
    }

    #[test]
    fn growth_overflow_is_an_error() {
        let mut p = Position { base_lots: i64::MAX, ..Default::default() };
        assert_eq!(p.trade(1, 1, 1), Err(EngineError::Overflow));
    }
}
