//! No instruction moves value out of a withdrawal-paused shard, or into a
//! deposit-paused one, in another shard's favour (the fourth review found a
//! cross-shard liquidator's reward and `socialize_loss`'s draws on other
//! shards doing it): `Exchange::require_value_may_move` is the one rule, and
//! within a paused shard the same instructions go on.

use clearshard::errors::ClearshardError;
use clearshard::state::{Market, PAUSE_DEPOSITS, PAUSE_WITHDRAWALS};
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// What a refused step must leave as it was: the shards' claims and the
/// fund's shares in them.
async fn shard_books(v: &mut Venue) -> Vec<(i64, u64)> {
    let mut out = vec![];
    for s in 0..v.ex.shard_count {
        let shard = v.ex.shard(s).await;
        out.push((shard.collateral_claims, shard.insurance_owed));
    }
    out
}

#[tokio::test]
async fn a_cross_shard_liquidator_is_not_paid_out_of_a_paused_shard() {
    let mut v = Venue::new(2).await;
    let long = v.leveraged_long(0, 70 * USDC).await.0;
    let there = v.account(1, 50_000 * USDC).await;
    let here = v.account(0, 50_000 * USDC).await;
    v.set_btc(92).await;
    let lots = v.liquidatable_lots(&long, BTC, &[BTC]).await.unwrap();
    let (before, books) = (v.portfolios(&[&long, &there, &here]).await, shard_books(&mut v).await);

    // The reward would leave shard 0 while its withdrawals are paused...
    v.pause(Some(0), PAUSE_WITHDRAWALS).await;
    assert_error(v.liquidate(&there, &long, BTC, lots, &[BTC]).await, ClearshardError::WithdrawalsPaused);
    // ... or enter shard 1 while its deposits are.
    v.pause(Some(1), PAUSE_DEPOSITS).await;
    v.pause(Some(0), 0).await;
    assert_error(v.liquidate(&there, &long, BTC, lots, &[BTC]).await, ClearshardError::DepositsPaused);
    assert_eq!(v.portfolios(&[&long, &there, &here]).await, before);
    assert_eq!(shard_books(&mut v).await, books);
    v.ex.assert_conserved().await;

    // A liquidator on the paused shard itself keeps the reward there: it goes on.
    v.pause(Some(0), PAUSE_WITHDRAWALS).await;
    v.liquidate(&here, &long, BTC, lots, &[BTC]).await.unwrap();
    assert_eq!(v.ex.margin(here.address).await.portfolio.position(BTC).unwrap().base_lots, lots as i64);
    assert_eq!(v.ex.shard(1).await.collateral_claims, books[1].0);
    v.ex.assert_conserved().await;
}

/// A long on shard 1 liquidated leaves the fund a share in shard 1's vault; a
/// long on shard 0 then goes bankrupt for more than every share.
#[tokio::test]
async fn socialize_loss_draws_nothing_across_a_paused_shard() {
    let mut v = Venue::new(2).await;
    let on_one = v.leveraged_long(1, 70 * USDC).await.0;
    let reckless = v.leveraged_long(0, 61 * USDC).await.0;
    let liqor = v.account(1, 50_000 * USDC).await;
    v.set_btc(92).await;
    let lots = v.liquidatable_lots(&on_one, BTC, &[BTC]).await.unwrap();
    v.liquidate(&liqor, &on_one, BTC, lots, &[BTC]).await.unwrap();
    v.set_btc(80).await;
    let lots = v.liquidatable_lots(&reckless, BTC, &[BTC]).await.unwrap();
    v.liquidate(&liqor, &reckless, BTC, lots, &[BTC]).await.unwrap();
    v.ex.assert_conserved().await;
    let other = v.ex.shard(1).await.insurance_owed;
    assert!(
        other > 0
            && v.ex.margin(reckless.address).await.portfolio.collateral
                < -((other + v.ex.shard(0).await.insurance_owed) as i64)
    );
    let books = shard_books(&mut v).await;
    let socialize = ix::socialize_loss(reckless.address, 0, &[BTC], 2);

    // The fund's share in shard 1, and shard 1's lots, would pay for shard 0.
    v.pause(Some(1), PAUSE_WITHDRAWALS).await;
    assert_error(v.ex.send(std::slice::from_ref(&socialize), &[]).await, ClearshardError::WithdrawalsPaused);
    v.pause(Some(0), PAUSE_DEPOSITS).await;
    v.pause(Some(1), 0).await;
    assert_error(v.ex.send_fresh(std::slice::from_ref(&socialize), &[]).await, ClearshardError::DepositsPaused);
    assert_eq!(shard_books(&mut v).await, books);
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss, 0);
    assert!(v.ex.margin(reckless.address).await.portfolio.collateral < 0);
    v.ex.assert_conserved().await;

    // Unpaused, the same call takes shard 1's share and makes the account whole.
    v.pause(Some(0), 0).await;
    v.ex.send_fresh(&[socialize], &[]).await.unwrap();
    assert_eq!(v.ex.shard(1).await.insurance_owed, 0);
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
    assert!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss > 0);
    v.ex.assert_conserved().await;
}
