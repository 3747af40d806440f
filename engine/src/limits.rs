//! Limits an owner sets on what any matcher may trade on its account: the
//! heart of the trust model. Per fill, a compromised matcher cannot trade the
//! account in a market it did not allow, beyond its size, off the oracle, or
//! after expiry. In sum, it cannot build a position beyond the owner's cap,
//! and it cannot spend more than the owner's budget of *adverse execution
//! cost* per window: round trips inside the band bleed an account fill by
//! fill, and this budget is what bounds them.

use crate::EngineError;
use bytemuck::{Pod, Zeroable};

crate::idl::on_chain_type! {
    /// 48 bytes; zeroed (the state of a new account) allows nothing.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TradeLimits {
        /// Bit `m` set: market id `m` (< 64) may be traded.
        pub allowed_markets: u64,
        /// Largest quantity of one fill, in base lots.
        pub max_lots_per_fill: u64,
        /// Unix time after which no fill is accepted.
        pub expiry_unix: i64,
        /// Largest size, in lots, a fill may grow a position to in any market.
        pub max_position_lots: u64,
        /// Most adverse execution cost (quote native) fills may charge the
        /// account per window: see [`adverse_cost`].
        pub max_adverse_cost: u64,
        /// Length of the adverse-cost window in seconds (> 0 once set).
        pub window_secs: u32,
        /// Furthest a fill price may sit from the oracle, in basis points.
        pub max_deviation_bps: u16,
        pub _padding: [u8; 2],
    }
}
const _: () = assert!(core::mem::size_of::<TradeLimits>() == 48);

crate::idl::on_chain_type! {
    /// The adverse execution cost spent in the current window. 16 bytes.
    ///
    /// Windows are consecutive: one opens at the first fill after the previous
    /// one ended and lasts `window_secs`. Within one window the account is charged
    /// at most `max_adverse_cost`; any span of `window_secs` overlaps at most two
    /// windows, so at most twice that.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct CostWindow {
        pub start_unix: i64,
        pub spent: u64,
    }
}
const _: () = assert!(core::mem::size_of::<CostWindow>() == 16);

impl TradeLimits {
    #[inline(always)]
    pub fn allows_market(&self, market_id: u16) -> bool {
        market_id < 64 && self.allowed_markets & (1u64 << market_id) != 0
    }

    /// |price - oracle| / oracle <= max_deviation_bps, without a division.
    #[inline(always)]
    pub fn allows_price(&self, price: u64, oracle: u64) -> bool {
        crate::math::product_le(price.abs_diff(oracle), crate::BPS, self.max_deviation_bps as u64, oracle)
    }

    /// A fill may take a position to any size up to the cap, and may always
    /// shrink one that is already above it (after the owner lowered the cap).
    #[inline(always)]
    pub fn allows_position(&self, base_before: i64, base_after: i64) -> bool {
        let after = base_after.unsigned_abs();
        after <= self.max_position_lots || after <= base_before.unsigned_abs()
    }
}

impl CostWindow {
    /// Charges `cost` to the window open at `now` (opening a new one when the
    /// last has ended), or refuses it once the budget would be exceeded.
    #[inline(always)]
    pub fn charge(&mut self, limits: &TradeLimits, cost: u64, now: i64) -> Result<(), EngineError> {
        if now >= self.start_unix.saturating_add(limits.window_secs as i64) {
            self.start_unix = now;
            self.spent = 0;
        }
        let spent = self.spent.checked_add(cost).ok_or(EngineError::Overflow)?;
        if spent > limits.max_adverse_cost {
            return Err(EngineError::AdverseCostBudgetExceeded);
        }
        self.spent = spent;
        Ok(())
    }
}

/// What a fill costs one side against the oracle: the price difference when it
/// is against the side (a buy above the oracle, a sell below) times the lots,
/// plus the fee it pays. Favourable prices and rebates are not credited, so a
/// matcher cannot earn budget back with fills of its choosing.
#[inline(always)]
pub fn adverse_cost(buys: bool, lots: u64, price: u64, oracle: u64, fee: i64) -> Result<u64, EngineError> {
    let against = if buys { price.saturating_sub(oracle) } else { oracle.saturating_sub(price) };
    let slippage = crate::math::mul(against, lots)?;
    slippage.checked_add(fee.max(0).unsigned_abs()).ok_or(EngineError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(budget: u64) -> TradeLimits {
        TradeLimits { max_adverse_cost: budget, window_secs: 60, max_position_lots: 10, ..Default::default() }
    }

    #[test]
    fn budget_is_spent_exactly_then_refused_until_the_window_ends() {
        let l = limits(100);
        let mut w = CostWindow::default();
        assert_eq!(w.charge(&l, 60, 1_000), Ok(()));
        assert_eq!(w.charge(&l, 40, 1_059), Ok(()));
        assert_eq!(w.charge(&l, 1, 1_059), Err(EngineError::AdverseCostBudgetExceeded));
        assert_eq!(w, CostWindow { start_unix: 1_000, spent: 100 });
        assert_eq!(w.charge(&l, 100, 1_060), Ok(()));
        assert_eq!(w, CostWindow { start_unix: 1_060, spent: 100 });
        assert_eq!(w.charge(&l, u64::MAX, 1_060), Err(EngineError::Overflow));
    }

    #[test]
    fn adverse_cost_counts_only_what_is_against_the_side() {
        assert_eq!(adverse_cost(true, 10, 1_010, 1_000, 3), Ok(103));
        assert_eq!(adverse_cost(true, 10, 990, 1_000, 3), Ok(3));
        assert_eq!(adverse_cost(false, 10, 990, 1_000, -2), Ok(100));
        assert_eq!(adverse_cost(false, 10, 1_010, 1_000, -2), Ok(0));
        assert_eq!(adverse_cost(true, u64::MAX, 2, 1, 0), Ok(u64::MAX));
        assert_eq!(adverse_cost(true, u64::MAX, 3, 1, 0), Err(EngineError::Overflow));
    }

    #[test]
    fn position_cap_binds_growth_but_never_a_reduction() {
        let l = limits(0);
        assert!(l.allows_position(0, 10));
        assert!(l.allows_position(0, -10));
        assert!(!l.allows_position(5, 11));
        assert!(!l.allows_position(-5, 11));
        assert!(l.allows_position(30, 20));
        assert!(!l.allows_position(-30, 31));
    }
}
