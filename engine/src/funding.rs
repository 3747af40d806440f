//! Perpetual funding: the premium of the mark over the oracle, paid by longs
//! to shorts when positive, clamped, accruing per second into a per-market
//! index of quote native units per lot. Positions settle against the index
//! lazily when touched, so no crank ever writes a margin account or a shard.
//!
//! No caller can steer funding by choosing *when*, *in what pages* or *by
//! whom* the crank runs, because every figure is fixed by fills and the clock:
//! - Time is cut into funding epochs of [`FUNDING_PERIOD_SECS`]. Each shard
//!   keeps, per market, the sums of the fills settled in the current epoch and
//!   in the one before ([`ShardFunding`]), written by the batches themselves.
//!   An epoch's sums are frozen the moment it ends.
//! - During epoch `e + 1`, a round reads every shard once, in index order
//!   (over one or more transactions), and sums epoch `e`. What it reads cannot
//!   change while it reads: a batch that lands meanwhile books into `e + 1`.
//! - The round fixes the **rate** of epoch `e + 2`: the volume-weighted premium
//!   of epoch `e`'s fills, diluted by a minimum volume (one lot cannot set an
//!   hour's mark) and clamped to [`MAX_FUNDING_BPS_PER_PERIOD`] of their
//!   volume-weighted oracle. The rate then accrues second by second over all of
//!   epoch `e + 2`, so every position pays for exactly the time it is held.
//! - A round not completed within epoch `e + 1` is void: epoch `e + 2` accrues
//!   nothing. Funding never runs on a mark no round measured.

use crate::{EngineError, BPS};
use bytemuck::{Pod, Zeroable};

/// Seconds in one funding epoch; a rate is funding per lot over one epoch.
pub const FUNDING_PERIOD_SECS: i64 = 3_600;
/// Largest rate per epoch, in basis points of the epoch's volume-weighted oracle.
pub const MAX_FUNDING_BPS_PER_PERIOD: u64 = 50;

/// The funding epoch a unix time falls in (rounded down, before 1970 too).
pub fn epoch_of(unix: i64) -> i64 {
    // SBF v0 has no signed division: divide magnitudes.
    let period = FUNDING_PERIOD_SECS.unsigned_abs();
    let magnitude = unix.unsigned_abs();
    let epochs = if unix >= 0 { magnitude.checked_div(period) } else { Some(magnitude.div_ceil(period)) };
    let epochs = epochs.unwrap_or(0);
    let epochs = i64::try_from(epochs).unwrap_or(i64::MAX);
    if unix >= 0 {
        epochs
    } else {
        epochs.wrapping_neg()
    }
}

/// The unix time an epoch starts.
fn epoch_start(epoch: i64) -> i64 {
    epoch.saturating_mul(FUNDING_PERIOD_SECS)
}

crate::idl::on_chain_type! {
    /// Sums of the fills of one funding epoch (on one shard, or over every
    /// shard once a round has read them). 24 bytes.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct FundingBucket {
        /// Σ lots.
        pub volume_lots: u64,
        /// Σ (fill price − oracle) × lots.
        pub premium: i64,
        /// Σ oracle × lots: the cap is taken of the epoch's own oracle.
        pub oracle_notional: u64,
    }
}
const _: () = assert!(core::mem::size_of::<FundingBucket>() == 24);

impl FundingBucket {
    /// Adds fills. Saturating: a sum that large is beyond any cap, and the
    /// rate it gives is clamped anyway.
    pub fn add(&mut self, other: &FundingBucket) {
        self.volume_lots = self.volume_lots.saturating_add(other.volume_lots);
        self.premium = self.premium.saturating_add(other.premium);
        self.oracle_notional = self.oracle_notional.saturating_add(other.oracle_notional);
    }

    /// The rate these fills set: Σ premium / max(Σ lots, `min_volume_lots`),
    /// clamped to the cap of their volume-weighted oracle. No fills: zero.
    pub fn rate(&self, min_volume_lots: u64) -> i64 {
        if self.volume_lots == 0 {
            return 0;
        }
        let average_oracle = self.oracle_notional.checked_div(self.volume_lots).unwrap_or(0);
        let cap = i128::from(average_oracle)
            .saturating_mul(i128::from(MAX_FUNDING_BPS_PER_PERIOD))
            .checked_div(i128::from(BPS))
            .unwrap_or(0);
        let weight = i128::from(self.volume_lots.max(min_volume_lots));
        let per_lot = i128::from(self.premium).checked_div(weight).unwrap_or(0);
        // |cap| < u64::MAX / 200: always an i64.
        i64::try_from(per_lot.clamp(cap.saturating_neg(), cap)).unwrap_or(0)
    }
}

crate::idl::on_chain_type! {
    /// One shard's fills of one market, by funding epoch: the current epoch
    /// and the one before it. Written only by batches. 56 bytes.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct ShardFunding {
        /// The epoch `current` sums.
        pub epoch: i64,
        pub current: FundingBucket,
        /// Epoch `epoch − 1` (empty if the shard settled nothing then).
        pub previous: FundingBucket,
    }
}
const _: () = assert!(core::mem::size_of::<ShardFunding>() == 56);

impl ShardFunding {
    /// Books fills settled at epoch `now_epoch`. A clock that stepped back
    /// books into the current epoch: an ended epoch never changes.
    pub fn record(&mut self, now_epoch: i64, fills: &FundingBucket) {
        if now_epoch > self.epoch {
            self.previous =
                if now_epoch == self.epoch.saturating_add(1) { self.current } else { FundingBucket::default() };
            self.current = FundingBucket::default();
            self.epoch = now_epoch;
        }
        self.current.add(fills);
    }

    /// This shard's fills of `epoch`, read while `epoch + 1` is under way (no
    /// later fill can have pushed it out: `self.epoch ≤ epoch + 1`).
    pub fn of_epoch(&self, epoch: i64) -> Result<FundingBucket, EngineError> {
        if self.epoch == epoch {
            Ok(self.current)
        } else if self.epoch == epoch.saturating_add(1) {
            Ok(self.previous)
        } else if self.epoch < epoch {
            Ok(FundingBucket::default())
        } else {
            Err(EngineError::FundingRoundExpired)
        }
    }
}

crate::idl::on_chain_type! {
    /// A market's funding: the index, the rates that make it, and the round
    /// under way. 80 bytes, in the `Market` account.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct Funding {
        /// The epoch `rate` applies to; the index below is at its start.
        pub epoch: i64,
        pub epoch_start_index: i64,
        /// Funding per lot over all of `epoch` (positive: longs pay).
        pub rate: i64,
        /// Funding per lot over `epoch + 1` (zero until its round completes).
        pub next_rate: i64,
        /// The last fill epoch a round completed for.
        pub completed_epoch: i64,
        /// The round under way: the fill epoch it reads, its sums so far, and
        /// the next shard it must read.
        pub round_epoch: i64,
        pub round: FundingBucket,
        pub next_shard: u16,
        pub _padding: [u8; 6],
    }
}
const _: () = assert!(core::mem::size_of::<Funding>() == 80);

/// What a completed round decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundingRate {
    /// The epoch whose fills were read.
    pub fill_epoch: i64,
    pub fills: FundingBucket,
    /// The rate set for epoch `fill_epoch + 2`.
    pub rate: i64,
}

impl Funding {
    /// A market listed at `now`: no rate until its first round.
    pub fn starting(now: i64) -> Self {
        let epoch = epoch_of(now);
        Funding {
            epoch,
            completed_epoch: epoch.saturating_sub(2),
            round_epoch: epoch.saturating_sub(1),
            ..Default::default()
        }
    }

    /// The funding index at `now`: a function of the rates and the clock only.
    pub fn index_at(&self, now: i64) -> Result<i64, EngineError> {
        let overflow = EngineError::Overflow;
        let into_epoch = |epoch: i64| now.saturating_sub(epoch_start(epoch)).clamp(0, FUNDING_PERIOD_SECS);
        // Read by every batch for every market: unsigned 64-bit magnitudes
        // (SBF v0 has no signed division; 128-bit math is a slow library
        // call), widened only if the product overflows.
        let pro_rata = |rate: i64, secs: i64| -> Result<i64, EngineError> {
            let (magnitude, secs, period) =
                (rate.unsigned_abs(), secs.unsigned_abs(), FUNDING_PERIOD_SECS.unsigned_abs());
            let accrued = match magnitude.checked_mul(secs) {
                Some(product) => product.checked_div(period).ok_or(overflow)?,
                None => {
                    let wide = u128::from(magnitude).wrapping_mul(u128::from(secs)).checked_div(u128::from(period));
                    u64::try_from(wide.ok_or(overflow)?).map_err(|_| overflow)?
                }
            };
            let accrued = i64::try_from(accrued).map_err(|_| overflow)?;
            Ok(if rate < 0 { accrued.wrapping_neg() } else { accrued })
        };
        let mut index =
            self.epoch_start_index.checked_add(pro_rata(self.rate, into_epoch(self.epoch))?).ok_or(overflow)?;
        let next = self.epoch.saturating_add(1);
        if epoch_of(now) >= next {
            index = index.checked_add(pro_rata(self.next_rate, into_epoch(next))?).ok_or(overflow)?;
        }
        // Epochs after `epoch + 1` have no rate: no round set one in time.
        Ok(index)
    }

    /// Moves the index's anchor to the start of `epoch`, where rates shift.
    fn roll_to(&mut self, epoch: i64) -> Result<(), EngineError> {
        if epoch <= self.epoch {
            return Ok(());
        }
        self.epoch_start_index = self.index_at(epoch_start(epoch))?;
        self.rate = if epoch == self.epoch.saturating_add(1) { self.next_rate } else { 0 };
        self.next_rate = 0;
        self.epoch = epoch;
        Ok(())
    }

    /// Adds the next shard's fills of the round's epoch. At `now`, the round
    /// reads the epoch that just ended; one left from an earlier epoch is void
    /// and starts over. Shards come in index order, each once: no caller picks,
    /// repeats or skips one. Refused if this epoch's round already completed.
    pub fn read_shard(&mut self, index: u16, shard: &ShardFunding, now: i64) -> Result<(), EngineError> {
        let fill_epoch = epoch_of(now).saturating_sub(1);
        if self.completed_epoch >= fill_epoch {
            return Err(EngineError::FundingRoundComplete);
        }
        let (mut round, next) =
            if self.round_epoch == fill_epoch { (self.round, self.next_shard) } else { (FundingBucket::default(), 0) };
        if index != next {
            return Err(EngineError::ShardOutOfOrder);
        }
        round.add(&shard.of_epoch(fill_epoch)?);
        self.next_shard = next.checked_add(1).ok_or(EngineError::Overflow)?;
        self.round_epoch = fill_epoch;
        self.round = round;
        Ok(())
    }

    /// Once every one of `shard_count` shards is read, sets the rate of the
    /// epoch after next and returns it (`None`: the round is still under way).
    pub fn complete(
        &mut self,
        shard_count: u16,
        min_volume_lots: u64,
        now: i64,
    ) -> Result<Option<FundingRate>, EngineError> {
        if self.next_shard < shard_count {
            return Ok(None);
        }
        let now_epoch = epoch_of(now);
        if self.round_epoch.saturating_add(1) != now_epoch {
            return Err(EngineError::FundingRoundExpired);
        }
        self.roll_to(now_epoch)?;
        let fills = self.round;
        let rate = fills.rate(min_volume_lots);
        self.next_rate = rate;
        self.completed_epoch = self.round_epoch;
        self.round = FundingBucket::default();
        self.next_shard = 0;
        Ok(Some(FundingRate { fill_epoch: self.completed_epoch, fills, rate }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: i64 = FUNDING_PERIOD_SECS;

    fn bucket(volume_lots: u64, premium: i64, oracle: u64) -> FundingBucket {
        FundingBucket { volume_lots, premium, oracle_notional: oracle * volume_lots }
    }

    #[test]
    fn the_rate_is_diluted_below_the_minimum_volume_and_clamped() {
        // 100 lots at +6,000 per lot over a 6,000,000 oracle: +6,000.
        assert_eq!(bucket(100, 600_000, 6_000_000).rate(10), 6_000);
        // One lot at +300,000 (the 5% band edge) cannot set the mark.
        assert_eq!(bucket(1, 300_000, 6_000_000).rate(1_000), 300);
        // 1% premium, capped at 0.5% of the oracle.
        assert_eq!(bucket(100, 6_000_000, 6_000_000).rate(1), 30_000);
        assert_eq!(bucket(100, -6_000_000, 6_000_000).rate(1), -30_000);
        assert_eq!(FundingBucket::default().rate(0), 0);
        let huge = FundingBucket { volume_lots: 1, premium: i64::MAX, oracle_notional: u64::MAX };
        assert_eq!(huge.rate(0), (u64::MAX / 200) as i64);
    }

    #[test]
    fn epochs_round_down() {
        for t in (-3 * P..3 * P).step_by(7).chain([i64::MIN, i64::MAX, 0, P, -P]) {
            assert_eq!(epoch_of(t), t.div_euclid(P), "{t}");
        }
    }

    #[test]
    fn a_shard_keeps_the_current_and_the_previous_epoch() {
        let mut shard = ShardFunding::default();
        shard.record(10, &bucket(5, 50, 100));
        shard.record(10, &bucket(5, 50, 100));
        assert_eq!(shard.of_epoch(10), Ok(bucket(10, 100, 100)));
        shard.record(11, &bucket(1, 1, 100));
        assert_eq!(shard.of_epoch(10), Ok(bucket(10, 100, 100)));
        assert_eq!(shard.of_epoch(11), Ok(bucket(1, 1, 100)));
        assert_eq!(shard.of_epoch(12), Ok(FundingBucket::default()));
        // A gap of two epochs: 11 is the previous one no more.
        shard.record(13, &bucket(2, 2, 100));
        assert_eq!(shard.of_epoch(12), Ok(FundingBucket::default()));
        assert_eq!(shard.of_epoch(11), Err(EngineError::FundingRoundExpired));
        // A clock that steps back books into the current epoch.
        shard.record(12, &bucket(1, 1, 100));
        assert_eq!(shard.of_epoch(13), Ok(bucket(3, 3, 100)));
    }

    #[test]
    fn a_rate_accrues_second_by_second_over_the_epoch_after_next() {
        let mut f = Funding::starting(100 * P);
        let shard = ShardFunding { epoch: 100, current: bucket(100, 600_000, 6_000_000), ..Default::default() };
        // During epoch 100 its fills are not final: nothing to read yet for them.
        f.read_shard(0, &shard, 101 * P + 5).unwrap();
        assert_eq!(f.read_shard(0, &shard, 101 * P + 6), Err(EngineError::ShardOutOfOrder));
        f.read_shard(1, &ShardFunding::default(), 101 * P + 7).unwrap();
        let set = f.complete(2, 10, 101 * P + 8).unwrap().unwrap();
        assert_eq!((set.fill_epoch, set.rate), (100, 6_000));
        assert_eq!(f.read_shard(0, &shard, 101 * P + 9), Err(EngineError::FundingRoundComplete));
        // Nothing accrues in epoch 101; epoch 102 accrues 6,000 pro rata.
        assert_eq!(f.index_at(101 * P + 3_000).unwrap(), 0);
        assert_eq!(f.index_at(102 * P).unwrap(), 0);
        assert_eq!(f.index_at(102 * P + 1_800).unwrap(), 3_000);
        assert_eq!(f.index_at(103 * P).unwrap(), 6_000);
        // No round set a rate for 103: the index stays.
        assert_eq!(f.index_at(110 * P).unwrap(), 6_000);
    }

    #[test]
    fn a_round_left_unfinished_is_void_in_the_next_epoch() {
        let mut f = Funding::starting(100 * P);
        let shard = ShardFunding { epoch: 100, current: bucket(100, 600_000, 6_000_000), ..Default::default() };
        f.read_shard(0, &shard, 101 * P).unwrap();
        // Epoch 102: the round for 100 is void; a new one for 101 starts at shard 0.
        assert_eq!(f.read_shard(1, &shard, 102 * P), Err(EngineError::ShardOutOfOrder));
        f.read_shard(0, &shard, 102 * P).unwrap();
        f.read_shard(1, &ShardFunding::default(), 102 * P).unwrap();
        let set = f.complete(2, 10, 102 * P).unwrap().unwrap();
        // The shard settled nothing in 101.
        assert_eq!((set.fill_epoch, set.rate), (101, 0));
        assert_eq!(f.index_at(105 * P).unwrap(), 0);
    }

    #[test]
    fn pro_rata_accrual_rounds_toward_zero_and_widens_when_it_must() {
        let f = |rate| Funding { epoch: 0, rate, ..Default::default() };
        assert_eq!(f(3_599).index_at(1).unwrap(), 0);
        assert_eq!(f(-3_599).index_at(1).unwrap(), 0);
        assert_eq!(f(-7_200).index_at(1_799).unwrap(), -3_598);
        // |rate| × seconds beyond u64: the 128-bit path.
        let big = i64::MAX / 2;
        assert_eq!(f(big).index_at(1_800).unwrap(), big / 2);
        assert_eq!(f(-big).index_at(P).unwrap(), -big);
    }

    #[test]
    fn the_index_rolls_through_rates_without_a_jump() {
        let mut f = Funding { epoch: 7, epoch_start_index: 100, rate: 3_600, next_rate: -7_200, ..Default::default() };
        assert_eq!(f.index_at(7 * P + 60).unwrap(), 160);
        assert_eq!(f.index_at(8 * P + 60).unwrap(), 3_700 - 120);
        let before: [i64; 3] =
            [f.index_at(8 * P).unwrap(), f.index_at(8 * P + 10).unwrap(), f.index_at(20 * P).unwrap()];
        f.roll_to(8).unwrap();
        assert_eq!((f.epoch, f.rate, f.next_rate), (8, -7_200, 0));
        assert_eq!([f.index_at(8 * P).unwrap(), f.index_at(8 * P + 10).unwrap(), f.index_at(20 * P).unwrap()], before);
        f.roll_to(12).unwrap();
        assert_eq!((f.epoch, f.epoch_start_index, f.rate), (12, 3_700 - 7_200, 0));
    }
}
