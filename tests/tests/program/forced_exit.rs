//! An owner's way out against a live matcher (issue 14, finding 3; #15):
//! `request_exit` makes the account reduce-only, closable within the exit
//! band whatever its limits; a market that still holds its only position
//! the liveness timeout T after the request may be armed for a wind-down by
//! anyone, and completed T later if the exit is still unserved, so a
//! matcher that keeps a market alive to bleed an owner through funding
//! keeps it at most 2T. Conservation after every step.

use clearshard::errors::ClearshardError;
use clearshard::state::{Market, MAX_SHARDS, PAUSE_SETTLEMENT, PAUSE_WITHDRAWALS};
use clearshard_client::packing::table_transaction;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::funding::MAX_FUNDING_BPS_PER_PERIOD;
use clearshard_engine::market::DEFAULT_LIVENESS_TIMEOUT_MINS;
use clearshard_engine::BPS;
use clearshard_tests::*;
use solana_program_test::BanksClientError;

const TIMEOUT: i64 = DEFAULT_LIVENESS_TIMEOUT_MINS as i64 * 60;
/// 5% above the oracle: the band's edge, where a wash sets the capped rate.
const EDGE: u32 = BTC_TICKS + BTC_TICKS / 20;

async fn request_exit(v: &mut Venue, account: &Account, requested: bool) -> Result<(), BanksClientError> {
    let call = ix::request_exit(account.trader.key(), account.address, requested);
    v.ex.send_fresh(&[call], &[&account.trader.keypair]).await
}

async fn wind_down_for(v: &mut Venue, account: Option<&Account>) -> Result<(), BanksClientError> {
    let shards: Vec<u16> = (0..v.ex.shard_count).collect();
    let call = ix::wind_down_market(BTC, pda::price_feed(BTC), &shards, account.map(|a| a.address));
    v.ex.send_fresh(&[call], &[]).await
}

/// Into the next funding epoch with fresh prices, where the compromised
/// matcher prints a 100-lot wash at the band's edge between two accomplices
/// (alternating sides, so that they stay flat) and anyone runs the round.
async fn bleeding_hour(v: &mut Venue, washers: (&Account, &Account), hour: usize) {
    v.to_epoch(1, 5).await;
    v.set_btc(100).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.funding_round(BTC).await.unwrap();
    let (buyer, seller) = if hour.is_multiple_of(2) { (0, 1) } else { (1, 0) };
    v.settle(0, &[BTC], &[washers.0, washers.1], &[fill(buyer, seller, 0, true, 100, EDGE)]).await.unwrap();
    v.ex.assert_conserved().await;
}

/// The exit, due, arms the wind-down; a timeout later, still unserved, it
/// completes it.
async fn arm_and_complete_for(v: &mut Venue, account: &Account) {
    wind_down_for(v, Some(account)).await.unwrap();
    let armed = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((armed.wound_down, armed.wind_down_armed_at), (0, v.ex.now().await));
    assert_error(wind_down_for(v, Some(account)).await, ClearshardError::WindDownNotDue);
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    wind_down_for(v, Some(account)).await.unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.wound_down, 1);
}

/// Moves the clock to `at` and publishes BTC again at its start price.
async fn until(v: &mut Venue, at: i64) {
    let now = v.ex.now().await;
    v.ex.advance_clock(at - now).await;
    v.set_btc(100).await;
}

async fn lots(v: &mut Venue, account: &Account) -> i64 {
    v.ex.margin(account.address).await.portfolio.position(BTC).map_or(0, |p| p.base_lots)
}

#[tokio::test]
async fn a_matcher_that_keeps_the_market_alive_but_not_an_owners_exit_loses_the_market() {
    let mut v = Venue::new(1).await;
    v.to_epoch(1, 0).await;
    v.set_btc(100).await;
    let victim = v.account(0, 1_000 * USDC).await;
    let accomplice = v.account(0, 1_000 * USDC).await;
    let washers = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    // The matcher opens the victim long at the oracle: no adverse cost.
    v.settle(0, &[BTC], &[&victim, &accomplice], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    for hour in 0..2 {
        bleeding_hour(&mut v, (&washers.0, &washers.1), hour).await;
    }
    // The capped rate is announced an epoch ahead: the victim asks to leave.
    let par = i64::try_from(btc_market().tick_size * u64::from(BTC_TICKS)).unwrap();
    let cap_per_lot = par * i64::try_from(MAX_FUNDING_BPS_PER_PERIOD).unwrap() / i64::try_from(BPS).unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.funding.next_rate, cap_per_lot);
    // It has paid nothing yet: the first capped rate accrues from the next epoch.
    assert_eq!(v.funding_index(BTC).await, 0);
    let at_request = v.ex.margin(victim.address).await.portfolio.collateral + 100 * par;
    request_exit(&mut v, &victim, true).await.unwrap();
    let requested_at = v.ex.now().await;
    assert_eq!(v.ex.margin(victim.address).await.portfolio.exit_requested_at, requested_at);

    // The matcher goes on printing and never serves the exit; the market
    // stays live, so silence never comes.
    let mut hour = 2;
    while v.ex.now().await < requested_at + TIMEOUT - 3_600 {
        bleeding_hour(&mut v, (&washers.0, &washers.1), hour).await;
        hour += 1;
        if v.ex.now().await < requested_at + TIMEOUT {
            assert_error(wind_down_for(&mut v, Some(&victim)).await, ClearshardError::ExitRequestNotDue);
        }
    }
    assert_error(wind_down_for(&mut v, None).await, ClearshardError::MarketStillLive);
    // An account that never asked to exit winds nothing down.
    assert_error(wind_down_for(&mut v, Some(&accomplice)).await, ClearshardError::NoExitRequested);
    until(&mut v, requested_at + TIMEOUT).await;

    // The timeout after the request anyone arms the wind-down, in public;
    // the matcher goes on printing and still does not serve the exit, and a
    // timeout later anyone completes it.
    wind_down_for(&mut v, Some(&victim)).await.unwrap();
    let armed_at = v.ex.load::<Market>(pda::market(BTC)).await.wind_down_armed_at;
    assert_eq!(armed_at, v.ex.now().await);
    // (The accomplices renew their day-long limits.)
    v.allow_markets(&[&washers.0, &washers.1], 0b11).await;
    while v.ex.now().await < armed_at + TIMEOUT - 3_600 {
        bleeding_hour(&mut v, (&washers.0, &washers.1), hour).await;
        hour += 1;
        assert_error(wind_down_for(&mut v, Some(&victim)).await, ClearshardError::WindDownNotDue);
    }
    until(&mut v, armed_at + TIMEOUT).await;
    wind_down_for(&mut v, Some(&victim)).await.unwrap();
    let m = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((m.wound_down, m.wound_down_at), (1, v.ex.now().await));
    v.ex.assert_conserved().await;
    v.close_at_settlement(&victim, BTC).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(m.settlement_price, u64::try_from(par).unwrap(), "the average of a steady feed");
    // Equity at the oracle then, against what closing left.
    let paid = at_request - v.ex.margin(victim.address).await.portfolio.collateral;

    // What the matcher took through funding from the request on: at most the
    // cap over twice the timeout (the settlement price is the oracle's average,
    // the entry price, and closing costs no fee), and it did run at the cap.
    let bound = cap_per_lot * 100 * (m.wound_down_at - requested_at) / 3_600;
    assert!(paid <= bound, "paid {paid} > bound {bound}");
    assert!(paid >= bound * 8 / 10, "the bleed ran at the cap: paid {paid} of {bound}");
    assert_eq!(lots(&mut v, &victim).await, 0);
    let free = u64::try_from(v.ex.margin(victim.address).await.portfolio.collateral).unwrap();
    v.ex.withdraw(&victim.trader, victim.address, 0, free, &[]).await.unwrap();
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn an_exiting_account_only_shrinks_whatever_its_limits_until_the_owner_withdraws_the_request() {
    let mut v = Venue::new(2).await;
    let (t, m) = v.leveraged_long(0, 200 * USDC).await;
    let other = v.account(0, 1_000 * USDC).await;
    // Only the owner asks, once; withdrawing a request that is not there is refused.
    let stranger = v.account(0, 0).await;
    let forged = ix::request_exit(stranger.trader.key(), t.address, true);
    assert_error(v.ex.send_fresh(&[forged], &[&stranger.trader.keypair]).await, ClearshardError::NotOwner);
    assert_error(request_exit(&mut v, &t, false).await, ClearshardError::ExitRequestUnchanged);
    // The owner revokes every limit and asks to leave.
    v.ex.set_limits(&t.trader, t.address, revoked_limits()).await.unwrap();
    request_exit(&mut v, &t, true).await.unwrap();
    assert_error(request_exit(&mut v, &t, true).await, ClearshardError::ExitRequestUnchanged);
    let spent = v.ex.margin(t.address).await.portfolio.cost_window.spent;

    // Nothing adds to it: a matcher's fill, an owner trade, a flip.
    let before = v.portfolios(&[&t, &m]).await;
    let seq = v.next_sequence(0).await;
    for f in [fill(0, 1, 0, true, 1, BTC_TICKS), fill(1, 0, 0, false, 101, BTC_TICKS)] {
        assert_error(v.settle(0, &[BTC], &[&t, &m], &[f]).await, ClearshardError::ExitRequested);
    }
    assert_error(v.owner_trade(&t, &other, BTC, true, 1, BTC_TICKS).await, ClearshardError::ExitRequested);
    v.assert_unchanged(0, seq, &[&t, &m], &before).await;

    // The matcher closes it out at the band's edge, past any limit it had.
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, false, 40, BTC_TICKS - BTC_TICKS / 20)]).await.unwrap();
    v.ex.assert_conserved().await;
    v.owner_trade(&t, &other, BTC, false, 60, BTC_TICKS).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(lots(&mut v, &t).await, 0);
    assert_eq!(v.ex.margin(t.address).await.portfolio.cost_window.spent, spent, "an exit spends no budget");

    // Withdrawn, the request leaves the owner's limits in force again.
    request_exit(&mut v, &t, false).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.exit_requested_at, 0);
    let r = v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 1, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::OwnerLimitsExpired);

    // A liquidator that asked to exit takes over no position.
    let (weak, _) = v.leveraged_long(1, 70 * USDC).await;
    let liqor = v.account(1, 1_000 * USDC).await;
    request_exit(&mut v, &liqor, true).await.unwrap();
    v.set_btc(92).await;
    let lots_allowed = v.liquidatable_lots(&weak, BTC, &[BTC]).await.unwrap();
    assert!(lots_allowed > 0);
    let r = v.liquidate(&liqor, &weak, BTC, lots_allowed, &[BTC]).await;
    assert_error(r, ClearshardError::ExitRequested);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_settlement_pause_gives_the_matcher_its_full_timeout_after_it_ends() {
    let mut v = Venue::new(1).await;
    let (t, m) = v.leveraged_long(0, 200 * USDC).await;
    request_exit(&mut v, &t, true).await.unwrap();
    let requested_at = v.ex.now().await;
    v.ex.advance_clock(TIMEOUT / 2).await;
    v.pause(None, PAUSE_SETTLEMENT).await;
    v.ex.advance_clock(3_600).await;
    v.pause(None, 0).await;
    let resumed = v.ex.now().await;
    until(&mut v, requested_at + TIMEOUT).await;
    assert_error(wind_down_for(&mut v, Some(&t)).await, ClearshardError::ExitRequestNotDue);
    v.ex.advance_clock(resumed - requested_at).await;
    v.set_btc(100).await;
    // Served before anyone calls, the exit winds nothing down.
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, false, 100, BTC_TICKS)]).await.unwrap();
    assert_error(wind_down_for(&mut v, Some(&t)).await, ClearshardError::ExitServed);
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.wound_down, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_pause_that_holds_no_matcher_back_does_not_stop_the_exits_clock() {
    let mut v = Venue::new(2).await;
    let (t, _) = v.leveraged_long(0, 200 * USDC).await;
    let (later, _) = v.leveraged_long(1, 200 * USDC).await;
    request_exit(&mut v, &t, true).await.unwrap();
    let requested_at = v.ex.now().await;
    v.ex.advance_clock(600).await;
    request_exit(&mut v, &later, true).await.unwrap();
    // Withdrawals paused on another shard for an hour: batches, and so the
    // matcher's service (and funding), went on.
    v.ex.advance_clock(TIMEOUT / 2).await;
    v.pause(Some(1), PAUSE_WITHDRAWALS).await;
    v.ex.advance_clock(3_600).await;
    v.pause(Some(1), 0).await;
    until(&mut v, requested_at + TIMEOUT).await;
    // An exit that fell due after the arming cannot complete it, nor put it off.
    wind_down_for(&mut v, Some(&t)).await.unwrap();
    let armed_at = v.ex.now().await;
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    assert_error(wind_down_for(&mut v, Some(&later)).await, ClearshardError::ExitDueAfterArming);
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.wind_down_armed_at, armed_at);
    wind_down_for(&mut v, Some(&t)).await.unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.wound_down, 1);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn an_account_holding_two_markets_moves_one_to_another_of_its_accounts_before_its_exit_forces_anything() {
    let mut v = Venue::new(2).await;
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 100_000 * USDC).await;
    let both = [fill(0, 1, 0, true, 50, BTC_TICKS), fill(0, 1, 1, false, 50, ETH_TICKS)];
    v.settle(0, &[BTC, ETH], &[&t, &m], &both).await.unwrap();
    request_exit(&mut v, &t, true).await.unwrap();
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    // While another market's feed is out no matcher could serve it: an
    // account holding two markets winds neither down.
    assert_error(wind_down_for(&mut v, Some(&t)).await, ClearshardError::ExitHoldsOtherMarkets);
    // The owner moves ETH to another account of its own at the oracle, with
    // no matcher: the exiting side only shrinks.
    let other = v.account_of(t.trader.clone(), 1, 0).await;
    v.ex.transfer(&t.trader, (t.address, 0), (other.address, 1), 200 * USDC, &[BTC, ETH]).await.unwrap();
    v.owner_trade(&t, &other, ETH, true, 50, ETH_TICKS).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.margin(other.address).await.portfolio.position(ETH).map(|p| p.base_lots), Some(-50));
    arm_and_complete_for(&mut v, &t).await;
    assert_eq!(v.ex.load::<Market>(pda::market(ETH)).await.wound_down, 0);
    v.ex.assert_conserved().await;
}

/// A settlement pause after an exit armed the wind-down voids the arming:
/// the matcher gets its whole timeout from the pause's end, then a public
/// warning and another timeout.
#[tokio::test]
async fn a_settlement_pause_after_the_arming_voids_it() {
    let mut v = Venue::new(1).await;
    let (t, _) = v.leveraged_long(0, 200 * USDC).await;
    request_exit(&mut v, &t, true).await.unwrap();
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    wind_down_for(&mut v, Some(&t)).await.unwrap();
    let armed_at = v.ex.now().await;
    v.ex.advance_clock(600).await;
    v.pause(None, PAUSE_SETTLEMENT).await;
    v.ex.advance_clock(3_600).await;
    v.pause(None, 0).await;
    let resumed = v.ex.now().await;
    // The arming's timeout is over, but the pause held the matcher back.
    until(&mut v, armed_at + TIMEOUT).await;
    assert_error(wind_down_for(&mut v, Some(&t)).await, ClearshardError::ExitRequestNotDue);
    until(&mut v, resumed + TIMEOUT).await;
    // Due again: the call arms afresh instead of completing.
    wind_down_for(&mut v, Some(&t)).await.unwrap();
    let m = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((m.wound_down, m.wind_down_armed_at), (0, v.ex.now().await));
    v.ex.assert_conserved().await;
    assert_error(wind_down_for(&mut v, Some(&t)).await, ClearshardError::WindDownNotDue);
    v.ex.advance_clock(TIMEOUT).await;
    v.set_btc(100).await;
    wind_down_for(&mut v, Some(&t)).await.unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.wound_down, 1);
    v.ex.assert_conserved().await;
}

/// Arms and completes through an unserved exit on the last shard of the
/// largest venue the program accepts, each call one transaction through a
/// lookup table (every shard and the exiting account), while the matcher
/// keeps the market alive on shard 0, so that silence arms nothing.
#[tokio::test]
async fn an_unserved_exit_winds_down_in_one_transaction_at_the_most_shards_accepted() {
    let mut v = Venue::new(MAX_SHARDS).await;
    let (t, _) = v.leveraged_long(MAX_SHARDS - 1, 200 * USDC).await;
    let washers = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    request_exit(&mut v, &t, true).await.unwrap();
    let shards: Vec<u16> = (0..MAX_SHARDS).collect();
    let wind_down = ix::wind_down_market(BTC, pda::price_feed(BTC), &shards, Some(t.address));
    let keys: Vec<_> = wind_down.accounts.iter().map(|a| a.pubkey).collect();
    assert_eq!(keys.len(), 4 + usize::from(MAX_SHARDS));
    let table = v.ex.create_lookup_table(&keys).await;
    for (step, wash) in [(0, true), (1, false)] {
        v.ex.advance_clock(TIMEOUT - 600).await;
        v.set_btc(100).await;
        v.settle(0, &[BTC], &[&washers.0, &washers.1], &[fill(0, 1, 0, wash, 1, BTC_TICKS)]).await.unwrap();
        v.ex.advance_clock(600).await;
        v.set_btc(100).await;
        let silence = ix::wind_down_market(BTC, pda::price_feed(BTC), &shards, None);
        let tx = table_transaction(&v.matcher, &[silence], &table, v.ex.blockhash().await).unwrap();
        assert_error(v.ex.send_versioned(tx).await, ClearshardError::MarketStillLive);
        v.ex.refresh_blockhash().await;
        let tx = table_transaction(&v.matcher, std::slice::from_ref(&wind_down), &table, v.ex.blockhash().await);
        v.ex.send_versioned(tx.unwrap()).await.unwrap();
        let m = v.ex.load::<Market>(pda::market(BTC)).await;
        assert_eq!(m.wound_down, step, "step {step}");
        v.ex.assert_conserved().await;
    }
    v.close_at_settlement(&t, BTC).await.unwrap();
    assert_eq!(lots(&mut v, &t).await, 0);
    v.ex.assert_conserved().await;
}
