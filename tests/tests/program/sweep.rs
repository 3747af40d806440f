//! `sweep_fees`: the venue's fees go to the treasury fixed at initialization,
//! only as far as the shard's vault backs them beyond what its owners and
//! the insurance fund are owed; never an owner's claim, and nothing while
//! the shard's withdrawals are paused.

use clearshard::errors::ClearshardError;
use clearshard::state::PAUSE_WITHDRAWALS;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// The venue's fees booked on `shard`, over every market.
async fn fees(v: &mut Venue, shard: u16) -> i64 {
    v.ex.shard(shard).await.fees().unwrap()
}

async fn fees_and_vault(v: &mut Venue) -> (i64, u64) {
    (fees(v, 0).await, v.ex.token_balance(pda::vault(0)).await)
}

/// A taker on shard 0 trades 200 BTC lots (1,200 USDC) with a maker on shard
/// 1: 0.60 USDC of taker fee, 0.12 of it rebated to the maker, all booked on
/// shard 0 (the rebate's tokens sit in vault 0 until a rebalance).
async fn cross_shard_trade(v: &mut Venue, taker_buys: bool) -> (Account, Account) {
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(1, 1_000 * USDC).await;
    v.settle_cross(0, 1, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, taker_buys, 200, BTC_TICKS)]).await.unwrap();
    v.ex.assert_conserved().await;
    (taker, maker)
}

#[tokio::test]
async fn fees_go_to_the_treasury_and_rebates_stay_for_their_makers() {
    let mut v = Venue::new(2).await;
    let (taker, maker) = cross_shard_trade(&mut v, true).await;
    v.settle_cross(0, 1, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, false, 200, BTC_TICKS)]).await.unwrap();
    let fees_0 = fees(&mut v, 0).await;
    assert_eq!(fees_0, 2 * (600_000 - 120_000));
    let (vault_0, surplus_0) = (v.ex.token_balance(pda::vault(0)).await, v.ex.vault_surplus(0).await);

    v.ex.send(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(v.ex.treasury).await, fees_0 as u64);
    assert_eq!(v.ex.token_balance(pda::vault(0)).await, vault_0 - fees_0 as u64);
    assert_eq!(fees(&mut v, 0).await, 0);
    // Tokens and booked fees fell together: every owner's reserve stands.
    assert_eq!(v.ex.vault_surplus(0).await, surplus_0);
    v.ex.assert_conserved().await;
    let again = v.ex.send_fresh(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await;
    assert_error(again, ClearshardError::NoFeesToSweep);
    assert_error(v.ex.send(&[ix::sweep_fees(1, v.ex.treasury, &[BTC])], &[]).await, ClearshardError::NoFeesToSweep);

    // The maker's rebates, left in vault 0, reach it.
    v.ex.send(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    let owed = v.ex.margin(maker.address).await.portfolio.collateral as u64;
    assert_eq!(owed, 1_000 * USDC + 2 * 120_000);
    v.ex.withdraw(&maker.trader, maker.address, 1, owed, &[]).await.unwrap();
    let taker_owed = v.ex.margin(taker.address).await.portfolio.collateral as u64;
    v.ex.withdraw(&taker.trader, taker.address, 0, taker_owed, &[]).await.unwrap();
    let t = v.ex.assert_conserved().await;
    assert_eq!((t.vault_tokens, t.fees), (0, 0));
}

/// With owners' equity above the vault (a price move not yet rebalanced),
/// the sweep takes only what is backed beyond them, and the rest later.
#[tokio::test]
async fn a_sweep_never_takes_what_owners_are_owed() {
    let mut v = Venue::new(2).await;
    cross_shard_trade(&mut v, true).await;
    let fees_0 = fees(&mut v, 0).await;
    assert_eq!(fees_0, 480_000);
    // BTC up 1/3000: the long on shard 0 gains 0.40 USDC, and vault 0 backs
    // 0.20 of its 0.48 of fees beyond the owners' equity.
    v.ex.set_price(BTC, BTC_PRICE + BTC_PRICE / 3_000, 0, PRICE_EXPO).await.unwrap();
    let backed = v.ex.vault_surplus(0).await + fees_0;
    assert_eq!(backed, 200_000);
    v.ex.send(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(v.ex.treasury).await, 200_000);
    assert_eq!(fees(&mut v, 0).await, fees_0 - 200_000);
    assert_eq!(v.ex.vault_surplus(0).await, backed - fees_0);
    v.ex.assert_conserved().await;

    // BTC up 10%: vault 0 backs none of the rest.
    v.set_btc(110).await;
    let r = v.ex.send_fresh(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await;
    assert_error(r, ClearshardError::NoFeesToSweep);
    // A rebalance brings the long's gain over; the rest of the fees follow.
    v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await.unwrap();
    v.ex.send(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(v.ex.treasury).await, fees_0 as u64);
    assert_eq!(v.ex.vault_surplus(0).await, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_sweep_goes_nowhere_but_the_treasury() {
    let mut v = Venue::new(2).await;
    cross_shard_trade(&mut v, true).await;
    let thief = v.ex.trader(0).await;
    let treasury = v.ex.treasury;
    let before = fees_and_vault(&mut v).await;

    let r = v.ex.send(&[ix::sweep_fees(0, thief.token_account, &[BTC])], &[]).await;
    assert_error(r, ClearshardError::WrongTreasury);
    let mut other_vault = ix::sweep_fees(0, treasury, &[BTC]);
    other_vault.accounts[2].pubkey = pda::vault(1);
    assert_error(v.ex.send(&[other_vault], &[]).await, ClearshardError::VaultOfAnotherShard);
    // Shard 0 holds BTC: its reserve needs BTC's price.
    assert_error(v.ex.send(&[ix::sweep_fees(0, treasury, &[])], &[]).await, ClearshardError::MissingMarket);
    v.pause(Some(0), PAUSE_WITHDRAWALS).await;
    let r = v.ex.send(&[ix::sweep_fees(0, treasury, &[BTC])], &[]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
    assert_eq!(fees_and_vault(&mut v).await, before);
    assert_eq!(v.ex.token_balance(treasury).await, 0);
    assert_eq!(v.ex.token_balance(thief.token_account).await, 0);
    v.ex.assert_conserved().await;

    v.pause(Some(0), 0).await;
    v.ex.send_fresh(&[ix::sweep_fees(0, treasury, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(treasury).await, before.0 as u64);
    v.ex.assert_conserved().await;
}
