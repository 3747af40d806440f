//! Risk and fee parameters of one market, as the engine needs them.

use crate::{EngineError, BPS};
use bytemuck::{Pod, Zeroable};

crate::idl::on_chain_type! {
    /// 56 bytes, embedded in the on-chain `Market` account.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct MarketParams {
        /// Quote native units per base lot for one tick of price.
        pub tick_size: u64,
        /// Base native units in one lot.
        pub base_lot_size: u64,
        /// Cap on the long open interest of one shard, in lots. Open interest is
        /// capped per shard because a global counter would be written by every batch.
        pub max_open_interest_per_shard: u64,
        pub initial_margin_bps: u16,
        pub maintenance_margin_bps: u16,
        pub taker_fee_bps: u16,
        /// Negative: a rebate, paid out of the taker fee.
        pub maker_fee_bps: i16,
        /// Fill prices must sit within this band around the oracle.
        pub band_bps: u16,
        /// Oracle confidence interval may be at most this wide.
        pub max_confidence_bps: u16,
        /// Oracle prices older than this block settlement.
        pub max_staleness_secs: u32,
        pub base_decimals: u8,
        pub _padding: u8,
        /// Anyone may wind the market down once no matcher's batch has
        /// settled it on any shard for this long (minutes).
        pub liveness_timeout_mins: u16,
        /// Fee a liquidatee pays on the notional a liquidator takes over; below
        /// the maintenance ratio, so that liquidation always restores health.
        pub liquidation_fee_bps: u16,
        /// Part of that fee (of 10_000) that goes to the insurance fund.
        pub liquidation_insurance_share_bps: u16,
        /// A funding epoch's premium is averaged over at least this many lots:
        /// a thin epoch's mark is diluted toward the oracle, so a few lots
        /// cannot set an hour's funding.
        pub funding_min_volume_lots: u64,
    }
}
const _: () = assert!(core::mem::size_of::<MarketParams>() == 56);

/// Why a set of market parameters is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidMarketParams {
    ZeroLotOrTick,
    MarginRatios,
    Fees,
    Band,
    OracleLimits,
    Liquidation,
    Funding,
    LivenessTimeout,
}

/// A market's liveness timeout is at least an hour, so that a matcher's
/// brief outage winds nothing down...
pub const MIN_LIVENESS_TIMEOUT_MINS: u16 = 60;
/// ... and shorter than the day every pause window must leave open between
/// windows (`PAUSE_GAP_SECS`), so no chain of pauses can hold it off.
pub const MAX_LIVENESS_TIMEOUT_MINS: u16 = 23 * 60;
/// Twelve hours.
pub const DEFAULT_LIVENESS_TIMEOUT_MINS: u16 = 12 * 60;
/// A test market (priced by its venue's admin, who is trusted outright
/// there) may time out after a minute, so a local run can wind one down.
pub const MIN_TEST_LIVENESS_TIMEOUT_MINS: u16 = 1;

impl MarketParams {
    /// The circuit breaker's band, in bps of the reference: how far the
    /// oracle's move counts in full (`crate::health::MAX_PRICE_JUMP_BPS`, or
    /// the gap between initial and maintenance margin if smaller).
    pub fn breaker_bps(&self) -> u64 {
        let gap = u64::from(self.initial_margin_bps.saturating_sub(self.maintenance_margin_bps));
        crate::health::MAX_PRICE_JUMP_BPS.min(gap)
    }

    /// A conventional perpetual for the given lot and tick: 10% initial and
    /// 5% maintenance margin, 5 bps taker fee and 1 bp maker rebate, a 5% band
    /// around the oracle, oracles at most 60 s old and 1% wide, a 2.5%
    /// liquidation fee of which half funds insurance, 10M lots per shard,
    /// funding averaged over at least 10,000 lots an epoch.
    pub const fn perpetual(tick_size: u64, base_lot_size: u64, base_decimals: u8) -> Self {
        MarketParams {
            tick_size,
            base_lot_size,
            max_open_interest_per_shard: 10_000_000,
            initial_margin_bps: 1_000,
            maintenance_margin_bps: 500,
            taker_fee_bps: 5,
            maker_fee_bps: -1,
            band_bps: 500,
            max_confidence_bps: 100,
            max_staleness_secs: 60,
            base_decimals,
            _padding: 0,
            liveness_timeout_mins: DEFAULT_LIVENESS_TIMEOUT_MINS,
            liquidation_fee_bps: 250,
            liquidation_insurance_share_bps: 5_000,
            funding_min_volume_lots: 10_000,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidMarketParams> {
        self.validate_with(MIN_LIVENESS_TIMEOUT_MINS)
    }

    /// `validate`, with a liveness timeout of at least `min_liveness_mins`.
    pub fn validate_with(&self, min_liveness_mins: u16) -> Result<(), InvalidMarketParams> {
        if self.tick_size == 0 || self.base_lot_size == 0 {
            return Err(InvalidMarketParams::ZeroLotOrTick);
        }
        let (im, mm) = (self.initial_margin_bps, self.maintenance_margin_bps);
        if mm == 0 || im <= mm || im as u64 > BPS {
            return Err(InvalidMarketParams::MarginRatios);
        }
        // A maker rebate is paid out of the taker fee, so the net fee is never negative;
        // the taker fee stays below the maintenance margin so a fill cannot eat it.
        if self.maker_fee_bps.unsigned_abs() > self.taker_fee_bps || self.taker_fee_bps >= mm {
            return Err(InvalidMarketParams::Fees);
        }
        // A fill at the band's edge loses at most the band at once: initial
        // margin must cover it.
        if self.band_bps == 0 || self.band_bps > im {
            return Err(InvalidMarketParams::Band);
        }
        if self.max_staleness_secs == 0 || self.max_confidence_bps as u64 > BPS {
            return Err(InvalidMarketParams::OracleLimits);
        }
        if self.liquidation_fee_bps >= mm || self.liquidation_insurance_share_bps as u64 > BPS {
            return Err(InvalidMarketParams::Liquidation);
        }
        if self.funding_min_volume_lots == 0 {
            return Err(InvalidMarketParams::Funding);
        }
        if !(min_liveness_mins..=MAX_LIVENESS_TIMEOUT_MINS).contains(&self.liveness_timeout_mins) {
            return Err(InvalidMarketParams::LivenessTimeout);
        }
        Ok(())
    }

    /// Price per lot of a fill's ticks.
    #[inline(always)]
    pub fn price_per_lot(&self, ticks: u32) -> Result<u64, EngineError> {
        crate::math::mul(ticks as u64, self.tick_size)
    }

    /// Inclusive range of per-lot prices within the band around `oracle`.
    pub fn band(&self, oracle: u64) -> (u64, u64) {
        let width = crate::math::mul_div(oracle, self.band_bps as u64, BPS);
        (oracle.saturating_sub(width), oracle.saturating_add(width))
    }

    /// The prices an exiting account may be closed at, around the
    /// breaker-held oracle `cost_oracle`: the band, or the breaker's if
    /// narrower, so that what an exit costs an owner is bounded even at a
    /// spike, with no budget to spend.
    pub fn exit_band(&self, cost_oracle: u64) -> (u64, u64) {
        let bps = u64::from(self.band_bps).min(self.breaker_bps());
        let width = crate::math::mul_div(cost_oracle, bps, BPS);
        (cost_oracle.saturating_sub(width), cost_oracle.saturating_add(width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> MarketParams {
        MarketParams::perpetual(10, 1_000, 6)
    }

    #[test]
    fn validates_each_rule() {
        assert_eq!(sample().validate(), Ok(()));
        let bad = |f: fn(&mut MarketParams)| {
            let mut p = sample();
            f(&mut p);
            p.validate()
        };
        assert_eq!(bad(|p| p.tick_size = 0), Err(InvalidMarketParams::ZeroLotOrTick));
        assert_eq!(bad(|p| p.initial_margin_bps = 500), Err(InvalidMarketParams::MarginRatios));
        assert_eq!(bad(|p| p.maker_fee_bps = -6), Err(InvalidMarketParams::Fees));
        assert_eq!(bad(|p| p.taker_fee_bps = 500), Err(InvalidMarketParams::Fees));
        assert_eq!(bad(|p| p.band_bps = 0), Err(InvalidMarketParams::Band));
        assert_eq!(bad(|p| p.band_bps = 1_001), Err(InvalidMarketParams::Band));
        assert_eq!(bad(|p| p.max_staleness_secs = 0), Err(InvalidMarketParams::OracleLimits));
        assert_eq!(bad(|p| p.liquidation_fee_bps = 500), Err(InvalidMarketParams::Liquidation));
        assert_eq!(bad(|p| p.funding_min_volume_lots = 0), Err(InvalidMarketParams::Funding));
        assert_eq!(bad(|p| p.liveness_timeout_mins = 59), Err(InvalidMarketParams::LivenessTimeout));
        assert_eq!(bad(|p| p.liveness_timeout_mins = 23 * 60 + 1), Err(InvalidMarketParams::LivenessTimeout));
        let short = MarketParams { liveness_timeout_mins: 1, ..sample() };
        assert_eq!(short.validate_with(MIN_TEST_LIVENESS_TIMEOUT_MINS), Ok(()));
        let zero = MarketParams { liveness_timeout_mins: 0, ..sample() };
        assert_eq!(zero.validate_with(MIN_TEST_LIVENESS_TIMEOUT_MINS), Err(InvalidMarketParams::LivenessTimeout));
    }

    #[test]
    fn band_is_symmetric_around_oracle() {
        assert_eq!(sample().band(10_000), (9_500, 10_500));
        assert_eq!(sample().price_per_lot(7), Ok(70));
        assert_eq!(sample().price_per_lot(u32::MAX), Ok(u32::MAX as u64 * 10));
    }
}
