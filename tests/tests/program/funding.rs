//! Perpetual funding: the crank reads every shard's fills, in order, into
//! the market's index without touching any shard; positions settle it when
//! next touched, and money is conserved throughout. The mark is no caller's
//! choice: replays of the review's steering attacks are refused or change
//! nothing.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard::state::Market;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_signer::Signer;

/// 10 lots long and 10 short, filled `premium_ticks` above the oracle.
async fn long_and_short_at(v: &mut Venue, long_shard: u16, short_shard: u16, premium_ticks: u32) -> (Account, Account) {
    let long = v.account(long_shard, 1_000 * USDC).await;
    let short = v.account(short_shard, 1_000 * USDC).await;
    let f = [fill(0, 1, 0, true, 10, BTC_TICKS + premium_ticks)];
    if long_shard == short_shard {
        v.settle(long_shard, &[BTC], &[&long, &short], &f).await.unwrap();
    } else {
        v.settle_cross(long_shard.min(short_shard), long_shard.max(short_shard), &[BTC], &[&long, &short], &f)
            .await
            .unwrap();
    }
    (long, short)
}

/// 10 lots long and 10 short, filled 0.1% above the oracle.
async fn long_and_short(v: &mut Venue, long_shard: u16, short_shard: u16) -> (Account, Account) {
    long_and_short_at(v, long_shard, short_shard, 60).await
}

fn crank(shards: &[u16]) -> anchor_lang::solana_program::instruction::Instruction {
    ix::update_funding(BTC, pda::price_feed(BTC), shards)
}

/// Completes a funding round over every shard, in one transaction.
async fn round(v: &mut Venue) {
    let shards: Vec<u16> = (0..v.ex.shard_count).collect();
    v.ex.send_fresh(&[crank(&shards)], &[]).await.unwrap();
}

/// An hour later, with a fresh oracle price, a round accrues the fills since the last.
async fn round_an_hour_later(v: &mut Venue) {
    v.ex.advance_clock(3_600).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    round(v).await;
}

#[tokio::test]
async fn funding_accrues_from_the_mark_and_settles_lazily() {
    let mut v = Venue::new(1).await;
    round(&mut v).await;
    let (long, short) = long_and_short(&mut v, 0, 0).await;
    let (long_before, short_before) =
        (v.ex.margin(long.address).await.portfolio.collateral, v.ex.margin(short.address).await.portfolio.collateral);
    round_an_hour_later(&mut v).await;
    // Mark 6.006 vs oracle 6.000 USDC per lot for a full hour: 6_000 native per lot.
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_funding, 6_000);
    // Nothing settled yet: the crank wrote no account.
    assert_eq!(v.ex.margin(long.address).await.portfolio.collateral, long_before);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);

    // The long touches its account: it pays 10 lots × 6_000.
    v.ex.withdraw(&long.trader, long.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(v.ex.margin(long.address).await.portfolio.collateral, long_before - USDC as i64 - 60_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 60_000);
    // Its shard's vault now holds the payment the short has not collected yet.
    assert_eq!(v.ex.vault_imbalance(0).await, 60_000);

    v.ex.withdraw(&short.trader, short.address, 0, USDC, &[BTC]).await.unwrap();
    assert_eq!(v.ex.margin(short.address).await.portfolio.collateral, short_before - USDC as i64 + 60_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);
    assert_eq!(v.ex.vault_imbalance(0).await, 0);
    // Settling twice pays nothing more.
    v.ex.withdraw(&long.trader, long.address, 0, 2 * USDC, &[BTC]).await.unwrap();
    assert_eq!(v.ex.margin(long.address).await.portfolio.collateral, long_before - 3 * USDC as i64 - 60_000);
}

#[tokio::test]
async fn funding_settles_in_settlement_and_across_shards() {
    let mut v = Venue::new(2).await;
    round(&mut v).await;
    let (long, short) = long_and_short(&mut v, 0, 1).await;
    round_an_hour_later(&mut v).await;
    let long_before = v.ex.margin(long.address).await.portfolio.collateral;
    // A new fill settles the funding of both sides first (on their old size).
    v.settle_cross(0, 1, &[BTC], &[&long, &short], &[fill(0, 1, 0, false, 10, BTC_TICKS)]).await.unwrap();
    let long_after = v.ex.margin(long.address).await.portfolio;
    assert!(long_after.position(BTC).is_none());
    assert_eq!(long_after.collateral, long_before - 60_000 + 60_000_000 - 30_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);
    // Funding moved claims from shard 0 to shard 1: rebalance.
    v.ex.send(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.vault_imbalance(0).await, 0);
    assert_eq!(v.ex.vault_imbalance(1).await, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn funding_reads_every_shard_in_order_and_the_markets_own_fresh_oracle() {
    let mut v = Venue::new(3).await;
    let (_long, _short) = long_and_short(&mut v, 0, 0).await;
    // Subsets that skip, repeat or reorder shards are refused.
    for shards in [&[1u16][..], &[0, 0], &[0, 2], &[1, 0]] {
        assert_error(v.ex.send_fresh(&[crank(shards)], &[]).await, ClearshardError::ShardOutOfOrder);
    }
    assert_error(v.ex.send_fresh(&[crank(&[])], &[]).await, ClearshardError::ShardsIncomplete);
    let foreign = ix::update_funding(BTC, pda::price_feed(ETH), &[0]);
    assert_error(v.ex.send(&[foreign], &[]).await, ClearshardError::WrongOracle);
    let mut not_a_shard = crank(&[0]);
    not_a_shard.accounts[3].pubkey = pda::market(ETH);
    assert_anchor_error(v.ex.send(&[not_a_shard], &[]).await, ErrorCode::AccountDiscriminatorMismatch);
    v.ex.advance_clock(61).await;
    assert_error(v.ex.send(&[crank(&[0])], &[]).await, ClearshardError::StaleOracle);
    let market = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((market.cumulative_funding, market.funding.last_funding_unix, market.funding.next_shard), (0, 0, 0));
    // While settlement is paused nobody can trade out: funding does not accrue.
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    let admin = v.ex.admin.pubkey();
    v.ex.send_admin(&[ix::set_pause(admin, None, clearshard::state::PAUSE_SETTLEMENT)]).await.unwrap();
    assert_error(v.ex.send_fresh(&[crank(&[0, 1, 2])], &[]).await, ClearshardError::SettlementPaused);
}

/// The review steered the mark by choosing shards: `[0]` gave no premium,
/// `[1, 1, 1]` the cap. Now a round covers every shard, and however a caller
/// splits it into transactions, the index ends the same.
#[tokio::test]
async fn the_mark_does_not_depend_on_who_cranks_or_how() {
    let mut results = vec![];
    for pages in [vec![vec![0u16, 1, 2]], vec![vec![0], vec![1], vec![2]], vec![vec![0, 1], vec![2]]] {
        let mut v = Venue::new(3).await;
        round(&mut v).await;
        // Shard 0 trades at the oracle, shard 1 at +0.1%, shard 2 at +0.5%.
        long_and_short_at(&mut v, 0, 0, 0).await;
        long_and_short_at(&mut v, 1, 1, 60).await;
        long_and_short_at(&mut v, 2, 2, 300).await;
        v.ex.advance_clock(3_600).await;
        v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
        for page in &pages {
            v.ex.send_fresh(&[crank(page)], &[]).await.unwrap();
        }
        results.push(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_funding);
    }
    // Volume-weighted: (0 + 6_000 + 30_000) × 10 / 30 = 12_000 per lot for the hour.
    assert_eq!(results, vec![12_000, 12_000, 12_000]);
}

/// The review charged 120% of a lot's value with one crank after a 240 h gap,
/// and erased accrued funding by cranking with an at-oracle shard.
#[tokio::test]
async fn one_round_accrues_at_most_one_capped_period() {
    let mut v = Venue::new(2).await;
    round(&mut v).await;
    // 1% over the oracle: capped at 0.5% (30_000 per lot) per hour.
    long_and_short_at(&mut v, 0, 0, 600).await;
    // An at-oracle fill elsewhere only dilutes by its volume; it erases nothing.
    long_and_short_at(&mut v, 1, 1, 0).await;
    v.ex.advance_clock(240 * 3_600).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    round(&mut v).await;
    // Premium (60_000 × 10 + 0) / 20 = 30_000: at the cap, for one hour only.
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_funding, 30_000);
    // Nothing traded since: the next round adds nothing.
    round_an_hour_later(&mut v).await;
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_funding, 30_000);
    v.ex.assert_conserved().await;
}
