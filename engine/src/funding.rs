//! Perpetual funding: the premium of the mark (recent fill prices) over the
//! oracle, paid by longs to shorts when positive, per funding period and
//! clamped. Accrues in a per-market index of quote native units per lot;
//! positions settle against it lazily when touched, so no crank ever writes
//! a margin account or a shard.

use crate::BPS;

/// Seconds over which a full premium is paid.
pub const FUNDING_PERIOD_SECS: i64 = 3_600;
/// Largest premium paid per period, in basis points of the oracle price.
pub const MAX_FUNDING_BPS_PER_PERIOD: u64 = 50;

/// Funding per lot accrued over `elapsed_secs` (positive: longs pay), rounded
/// toward zero. Whole native units keep funding exactly zero-sum.
pub fn funding_per_lot(mark: u64, oracle: u64, elapsed_secs: i64) -> i64 {
    let cap = oracle as i128 * MAX_FUNDING_BPS_PER_PERIOD as i128 / BPS as i128;
    let premium = (mark as i128 - oracle as i128).clamp(-cap, cap);
    let accrued = premium * elapsed_secs.max(0) as i128 / FUNDING_PERIOD_SECS as i128;
    accrued.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premium_is_pro_rated_and_clamped() {
        assert_eq!(funding_per_lot(6_006_000, 6_000_000, 3_600), 6_000);
        assert_eq!(funding_per_lot(6_006_000, 6_000_000, 1_800), 3_000);
        assert_eq!(funding_per_lot(5_994_000, 6_000_000, 3_600), -6_000);
        // 1% premium, capped at 0.5% of the oracle per hour.
        assert_eq!(funding_per_lot(6_060_000, 6_000_000, 3_600), 30_000);
        assert_eq!(funding_per_lot(6_000_000, 6_000_000, 3_600), 0);
        assert_eq!(funding_per_lot(6_000_001, 6_000_000, 10), 0);
    }
}
