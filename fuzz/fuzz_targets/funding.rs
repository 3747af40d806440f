//! Any sequence of funding-round steps: shards out of order are refused
//! without changing the round, and no accrual exceeds the per-period cap of
//! the oracle, however long the gap or large the premium.
#![no_main]

use arbitrary::Unstructured;
use clearshard_engine::funding::{funding_per_lot, FundingRound, ShardTotals, MAX_FUNDING_BPS_PER_PERIOD};
use libfuzzer_sys::fuzz_target;

fn cap(oracle: u64) -> i128 {
    i128::from(oracle) * i128::from(MAX_FUNDING_BPS_PER_PERIOD) / 10_000
}

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let mut round = FundingRound::default();
    let shard_count = u.int_in_range(1..=64u16)?;
    let mut now: i64 = u.int_in_range(1..=1_000_000)?;
    for _ in 0..u.int_in_range(1..=200usize)? {
        if u.ratio(3, 4)? {
            let index = if u.ratio(7, 8)? { round.next_shard } else { u.arbitrary()? };
            let totals = ShardTotals { index, volume_lots: u.arbitrary()?, premium: u.arbitrary()? };
            let before = round;
            match round.read_shard(&totals) {
                Ok(()) => assert_eq!(round.next_shard, before.next_shard + 1),
                Err(_) => assert_eq!(round, before, "a refused read changed the round"),
            }
        } else {
            now = now.saturating_add(u.int_in_range(0..=1_000_000)?);
            let oracle: u64 = u.arbitrary()?;
            if let Ok(Some(accrual)) = round.complete(shard_count, oracle, now) {
                assert!(i128::from(accrual.accrued).abs() <= cap(oracle), "accrual above the cap");
                assert_eq!(round.next_shard, 0);
            }
        }
    }
    let (premium, oracle, elapsed): (i64, u64, i64) = u.arbitrary()?;
    assert!(i128::from(funding_per_lot(premium, oracle, elapsed)).abs() <= cap(oracle));
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
