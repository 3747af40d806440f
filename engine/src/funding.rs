//! Perpetual funding: the premium of the mark over the oracle, paid by longs
//! to shorts when positive, per funding period and clamped. Accrues in a
//! per-market index of quote native units per lot; positions settle against
//! it lazily when touched, so no crank ever writes a margin account or a shard.
//!
//! The mark is no caller's choice. Every shard keeps, per market, running
//! totals of its fills' volume and premium over the oracle at fill time. A
//! funding round reads every shard once, in index order (over one or more
//! transactions), and sums them; the difference from the previous round's
//! sums is the volume-weighted premium of every fill settled in between.
//! Totals wrap (like TCP sequence numbers): only differences are used.

use crate::{EngineError, BPS};
use bytemuck::{Pod, Zeroable};

/// Seconds over which a full premium is paid.
pub const FUNDING_PERIOD_SECS: i64 = 3_600;
/// Largest premium paid per period, in basis points of the oracle price.
pub const MAX_FUNDING_BPS_PER_PERIOD: u64 = 50;

/// Funding per lot accrued over `elapsed_secs` at `premium` per lot (positive:
/// longs pay), rounded toward zero. The premium is clamped to the per-period
/// cap and the time to one period, so one accrual never exceeds
/// `MAX_FUNDING_BPS_PER_PERIOD` of the oracle, however long the gap.
pub fn funding_per_lot(premium: i64, oracle: u64, elapsed_secs: i64) -> i64 {
    let cap = i128::from(oracle)
        .saturating_mul(i128::from(MAX_FUNDING_BPS_PER_PERIOD))
        .checked_div(i128::from(BPS))
        .unwrap_or(0);
    let premium = i128::from(premium).clamp(cap.saturating_neg(), cap);
    let elapsed = i128::from(elapsed_secs.clamp(0, FUNDING_PERIOD_SECS));
    let accrued = premium.saturating_mul(elapsed).checked_div(i128::from(FUNDING_PERIOD_SECS)).unwrap_or(0);
    i64::try_from(accrued).unwrap_or(if accrued > 0 { i64::MAX } else { i64::MIN })
}

/// A shard's running totals for one market, as funding reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShardTotals {
    pub index: u16,
    /// Σ lots of every fill settled on the shard (wrapping).
    pub volume_lots: u64,
    /// Σ (price − oracle) × lots of those fills (wrapping).
    pub premium: i64,
}

crate::idl::on_chain_type! {
    /// The state of a market's funding rounds. 48 bytes, in the `Market` account.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct FundingRound {
        /// When funding last accrued (0: never).
        pub last_funding_unix: i64,
        /// Sums of every shard's totals at the last completed round.
        pub settled_volume: u64,
        pub settled_premium: i64,
        /// Sums of the shards read so far in the round under way.
        pub round_volume: u64,
        pub round_premium: i64,
        /// Index of the next shard the round under way must read.
        pub next_shard: u16,
        pub _padding: [u8; 6],
    }
}
const _: () = assert!(core::mem::size_of::<FundingRound>() == 48);

/// What a completed round decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundingAccrual {
    /// Volume-weighted premium per lot of the fills since the last round.
    pub premium: i64,
    pub volume_lots: u64,
    /// Funding per lot added to the market's index.
    pub accrued: i64,
}

impl FundingRound {
    /// Adds the next shard's totals to the round under way. Shards must come
    /// in index order, each once: no caller picks, repeats or skips one.
    pub fn read_shard(&mut self, totals: &ShardTotals) -> Result<(), EngineError> {
        if totals.index != self.next_shard {
            return Err(EngineError::ShardOutOfOrder);
        }
        self.round_volume = self.round_volume.wrapping_add(totals.volume_lots);
        self.round_premium = self.round_premium.wrapping_add(totals.premium);
        self.next_shard = self.next_shard.checked_add(1).ok_or(EngineError::Overflow)?;
        Ok(())
    }

    /// Once every one of `shard_count` shards is read, closes the round and
    /// returns the funding to add to the market's index (`None`: the round is
    /// still under way). The first round only starts the clock. A premium
    /// that rounds to nothing over the time elapsed is carried into the next
    /// round rather than lost.
    pub fn complete(&mut self, shard_count: u16, oracle: u64, now: i64) -> Result<Option<FundingAccrual>, EngineError> {
        if self.next_shard < shard_count {
            return Ok(None);
        }
        let (volume, premium) = (self.round_volume, self.round_premium);
        self.round_volume = 0;
        self.round_premium = 0;
        self.next_shard = 0;
        if self.last_funding_unix == 0 {
            self.last_funding_unix = now;
            self.settled_volume = volume;
            self.settled_premium = premium;
            return Ok(Some(FundingAccrual::default()));
        }
        let volume_lots = volume.wrapping_sub(self.settled_volume);
        let premium_sum = premium.wrapping_sub(self.settled_premium);
        let per_lot = if volume_lots == 0 {
            0
        } else {
            let per_lot = i128::from(premium_sum).checked_div(i128::from(volume_lots)).ok_or(EngineError::Overflow)?;
            i64::try_from(per_lot).map_err(|_| EngineError::Overflow)?
        };
        let elapsed = now.saturating_sub(self.last_funding_unix);
        let accrued = funding_per_lot(per_lot, oracle, elapsed);
        if accrued == 0 && per_lot != 0 {
            return Ok(Some(FundingAccrual { premium: per_lot, volume_lots, accrued }));
        }
        self.last_funding_unix = now;
        self.settled_volume = volume;
        self.settled_premium = premium;
        Ok(Some(FundingAccrual { premium: per_lot, volume_lots, accrued }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premium_is_pro_rated_and_clamped_in_size_and_time() {
        assert_eq!(funding_per_lot(6_000, 6_000_000, 3_600), 6_000);
        assert_eq!(funding_per_lot(6_000, 6_000_000, 1_800), 3_000);
        assert_eq!(funding_per_lot(-6_000, 6_000_000, 3_600), -6_000);
        // 1% premium, capped at 0.5% of the oracle per hour.
        assert_eq!(funding_per_lot(60_000, 6_000_000, 3_600), 30_000);
        assert_eq!(funding_per_lot(0, 6_000_000, 3_600), 0);
        assert_eq!(funding_per_lot(1, 6_000_000, 10), 0);
        // A 240 h gap accrues one period, not 240.
        assert_eq!(funding_per_lot(60_000, 6_000_000, 240 * 3_600), 30_000);
        assert_eq!(funding_per_lot(i64::MAX, u64::MAX, i64::MAX), (u64::MAX / 200) as i64);
        assert_eq!(funding_per_lot(i64::MIN, u64::MAX, -5), 0);
    }

    fn totals(index: u16, volume_lots: u64, premium: i64) -> ShardTotals {
        ShardTotals { index, volume_lots, premium }
    }

    #[test]
    fn a_round_reads_every_shard_once_in_order() {
        let mut round = FundingRound::default();
        assert_eq!(round.read_shard(&totals(1, 0, 0)), Err(EngineError::ShardOutOfOrder));
        round.read_shard(&totals(0, 10, 100)).unwrap();
        assert_eq!(round.read_shard(&totals(0, 10, 100)), Err(EngineError::ShardOutOfOrder));
        assert_eq!(round.complete(2, 1_000, 50), Ok(None));
        round.read_shard(&totals(1, 30, -20)).unwrap();
        // First round: starts the clock and the sums.
        assert_eq!(round.complete(2, 1_000, 50), Ok(Some(FundingAccrual::default())));
        assert_eq!((round.last_funding_unix, round.settled_volume, round.settled_premium), (50, 40, 80));
        // Second round: 60 more lots at +2 per lot on shard 0, 20 at -1 on shard 1.
        round.read_shard(&totals(0, 70, 220)).unwrap();
        round.read_shard(&totals(1, 50, -40)).unwrap();
        let accrual = round.complete(2, 1_000_000, 50 + 1_800).unwrap().unwrap();
        // (120 - 20) / 80 = 1 per lot (rounded toward zero); half a period: 0.5 → 0, carried.
        assert_eq!(accrual, FundingAccrual { premium: 1, volume_lots: 80, accrued: 0 });
        assert_eq!(round.last_funding_unix, 50);
    }

    #[test]
    fn totals_that_wrapped_still_give_the_true_difference() {
        let mut round = FundingRound {
            last_funding_unix: 1,
            settled_volume: u64::MAX - 9,
            settled_premium: i64::MAX - 99,
            ..Default::default()
        };
        round.read_shard(&totals(0, 10, i64::MIN.wrapping_add(900))).unwrap();
        let accrual = round.complete(1, 10_000_000, 3_601).unwrap().unwrap();
        assert_eq!((accrual.volume_lots, accrual.premium), (20, 50));
        assert_eq!(accrual.accrued, 50);
    }
}
