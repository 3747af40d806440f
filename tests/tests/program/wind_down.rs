//! The exit without a matcher (#15 §1–3): once no matcher's batch has
//! settled a market on any shard for its liveness timeout, anyone arms its
//! wind-down and, a timeout later, completes it at a settlement price;
//! anyone closes its positions there, and every owner withdraws everything.
//! Conservation is checked after every step.

use clearshard::errors::ClearshardError;
use clearshard::state::{Market, FEED_DEATH_SECS, MAX_SHARDS, PAUSE_SETTLEMENT};
use clearshard_client::bank::Governance;
use clearshard_client::packing::table_transaction;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::market::DEFAULT_LIVENESS_TIMEOUT_MINS;
use clearshard_tests::*;
use solana_signer::Signer;

const TIMEOUT: i64 = DEFAULT_LIVENESS_TIMEOUT_MINS as i64 * 60;

async fn btc(v: &mut Venue) -> Market {
    v.ex.load::<Market>(pda::market(BTC)).await
}

/// Two fresh accounts on `shard` that trade `lots` of BTC in a matcher's batch.
async fn traded_pair(v: &mut Venue, shard: u16, lots: u32) -> (Account, Account) {
    let (a, b) = (v.account(shard, 1_000 * USDC).await, v.account(shard, 1_000 * USDC).await);
    v.settle(shard, &[BTC], &[&a, &b], &[fill(0, 1, 0, true, lots, BTC_TICKS)]).await.unwrap();
    (a, b)
}

#[tokio::test]
async fn a_market_winds_down_once_every_shard_fell_silent_and_trades_no_more() {
    let mut v = Venue::new(2).await;
    let (a0, b0) = traded_pair(&mut v, 0, 10).await;
    v.ex.advance_clock(TIMEOUT / 2).await;
    v.set_btc(100).await;
    let (a1, b1) = traded_pair(&mut v, 1, 10).await;
    // Shard 0 has been silent past the timeout, shard 1 only half of it.
    v.ex.advance_clock(TIMEOUT / 2 + 1).await;
    v.set_btc(100).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    // An owner trade, which anyone can sign for both sides, keeps nothing live.
    v.ex.advance_clock(TIMEOUT / 2 - 20).await;
    v.set_btc(100).await;
    v.owner_trade(&a1, &b1, BTC, false, 5, BTC_TICKS).await.unwrap();
    v.ex.advance_clock(20).await;
    v.set_btc(103).await;

    // No caller picks the shards that prove silence, nor the oracle.
    for (shards, expected) in [
        (&[0u16][..], ClearshardError::ShardsIncomplete),
        (&[1, 0], ClearshardError::ShardOutOfOrder),
        (&[0, 0], ClearshardError::ShardOutOfOrder),
        (&[0, 1, 1], ClearshardError::ShardsIncomplete),
    ] {
        let r = v.ex.send_fresh(&[ix::wind_down_market(BTC, pda::price_feed(BTC), shards, None)], &[]).await;
        assert_error(r, expected);
    }
    let r = v.ex.send_fresh(&[ix::wind_down_market(BTC, pda::price_feed(ETH), &[0, 1], None)], &[]).await;
    assert_error(r, ClearshardError::WrongOracle);
    assert_eq!(btc(&mut v).await.wound_down, 0);

    // The first call arms the wind-down; it completes a timeout later, at
    // the feed's moving average.
    v.wind_down(BTC).await.unwrap();
    assert_eq!((btc(&mut v).await.wound_down, btc(&mut v).await.wind_down_armed_at), (0, v.ex.now().await));
    assert_error(v.wind_down(BTC).await, ClearshardError::WindDownNotDue);
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(103).await;
    let expected = v.feed_average(BTC).await;
    let index = v.funding_index(BTC).await;
    v.wind_down(BTC).await.unwrap();
    let now = v.ex.now().await;
    let m = btc(&mut v).await;
    assert_eq!((m.wound_down, m.settlement_price, m.wound_down_at), (1, expected, now));
    // The print was 103% but the average had not followed: it is the price.
    let par = btc_market().tick_size * u64::from(BTC_TICKS);
    assert!(expected > par && expected < par * 103 / 100, "{expected}");
    v.ex.assert_conserved().await;

    // Once, and then the market trades no more; ETH trades on.
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketWoundDown);
    let r = v.settle(0, &[BTC], &[&a0, &b0], &[fill(0, 1, 0, false, 10, BTC_TICKS * 103 / 100)]).await;
    assert_error(r, ClearshardError::MarketWoundDown);
    assert_error(v.owner_trade(&a1, &b1, BTC, true, 1, BTC_TICKS).await, ClearshardError::MarketWoundDown);
    assert_error(v.funding_round(BTC).await, ClearshardError::MarketWoundDown);
    let liquidation = ix::LiquidationAccounts {
        liquidator: b1.trader.key(),
        liqee: (a1.address, a1.shard),
        liqor: (b1.address, b1.shard),
    };
    let r = v.ex.send_fresh(&[ix::liquidate(&liquidation, BTC, 1, &[BTC])], &[&b1.trader.keypair]).await;
    assert_error(r, ClearshardError::MarketWoundDown);
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.allow_markets(&[&a0, &b0], 0b11).await;
    // Not for accounts still holding a BTC position, valued at P until
    // closed: its gain must back nothing (`SettlementClosePending`).
    let eth = fill(0, 1, 1, true, 10, ETH_TICKS);
    assert_error(v.settle(0, &[BTC, ETH], &[&a0, &b0], &[eth]).await, ClearshardError::SettlementClosePending);
    for a in [&a0, &b0] {
        v.close_at_settlement(a, BTC).await.unwrap();
    }
    v.settle(0, &[ETH], &[&a0, &b0], &[fill(0, 1, 0, true, 10, ETH_TICKS)]).await.unwrap();
    // Funding stops at the wind-down.
    v.ex.advance_clock(3_600).await;
    assert_eq!(v.funding_index(BTC).await, index);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn every_owner_closes_at_the_settlement_price_and_withdraws_everything() {
    let mut v = Venue::new(2).await;
    let (long0, short1) = (v.account(0, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);
    let (short0, long1) = (v.account(0, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);
    v.settle_cross(0, 1, &[BTC], &[&long0, &short1], &[fill(0, 1, 0, true, 20, BTC_TICKS)]).await.unwrap();
    v.settle_cross(0, 1, &[BTC], &[&short0, &long1], &[fill(0, 1, 0, false, 30, BTC_TICKS)]).await.unwrap();
    v.ex.advance_clock(TIMEOUT + 1).await;
    v.set_btc(104).await;
    v.wind_down_fully(BTC).await.unwrap();
    let price = btc(&mut v).await.settlement_price as i64;
    let entry = btc_market().tick_size as i64 * i64::from(BTC_TICKS);
    assert!(price > entry);

    // Closing on a live market, or through another shard, is refused.
    assert_error(v.close_at_settlement(&long0, ETH).await, ClearshardError::MarketNotWoundDown);
    let r = v.ex.send_fresh(&[ix::close_at_settlement(long0.address, 1, BTC)], &[]).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);

    // Anyone closes, in any order: each owner receives its lots × the price
    // (no funding accrued: no round ran), realizing (price − entry) × lots;
    // a gain is held in the market's settlement pool, not paid.
    let accounts = [&long1, &short0, &long0, &short1];
    let mut gains = 0;
    for a in accounts {
        let before = v.ex.margin(a.address).await.portfolio;
        let lots = before.position(BTC).unwrap().base_lots;
        v.close_at_settlement(a, BTC).await.unwrap();
        let after = v.ex.margin(a.address).await.portfolio;
        let gain = lots * (price - entry);
        let held = gain.max(0);
        assert_eq!(after.collateral, before.collateral + lots * price - held);
        assert_eq!(after.settlement_gain(BTC), held as u64);
        assert_eq!(after.realized_pnl - before.realized_pnl, gain);
        assert_eq!(after.position(BTC), None);
        assert_error(v.close_at_settlement(a, BTC).await, ClearshardError::NoPositionToClose);
        gains += held;
        v.ex.assert_conserved().await;
        if a.address == long1.address {
            // Not every position is closed yet: nothing is final, and a gain
            // is not paid to an owner who owes nothing.
            assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownPositionsOpen);
            assert_error(v.claim_settlement_gain(a, BTC).await, ClearshardError::WindDownNotFinal);
        }
    }
    let m = btc(&mut v).await;
    assert_eq!((m.wind_down_lots, m.wind_down_cash), (0, gains));
    assert_eq!((m.gains_held, m.deficits_held), (gains as u64, 0));
    for s in 0..2 {
        let oi = v.ex.shard(s).await.open_interest(BTC);
        assert_eq!((oi.long, oi.short), (0, 0));
    }

    // Final once every position is closed, over every shard in order; no
    // deficit arose, so every gain is paid at face.
    for (shards, expected) in
        [(&[0u16][..], ClearshardError::ShardsIncomplete), (&[1, 0], ClearshardError::ShardOutOfOrder)]
    {
        assert_error(v.ex.send_fresh(&[ix::finalize_wind_down(BTC, shards)], &[]).await, expected);
    }
    assert_error(v.finalize_wind_down(ETH).await, ClearshardError::MarketNotWoundDown);
    v.finalize_wind_down(BTC).await.unwrap();
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownFinal);
    let m = btc(&mut v).await;
    assert_eq!((m.settlement_final, m.payout_pool, m.payout_faces), (1, gains as u64, gains as u64));
    for a in accounts {
        let before = v.ex.margin(a.address).await.portfolio;
        let face = before.settlement_gain(BTC);
        if face == 0 {
            assert_error(v.claim_settlement_gain(a, BTC).await, ClearshardError::NoSettlementClaim);
            continue;
        }
        v.claim_settlement_gain(a, BTC).await.unwrap();
        let after = v.ex.margin(a.address).await.portfolio;
        assert_eq!((after.collateral, after.settlement_gain(BTC)), (before.collateral + face as i64, 0));
        assert_error(v.claim_settlement_gain(a, BTC).await, ClearshardError::NoSettlementClaim);
        v.ex.assert_conserved().await;
    }
    assert_eq!(btc(&mut v).await.wind_down_cash, 0);

    // Shard 0's shorts lost more than its long gained: its vault sends the
    // difference over, and then every owner withdraws its whole equity.
    v.ex.send_fresh(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    for a in accounts {
        let equity = v.ex.margin(a.address).await.portfolio.collateral;
        let wallet = v.ex.token_balance(a.trader.token_account).await;
        v.ex.withdraw(&a.trader, a.address, a.shard, equity as u64, &[]).await.unwrap();
        assert_eq!(v.ex.token_balance(a.trader.token_account).await, wallet + equity as u64);
        v.ex.assert_conserved().await;
    }
    // The vaults hold only the venue's fees and the fund's share.
    let t = v.ex.assert_conserved().await;
    assert_eq!((t.collateral, t.vault_tokens as i128), (0, t.fees + t.insurance_owed));
}

#[tokio::test]
async fn a_dead_feed_falls_back_to_the_last_accepted_price_only_after_a_week() {
    let mut v = Venue::new(1).await;
    v.set_btc(104).await;
    let accepted = v.ex.risk_markets(&[BTC]).await[0].banded_oracle();
    let (a, b) = traded_pair(&mut v, 0, 10).await;
    // A print no trade was checked against is not an accepted price.
    v.ex.advance_clock(TIMEOUT / 2).await;
    v.set_btc(90).await;
    // Silent past the timeout, but the feed is only quiet (a weekend, an
    // outage): no wind-down, and no fallback, before a week without a trade.
    v.ex.advance_clock(TIMEOUT).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::StaleOracle);
    v.ex.advance_clock(FEED_DEATH_SECS - TIMEOUT * 3 / 2 - 60).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::StaleOracle);
    v.ex.advance_clock(TIMEOUT).await;
    v.wind_down(BTC).await.unwrap();
    v.ex.advance_clock(TIMEOUT).await;
    v.wind_down(BTC).await.unwrap();
    assert_eq!(btc(&mut v).await.settlement_price, accepted);
    // A wound-down market reads no oracle: the dead feed keeps no one in.
    for account in [&a, &b] {
        v.close_at_settlement(account, BTC).await.unwrap();
        v.ex.assert_conserved().await;
    }
    let equity = v.ex.margin(a.address).await.portfolio.collateral as u64;
    v.ex.withdraw(&a.trader, a.address, 0, equity, &[]).await.unwrap();
    v.ex.assert_conserved().await;
}

/// A close that leaves the account under water records where the deficit
/// arose; the fund covers it first, the rest is registered against the
/// market's settlement pool and paid, out of the maker's gain, once the
/// market is final.
#[tokio::test]
async fn a_bankrupt_close_is_covered_by_the_fund_then_by_the_settlement_pool() {
    let mut v = Venue::new(1).await;
    let (long, maker) = v.leveraged_long(0, 61 * USDC).await;
    v.ex.fund_insurance(USDC).await;
    // BTC falls 15% and holds for hours: the feed's average follows.
    v.wind_down_btc_at(85).await;
    let price = btc(&mut v).await.settlement_price;
    assert_eq!(price, v.feed_average(BTC).await);
    v.close_at_settlement(&long, BTC).await.unwrap();
    v.ex.assert_conserved().await;
    let closed = v.ex.margin(long.address).await.portfolio;
    assert!(closed.collateral < -(USDC as i64), "{}", closed.collateral);
    assert_eq!(closed.loss_markets().map(|(m, _)| m).collect::<Vec<_>>(), vec![BTC]);
    assert_eq!(v.ex.shard(0).await.loss_records(BTC).unwrap(), 1);

    // The fund first; the rest is registered, not spread over the lots
    // that happen to be open (the maker's), and nothing is final yet.
    v.ex.send_fresh(&[ix::socialize_loss(long.address, 0, &[BTC], 1)], &[]).await.unwrap();
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.insurance_fund(), 0);
    let deficit = closed.collateral.unsigned_abs() - USDC;
    let registered = v.ex.margin(long.address).await.portfolio;
    assert_eq!((registered.collateral, registered.settlement_recovery(BTC)), (-(deficit as i64), deficit));
    assert_eq!(registered.loss_markets().count(), 0);
    assert_eq!(v.ex.shard(0).await.loss_records(BTC).unwrap(), 0);
    let m = btc(&mut v).await;
    assert_eq!((m.cumulative_loss, m.deficits_held), (0, deficit));
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownPositionsOpen);
    assert_error(v.claim_settlement_gain(&long, BTC).await, ClearshardError::WindDownNotFinal);

    let before = v.ex.margin(maker.address).await.portfolio.collateral;
    v.close_at_settlement(&maker, BTC).await.unwrap();
    let after = v.ex.margin(maker.address).await.portfolio;
    let gain = 100 * (btc_market().tick_size * u64::from(BTC_TICKS) - price);
    assert_eq!((after.collateral, after.settlement_gain(BTC)), (before - 100 * price as i64 - gain as i64, gain));
    v.ex.assert_conserved().await;

    // Final: the deficit is paid in full out of the maker's gain, which is
    // paid the rest; the book is empty.
    v.finalize_wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    let rates = (m.recovery_pool, m.recovery_faces, m.payout_pool, m.payout_faces);
    assert_eq!(rates, (deficit, deficit, gain - deficit, gain));
    v.claim_settlement_gain(&long, BTC).await.unwrap();
    assert_eq!(v.ex.margin(long.address).await.portfolio.collateral, 0);
    v.claim_settlement_gain(&maker, BTC).await.unwrap();
    let paid = v.ex.margin(maker.address).await.portfolio;
    assert_eq!((paid.collateral, paid.settlement_gain(BTC)), (after.collateral + (gain - deficit) as i64, 0));
    let m = btc(&mut v).await;
    assert_eq!((m.wind_down_lots, m.wind_down_cash, m.gains_held, m.deficits_held), (0, 0, 0, 0));
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn silence_counts_from_the_last_pause_and_an_armed_wind_down_is_voided_or_lapses() {
    let mut v = Venue::new(1).await;
    let (a, b) = traded_pair(&mut v, 0, 10).await;
    v.ex.advance_clock(3_600).await;
    v.pause(None, PAUSE_SETTLEMENT).await;
    v.ex.advance_clock(3_600).await;
    v.pause(None, 0).await;
    v.ex.advance_clock(TIMEOUT - 7_200 + 1).await;
    v.set_btc(100).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    v.ex.advance_clock(7_200).await;
    v.set_btc(100).await;
    v.wind_down(BTC).await.unwrap();
    let armed = btc(&mut v).await.wind_down_armed_at;
    assert_eq!(armed, v.ex.now().await);

    // The matcher comes back: the next call, a timeout on, arms afresh.
    v.settle(0, &[BTC], &[&a, &b], &[fill(1, 0, 0, true, 10, BTC_TICKS)]).await.unwrap();
    v.ex.advance_clock(TIMEOUT + 1).await;
    v.set_btc(100).await;
    v.wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    assert_eq!((m.wound_down, m.wind_down_armed_at), (0, v.ex.now().await));
    // An arming not completed within two timeouts lapses and is armed afresh.
    v.ex.advance_clock(2 * TIMEOUT + 1).await;
    v.set_btc(100).await;
    v.wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    assert_eq!((m.wound_down, m.wind_down_armed_at), (0, v.ex.now().await));
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    v.wind_down(BTC).await.unwrap();
    assert_eq!(btc(&mut v).await.wound_down, 1);
    v.ex.assert_conserved().await;
}

/// The proof reads every shard in one transaction at the largest venue the
/// program accepts (through a lookup table, as a client sends it).
#[tokio::test]
async fn wind_down_fits_one_transaction_at_the_most_shards_accepted() {
    let mut v = Venue::new(MAX_SHARDS).await;
    v.ex.advance_clock(TIMEOUT + 1).await;
    v.set_btc(100).await;
    let shards: Vec<u16> = (0..MAX_SHARDS).collect();
    let wind_down = ix::wind_down_market(BTC, pda::price_feed(BTC), &shards, None);
    let keys: Vec<_> = wind_down.accounts.iter().map(|a| a.pubkey).collect();
    let table = v.ex.create_lookup_table(&keys).await;
    let blockhash = v.ex.blockhash().await;
    let tx = table_transaction(&v.matcher, &[wind_down], &table, blockhash).unwrap();
    v.ex.send_versioned(tx).await.unwrap();
    assert_eq!(btc(&mut v).await.wind_down_armed_at, v.ex.now().await);
}

/// The admin's delisting: announced a timelock ahead while the matcher
/// serves; once due, anyone winds the market down in one call with no
/// silence, at the feed's average. A cancelled delisting, one a pause
/// interrupted, and one nobody carried out within a day of its due time
/// wind nothing down: then only silence does.
#[tokio::test]
async fn the_admin_delists_through_the_timelock() {
    const HOUR: i64 = 3_600;
    let mut v = Venue::governed(1, Governance { timelock_secs: HOUR as u32, test_venue: true }).await;
    v.ex.advance_clock(HOUR).await;
    v.set_btc(100).await;
    let (a, b) = traded_pair(&mut v, 0, 10).await;
    let admin = v.ex.admin.pubkey();
    let delist = ix::delist_market(admin, BTC);
    let serve = |lots| [fill(1, 0, 0, lots % 2 == 0, lots, BTC_TICKS)];

    // Cancelled: due, but it winds nothing down.
    v.ex.send_admin(std::slice::from_ref(&delist)).await.unwrap();
    assert_eq!(btc(&mut v).await.delist_due, v.ex.now().await + HOUR);
    v.ex.send_admin(&[ix::cancel_market_change(admin, BTC)]).await.unwrap();
    v.ex.advance_clock(HOUR).await;
    v.set_btc(100).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    // A pause since it was queued voids it.
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(std::slice::from_ref(&delist)).await.unwrap();
    v.ex.advance_clock(60).await;
    v.pause(None, PAUSE_SETTLEMENT).await;
    v.ex.advance_clock(60).await;
    v.pause(None, 0).await;
    v.ex.advance_clock(HOUR).await;
    v.set_btc(100).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    // Not carried out within a day of its due time: lapsed.
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(std::slice::from_ref(&delist)).await.unwrap();
    v.ex.advance_clock(HOUR + 86_400 - 60).await;
    v.set_btc(100).await;
    v.allow_markets(&[&a, &b], 0b11).await;
    v.settle(0, &[BTC], &[&a, &b], &serve(2)).await.unwrap();
    v.ex.advance_clock(61).await;
    v.set_btc(100).await;
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    assert_eq!(btc(&mut v).await.wound_down, 0);
    v.ex.assert_conserved().await;

    // Queued again: the matcher serves up to the due time, then anyone
    // winds the market down in one call, at the feed's moving average.
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(std::slice::from_ref(&delist)).await.unwrap();
    v.ex.advance_clock(HOUR - 1).await;
    v.set_btc(102).await;
    v.settle(0, &[BTC], &[&a, &b], &serve(3)).await.unwrap();
    assert_error(v.wind_down(BTC).await, ClearshardError::MarketStillLive);
    v.ex.advance_clock(1).await;
    v.set_btc(102).await;
    let expected = v.feed_average(BTC).await;
    v.wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    assert_eq!((m.wound_down, m.settlement_price, m.wound_down_at), (1, expected, v.ex.now().await));
    assert_eq!(m.wind_down_armed_at, 0);
    v.ex.assert_conserved().await;
    assert_error(v.settle(0, &[BTC], &[&a, &b], &serve(4)).await, ClearshardError::MarketWoundDown);
    assert_error(v.ex.send_admin(std::slice::from_ref(&delist)).await, ClearshardError::MarketWoundDown);
    for account in [&a, &b] {
        v.close_at_settlement(account, BTC).await.unwrap();
        v.ex.assert_conserved().await;
    }
    assert_eq!(btc(&mut v).await.wind_down_lots, 0);
}
