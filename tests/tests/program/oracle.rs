//! Pyth pull-oracle price updates as a market's source: owner program, feed
//! id, verification level, staleness and confidence all checked, and every
//! failure a circuit breaker with its own error.

use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use clearshard::errors::ClearshardError;
use clearshard::state::{OracleKind, PYTH_RECEIVER_ID};
use clearshard_client::bank::PythPrice;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

const FEED: [u8; 32] = [0xB7; 32];

/// BTC at `usd` dollars, Pyth style (expo -8), published now.
async fn btc_update(v: &mut Venue, usd: i64) -> PythPrice {
    let now = v.ex.now().await;
    PythPrice {
        feed_id: FEED,
        price: usd * 100_000_000,
        confidence: 1_000_000,
        expo: -8,
        publish_time: now,
        partial_signatures: None,
        ema_price: None,
    }
}

/// A venue whose BTC market reads the Pyth account returned.
async fn pyth_venue() -> (Venue, Pubkey, Account, Account) {
    let mut v = Venue::new(1).await;
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 1_000 * USDC).await;
    let address = Pubkey::new_unique();
    let update = btc_update(&mut v, 60_000).await;
    v.ex.set_pyth_price(address, PYTH_RECEIVER_ID, &update);
    let admin = v.ex.admin.pubkey();
    v.ex.send_admin(&[ix::set_market_oracle(admin, BTC, OracleKind::Pyth, address, FEED)]).await.unwrap();
    (v, address, t, m)
}

fn buy() -> clearshard_engine::Fill {
    fill(0, 1, 0, true, 10, BTC_TICKS)
}

#[tokio::test]
async fn settles_against_a_fully_verified_pyth_update() {
    let (mut v, oracle, t, m) = pyth_venue().await;
    v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots, 10);
    // The built-in feed is no longer the market's oracle.
    assert_error(v.settle_btc_reading(pda::price_feed(BTC), &[&t, &m], &[buy()]).await, ClearshardError::WrongOracle);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn impersonated_or_foreign_pyth_updates_are_refused() {
    let (mut v, oracle, t, m) = pyth_venue().await;
    let before = v.portfolios(&[&t, &m]).await;
    let update = btc_update(&mut v, 60_000).await;
    // Same bytes, owned by another program.
    v.ex.set_pyth_price(oracle, Pubkey::new_unique(), &update);
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::OracleOwnedByWrongProgram);
    // Another feed's update.
    v.ex.set_pyth_price(oracle, PYTH_RECEIVER_ID, &PythPrice { feed_id: [1; 32], ..update });
    v.ex.refresh_blockhash().await;
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::OracleFeedMismatch);
    // Only partly verified by the guardians.
    v.ex.set_pyth_price(oracle, PYTH_RECEIVER_ID, &PythPrice { partial_signatures: Some(5), ..update });
    v.ex.refresh_blockhash().await;
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::OracleNotFullyVerified);
    // Not a price update at all.
    let mut garbage = update.encode();
    garbage[0] ^= 0xff;
    v.ex.set_raw_account(oracle, PYTH_RECEIVER_ID, &garbage);
    v.ex.refresh_blockhash().await;
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::OracleAccountMalformed);
    assert_eq!(v.portfolios(&[&t, &m]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn stale_or_uncertain_pyth_prices_hold_settlement() {
    let (mut v, oracle, t, m) = pyth_venue().await;
    let before = v.portfolios(&[&t, &m]).await;
    let update = btc_update(&mut v, 60_000).await;
    v.ex.set_pyth_price(oracle, PYTH_RECEIVER_ID, &PythPrice { publish_time: update.publish_time - 61, ..update });
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::StaleOracle);
    // Confidence 2% of price; the market allows 1%.
    v.ex.set_pyth_price(oracle, PYTH_RECEIVER_ID, &PythPrice { confidence: update.price as u64 / 50, ..update });
    v.ex.refresh_blockhash().await;
    assert_error(v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await, ClearshardError::OracleConfidenceTooWide);
    assert_eq!(v.portfolios(&[&t, &m]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidation_reads_the_pyth_price() {
    let (mut v, oracle, t, m) = pyth_venue().await;
    let liqor = v.account(0, 10_000 * USDC).await;
    // 100 lots on 70 USDC, then BTC at 55_200 (-8%).
    let t2 = v.account(0, 70 * USDC).await;
    v.settle_btc_reading(oracle, &[&t2, &m], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    let crashed = btc_update(&mut v, 55_200).await;
    v.ex.set_pyth_price(oracle, PYTH_RECEIVER_ID, &crashed);
    let accounts =
        ix::LiquidationAccounts { liquidator: liqor.trader.key(), liqee: (t2.address, 0), liqor: (liqor.address, 0) };
    let mut liquidate = ix::liquidate(&accounts, BTC, 1, &[BTC]);
    let last = liquidate.accounts.len() - 1;
    liquidate.accounts[last].pubkey = oracle;
    v.ex.send(&[liquidate], &[&liqor.trader.keypair]).await.unwrap();
    assert_eq!(v.ex.margin(t2.address).await.portfolio.position(BTC).unwrap().base_lots, 99);
    assert_eq!(v.ex.margin(liqor.address).await.portfolio.position(BTC).unwrap().base_lots, 1);
    let _ = t;
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn only_the_admin_sets_oracles_and_builtin_means_the_markets_own_feed() {
    let (mut v, oracle, t, m) = pyth_venue().await;
    let intruder = Keypair::new();
    v.ex.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let r =
        v.ex.send(
            &[ix::set_market_oracle(intruder.pubkey(), BTC, OracleKind::Pyth, Pubkey::new_unique(), FEED)],
            &[&intruder],
        )
        .await;
    assert_error(r, ClearshardError::NotAdmin);
    let admin = v.ex.admin.pubkey();
    let r =
        v.ex.send_admin(&[ix::set_market_oracle(admin, BTC, OracleKind::Builtin, pda::price_feed(ETH), [0; 32])]).await;
    assert_error(r, ClearshardError::WrongOracle);
    // An unknown kind does not decode: the enum leaves no room for one.
    let mut unknown = ix::set_market_oracle(admin, BTC, OracleKind::Pyth, oracle, FEED);
    unknown.data[8] = 7;
    let r = v.ex.send_admin(&[unknown]).await;
    assert_anchor_error(r, ErrorCode::InstructionDidNotDeserialize);
    // Still on Pyth; then back to the built-in feed.
    v.settle_btc_reading(oracle, &[&t, &m], &[buy()]).await.unwrap();
    v.ex.send_admin(&[ix::set_market_oracle(admin, BTC, OracleKind::Builtin, pda::price_feed(BTC), [0; 32])])
        .await
        .unwrap();
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.settle(0, &[BTC], &[&t, &m], &[buy()]).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots, 20);
}

/// Round two, §2: a stolen admin key switched a live market to the built-in
/// feed and printed a price. Only a market listed as a test market takes the
/// built-in feed: a production market has no price until it names its Pyth
/// account, can never be pointed back at the feed, and its feed takes no price.
#[tokio::test]
async fn a_production_market_reads_its_oracle_network_only() {
    let mut v = Venue::new(1).await;
    let admin = v.ex.admin.pubkey();
    const SOL: u16 = 2;
    v.ex.send_admin(&[ix::add_market(admin, SOL, "SOL-PERP", btc_market(), false)]).await.unwrap();
    let market = v.ex.load::<clearshard::state::Market>(pda::market(SOL)).await;
    assert_eq!((market.test_market, market.oracle_kind, market.oracle), (0, 1, Pubkey::default()));
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 1_000 * USDC).await;
    v.allow_markets(&[&t, &m], 0b111).await;
    let sol = [fill(0, 1, 0, true, 10, BTC_TICKS)];
    let before = v.portfolios(&[&t, &m]).await;
    // No price source yet: its feed is not its oracle, and takes no price.
    assert_error(v.settle(0, &[SOL], &[&t, &m], &sol).await, ClearshardError::WrongOracle);
    assert_error(v.ex.set_price(SOL, BTC_PRICE, 0, PRICE_EXPO).await, ClearshardError::BuiltinFeedOnTestMarketsOnly);
    let to_feed = ix::set_market_oracle(admin, SOL, OracleKind::Builtin, pda::price_feed(SOL), [0; 32]);
    assert_error(v.ex.send_admin(std::slice::from_ref(&to_feed)).await, ClearshardError::BuiltinFeedOnTestMarketsOnly);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;

    // Its Pyth account prices it; the feed stays closed to it for good.
    let address = Pubkey::new_unique();
    let update = btc_update(&mut v, 60_000).await;
    v.ex.set_pyth_price(address, PYTH_RECEIVER_ID, &update);
    v.ex.send_admin(&[ix::set_market_oracle(admin, SOL, OracleKind::Pyth, address, FEED)]).await.unwrap();
    let sequence = v.next_sequence(0).await;
    let mut settle = v.settle_ix(0, sequence, &[SOL], &[&t, &m], &sol);
    settle.accounts[5].pubkey = address;
    let matcher = v.matcher.insecure_clone();
    v.ex.send(&[settle], &[&matcher]).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(SOL).unwrap().base_lots, 10);
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send_admin(&[to_feed]).await, ClearshardError::BuiltinFeedOnTestMarketsOnly);
    let market = v.ex.load::<clearshard::state::Market>(pda::market(SOL)).await;
    assert_eq!((market.oracle_kind, market.oracle), (1, address));
    v.ex.assert_conserved().await;
}
