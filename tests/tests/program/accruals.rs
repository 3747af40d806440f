//! `settle_account`: anyone books an account's funding and socialized loss.
//! The amount follows from the indexes alone, so the caller and the moment do
//! not change it; what it changes is that a shard's books, and so its
//! reserve, say what its accounts hold, so that no idle payer can keep tokens
//! from the owner it pays.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::MAX_BATCH_MARKETS;
use clearshard_tests::invariants::vaults_cover_every_owner;
use clearshard_tests::*;

/// A long on shard 0 and a short on shard 1, 100 lots filled 60 ticks above
/// the oracle, a maker on shard 1, and a rate for the epoch after next of
/// 6_000 per lot paid by longs; the clock then stands `accrued` seconds into
/// that epoch. Cross-shard cash from the fill is rebalanced first.
async fn funded(accrued: i64) -> (Venue, Account, Account, Account) {
    let mut v = Venue::new(2).await;
    v.to_epoch(1, 0).await;
    v.set_btc(100).await;
    let long = v.account(0, 1_000 * USDC).await;
    let short = v.account(1, 1_000 * USDC).await;
    let maker = v.account(1, 100 * USDC).await;
    v.settle_cross(0, 1, &[BTC], &[&long, &short], &[fill(0, 1, 0, true, 100, BTC_TICKS + 60)]).await.unwrap();
    v.ex.send_fresh(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    v.to_epoch(1, 10).await;
    v.funding_round(BTC).await.unwrap();
    v.to_epoch(1, accrued).await;
    v.set_btc(100).await;
    v.ex.assert_conserved().await;
    (v, long, short, maker)
}

/// Round two, inspection note ("the vault reserve ignores unsettled
/// funding"): the short's funding, once booked, was a shortfall of vault 1,
/// while the long who owed it never traded again, so vault 0 showed no
/// surplus and no rebalance could move it. Booking the long's side frees it.
#[tokio::test]
async fn funding_owed_by_an_idle_payer_on_another_shard_reaches_its_receiver() {
    let (mut v, long, short, maker) = funded(3_600).await;
    assert_eq!(v.funding_index(BTC).await, 6_000);
    // The short closes against the maker on its own shard: its funding is booked.
    v.settle(1, &[BTC], &[&short, &maker], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.vault_surplus(1).await, -600_000);
    assert_eq!(v.ex.vault_surplus(0).await, 0);
    assert_error(
        v.ex.send_fresh(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await,
        ClearshardError::NothingToRebalance,
    );

    // Anyone books the long's funding: 100 lots × 6_000 leave its collateral.
    let before = v.ex.margin(long.address).await.portfolio.collateral;
    let claims = v.ex.shard(0).await.collateral_claims;
    v.ex.send_fresh(&[ix::settle_account(long.address, 0, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.margin(long.address).await.portfolio.collateral, before - 600_000);
    assert_eq!(v.ex.shard(0).await.collateral_claims, claims - 600_000);
    v.ex.assert_conserved().await;
    assert_error(
        v.ex.send_fresh(&[ix::settle_account(long.address, 0, &[BTC])], &[]).await,
        ClearshardError::NothingToSettle,
    );
    v.ex.send_fresh(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    assert_eq!((v.ex.vault_surplus(0).await, v.ex.vault_surplus(1).await), (0, 0));
    let snapshot = v.ex.snapshot().await;
    let risk = v.ex.risk_markets(&[BTC, ETH]).await;
    assert_eq!(vaults_cover_every_owner(&snapshot, &risk), Some(Ok(())));
    let owed = v.ex.margin(short.address).await.portfolio.collateral as u64;
    v.ex.withdraw(&short.trader, short.address, 1, owed, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(short.trader.token_account).await, owed);
    v.ex.assert_conserved().await;
}

/// Whoever books, and however often, the long pays the same: once after the
/// whole epoch, or a third, a third and a third of the way.
#[tokio::test]
async fn booking_in_pieces_or_at_once_comes_to_the_same() {
    let (mut at_once, long, ..) = funded(3_600).await;
    at_once.ex.send_fresh(&[ix::settle_account(long.address, 0, &[BTC])], &[]).await.unwrap();
    let whole = at_once.ex.margin(long.address).await.portfolio.collateral;

    let (mut pieces, long, ..) = funded(1_200).await;
    for offset in [1_200, 2_400, 3_600] {
        pieces.to_epoch(0, offset).await;
        pieces.ex.send_fresh(&[ix::settle_account(long.address, 0, &[BTC])], &[]).await.unwrap();
        pieces.ex.assert_conserved().await;
    }
    assert_eq!(pieces.ex.margin(long.address).await.portfolio.collateral, whole);
}

/// Every malformed call is refused with its own error and books nothing.
#[tokio::test]
async fn a_malformed_settle_account_is_refused_and_books_nothing() {
    let (mut v, long, short, maker) = funded(1_800).await;
    let accounts = [&long, &short, &maker];
    let before = v.portfolios(&accounts).await;
    let claims = (v.ex.shard(0).await.collateral_claims, v.ex.shard(1).await.collateral_claims);
    let good = ix::settle_account(long.address, 0, &[BTC]);

    let another_shard = ix::settle_account(long.address, 1, &[BTC]);
    assert_error(v.ex.send_fresh(&[another_shard], &[]).await, ClearshardError::MarginAccountOfAnotherShard);
    let missing = ix::settle_account(long.address, 0, &[]);
    assert_error(v.ex.send_fresh(&[missing], &[]).await, ClearshardError::MissingMarket);
    let twice = ix::settle_account(long.address, 0, &[BTC, BTC]);
    assert_error(v.ex.send_fresh(&[twice], &[]).await, ClearshardError::DuplicateMarket);
    let too_many = ix::settle_account(long.address, 0, &[BTC; MAX_BATCH_MARKETS + 1]);
    assert_error(v.ex.send_fresh(&[too_many], &[]).await, ClearshardError::MalformedBatch);
    // The maker holds nothing yet: nothing to book.
    let idle = ix::settle_account(maker.address, 1, &[]);
    assert_error(v.ex.send_fresh(&[idle], &[]).await, ClearshardError::NothingToSettle);
    // Forged accounts: a market whose indexes the caller wrote, a margin account, a shard.
    let mut forged_market = good.clone();
    forged_market.accounts[2].pubkey = v.ex.forge(pda::market(BTC), anchor_lang::system_program::ID).await;
    assert_anchor_error(v.ex.send_fresh(&[forged_market], &[]).await, ErrorCode::AccountOwnedByWrongProgram);
    let mut forged_margin = good.clone();
    forged_margin.accounts[0].pubkey = v.ex.forge(long.address, anchor_lang::system_program::ID).await;
    assert_anchor_error(v.ex.send_fresh(&[forged_margin], &[]).await, ErrorCode::AccountOwnedByWrongProgram);
    let mut forged_shard = good.clone();
    forged_shard.accounts[1].pubkey = v.ex.forge(pda::shard(0), anchor_lang::system_program::ID).await;
    assert_anchor_error(v.ex.send_fresh(&[forged_shard], &[]).await, ErrorCode::AccountOwnedByWrongProgram);
    // Another program's account where a market belongs (the shard's own data).
    let mut not_a_market = good;
    not_a_market.accounts[2].pubkey = pda::shard(0);
    assert_anchor_error(v.ex.send_fresh(&[not_a_market], &[]).await, ErrorCode::AccountDiscriminatorMismatch);

    assert_eq!(v.portfolios(&accounts).await, before);
    assert_eq!((v.ex.shard(0).await.collateral_claims, v.ex.shard(1).await.collateral_claims), claims);
    v.ex.assert_conserved().await;
}
