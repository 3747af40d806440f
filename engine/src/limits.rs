//! Limits an owner sets on what any matcher may trade on its account: the
//! heart of the trust model. A compromised matcher cannot trade the account in
//! a market it did not allow, beyond its size, off the oracle, or after expiry.

use bytemuck::{Pod, Zeroable};

/// 32 bytes; zeroed (the state of a new account) allows nothing.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TradeLimits {
    /// Bit `m` set: market id `m` (< 64) may be traded.
    pub allowed_markets: u64,
    /// Largest quantity of one fill, in base lots.
    pub max_lots_per_fill: u64,
    /// Unix time after which no fill is accepted.
    pub expiry_unix: i64,
    /// Furthest a fill price may sit from the oracle, in basis points.
    pub max_deviation_bps: u16,
    pub _padding: [u8; 6],
}
const _: () = assert!(core::mem::size_of::<TradeLimits>() == 32);

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
}
