//! Fills across shards, vault rebalancing, and moving collateral between an
//! owner's liquidity shards.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

#[tokio::test]
async fn cross_shard_batch_then_rebalance_vaults() {
    let mut v = Venue::new(3).await;
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(2, 1_000 * USDC).await;
    // Taker on shard 0 buys 100 BTC lots (600 USDC) from the maker on shard 2.
    v.settle_cross(0, 2, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.net_base_lots[BTC as usize], 0);
    // The cash of the fill moved claims (shard 0's accounts claim 600 USDC
    // less collateral, shard 2's 600 more), but not equity: the long on shard
    // 0 is worth those 600, the short on shard 2 owes them. Only the maker's
    // rebate (0.06 USDC, paid out of the taker fee booked on shard 0) has to
    // move, and a rebalance moves exactly that.
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].fees, 300_000 - 60_000);
    assert_eq!(v.ex.shard(2).await.markets[BTC as usize].fees, 0);
    assert_eq!(v.ex.vault_imbalance(0).await, 600 * USDC as i64 + 60_000);
    assert_eq!(v.ex.vault_surplus(0).await, 60_000);
    assert_eq!(v.ex.vault_surplus(2).await, -60_000);
    v.ex.send(&[ix::rebalance_vaults(0, 2, &[BTC])], &[]).await.unwrap();
    assert_eq!((v.ex.vault_surplus(0).await, v.ex.vault_surplus(2).await), (0, 0));
    v.ex.assert_conserved().await;
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::rebalance_vaults(0, 2, &[BTC])], &[]).await, ClearshardError::NothingToRebalance);
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].open_interest, 100);
    assert_eq!(v.ex.shard(2).await.markets[BTC as usize].open_interest, 0);
    // The sequence lives on the lower shard only.
    assert_eq!(v.next_sequence(0).await, 1);
    assert_eq!(v.next_sequence(2).await, 0);

    // The price rises 5% and the taker sells back to the maker: 30 USDC of PnL
    // now belongs to shard 0 while its tokens sit in shard 2's vault, less
    // the maker's new rebate of 0.063 USDC, which goes the other way.
    v.ex.set_price(BTC, BTC_PRICE * 105 / 100, 0, -2).await.unwrap();
    v.settle_cross(0, 2, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, false, 100, 63_000)]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.vault_imbalance(0).await, -(30 * USDC as i64 - 63_000));
    assert_eq!(v.ex.vault_imbalance(2).await, 30 * USDC as i64 - 63_000);
    let taker_collateral = v.ex.margin(taker.address).await.portfolio.collateral;
    assert_eq!(taker_collateral, (1_030 * USDC - 300_000 - 315_000) as i64);
    let r = v.ex.withdraw(&taker.trader, taker.address, 0, taker_collateral as u64, &[]).await;
    assert_error(r, ClearshardError::VaultShortfall);

    // Anyone may rebalance; afterwards every vault holds what its shard owes.
    v.ex.send(&[ix::rebalance_vaults(2, 0, &[BTC])], &[]).await.unwrap();
    for s in 0..3 {
        assert_eq!(v.ex.vault_imbalance(s).await, 0, "shard {s}");
    }
    v.ex.assert_conserved().await;
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::rebalance_vaults(2, 0, &[BTC])], &[]).await, ClearshardError::NothingToRebalance);
    v.ex.refresh_blockhash().await;
    v.ex.withdraw(&taker.trader, taker.address, 0, taker_collateral as u64, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(taker.trader.token_account).await, taker_collateral as u64);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn rebalance_in_the_wrong_direction_or_with_a_foreign_vault_is_refused() {
    let mut v = Venue::new(2).await;
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(1, 1_000 * USDC).await;
    v.settle_cross(0, 1, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, true, 10, BTC_TICKS)]).await.unwrap();
    // BTC up 10%: the long's shard 0 is owed 6 USDC of shard 1's tokens, not the reverse.
    v.ex.set_price(BTC, BTC_PRICE * 11 / 10, 0, -2).await.unwrap();
    assert_error(v.ex.send(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await, ClearshardError::NothingToRebalance);
    // Reserves are valued at the oracle: every market either shard holds, fresh.
    assert_error(v.ex.send(&[ix::rebalance_vaults(1, 0, &[])], &[]).await, ClearshardError::MissingMarket);
    assert_error(v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC, BTC])], &[]).await, ClearshardError::DuplicateMarket);
    let mut foreign = ix::rebalance_vaults(1, 0, &[BTC]);
    foreign.accounts[4].pubkey = taker.trader.token_account;
    assert_error(v.ex.send(&[foreign], &[]).await, ClearshardError::VaultOfAnotherShard);
    let mut foreign = ix::rebalance_vaults(1, 0, &[BTC]);
    foreign.accounts[5].pubkey = maker.trader.token_account;
    assert_error(v.ex.send(&[foreign], &[]).await, ClearshardError::WrongInsuranceVault);
    let same = ix::rebalance_vaults(0, 0, &[BTC]);
    assert_anchor_error(v.ex.send(&[same], &[]).await, ErrorCode::ConstraintDuplicateMutableAccount);
    v.ex.advance_clock(61).await;
    assert_error(v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await, ClearshardError::StaleOracle);
    v.ex.set_price(BTC, BTC_PRICE * 11 / 10, 0, -2).await.unwrap();
    v.ex.send_fresh(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await.unwrap();
    assert_eq!((v.ex.vault_surplus(0).await, v.ex.vault_surplus(1).await), (0, 0));
    // The long's 6 USDC gain came over; the short's 0.006 USDC rebate stays on shard 1.
    assert_eq!(v.ex.token_balance(pda::vault(0)).await, 1_006 * USDC - 6_000);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn cross_batch_needs_two_ordered_shards_and_their_accounts() {
    let mut v = Venue::new(3).await;
    let a = v.account(0, 1_000 * USDC).await;
    let b = v.account(1, 1_000 * USDC).await;
    let c = v.account(2, 1_000 * USDC).await;
    let before = v.portfolios(&[&a, &b, &c]).await;
    let buy = [fill(0, 1, 0, true, 10, BTC_TICKS)];
    assert_error(v.settle_cross(1, 0, &[BTC], &[&b, &a], &buy).await, ClearshardError::CrossBatchShardOrder);
    assert_error(v.settle_cross(0, 0, &[BTC], &[&a, &a], &buy).await, ClearshardError::CrossBatchShardOrder);
    assert_error(v.settle_cross(0, 1, &[BTC], &[&a, &c], &buy).await, ClearshardError::MarginAccountOfAnotherShard);
    assert_eq!(v.portfolios(&[&a, &b, &c]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn market_maker_moves_collateral_between_liquidity_shards() {
    let mut v = Venue::new(4).await;
    let home = v.account(0, 10_000 * USDC).await;
    let trader = &home.trader;
    // Liquidity accounts of the same owner on shards 1..=3.
    let mut shards = vec![];
    for s in 1..4u16 {
        let address = v.ex.create_margin_account(trader, s, 0).await.unwrap();
        v.ex.transfer(trader, (home.address, 0), (address, s), 2_000 * USDC, &[]).await.unwrap();
        v.ex.assert_conserved().await;
        shards.push((address, s));
    }
    assert_eq!(v.ex.margin(home.address).await.portfolio.collateral, 4_000 * USDC as i64);
    for (address, s) in &shards {
        assert_eq!(v.ex.margin(*address).await.portfolio.collateral, 2_000 * USDC as i64);
        assert_eq!(v.ex.token_balance(pda::vault(*s)).await, 2_000 * USDC);
        assert_eq!(v.ex.vault_imbalance(*s).await, 0);
    }
    // Back home, and within one shard between two sub-accounts (no tokens move).
    v.ex.transfer(trader, shards[0], (home.address, 0), 500 * USDC, &[]).await.unwrap();
    let sub = v.ex.create_margin_account(trader, 0, 1).await.unwrap();
    v.ex.transfer(trader, (home.address, 0), (sub, 0), 100 * USDC, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(pda::vault(0)).await, 4_500 * USDC);
    assert_eq!(v.ex.margin(sub).await.portfolio.collateral, 100 * USDC as i64);
    for s in 0..4 {
        assert_eq!(v.ex.vault_imbalance(s).await, 0);
    }
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn transfer_to_another_owner_or_itself_is_refused() {
    let mut v = Venue::new(2).await;
    let a = v.account(0, 1_000 * USDC).await;
    let b = v.account(1, 1_000 * USDC).await;
    let trader = &a.trader;
    let r = v.ex.transfer(trader, (a.address, 0), (b.address, 1), 100 * USDC, &[]).await;
    assert_error(r, ClearshardError::NotOwner);
    // The victim's account as the source, signed by someone else.
    let r = v.ex.transfer(trader, (b.address, 1), (a.address, 0), 100 * USDC, &[]).await;
    assert_error(r, ClearshardError::NotOwner);
    let r = v.ex.transfer(trader, (a.address, 0), (a.address, 0), 100 * USDC, &[]).await;
    assert_error(r, ClearshardError::SameAccount);
    // The right accounts with the wrong shard.
    let other = v.ex.create_margin_account(trader, 1, 0).await.unwrap();
    let r = v.ex.transfer(trader, (a.address, 0), (other, 0), 100 * USDC, &[]).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    let r = v.ex.transfer(trader, (a.address, 0), (other, 1), 1_000 * USDC + 1, &[]).await;
    assert_error(r, ClearshardError::InsufficientCollateral);
    assert_eq!(v.ex.margin(a.address).await.portfolio.collateral, 1_000 * USDC as i64);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn collateral_backing_positions_stays_put() {
    let mut v = Venue::new(2).await;
    let t = v.account(0, 100 * USDC).await;
    let m = v.account(0, 10_000 * USDC).await;
    // 100 lots = 600 USDC notional needs 60 USDC initial margin.
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    let trader = &t.trader;
    let r = v.ex.withdraw(trader, t.address, 0, 50 * USDC, &[BTC]).await;
    assert_error(r, ClearshardError::BreaksInitialMargin);
    let r = v.ex.withdraw(trader, t.address, 0, 10 * USDC, &[]).await;
    assert_error(r, ClearshardError::MissingMarket);
    let other = v.ex.create_margin_account(trader, 1, 0).await.unwrap();
    let r = v.ex.transfer(trader, (t.address, 0), (other, 1), 50 * USDC, &[BTC]).await;
    assert_error(r, ClearshardError::BreaksInitialMargin);
    // A stale price blocks the margin check rather than trusting an old price.
    v.ex.advance_clock(61).await;
    let r = v.ex.withdraw(trader, t.address, 0, 10 * USDC, &[BTC]).await;
    assert_error(r, ClearshardError::StaleOracle);
    v.ex.set_price(BTC, BTC_PRICE, 0, -2).await.unwrap();
    v.ex.refresh_blockhash().await;
    v.ex.withdraw(trader, t.address, 0, 10 * USDC, &[BTC]).await.unwrap();
    assert_eq!(v.ex.token_balance(trader.token_account).await, 10 * USDC);
    // Closing a non-empty account is refused.
    let close = ix::close_margin_account(trader.key(), t.address, 0);
    assert_error(v.ex.send(&[close], &[&trader.keypair]).await, ClearshardError::MarginAccountNotEmpty);
    v.ex.assert_conserved().await;
}
