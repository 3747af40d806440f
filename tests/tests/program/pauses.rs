//! The admin's bound on pausing: every pause lapses `MAX_PAUSE_SECS` after
//! the window it belongs to began, changing flags does not renew it, and a
//! new window, on any scope, waits `PAUSE_GAP_SECS` after the last ended.
//! Owners are never held in for more than three days, and get a day out of
//! every four at worst.

use clearshard::errors::ClearshardError;
use clearshard::state::{MAX_PAUSE_SECS, PAUSE_ALL, PAUSE_GAP_SECS, PAUSE_SETTLEMENT, PAUSE_WITHDRAWALS};
use clearshard_tests::*;

/// Scope `None` is the exchange, `Some(i)` shard `i`: both lapse alike.
async fn a_pause_lapses_on(shard: Option<u16>) {
    let mut v = Venue::new(2).await;
    let owner = v.account(0, 1_000 * USDC).await;
    let maker = v.account(0, 10_000 * USDC).await;
    let started = v.ex.now().await;
    v.pause(shard, PAUSE_WITHDRAWALS).await;
    let r = v.ex.withdraw(&owner.trader, owner.address, 0, USDC, &[]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);

    // Two days in, the admin widens the pause: it keeps its start.
    v.ex.advance_clock(2 * 86_400).await;
    v.pause(shard, PAUSE_ALL).await;
    assert_eq!(v.ex.exchange().await.pause.started_at, started);
    v.ex.advance_clock(MAX_PAUSE_SECS - 2 * 86_400 - 1).await;
    let r = v.ex.withdraw(&owner.trader, owner.address, 0, USDC, &[]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
    v.set_btc(100).await;
    let batch = [fill(0, 1, 0, true, 10, BTC_TICKS)];
    assert_error(v.settle(0, &[BTC], &[&owner, &maker], &batch).await, ClearshardError::SettlementPaused);

    // Three days after it began, it holds nobody, though never lifted.
    v.ex.advance_clock(1).await;
    v.ex.withdraw(&owner.trader, owner.address, 0, USDC, &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(owner.trader.token_account).await, USDC);
    v.ex.assert_conserved().await;
    v.allow_markets(&[&owner, &maker], 0b11).await; // their limits of three days ago expired
    v.settle(0, &[BTC], &[&owner, &maker], &batch).await.unwrap();
    v.ex.assert_conserved().await;

    // No renewal until a day after it lapsed, lifted or not (lifting, or
    // lowering flags, is always allowed).
    v.pause(shard, PAUSE_WITHDRAWALS).await;
    let state = |ex: clearshard::state::Exchange, shard: clearshard::state::Shard| format!("{ex:?} {shard:?}");
    let before = state(v.ex.exchange().await, v.ex.shard(0).await);
    let r = v.try_pause(shard, PAUSE_ALL).await;
    assert_error(r, ClearshardError::PauseTooSoon);
    assert_eq!(state(v.ex.exchange().await, v.ex.shard(0).await), before);
    v.ex.withdraw(&owner.trader, owner.address, 0, USDC, &[BTC]).await.unwrap();
    v.pause(shard, 0).await;
    v.ex.advance_clock(PAUSE_GAP_SECS - 1).await;
    assert_error(v.try_pause(shard, PAUSE_WITHDRAWALS).await, ClearshardError::PauseTooSoon);
    v.ex.advance_clock(1).await;
    v.pause(shard, PAUSE_WITHDRAWALS).await;
    let r = v.ex.withdraw(&owner.trader, owner.address, 0, USDC, &[BTC]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
}

#[tokio::test]
async fn a_shard_pause_lapses_after_three_days_and_is_not_renewed_for_a_day() {
    a_pause_lapses_on(Some(0)).await;
}

#[tokio::test]
async fn an_exchange_pause_lapses_after_three_days_and_is_not_renewed_for_a_day() {
    a_pause_lapses_on(None).await;
}

/// Lifting early does not reset the bound: the next pause, on any scope,
/// waits a day, so short pauses back to back cannot hold owners in either.
#[tokio::test]
async fn a_lifted_pause_waits_a_day_before_the_next_anywhere() {
    let mut v = Venue::new(2).await;
    let owner = v.account(1, 100 * USDC).await;
    v.pause(Some(1), PAUSE_SETTLEMENT).await;
    v.ex.advance_clock(3_600).await;
    v.pause(Some(1), 0).await;
    for scope in [Some(1), Some(0), None] {
        assert_error(v.try_pause(scope, PAUSE_WITHDRAWALS).await, ClearshardError::PauseTooSoon);
    }
    v.ex.withdraw(&owner.trader, owner.address, 1, USDC, &[]).await.unwrap();
    v.ex.assert_conserved().await;
    v.ex.advance_clock(PAUSE_GAP_SECS).await;
    v.pause(Some(1), PAUSE_WITHDRAWALS).await;
    let r = v.ex.withdraw(&owner.trader, owner.address, 1, USDC, &[]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
}

/// Scopes share one clock: a pause of the exchange and one of a shard,
/// taken in turn, lapse with the window the first began, and neither may
/// start again until a day after (the attack: exchange for three days, then
/// the shard for three, then the exchange again, for ever).
#[tokio::test]
async fn alternating_scopes_cannot_chain_pauses() {
    let mut v = Venue::new(2).await;
    let owner = v.account(1, 100 * USDC).await;
    v.pause(None, PAUSE_WITHDRAWALS).await;
    v.ex.advance_clock(2 * 86_400).await;
    // Within the window, another scope joins it and lapses with it.
    v.pause(Some(1), PAUSE_WITHDRAWALS).await;
    v.pause(None, 0).await;
    v.ex.advance_clock(MAX_PAUSE_SECS - 2 * 86_400 - 1).await;
    let r = v.ex.withdraw(&owner.trader, owner.address, 1, USDC, &[]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
    v.ex.advance_clock(1).await;
    v.ex.withdraw(&owner.trader, owner.address, 1, USDC, &[]).await.unwrap();
    v.ex.assert_conserved().await;
    // Shard 1's own flags wait out the gap; any other scope would revive
    // them, lapsed but still set.
    assert_error(v.try_pause(Some(1), PAUSE_ALL).await, ClearshardError::PauseTooSoon);
    for scope in [None, Some(0)] {
        assert_error(v.try_pause(scope, PAUSE_ALL).await, ClearshardError::LapsedPauseStillSet);
    }
    v.ex.advance_clock(PAUSE_GAP_SECS - 1).await;
    assert_error(v.try_pause(Some(1), PAUSE_ALL).await, ClearshardError::PauseTooSoon);
    v.ex.advance_clock(1).await;
    // A day after the window lapsed, a new one may open, but not while shard
    // 1's lapsed flags are still set: they would come back unannounced.
    assert_error(v.try_pause(Some(0), PAUSE_SETTLEMENT).await, ClearshardError::LapsedPauseStillSet);
    v.pause(Some(1), 0).await;
    v.pause(Some(0), PAUSE_SETTLEMENT).await;
    v.ex.withdraw(&owner.trader, owner.address, 1, USDC, &[]).await.unwrap();
    assert_eq!(v.ex.exchange().await.shards_paused, 1);
    v.ex.assert_conserved().await;
}
