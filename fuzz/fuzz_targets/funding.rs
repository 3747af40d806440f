//! Funding against a reference computed from the fill history alone: fills
//! land on random shards at random times, and a crank reads pages of shards at
//! moments of its choosing, in or out of order. Every rate a round sets must be
//! the one the epoch's fills give, whatever the timing or the pages; a refused
//! read changes nothing; no crank step moves the index at the time it runs.
#![no_main]

use arbitrary::Unstructured;
use clearshard_engine::funding::{epoch_of, Funding, FundingBucket, ShardFunding, FUNDING_PERIOD_SECS};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let shard_count = u.int_in_range(1..=8u16)?;
    let min_volume = u.int_in_range(1..=1_000u64)?;
    let mut shards = vec![ShardFunding::default(); usize::from(shard_count)];
    let mut history: BTreeMap<i64, FundingBucket> = BTreeMap::new();
    let mut now: i64 = 100 * FUNDING_PERIOD_SECS + u.int_in_range(0..=FUNDING_PERIOD_SECS)?;
    let mut funding = Funding::starting(now);
    for _ in 0..u.int_in_range(1..=300usize)? {
        match u.int_in_range(0..=2u8)? {
            0 => {
                let volume_lots = u.int_in_range(0..=1_000_000u64)?;
                let oracle = u.int_in_range(1..=10_000_000u64)?;
                let premium = u.int_in_range(-1_000_000_000_000..=1_000_000_000_000i64)?;
                let fills = FundingBucket { volume_lots, premium, oracle_notional: volume_lots * oracle };
                let shard = u.choose_index(shards.len())?;
                shards[shard].record(epoch_of(now), &fills);
                history.entry(epoch_of(now)).or_default().add(&fills);
            }
            1 => {
                let index_before = funding.index_at(now);
                for _ in 0..u.int_in_range(1..=usize::from(shard_count))? {
                    let index = if u.ratio(7, 8)? { funding.next_shard } else { u.int_in_range(0..=shard_count - 1)? };
                    // Past the last shard there is no account to pass.
                    let Some(shard) = shards.get(usize::from(index)) else { break };
                    let before = funding;
                    let read = funding.read_shard(index, shard, now);
                    if read.is_err() {
                        assert_eq!(funding, before, "a refused read changed the round");
                        break;
                    }
                }
                if let Ok(Some(set)) = funding.complete(shard_count, min_volume, now) {
                    let fills = history.get(&set.fill_epoch).copied().unwrap_or_default();
                    assert_eq!(set.fill_epoch, epoch_of(now) - 1);
                    assert_eq!(set.fills, fills, "the round summed other fills than the epoch's");
                    assert_eq!(set.rate, fills.rate(min_volume));
                    assert_eq!(funding.next_rate, set.rate);
                }
                assert_eq!(funding.index_at(now), index_before, "a crank moved the index");
            }
            _ => now += u.int_in_range(0..=2 * FUNDING_PERIOD_SECS)?,
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
