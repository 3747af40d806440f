//! The collateral lifecycle: accounts on shards, deposits, withdrawals, and
//! every malicious variant, with the conservation check after each step.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard::state::PAUSE_DEPOSITS;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_signer::Signer;

#[tokio::test]
async fn lifecycle_across_shards_conserves_collateral() {
    let mut v = Venue::new(4).await;
    let mut accounts = vec![];
    for shard in 0..4u16 {
        let a = v.account(shard, (shard as u64 + 1) * 1_000 * USDC).await;
        v.ex.assert_conserved().await;
        accounts.push(a);
    }
    for (i, a) in accounts.iter().enumerate() {
        let shard = v.ex.shard(a.shard).await;
        assert_eq!(shard.collateral_claims, (i as i64 + 1) * 1_000 * USDC as i64);
        assert_eq!(shard.margin_accounts, 1);
        assert_eq!(v.ex.token_balance(pda::vault(a.shard)).await, (i as u64 + 1) * 1_000 * USDC);
    }
    // Withdraw part from shard 1 and all from shard 3.
    let a1 = &accounts[1];
    v.ex.withdraw(&a1.trader, a1.address, 1, 500 * USDC, &[]).await.unwrap();
    v.ex.assert_conserved().await;
    let a3 = &accounts[3];
    v.ex.withdraw(&a3.trader, a3.address, 3, 4_000 * USDC, &[]).await.unwrap();
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.vault_tokens, (1_000 + 1_500 + 3_000) as u128 * USDC as u128);
    assert_eq!(v.ex.margin(a1.address).await.portfolio.collateral, 1_500 * USDC as i64);
    assert_eq!(v.ex.token_balance(a1.trader.token_account).await, 500 * USDC);
    assert_eq!(v.ex.token_balance(a3.trader.token_account).await, 4_000 * USDC);
    // The emptied account closes and returns its rent.
    let close = ix::close_margin_account(a3.trader.key(), a3.address, 3);
    v.ex.send(&[close], &[&a3.trader.keypair]).await.unwrap();
    assert!(!v.ex.account_exists(a3.address).await);
    assert_eq!(v.ex.shard(3).await.margin_accounts, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn withdraw_more_than_collateral_is_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 100 * USDC).await;
    let r = v.ex.withdraw(&a.trader, a.address, 0, 100 * USDC + 1, &[]).await;
    assert_error(r, ClearshardError::InsufficientCollateral);
    assert_eq!(v.ex.margin(a.address).await.portfolio.collateral, 100 * USDC as i64);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn deposit_and_withdraw_by_a_non_owner_are_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 100 * USDC).await;
    let thief = v.ex.trader(50 * USDC).await;
    // The thief signs, naming the victim's account and its own token account.
    let m = ix::CollateralMove {
        owner: thief.key(),
        margin_account: a.address,
        shard: 0,
        owner_token: thief.token_account,
    };
    let r = v.ex.send(&[ix::withdraw(&m, 10 * USDC, &[])], &[&thief.keypair]).await;
    assert_error(r, ClearshardError::NotOwner);
    let r = v.ex.send(&[ix::deposit(&m, 10 * USDC)], &[&thief.keypair]).await;
    assert_error(r, ClearshardError::NotOwner);
    assert_eq!(v.ex.token_balance(thief.token_account).await, 50 * USDC);
    assert_eq!(v.ex.margin(a.address).await.portfolio.collateral, 100 * USDC as i64);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn withdraw_without_owner_signature_is_refused() {
    let mut v = Venue::new(1).await;
    let a = v.account(0, 100 * USDC).await;
    let mut ix = ix::withdraw(&v.ex.collateral_move(&a.trader, a.address, 0), 10 * USDC, &[]);
    ix.accounts[0].is_signer = false;
    let r = v.ex.send(&[ix], &[]).await;
    assert_anchor_error(r, ErrorCode::AccountNotSigner);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn account_of_another_shard_is_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 100 * USDC).await;
    // Name shard 1 (and its vault) for an account of shard 0.
    let r = v.ex.deposit(&a.trader, a.address, 1, 10 * USDC).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    let r = v.ex.withdraw(&a.trader, a.address, 1, 10 * USDC, &[]).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    assert_eq!(v.ex.token_balance(pda::vault(1)).await, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn vault_of_another_shard_is_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 100 * USDC).await;
    let _b = v.account(1, 100 * USDC).await;
    let mut withdraw = ix::withdraw(&v.ex.collateral_move(&a.trader, a.address, 0), 10 * USDC, &[]);
    withdraw.accounts[3].pubkey = pda::vault(1);
    let r = v.ex.send(&[withdraw], &[&a.trader.keypair]).await;
    assert_error(r, ClearshardError::VaultOfAnotherShard);
    assert_eq!(v.ex.token_balance(pda::vault(1)).await, 100 * USDC);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn margin_account_owned_by_another_program_is_refused() {
    let mut v = Venue::new(1).await;
    let a = v.account(0, 100 * USDC).await;
    // A token account (owned by the token program) in the margin account's place.
    let mut deposit = ix::deposit(&v.ex.collateral_move(&a.trader, a.address, 0), 10 * USDC);
    deposit.accounts[4].pubkey = a.trader.token_account;
    let r = v.ex.send(&[deposit], &[&a.trader.keypair]).await;
    assert_anchor_error(r, ErrorCode::AccountOwnedByWrongProgram);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn token_account_of_another_mint_is_refused() {
    let mut v = Venue::new(1).await;
    let a = v.account(0, 100 * USDC).await;
    let foreign_mint = v.ex.create_mint().await;
    let foreign = v.ex.token_account(foreign_mint, &a.trader.key(), 50 * USDC).await;
    let m = ix::CollateralMove { owner: a.trader.key(), margin_account: a.address, shard: 0, owner_token: foreign };
    let r = v.ex.send(&[ix::deposit(&m, 10 * USDC)], &[&a.trader.keypair]).await;
    assert_error(r, ClearshardError::WrongMint);
    assert_eq!(v.ex.token_balance(foreign).await, 50 * USDC);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn zero_amounts_are_refused() {
    let mut v = Venue::new(1).await;
    let a = v.account(0, 100 * USDC).await;
    assert_error(v.ex.deposit(&a.trader, a.address, 0, 0).await, ClearshardError::ZeroAmount);
    assert_error(v.ex.withdraw(&a.trader, a.address, 0, 0, &[]).await, ClearshardError::ZeroAmount);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn paused_deposits_and_shards_are_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 100 * USDC).await;
    let b = v.account(1, 100 * USDC).await;
    v.ex.send_admin(&[ix::set_pause(v.ex.admin.pubkey(), None, PAUSE_DEPOSITS)]).await.unwrap();
    assert_error(v.ex.deposit(&a.trader, a.address, 0, USDC).await, ClearshardError::DepositsPaused);
    // Withdrawals still work while only deposits are paused.
    v.ex.withdraw(&a.trader, a.address, 0, USDC, &[]).await.unwrap();
    // Pausing shard 1's withdrawals leaves shard 0 alone.
    let flags = clearshard::state::PAUSE_WITHDRAWALS;
    v.ex.send_admin(&[ix::set_pause(v.ex.admin.pubkey(), Some(1), flags)]).await.unwrap();
    v.ex.send_admin(&[ix::set_pause(v.ex.admin.pubkey(), None, 0)]).await.unwrap();
    assert_error(v.ex.withdraw(&b.trader, b.address, 1, USDC, &[]).await, ClearshardError::WithdrawalsPaused);
    v.ex.withdraw(&a.trader, a.address, 0, USDC, &[]).await.unwrap();
    assert_eq!(v.ex.margin(b.address).await.portfolio.collateral, 100 * USDC as i64);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn overflowing_amounts_are_refused() {
    let mut v = Venue::new(1).await;
    let a = v.account(0, 100 * USDC).await;
    // u64 amounts above i64::MAX cannot be represented as signed collateral.
    let r = v.ex.deposit(&a.trader, a.address, 0, u64::MAX).await;
    assert_error(r, ClearshardError::MathOverflow);
    let r = v.ex.withdraw(&a.trader, a.address, 0, u64::MAX, &[]).await;
    assert_error(r, ClearshardError::MathOverflow);
    assert_eq!(v.ex.margin(a.address).await.portfolio.collateral, 100 * USDC as i64);
    v.ex.assert_conserved().await;
}
