//! Perpetual funding: fills book their premium into their shard's funding
//! epoch; a round during the next epoch reads every shard, in order, and sets
//! the rate that accrues second by second over the epoch after next;
//! positions settle it when next touched, and money is conserved throughout.
//! No money outcome depends on who cranks, when, or in what pages: replays of
//! both reviews' steering attacks end exactly as the honest crank does.

use anchor_lang::error::ErrorCode;
use anchor_lang::solana_program::instruction::Instruction;
use clearshard::errors::ClearshardError;
use clearshard::state::Market;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::funding::epoch_of;
use clearshard_tests::*;
use solana_signer::Signer;

/// `lots` long and `lots` short, filled `premium_ticks` from the oracle.
async fn long_and_short_at(v: &mut Venue, shards: (u16, u16), lots: u32, premium_ticks: i32) -> (Account, Account) {
    let (long_shard, short_shard) = shards;
    let long = v.account(long_shard, 1_000 * USDC).await;
    let short = v.account(short_shard, 1_000 * USDC).await;
    let f = [fill(0, 1, 0, true, lots, BTC_TICKS.checked_add_signed(premium_ticks).unwrap())];
    if long_shard == short_shard {
        v.settle(long_shard, &[BTC], &[&long, &short], &f).await.unwrap();
    } else {
        let (a, b) = (long_shard.min(short_shard), long_shard.max(short_shard));
        v.settle_cross(a, b, &[BTC], &[&long, &short], &f).await.unwrap();
    }
    v.ex.assert_conserved().await;
    (long, short)
}

fn crank(shards: &[u16]) -> Instruction {
    ix::update_funding(BTC, shards)
}

/// Completes a funding round over every shard, in one transaction.
async fn round(v: &mut Venue) {
    let shards: Vec<u16> = (0..v.ex.shard_count).collect();
    v.ex.send_fresh(&[crank(&shards)], &[]).await.unwrap();
}

/// `offset` seconds into the epoch `epochs` from now, with fresh prices.
async fn later(v: &mut Venue, epochs: i64, offset: i64) {
    v.to_epoch(epochs, offset).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
}

async fn collateral(v: &mut Venue, account: &Account) -> i64 {
    v.ex.margin(account.address).await.portfolio.collateral
}

async fn funding(v: &mut Venue) -> clearshard_engine::funding::Funding {
    v.ex.load::<Market>(pda::market(BTC)).await.funding
}

#[tokio::test]
async fn a_rate_accrues_by_the_second_over_the_epoch_after_next_and_settles_lazily() {
    let mut v = Venue::new(1).await;
    later(&mut v, 1, 0).await;
    // 100 lots at 6.006 against a 6.000 USDC oracle: +6_000 native per lot.
    let (long, short) = long_and_short_at(&mut v, (0, 0), 100, 60).await;
    let (long_before, short_before) = (collateral(&mut v, &long).await, collateral(&mut v, &short).await);
    later(&mut v, 1, 10).await;
    round(&mut v).await;
    assert_eq!(funding(&mut v).await.next_rate, 6_000);
    // Nothing accrues over the epoch the round runs in.
    later(&mut v, 0, 3_599).await;
    assert_eq!(v.funding_index(BTC).await, 0);
    // Half-way through the epoch after next: half the rate.
    later(&mut v, 1, 1_800).await;
    assert_eq!(v.funding_index(BTC).await, 3_000);
    // Nothing settled yet: the crank wrote no account.
    assert_eq!(collateral(&mut v, &long).await, long_before);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);

    // The long touches its account: it pays 100 lots × 3_000.
    v.ex.withdraw(&long.trader, long.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(collateral(&mut v, &long).await, long_before - USDC as i64 - 300_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 300_000);
    assert_eq!(v.ex.vault_imbalance(0).await, 300_000);

    // The epoch's end: 6_000 in all. The short collects it at once.
    later(&mut v, 1, 0).await;
    assert_eq!(v.funding_index(BTC).await, 6_000);
    v.ex.withdraw(&short.trader, short.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(collateral(&mut v, &short).await, short_before - USDC as i64 + 600_000);
    v.ex.withdraw(&long.trader, long.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(collateral(&mut v, &long).await, long_before - 2 * USDC as i64 - 600_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);
    assert_eq!(v.ex.vault_imbalance(0).await, 0);
    // No round measured a later epoch: nothing more accrues, however long.
    later(&mut v, 5, 0).await;
    assert_eq!(v.funding_index(BTC).await, 6_000);
    v.ex.withdraw(&long.trader, long.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(collateral(&mut v, &long).await, long_before - 3 * USDC as i64 - 600_000);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn funding_settles_in_settlement_and_across_shards() {
    let mut v = Venue::new(2).await;
    let (long, short) = long_and_short_at(&mut v, (0, 1), 100, 60).await;
    later(&mut v, 1, 0).await;
    round(&mut v).await;
    later(&mut v, 2, 0).await;
    let long_before = collateral(&mut v, &long).await;
    // A new fill settles the funding of both sides first (on their old size).
    v.settle_cross(0, 1, &[BTC], &[&long, &short], &[fill(0, 1, 0, false, 100, BTC_TICKS)]).await.unwrap();
    let long_after = v.ex.margin(long.address).await.portfolio;
    assert!(long_after.position(BTC).is_none());
    // Funding 100 × 6_000, the sale's cash 600 USDC, its taker fee 0.3 USDC.
    assert_eq!(long_after.collateral, long_before - 600_000 + 600_000_000 - 300_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);
    // Funding moved claims from shard 0 to shard 1: rebalance.
    v.ex.send(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.vault_imbalance(0).await, 0);
    assert_eq!(v.ex.vault_imbalance(1).await, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_round_reads_every_shard_in_order_once_per_epoch_within_the_next_epoch() {
    let mut v = Venue::new(3).await;
    long_and_short_at(&mut v, (0, 0), 100, 60).await;
    later(&mut v, 1, 0).await;
    let fill_epoch = epoch_of(v.ex.now().await) - 1;
    // Subsets that skip, repeat or reorder shards are refused.
    for shards in [&[1u16][..], &[0, 0], &[0, 2], &[1, 0]] {
        assert_error(v.ex.send_fresh(&[crank(shards)], &[]).await, ClearshardError::ShardOutOfOrder);
    }
    assert_error(v.ex.send_fresh(&[crank(&[])], &[]).await, ClearshardError::ShardsIncomplete);
    let mut not_a_shard = crank(&[0]);
    not_a_shard.accounts[2].pubkey = pda::market(ETH);
    assert_anchor_error(v.ex.send(&[not_a_shard], &[]).await, ErrorCode::AccountDiscriminatorMismatch);
    v.ex.send_fresh(&[crank(&[0])], &[]).await.unwrap();
    let under_way = funding(&mut v).await;
    assert_eq!((under_way.round_epoch, under_way.next_shard, under_way.round.volume_lots), (fill_epoch, 1, 100));

    // Left unfinished past its epoch, the round is void: the next one reads
    // the epoch that just ended, from shard 0.
    later(&mut v, 1, 0).await;
    assert_error(v.ex.send_fresh(&[crank(&[1, 2])], &[]).await, ClearshardError::ShardOutOfOrder);
    round(&mut v).await;
    let after = funding(&mut v).await;
    // It read the epoch after the fills: nothing settled then.
    assert_eq!((after.completed_epoch, after.next_rate), (fill_epoch + 1, 0));
    // Once per epoch: a second round is refused, and changes nothing.
    assert_error(v.ex.send_fresh(&[crank(&[0, 1, 2])], &[]).await, ClearshardError::FundingRoundComplete);
    assert_eq!(funding(&mut v).await, after);
    // While settlement is paused, on the exchange or on any one shard, some
    // owners cannot trade out: no round reads that shard, so no rate is set.
    later(&mut v, 1, 0).await;
    let admin = v.ex.admin.pubkey();
    let settlement = clearshard::state::PAUSE_SETTLEMENT;
    v.ex.send_admin(&[ix::set_pause(admin, Some(2), settlement)]).await.unwrap();
    v.ex.send_fresh(&[crank(&[0, 1])], &[]).await.unwrap();
    assert_error(v.ex.send_fresh(&[crank(&[2])], &[]).await, ClearshardError::SettlementPaused);
    assert_eq!(funding(&mut v).await.next_shard, 2);
    v.ex.send_admin(&[ix::set_pause(admin, None, settlement)]).await.unwrap();
    assert_error(v.ex.send_fresh(&[crank(&[0, 1, 2])], &[]).await, ClearshardError::SettlementPaused);
}

/// Round two's finding 1: a caller read shard 0 right after a round, waited
/// an hour, completed the round with the last shard alone (a 1-lot wash at
/// the band's edge) and flushed shard 0's honest hour into a 10-second round:
/// longs paid instead of receiving. Now every crank schedule, including that
/// one and a batch that lands on a shard already read, ends in the same rate,
/// the same index and the same money, to the unit.
#[tokio::test]
async fn no_crank_schedule_moves_the_rate_the_index_or_anyones_money() {
    // (seconds into the epoch after the fills, pages read then).
    let schedules: [&[(i64, &[u16])]; 4] = [
        &[(5, &[0, 1, 2])],
        &[(1, &[0]), (3_590, &[1, 2])],
        &[(10, &[0]), (1_000, &[1]), (3_000, &[2])],
        &[(3_599, &[0, 1]), (3_599, &[2])],
    ];
    let mut outcomes = vec![];
    for schedule in schedules {
        let mut v = Venue::new(3).await;
        later(&mut v, 1, 0).await;
        // The honest hour on shard 0: 100 lots 0.1% under the oracle (shorts pay).
        let (long, short) = long_and_short_at(&mut v, (0, 0), 100, -60).await;
        let long_before = collateral(&mut v, &long).await;
        // The wash on the last shard: 1 lot at the band's edge, +5%.
        long_and_short_at(&mut v, (2, 2), 1, 3_000).await;
        later(&mut v, 1, 0).await;
        let mut landed = false;
        for (offset, pages) in schedule {
            if *offset > 600 && !landed {
                // A batch on shard 0, already read in some schedules.
                later(&mut v, 0, 600).await;
                long_and_short_at(&mut v, (0, 0), 50, 1_500).await;
                landed = true;
            }
            later(&mut v, 0, *offset).await;
            v.ex.send_fresh(&[crank(pages)], &[]).await.unwrap();
        }
        if !landed {
            later(&mut v, 0, 600).await;
            long_and_short_at(&mut v, (0, 0), 50, 1_500).await;
        }
        let rate = funding(&mut v).await.next_rate;
        later(&mut v, 2, 0).await;
        let index = v.funding_index(BTC).await;
        v.ex.withdraw(&long.trader, long.address, 0, USDC, &[BTC]).await.unwrap();
        v.ex.withdraw(&short.trader, short.address, 0, USDC, &[BTC]).await.unwrap();
        v.ex.assert_conserved().await;
        let long_paid = long_before - collateral(&mut v, &long).await;
        outcomes.push((rate, index, long_paid, collateral(&mut v, &short).await));
    }
    // (100 × −6_000 + 1 × 300_000) / 101 lots = −2_970 per lot: longs receive.
    // The long took 1 USDC out and received 100 lots × 2_970.
    let (rate, index, long_paid, _) = outcomes[0];
    assert_eq!((rate, index, long_paid), (-2_970, -2_970, USDC as i64 - 297_000));
    assert!(outcomes.iter().all(|o| *o == outcomes[0]), "{outcomes:?}");
}

/// A rate is clamped to 0.5% of the epoch's own oracle, accrues over one
/// epoch only however long the gap, and a round not run in its epoch is void.
#[tokio::test]
async fn a_rate_is_capped_lasts_one_epoch_and_a_missed_round_sets_nothing() {
    let mut v = Venue::new(2).await;
    later(&mut v, 1, 0).await;
    // 200 lots 1% over the oracle and 100 at it: 40_000 per lot, capped at 30_000.
    long_and_short_at(&mut v, (0, 0), 200, 600).await;
    long_and_short_at(&mut v, (1, 1), 100, 0).await;
    later(&mut v, 1, 0).await;
    round(&mut v).await;
    assert_eq!(funding(&mut v).await.next_rate, 30_000);
    later(&mut v, 240, 0).await;
    assert_eq!(v.funding_index(BTC).await, 30_000);
    // Fills, then nobody cranks in the next epoch: the round after reads
    // that empty epoch, and nothing accrues.
    long_and_short_at(&mut v, (0, 0), 100, 600).await;
    later(&mut v, 2, 0).await;
    round(&mut v).await;
    assert_eq!(funding(&mut v).await.next_rate, 0);
    later(&mut v, 10, 0).await;
    assert_eq!(v.funding_index(BTC).await, 30_000);
    v.ex.assert_conserved().await;
}

/// One lot cannot set an hour's mark: below the market's minimum volume the
/// premium is averaged over the minimum.
#[tokio::test]
async fn one_lot_at_the_band_edge_moves_the_rate_by_its_weight_only() {
    let mut v = Venue::new(1).await;
    later(&mut v, 1, 0).await;
    long_and_short_at(&mut v, (0, 0), 1, 3_000).await;
    later(&mut v, 1, 0).await;
    round(&mut v).await;
    // +300_000 over 100 lots (the local venue's floor), not the 30_000 cap.
    assert_eq!(LOCAL_FUNDING_MIN_VOLUME_LOTS, 100);
    assert_eq!(funding(&mut v).await.next_rate, 3_000);
}
