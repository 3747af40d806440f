//! Perpetual funding: the crank accrues the mark's premium over the oracle
//! into the market's index without touching any shard; positions settle it
//! when next touched, and money is conserved throughout.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard::state::Market;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// 10 lots long and 10 short, filled 0.1% above the oracle.
async fn long_and_short(v: &mut Venue, long_shard: u16, short_shard: u16) -> (Account, Account) {
    let long = v.account(long_shard, 1_000 * USDC).await;
    let short = v.account(short_shard, 1_000 * USDC).await;
    let f = [fill(0, 1, 0, true, 10, BTC_TICKS + 60)];
    if long_shard == short_shard {
        v.settle(long_shard, &[BTC], &[&long, &short], &f).await.unwrap();
    } else {
        v.settle_cross(long_shard.min(short_shard), long_shard.max(short_shard), &[BTC], &[&long, &short], &f)
            .await
            .unwrap();
    }
    (long, short)
}

/// Runs the crank an hour after its first run, with a fresh oracle price.
async fn accrue_one_hour(v: &mut Venue, shards: &[u16]) {
    v.ex.send(&[ix::update_funding(BTC, pda::price_feed(BTC), shards)], &[]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.ex.send(&[ix::update_funding(BTC, pda::price_feed(BTC), shards)], &[]).await.unwrap();
}

#[tokio::test]
async fn funding_accrues_from_the_mark_and_settles_lazily() {
    let mut v = Venue::new(1).await;
    let (long, short) = long_and_short(&mut v, 0, 0).await;
    let (long_before, short_before) =
        (v.ex.margin(long.address).await.portfolio.collateral, v.ex.margin(short.address).await.portfolio.collateral);
    accrue_one_hour(&mut v, &[0]).await;
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
    let (long, short) = long_and_short(&mut v, 0, 1).await;
    accrue_one_hour(&mut v, &[0, 1]).await;
    let long_before = v.ex.margin(long.address).await.portfolio.collateral;
    // A new fill settles the funding of both sides first (on their old size).
    v.settle_cross(0, 1, &[BTC], &[&long, &short], &[fill(0, 1, 0, false, 10, BTC_TICKS)]).await.unwrap();
    let long_after = v.ex.margin(long.address).await.portfolio;
    assert!(long_after.position(BTC).is_none());
    assert_eq!(long_after.collateral, long_before - 60_000 + 60_000_000 - 30_000);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, 0);
    // Funding moved claims from shard 0 to shard 1: rebalance.
    v.ex.send(&[ix::rebalance_vaults(0, 1)], &[]).await.unwrap();
    assert_eq!(v.ex.vault_imbalance(0).await, 0);
    assert_eq!(v.ex.vault_imbalance(1).await, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn funding_needs_a_mark_and_the_markets_own_fresh_oracle() {
    let mut v = Venue::new(2).await;
    let crank = |shards: &[u16]| ix::update_funding(BTC, pda::price_feed(BTC), shards);
    assert_error(v.ex.send(&[crank(&[0, 1])], &[]).await, ClearshardError::NoMarkPrice);
    let (_long, _short) = long_and_short(&mut v, 0, 0).await;
    let foreign = ix::update_funding(BTC, pda::price_feed(ETH), &[0]);
    assert_error(v.ex.send(&[foreign], &[]).await, ClearshardError::WrongOracle);
    let mut not_a_shard = crank(&[0]);
    not_a_shard.accounts[3].pubkey = pda::market(ETH);
    assert_anchor_error(v.ex.send(&[not_a_shard], &[]).await, ErrorCode::AccountDiscriminatorMismatch);
    v.ex.advance_clock(61).await;
    assert_error(v.ex.send(&[crank(&[0])], &[]).await, ClearshardError::StaleOracle);
    let market = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((market.cumulative_funding, market.last_funding_unix), (0, 0));
}
