//! A shard's reserve, at the largest configuration the program accepts: no
//! spread of positions over markets, and no maker rebate across shards, may
//! keep tokens from the shard whose owners are owed them.

use clearshard::errors::ClearshardError;
use clearshard::state::MAX_MARKETS;
use clearshard_client::packing::table_transaction;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// Lists markets 2.. up to the most the program accepts, each a BTC-like perpetual.
async fn list_every_market(v: &mut Venue) -> Vec<u16> {
    for id in 2..MAX_MARKETS {
        v.ex.add_market(id, &format!("M{id}-PERP"), btc_market(), BTC_PRICE, PRICE_EXPO).await;
    }
    (0..MAX_MARKETS).collect()
}

/// Round two, finding 4: one lot in each of nine markets, held on shard 1,
/// froze every rebalance (a reserve needs every market a shard holds, and
/// the program took at most 8 pairs), so an honest owner on shard 0 could
/// not withdraw what it had won. Now a rebalance takes every listed market,
/// and 16 pairs fit one transaction through a lookup table.
#[tokio::test]
async fn a_griefer_in_every_market_cannot_freeze_rebalancing() {
    let mut v = Venue::new(2).await;
    let markets = list_every_market(&mut v).await;
    // Two griefer accounts on shard 1 (8 positions each, the most an account
    // holds) against two deep accounts on shard 0: shard 1 holds all 16 markets.
    let mut griefers = vec![];
    for half in markets.chunks(8) {
        let griefer = v.account(1, 100 * USDC).await;
        let other = v.account(0, 10 * USDC).await;
        v.allow_markets(&[&griefer, &other], u64::MAX).await;
        let ticks = |id: u16| if id == ETH { ETH_TICKS } else { BTC_TICKS };
        let fills: Vec<_> = half.iter().zip(0u8..).map(|(id, slot)| fill(0, 1, slot, true, 1, ticks(*id))).collect();
        v.settle_cross(0, 1, half, &[&griefer, &other], &fills).await.unwrap();
        v.ex.assert_conserved().await;
        griefers.push((griefer, half.to_vec()));
    }
    for id in &markets {
        assert_eq!(v.ex.shard(1).await.open_interest(*id).long, 1, "market {id}");
    }
    // An honest long on shard 0 wins 5% against a maker on shard 1 and closes:
    // its 30 USDC gain sits in vault 1.
    let honest = v.account(0, 1_000 * USDC).await;
    let maker = v.account(1, 10_000 * USDC).await;
    v.settle_cross(0, 1, &[BTC], &[&honest, &maker], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    v.set_btc(105).await;
    v.settle_cross(0, 1, &[BTC], &[&honest, &maker], &[fill(0, 1, 0, false, 100, 63_000)]).await.unwrap();
    v.ex.assert_conserved().await;
    let collateral = v.ex.margin(honest.address).await.portfolio.collateral as u64;
    assert!(collateral > 1_020 * USDC);
    let r = v.ex.withdraw(&honest.trader, honest.address, 0, collateral, &[]).await;
    assert_error(r, ClearshardError::VaultShortfall);

    // Any 8 markets leave one out; the whole set through a lookup table works.
    assert_error(v.ex.send(&[ix::rebalance_vaults(1, 0, &markets[..8])], &[]).await, ClearshardError::MissingMarket);
    let rebalance = ix::rebalance_vaults(1, 0, &markets);
    assert_eq!(rebalance.accounts.len(), 7 + 2 * usize::from(MAX_MARKETS));
    let keys: Vec<_> = rebalance.accounts.iter().map(|a| a.pubkey).collect();
    let table = v.ex.create_lookup_table(&keys).await;
    let vault_1 = v.ex.token_balance(pda::vault(1)).await;
    let shortfall = -v.ex.vault_surplus(0).await;
    assert!(shortfall > 0 && v.ex.vault_surplus(1).await >= shortfall);
    let blockhash = v.ex.blockhash().await;
    let tx = table_transaction(&v.matcher, &[rebalance], &table, blockhash).unwrap();
    let metered = v.ex.execute_metered(tx).await.unwrap();
    println!("rebalance_vaults over {MAX_MARKETS} markets: {} CU", metered.compute_units);
    assert!(metered.compute_units < 200_000, "{} CU", metered.compute_units);
    assert_eq!(v.ex.token_balance(pda::vault(1)).await, vault_1 - shortfall as u64);
    assert_eq!(v.ex.vault_surplus(0).await, 0);
    v.ex.assert_conserved().await;
    v.ex.withdraw(&honest.trader, honest.address, 0, collateral, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(honest.trader.token_account).await, collateral);
    v.ex.assert_conserved().await;

    // A griefer's account holds the most positions an account may: its own
    // withdrawal needs its 8 markets, which one transaction carries.
    let (griefer, held) = &griefers[0];
    let wallet = v.ex.token_balance(griefer.trader.token_account).await;
    v.ex.withdraw(&griefer.trader, griefer.address, 1, 50 * USDC, held).await.unwrap();
    assert_eq!(v.ex.token_balance(griefer.trader.token_account).await, wallet + 50 * USDC);
    v.ex.assert_conserved().await;
}

/// Round two, finding 7: a maker's rebate across shards was booked as
/// negative fees on the maker's shard, lowering its reserve, while the taker
/// fee that pays it sat on the taker's shard: the maker could not withdraw
/// what it was owed, and no rebalance moved it. Now both fees are booked on
/// the taker's shard: the rebate is a shortfall of the maker's shard that a
/// rebalance fills.
#[tokio::test]
async fn a_maker_rebate_across_shards_can_be_withdrawn() {
    let mut v = Venue::new(2).await;
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(1, 1_000 * USDC).await;
    // 200 lots (1,200 USDC) there and back at the oracle: 0.12 USDC of rebate each way.
    v.settle_cross(0, 1, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, true, 200, BTC_TICKS)]).await.unwrap();
    v.settle_cross(0, 1, &[BTC], &[&taker, &maker], &[fill(0, 1, 0, false, 200, BTC_TICKS)]).await.unwrap();
    v.ex.assert_conserved().await;
    let rebates = 2 * 120_000;
    let owed = v.ex.margin(maker.address).await.portfolio.collateral as u64;
    assert_eq!(owed, 1_000 * USDC + rebates);
    // Taker fees less rebates, all on the taker's shard; none negative anywhere.
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].fees, 2 * 600_000 - rebates as i64);
    assert_eq!(v.ex.shard(1).await.markets[BTC as usize].fees, 0);
    assert_eq!(v.ex.vault_surplus(1).await, -(rebates as i64));
    let r = v.ex.withdraw(&maker.trader, maker.address, 1, owed, &[]).await;
    assert_error(r, ClearshardError::VaultShortfall);

    v.ex.send_fresh(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(pda::vault(1)).await, owed);
    assert_eq!((v.ex.vault_surplus(0).await, v.ex.vault_surplus(1).await), (0, 0));
    v.ex.assert_conserved().await;
    v.ex.withdraw(&maker.trader, maker.address, 1, owed, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(maker.trader.token_account).await, owed);
    assert_eq!(v.ex.token_balance(pda::vault(1)).await, 0);
    v.ex.assert_conserved().await;
}
