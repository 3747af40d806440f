//! Markets and limits of the local venue used by the demo and the tests.

use clearshard::instructions::{MarketConfig, MatcherLimits};
use clearshard_engine::MarketParams;

pub const BTC: u16 = 0;
pub const ETH: u16 = 1;
/// One token of collateral (6 decimals).
pub const USDC: u64 = 1_000_000;

/// Lots a funding epoch's premium is averaged over at least, on the local
/// venue: its flows are small, so its floor is too.
pub const LOCAL_FUNDING_MIN_VOLUME_LOTS: u64 = 100;

/// A BTC perpetual: 1 lot = 0.0001 BTC (8 decimals), 1 tick = 100 native
/// units per lot. At 60_000 USD a lot is worth 6 USDC, i.e. 60_000 ticks.
pub fn btc_market() -> MarketConfig {
    local(MarketParams::perpetual(100, 10_000, 8))
}

/// An ETH perpetual: 1 lot = 0.001 ETH (9 decimals); at 3_000 USD a lot is 3 USDC = 30_000 ticks.
pub fn eth_market() -> MarketConfig {
    local(MarketParams::perpetual(100, 1_000_000, 9))
}

fn local(params: MarketParams) -> MarketConfig {
    MarketParams { funding_min_volume_lots: LOCAL_FUNDING_MIN_VOLUME_LOTS, ..params }.into()
}

/// Oracle prices (expo -2) and the matching per-lot ticks.
pub const BTC_PRICE: i64 = 6_000_000;
pub const BTC_TICKS: u32 = 60_000;
pub const ETH_PRICE: i64 = 300_000;
pub const ETH_TICKS: u32 = 30_000;
pub const PRICE_EXPO: i32 = -2;

/// Limits that let matchers trade both markets within 10% of the oracle for
/// a day, up to a million lots a position, with an adverse execution cost of
/// up to 1,000,000 USDC an hour (the local venue's traders trust their matcher).
pub fn open_limits(now: i64) -> MatcherLimits {
    MatcherLimits {
        allowed_markets: 0b11,
        max_lots_per_fill: 1_000_000,
        max_deviation_bps: 1_000,
        expiry_unix: now + 86_400,
        max_position_lots: 1_000_000,
        max_adverse_cost: 1_000_000 * USDC,
        window_secs: 3_600,
    }
}

/// Limits that allow nothing: an owner's revocation of every matcher.
pub fn revoked_limits() -> MatcherLimits {
    MatcherLimits {
        allowed_markets: 0,
        max_lots_per_fill: 0,
        max_deviation_bps: 0,
        expiry_unix: 0,
        max_position_lots: 0,
        max_adverse_cost: 0,
        window_secs: 1,
    }
}

/// Native collateral units as USDC with cents (`-0.50`, `1234.56`).
pub fn format_usdc(native: i128) -> String {
    let sign = if native < 0 { "-" } else { "" };
    let abs = native.unsigned_abs();
    let unit = u128::from(USDC);
    format!("{sign}{}.{:02}", abs / unit, (abs % unit) / 10_000)
}
