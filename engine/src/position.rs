//! One perpetual position: base lots and cost basis, and how a trade changes them.

use crate::EngineError;
use bytemuck::{Pod, Zeroable};

/// 24 bytes. A slot with `base_lots == 0` is free.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Position {
    pub market_id: u16,
    pub _padding: [u8; 6],
    /// Signed size: positive long, negative short.
    pub base_lots: i64,
    /// Signed entry notional of the open size (quote native), for realized PnL.
    pub cost_basis: i64,
}
const _: () = assert!(core::mem::size_of::<Position>() == 24);

impl Position {
    #[inline(always)]
    pub fn is_open(&self) -> bool {
        self.base_lots != 0
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
    fn growth_overflow_is_an_error() {
        let mut p = Position { market_id: 0, _padding: [0; 6], base_lots: i64::MAX, cost_basis: 0 };
        assert_eq!(p.trade(1, 1, 1), Err(EngineError::Overflow));
    }
}
