//! The admin's changes that can move value (market parameters, a market's
//! price source, a new matcher) wait out the exchange's timelock, announced
//! by an event, so that owners can leave first; anyone applies them when due,
//! the admin may cancel them, and what only stops things applies at once.

use anchor_lang::prelude::Pubkey;
use clearshard::errors::ClearshardError;
use clearshard::instructions::MarketConfig;
use clearshard::state::{Market, OracleKind, MIN_TIMELOCK_SECS, PAUSE_DEPOSITS, PAUSE_WITHDRAWALS, PYTH_RECEIVER_ID};
use clearshard_client::bank::{Governance, PythPrice, TestExchange};
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

const HOUR: u32 = 3_600;

/// A test venue with an hour's timelock, past its matcher's registration.
async fn venue() -> Venue {
    let mut v = Venue::governed(1, Governance { timelock_secs: HOUR, test_venue: true }).await;
    v.ex.advance_clock(i64::from(HOUR)).await;
    refresh_prices(&mut v).await;
    v
}

async fn refresh_prices(v: &mut Venue) {
    v.set_btc(100).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
}

async fn market(v: &mut Venue, id: u16) -> Market {
    v.ex.load::<Market>(pda::market(id)).await
}

#[tokio::test]
async fn a_venue_that_is_not_a_test_venue_waits_at_least_a_day() {
    let short = Governance { timelock_secs: MIN_TIMELOCK_SECS - 1, test_venue: false };
    assert_error(TestExchange::start_with(1, short).await.map(|_| ()), ClearshardError::TimelockTooShort);
    let day = Governance { timelock_secs: MIN_TIMELOCK_SECS, test_venue: false };
    let mut ex = TestExchange::start_with(1, day).await.unwrap();
    let exchange = ex.exchange().await;
    assert_eq!((exchange.timelock_secs, exchange.test_venue), (MIN_TIMELOCK_SECS, 0));
    // Such a venue lists no market that the admin's feed prices.
    let admin = ex.admin.pubkey();
    let test_market = ix::add_market(admin, 0, "BTC-PERP", btc_market(), true);
    assert_error(ex.send_admin(&[test_market]).await, ClearshardError::NotATestVenue);
    ex.send_admin(&[ix::add_market(admin, 0, "BTC-PERP", btc_market(), false)]).await.unwrap();
    assert_eq!(ex.exchange().await.market_count, 1);
}

#[tokio::test]
async fn market_parameters_wait_out_the_timelock_and_owners_can_leave_first() {
    let mut v = venue().await;
    let admin = v.ex.admin.pubkey();
    let (long, _maker) = v.leveraged_long(0, 100 * USDC).await;
    let before = market(&mut v, BTC).await.params;
    // Doubling initial margin would leave the long under it: queued, not applied.
    let stricter = MarketConfig { initial_margin_bps: 2_000, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(admin, BTC, stricter)]).await.unwrap();
    let now = v.ex.now().await;
    let queued = market(&mut v, BTC).await;
    assert_eq!(queued.params, before);
    assert_eq!((queued.pending.params_due, queued.pending.params.initial_margin_bps), (now + 3_600, 2_000));
    let apply = ix::apply_market_change(BTC);
    assert_error(v.ex.send(std::slice::from_ref(&apply), &[]).await, ClearshardError::ChangeNotDue);
    // Within the delay the owner takes out what the old rule allows.
    v.ex.withdraw(&long.trader, long.address, 0, 30 * USDC, &[BTC]).await.unwrap();
    v.ex.advance_clock(3_599).await;
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, ClearshardError::ChangeNotDue);
    v.ex.advance_clock(1).await;
    // Anyone applies it once due.
    let anyone = Keypair::new();
    v.ex.airdrop(&anyone.pubkey(), 1_000_000_000).await;
    v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await.unwrap();
    let applied = market(&mut v, BTC).await;
    assert_eq!((applied.params.initial_margin_bps, applied.pending.params_due), (2_000, 0));
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, ClearshardError::NoChangeQueued);

    // A lower open-interest cap only stops things: at once. A higher one waits.
    let lower = MarketConfig { max_open_interest_per_shard: 1_000, ..stricter };
    v.ex.send_admin(&[ix::update_market(admin, BTC, lower)]).await.unwrap();
    assert_eq!(market(&mut v, BTC).await.params.max_open_interest_per_shard, 1_000);
    let higher = MarketConfig { max_open_interest_per_shard: 2_000, ..stricter };
    v.ex.send_admin(&[ix::update_market(admin, BTC, higher)]).await.unwrap();
    assert_eq!(market(&mut v, BTC).await.params.max_open_interest_per_shard, 1_000);
    // Only the admin cancels; a cancelled change never applies.
    let intruder = Keypair::new();
    v.ex.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let cancel = ix::cancel_market_change(intruder.pubkey(), BTC);
    assert_error(v.ex.send(&[cancel], &[&intruder]).await, ClearshardError::NotAdmin);
    v.ex.send_admin(&[ix::cancel_market_change(admin, BTC)]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, ClearshardError::NoChangeQueued);
    assert_error(v.ex.send_admin(&[ix::cancel_market_change(admin, BTC)]).await, ClearshardError::NoChangeQueued);
    assert_eq!(market(&mut v, BTC).await.params.max_open_interest_per_shard, 1_000);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_price_source_switch_waits_but_a_first_source_applies_at_once() {
    let mut v = venue().await;
    let admin = v.ex.admin.pubkey();
    let pyth = Pubkey::new_unique();
    let now = v.ex.now().await;
    let update = PythPrice {
        feed_id: [7; 32],
        price: 60_000 * 100_000_000,
        confidence: 1_000_000,
        expo: -8,
        publish_time: now,
        partial_signatures: None,
        ema_price: None,
    };
    v.ex.set_pyth_price(pyth, PYTH_RECEIVER_ID, &update);
    v.ex.send_admin(&[ix::set_market_oracle(admin, BTC, OracleKind::Pyth, pyth, [7; 32])]).await.unwrap();
    let queued = market(&mut v, BTC).await;
    assert_eq!(queued.oracle, pda::price_feed(BTC));
    assert_eq!((queued.pending.oracle, queued.pending.oracle_due), (pyth, now + 3_600));
    // The built-in feed still prices BTC meanwhile.
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 1_000 * USDC).await;
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 10, BTC_TICKS)]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    v.ex.send_fresh(&[ix::apply_market_change(BTC)], &[]).await.unwrap();
    let switched = market(&mut v, BTC).await;
    assert_eq!((switched.oracle, switched.oracle_kind, switched.pyth_feed_id), (pyth, 1, [7; 32]));

    // A market with no price yet takes its first source at once, and trades
    // only a timelock after it: its traders see the feed a day ahead too.
    v.ex.send_admin(&[ix::add_market(admin, 2, "SOL-PERP", btc_market(), false)]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    v.ex.send_admin(&[ix::set_market_oracle(admin, 2, OracleKind::Pyth, pyth, [7; 32])]).await.unwrap();
    let now = v.ex.now().await;
    let sol = market(&mut v, 2).await;
    assert_eq!((sol.oracle, sol.priced, sol.listed_from), (pyth, 1, now + 3_600));
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_new_matcher_posts_nothing_before_the_timelock_and_a_revocation_is_immediate() {
    let mut v = Venue::governed(1, Governance { timelock_secs: HOUR, test_venue: true }).await;
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 1_000 * USDC).await;
    let buy = [fill(0, 1, 0, true, 10, BTC_TICKS)];
    let before = v.portfolios(&[&t, &m]).await;
    assert_error(v.settle(0, &[BTC], &[&t, &m], &buy).await, ClearshardError::MatcherNotYetActive);
    v.ex.advance_clock(i64::from(HOUR) - 1).await;
    refresh_prices(&mut v).await;
    assert_error(v.settle(0, &[BTC], &[&t, &m], &buy).await, ClearshardError::MatcherNotYetActive);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
    v.ex.advance_clock(1).await;
    v.settle(0, &[BTC], &[&t, &m], &buy).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots, 10);
    let admin = v.ex.admin.pubkey();
    v.ex.send_admin(&[ix::revoke_matcher(admin, v.matcher.pubkey())]).await.unwrap();
    assert_error(v.settle(0, &[BTC], &[&t, &m], &buy).await, ClearshardError::MatcherRevoked);
    v.ex.assert_conserved().await;
}

/// The review's bypasses, each refused. A switch to the default key (how an
/// unpriced market reads) would have re-armed the "first source applies at
/// once" rule; a fresh listing traded at once; a pause kept owners in while a
/// queued change came due (also lifted for the one transaction that applies
/// it); a cap cut trapped owners under a queued change; a change nobody
/// applied waited for the admin's moment; a stolen key handed the exchange
/// over in one transaction.
#[tokio::test]
async fn the_timelock_has_no_way_around() {
    let mut v = venue().await;
    let admin = v.ex.admin.pubkey();
    // No market is ever pointed at the default key; once priced, every switch waits.
    let unset = ix::set_market_oracle(admin, BTC, OracleKind::Pyth, Pubkey::default(), [7; 32]);
    assert_error(v.ex.send_admin(&[unset]).await, ClearshardError::WrongOracle);
    assert_eq!(market(&mut v, BTC).await.priced, 1);

    // A new listing trades only after the timelock.
    v.ex.send_admin(&[ix::add_market(admin, 2, "SOL-PERP", btc_market(), true)]).await.unwrap();
    v.ex.set_price(2, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    let now = v.ex.now().await;
    assert_eq!(market(&mut v, 2).await.listed_from, now + 3_600);
    let t = v.account(0, 1_000 * USDC).await;
    let m = v.account(0, 1_000 * USDC).await;
    v.allow_markets(&[&t, &m], 0b111).await;
    let sol = [fill(0, 1, 0, true, 10, BTC_TICKS)];
    assert_error(v.settle(0, &[2], &[&t, &m], &sol).await, ClearshardError::MarketNotYetListed);

    // A queued change does not apply while owners anywhere cannot leave.
    let stricter = MarketConfig { initial_margin_bps: 2_000, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(admin, BTC, stricter)]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    refresh_prices(&mut v).await;
    v.ex.set_price(2, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.settle(0, &[2], &[&t, &m], &sol).await.unwrap();
    let apply = ix::apply_market_change(BTC);
    let blocked = ClearshardError::ChangeBlockedByPause;
    // The exchange's withdrawals, then shard 0's deposits (one pause window).
    v.pause(None, PAUSE_WITHDRAWALS).await;
    for (shard, flags, next) in [(None, PAUSE_WITHDRAWALS, Some(0)), (Some(0), PAUSE_DEPOSITS, None)] {
        assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, blocked);
        // Unpause, apply and pause again in one transaction: refused all the same.
        let one_tx = [ix::set_pause(admin, shard, 0), apply.clone(), ix::set_pause(admin, shard, flags)];
        assert_error(v.ex.send_admin(&one_tx).await, blocked);
        if let Some(next) = next {
            v.pause(Some(next), PAUSE_DEPOSITS).await;
        }
        v.pause(shard, 0).await;
    }
    // Lifted after the change was queued: owners could not leave all along.
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, blocked);
    assert_eq!(v.ex.exchange().await.shards_paused, 0);
    // Queued again, but not applied within a timelock of its due time: expired.
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(&[ix::update_market(admin, BTC, stricter)]).await.unwrap();
    v.ex.advance_clock(3_600 + 3_601).await;
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, ClearshardError::ChangeExpired);
    assert_eq!(market(&mut v, BTC).await.params.initial_margin_bps, 1_000);
    // A restriction (a lower cap, at once) voids what was queued for the market.
    v.ex.send_admin(&[ix::cancel_market_change(admin, BTC)]).await.unwrap();
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(&[ix::update_market(admin, BTC, stricter)]).await.unwrap();
    let capped = MarketConfig { max_open_interest_per_shard: 1_000, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(admin, BTC, capped)]).await.unwrap();
    v.ex.advance_clock(3_600).await;
    assert_error(v.ex.send_fresh(std::slice::from_ref(&apply), &[]).await, ClearshardError::NoChangeQueued);
    assert_eq!(market(&mut v, BTC).await.params.max_open_interest_per_shard, 1_000);

    // The handover waits out the timelock too.
    let new = Keypair::new();
    v.ex.airdrop(&new.pubkey(), 1_000_000_000).await;
    v.ex.send_admin(&[ix::propose_admin(admin, new.pubkey())]).await.unwrap();
    assert_error(v.ex.send(&[ix::accept_admin(new.pubkey())], &[&new]).await, ClearshardError::ChangeNotDue);
    v.ex.advance_clock(3_600).await;
    v.ex.send_fresh(&[ix::accept_admin(new.pubkey())], &[&new]).await.unwrap();
    assert_eq!(v.ex.exchange().await.admin, new.pubkey());
    v.ex.assert_conserved().await;
}

/// A proposal nobody accepted lapses a day (or a timelock, if longer) after
/// it became acceptable: a forgotten successor key, stolen later, takes
/// nothing over.
#[tokio::test]
async fn a_stale_admin_proposal_cannot_be_taken_up() {
    let mut v = venue().await;
    let admin = v.ex.admin.pubkey();
    let successor = Keypair::new();
    v.ex.airdrop(&successor.pubkey(), 1_000_000_000).await;
    v.ex.send_admin(&[ix::propose_admin(admin, successor.pubkey())]).await.unwrap();
    v.ex.advance_clock(i64::from(HOUR + MIN_TIMELOCK_SECS) + 1).await;
    let r = v.ex.send(&[ix::accept_admin(successor.pubkey())], &[&successor]).await;
    assert_error(r, ClearshardError::ChangeExpired);
    assert_eq!(v.ex.exchange().await.admin, admin);
    // Proposed afresh, it is taken up within its window.
    v.ex.send_admin(&[ix::propose_admin(admin, successor.pubkey())]).await.unwrap();
    v.ex.advance_clock(i64::from(HOUR + MIN_TIMELOCK_SECS)).await;
    v.ex.send_fresh(&[ix::accept_admin(successor.pubkey())], &[&successor]).await.unwrap();
    assert_eq!(v.ex.exchange().await.admin, successor.pubkey());
}

/// A cap cut applies at once (it only stops things), even below today's
/// open interest: it must stop new exposure, never trap an owner who wants
/// out. A position changing hands at equal interest passes, whichever side
/// takes; growth beyond the interest before the batch does not.
#[tokio::test]
async fn a_cut_cap_stops_new_exposure_but_never_an_exit() {
    let mut v = venue().await;
    let admin = v.ex.admin.pubkey();
    let (long, short) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let (maker, newcomer) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    v.settle(0, &[BTC], &[&long, &short], &[fill(0, 1, 0, true, 10, BTC_TICKS)]).await.unwrap();
    let capped = MarketConfig { max_open_interest_per_shard: 0, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(admin, BTC, capped)]).await.unwrap();
    assert_eq!(market(&mut v, BTC).await.params.max_open_interest_per_shard, 0);

    // New exposure is refused, and changes nothing.
    let before = v.portfolios(&[&newcomer, &maker]).await;
    let sequence = v.next_sequence(0).await;
    let r = v.settle(0, &[BTC], &[&newcomer, &maker], &[fill(0, 1, 0, true, 1, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::OpenInterestCapExceeded);
    v.assert_unchanged(0, sequence, &[&newcomer, &maker], &before).await;
    // The long sells out to the flat maker (the taker's side booked first)...
    v.settle(0, &[BTC], &[&long, &maker], &[fill(0, 1, 0, false, 10, BTC_TICKS)]).await.unwrap();
    // ...and the short buys back from the newcomer (the maker's side first).
    v.settle(0, &[BTC], &[&newcomer, &short], &[fill(0, 1, 0, false, 10, BTC_TICKS)]).await.unwrap();
    let oi = v.ex.shard(0).await.open_interest(BTC);
    assert_eq!((oi.long, oi.short), (10, 10));
    for (account, lots) in [(&long, 0), (&short, 0), (&maker, 10), (&newcomer, -10)] {
        let p = v.ex.margin(account.address).await.portfolio;
        assert_eq!(p.positions.iter().filter(|p| p.is_open()).map(|p| p.base_lots).sum::<i64>(), lots);
    }
    // One lot more than changes hands is growth: refused.
    let r = v.settle(0, &[BTC], &[&long, &maker], &[fill(0, 1, 0, false, 11, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::OpenInterestCapExceeded);
    // So is exposure recycled: a close, then a new position, in one batch.
    let recycled = [fill(0, 1, 0, false, 10, BTC_TICKS), fill(2, 3, 0, true, 10, BTC_TICKS)];
    let r = v.settle(0, &[BTC], &[&maker, &newcomer, &long, &short], &recycled).await;
    assert_error(r, ClearshardError::OpenInterestCapExceeded);
    let oi = v.ex.shard(0).await.open_interest(BTC);
    assert_eq!((oi.long, oi.short), (10, 10));
    v.ex.assert_conserved().await;
}
