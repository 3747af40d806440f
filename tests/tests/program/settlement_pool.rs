//! A wound-down market's settlement pool (#15, the loss order of the
//! review of the wind-down): the deficits that arose in a wound-down market
//! come out of the gains its positions closed with, pro rata, whatever the
//! order in which anyone closes, socializes, finalizes, claims or withdraws.
//! Before, an owner who closed and withdrew before a bankrupt account was
//! socialized escaped its share, and once every position was closed a
//! deficit could not be socialized at all. Conservation after every step.

use clearshard::errors::ClearshardError;
use clearshard::state::{Market, PAUSE_SETTLEMENT};
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

async fn btc(v: &mut Venue) -> Market {
    v.ex.load::<Market>(pda::market(BTC)).await
}

/// The four owners of the order test: a leveraged long on shard 0 that the
/// crash leaves bankrupt, its maker (short, a winner), and on shard 1 a
/// long that loses and a short that wins.
struct Owners {
    reckless: Account,
    maker: Account,
    loser: Account,
    winner: Account,
}

impl Owners {
    fn all(&self) -> [&Account; 4] {
        [&self.reckless, &self.maker, &self.loser, &self.winner]
    }
}

/// Opens the four positions, lets BTC fall 15% for hours (the feed's
/// average follows) and winds BTC down there.
async fn crashed_venue() -> (Venue, Owners) {
    let mut v = Venue::new(2).await;
    let (reckless, maker) = v.leveraged_long(0, 61 * USDC).await;
    let (loser, winner) = (v.account(1, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);
    v.settle(1, &[BTC], &[&loser, &winner], &[fill(0, 1, 0, true, 40, BTC_TICKS)]).await.unwrap();
    v.wind_down_btc_at(85).await;
    (v, Owners { reckless, maker, loser, winner })
}

async fn close(v: &mut Venue, a: &Account) {
    v.close_at_settlement(a, BTC).await.unwrap();
    v.ex.assert_conserved().await;
}

async fn socialize(v: &mut Venue, a: &Account) -> Result<(), solana_program_test::BanksClientError> {
    v.ex.send_fresh(&[ix::socialize_loss(a.address, a.shard, &[BTC], 2)], &[]).await
}

async fn claim(v: &mut Venue, a: &Account) {
    v.claim_settlement_gain(a, BTC).await.unwrap();
    v.ex.assert_conserved().await;
}

/// Withdraws all of `a`'s collateral, once vaults are rebalanced.
async fn withdraw_all(v: &mut Venue, a: &Account) {
    for (from, to) in [(0, 1), (1, 0)] {
        if v.ex.vault_surplus(from).await > 0 && v.ex.vault_surplus(to).await < 0 {
            v.ex.send_fresh(&[ix::rebalance_vaults(from, to, &[BTC])], &[]).await.unwrap();
        }
    }
    let collateral = v.ex.margin(a.address).await.portfolio.collateral;
    if collateral > 0 {
        v.ex.withdraw(&a.trader, a.address, a.shard, collateral as u64, &[]).await.unwrap();
    }
    v.ex.assert_conserved().await;
}

/// What each owner's wallet ends with.
async fn wallets(v: &mut Venue, o: &Owners) -> Vec<u64> {
    let mut out = vec![];
    for a in o.all() {
        out.push(v.ex.token_balance(a.trader.token_account).await);
    }
    out
}

#[tokio::test]
async fn the_same_wallets_whatever_the_order_of_closes_socializations_claims_and_withdrawals() {
    // Every close first, then the bankruptcy, finality, the claims.
    let (mut v, o) = crashed_venue().await;
    let mut closed = vec![];
    for a in o.all() {
        close(&mut v, a).await;
        let p = v.ex.margin(a.address).await.portfolio;
        closed.push((p.collateral, p.settlement_gain(BTC)));
    }
    socialize(&mut v, &o.reckless).await.unwrap();
    v.ex.assert_conserved().await;
    v.finalize_wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    for a in [&o.maker, &o.winner, &o.reckless] {
        claim(&mut v, a).await;
    }
    for a in o.all() {
        withdraw_all(&mut v, a).await;
    }
    let first = wallets(&mut v, &o).await;

    // The winners close first and take out everything they can at once,
    // the bankrupt account closes last; the claims come in another order.
    let (mut v, o) = crashed_venue().await;
    for a in [&o.winner, &o.maker] {
        close(&mut v, a).await;
        withdraw_all(&mut v, a).await;
        // Empty but for its gain: the account stays open until it is paid.
        let r = v.ex.send(&[ix::close_margin_account(a.trader.key(), a.address, a.shard)], &[&a.trader.keypair]).await;
        assert_error(r, ClearshardError::MarginAccountNotEmpty);
    }
    close(&mut v, &o.loser).await;
    withdraw_all(&mut v, &o.loser).await;
    close(&mut v, &o.reckless).await;
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownLossesPending);
    socialize(&mut v, &o.reckless).await.unwrap();
    v.finalize_wind_down(BTC).await.unwrap();
    for a in [&o.reckless, &o.winner, &o.maker] {
        claim(&mut v, a).await;
    }
    for a in o.all() {
        withdraw_all(&mut v, a).await;
    }
    assert_eq!(wallets(&mut v, &o).await, first);

    // The bankrupt account closes first and is socialized at once, while
    // every other position is open: its deficit is registered against the
    // pool, not spread over those lots.
    let (mut v, o) = crashed_venue().await;
    close(&mut v, &o.reckless).await;
    socialize(&mut v, &o.reckless).await.unwrap();
    assert_eq!(btc(&mut v).await.cumulative_loss, 0);
    assert_error(socialize(&mut v, &o.reckless).await, ClearshardError::NotBankrupt);
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownPositionsOpen);
    close(&mut v, &o.maker).await;
    withdraw_all(&mut v, &o.maker).await;
    close(&mut v, &o.loser).await;
    close(&mut v, &o.winner).await;
    assert_error(v.claim_settlement_gain(&o.winner, BTC).await, ClearshardError::WindDownNotFinal);
    v.finalize_wind_down(BTC).await.unwrap();
    for a in o.all() {
        let p = v.ex.margin(a.address).await.portfolio;
        if p.settlement_gain(BTC) > 0 || p.settlement_recovery(BTC) > 0 {
            claim(&mut v, a).await;
        }
        withdraw_all(&mut v, a).await;
    }
    assert_eq!(wallets(&mut v, &o).await, first);

    // And what they end with is the rule: the bankrupt account's deficit
    // (no fund here) is paid in full out of the two gains, which share the
    // rest pro rata, rounded down; the others end with what their closes
    // left them, the bankrupt account's owner with nothing.
    let deficit = closed[0].0.unsigned_abs();
    assert_eq!((closed[0].1, closed[2].1), (0, 0));
    let faces = closed[1].1 + closed[3].1;
    assert_eq!((m.recovery_pool, m.recovery_faces), (deficit, deficit));
    assert_eq!((m.payout_pool, m.payout_faces), (faces - deficit, faces));
    let paid = |face: u64| (face as u128 * m.payout_pool as u128 / faces as u128) as u64;
    let after = |i: usize| closed[i].0 as u64 + paid(closed[i].1);
    assert_eq!(first, vec![0, after(1), after(2), after(3)]);
    // What rounding left stays in the book: a unit or two, not an owner's.
    let m = btc(&mut v).await;
    assert!(m.wind_down_cash >= 0 && m.wind_down_cash <= 2, "{}", m.wind_down_cash);
    assert_eq!((m.gains_held, m.deficits_held), (0, 0));
}

/// A loss recorded before the wind-down may still become a deficit of the
/// market's: finality waits for every one to be resolved, by a
/// socialization (registered against the pool) or, for an account the
/// market restored, by `clear_loss_record`.
#[tokio::test]
async fn a_loss_recorded_before_the_wind_down_holds_finality_until_it_is_resolved() {
    let mut v = Venue::new(1).await;
    let (reckless, maker) = v.leveraged_long(0, 61 * USDC).await;
    let (partial, other_maker) = v.leveraged_long(0, 70 * USDC).await;
    let liqor = v.account(0, 50_000 * USDC).await;
    v.set_btc(80).await;
    v.liquidate_allowed(&liqor, &reckless, BTC, &[BTC]).await;
    let debt = v.ex.margin(reckless.address).await.portfolio.collateral;
    assert!(debt < 0, "{debt}");
    // Nobody socializes it before the wind-down.
    v.set_btc(92).await;
    v.liquidate(&liqor, &partial, BTC, 1, &[BTC]).await.unwrap();
    v.ex.assert_conserved().await;
    assert!(v.liquidatable_lots(&partial, BTC, &[BTC]).await.is_ok(), "still under water");
    assert_eq!(v.ex.shard(0).await.loss_records(BTC).unwrap(), 2);
    let clear = ix::clear_loss_record(partial.address, 0, &[BTC]);
    assert_error(v.ex.send_fresh(std::slice::from_ref(&clear), &[]).await, ClearshardError::AccountUnderWater);
    let none = ix::clear_loss_record(maker.address, 0, &[BTC]);
    assert_error(v.ex.send_fresh(&[none], &[]).await, ClearshardError::NoLossRecorded);

    // BTC recovers and is wound down at its start: the liquidator's long
    // from 80 is the winner, the partly liquidated long is healthy again.
    v.wind_down_btc_at(100).await;
    for a in [&partial, &maker, &other_maker, &liqor] {
        close(&mut v, a).await;
    }
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownLossesPending);
    // A shard of the caller's making, counting no record, is not a shard.
    let forged = v.ex.forge(pda::shard(0), anchor_lang::system_program::ID).await;
    let mut finalize = ix::finalize_wind_down(BTC, &[0]);
    finalize.accounts[2].pubkey = forged;
    let r = v.ex.send_fresh(&[finalize], &[]).await;
    assert_anchor_error(r, anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram);
    // The partly liquidated long closed flat and solvent: that close forgot
    // its record (nothing of it can become a deficit).
    assert_error(v.ex.send_fresh(&[clear], &[]).await, ClearshardError::NoLossRecorded);
    assert_eq!(v.ex.shard(0).await.loss_records(BTC).unwrap(), 1);
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownLossesPending);

    // The deficit of before the wind-down is registered against the pool,
    // not spread over whatever lots happen to be open: there are none. The
    // fund's share of the liquidation fees covers its part first.
    let faces = btc(&mut v).await.gains_held;
    let fund = v.ex.shard(0).await.insurance_owed;
    let registered = debt.unsigned_abs() - fund;
    v.ex.send_fresh(&[ix::socialize_loss(reckless.address, 0, &[BTC], 1)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.shard(0).await.insurance_owed, 0);
    let p = v.ex.margin(reckless.address).await.portfolio;
    assert_eq!((p.collateral, p.settlement_recovery(BTC)), (-(registered as i64), registered));
    v.finalize_wind_down(BTC).await.unwrap();
    let m = btc(&mut v).await;
    assert_eq!((m.cumulative_loss, m.payout_pool, m.payout_faces), (0, faces - registered, faces));
    claim(&mut v, &reckless).await;
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
    let mut paid_total = 0;
    for a in [&partial, &maker, &other_maker, &liqor] {
        let before = v.ex.margin(a.address).await.portfolio;
        let face = before.settlement_gain(BTC);
        if face > 0 {
            claim(&mut v, a).await;
            let paid = (v.ex.margin(a.address).await.portfolio.collateral - before.collateral) as u64;
            assert_eq!(paid, (face as u128 * m.payout_pool as u128 / faces as u128) as u64);
            paid_total += paid;
        }
    }
    assert!(m.payout_pool - paid_total <= 4, "rounding only: {} of {}", paid_total, m.payout_pool);
}

/// Two bankrupt accounts, and a deficit larger than every gain BTC closed
/// with: a small pair is left when BTC is wound down a little above where
/// both longs were liquidated.
async fn two_deficits_beyond_the_pool() -> (Venue, [Account; 2], [Account; 2]) {
    let mut v = Venue::new(1).await;
    let (first, first_maker) = v.leveraged_long(0, 61 * USDC).await;
    let (second, second_maker) = v.leveraged_long(0, 65 * USDC).await;
    let liqor = v.account(0, 50_000 * USDC).await;
    v.set_btc(80).await;
    v.liquidate_allowed(&liqor, &first, BTC, &[BTC]).await;
    v.liquidate_allowed(&liqor, &second, BTC, &[BTC]).await;
    // The liquidator and the makers trade their positions away at 80.
    let at_80 = BTC_TICKS * 80 / 100;
    v.settle(0, &[BTC], &[&liqor, &first_maker], &[fill(0, 1, 0, false, 100, at_80)]).await.unwrap();
    v.settle(0, &[BTC], &[&liqor, &second_maker], &[fill(0, 1, 0, false, 100, at_80)]).await.unwrap();
    let (long, short) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    v.settle(0, &[BTC], &[&long, &short], &[fill(0, 1, 0, true, 1, at_80)]).await.unwrap();
    v.ex.assert_conserved().await;
    v.wind_down_btc_at(81).await;
    for a in [&long, &short] {
        close(&mut v, a).await;
    }
    (v, [first, second], [long, short])
}

/// The pool pays every deficit the same share of what it holds, whatever
/// the order of socializations; the rest is the insurance fund's debt, and
/// the winners are paid nothing.
#[tokio::test]
async fn deficits_beyond_the_pool_share_it_pro_rata_in_any_order() {
    let mut ends = vec![];
    for reversed in [false, true] {
        let (mut v, mut bankrupt, [long, short]) = two_deficits_beyond_the_pool().await;
        let debts = [
            v.ex.margin(bankrupt[0].address).await.portfolio.collateral.unsigned_abs(),
            v.ex.margin(bankrupt[1].address).await.portfolio.collateral.unsigned_abs(),
        ];
        if reversed {
            bankrupt.reverse();
        }
        for a in &bankrupt {
            v.ex.send_fresh(&[ix::socialize_loss(a.address, 0, &[BTC], 1)], &[]).await.unwrap();
            v.ex.assert_conserved().await;
        }
        v.finalize_wind_down(BTC).await.unwrap();
        let m = btc(&mut v).await;
        let faces = m.payout_faces;
        assert!(faces > 0 && faces < debts[0] + debts[1], "gains {faces}, deficits {debts:?}");
        assert_eq!((m.payout_pool, m.recovery_pool, m.recovery_faces), (0, faces, debts[0] + debts[1]));
        // A settlement pause on the account's shard holds a claim back.
        v.pause(Some(0), PAUSE_SETTLEMENT).await;
        assert_error(v.claim_settlement_gain(&bankrupt[0], BTC).await, ClearshardError::SettlementPaused);
        v.pause(Some(0), 0).await;
        for a in bankrupt.iter().rev().chain([&long, &short]) {
            if v.ex.margin(a.address).await.portfolio.holds_settlement_claims() {
                claim(&mut v, a).await;
            }
        }
        if reversed {
            bankrupt.reverse();
        }
        let mut end = vec![];
        for a in bankrupt.iter().chain([&long, &short]) {
            end.push(v.ex.margin(a.address).await.portfolio.collateral);
        }
        // Each debt is covered in proportion to its size; what is left is the account's.
        for (i, debt) in debts.iter().enumerate() {
            let recovered = (*debt as u128 * faces as u128 / (debts[0] + debts[1]) as u128) as i64;
            assert_eq!(end[i], recovered - *debt as i64);
        }
        // What the pool could not pay is no market's: socialized again, it
        // becomes the insurance fund's debt to the shard, and the accounts
        // are made whole; no lot anywhere pays for it.
        let debt_before = v.ex.shard(0).await.insurance_debt;
        let index_before = btc(&mut v).await.cumulative_loss;
        for a in &bankrupt {
            v.ex.send_fresh(&[ix::socialize_loss(a.address, 0, &[], 1)], &[]).await.unwrap();
            v.ex.assert_conserved().await;
            assert_eq!(v.ex.margin(a.address).await.portfolio.collateral, 0);
        }
        let left: i64 = end[..2].iter().sum();
        assert_eq!(v.ex.shard(0).await.insurance_debt, debt_before + left.unsigned_abs());
        assert_eq!(btc(&mut v).await.cumulative_loss, index_before);
        ends.push(end);
    }
    assert_eq!(ends[0], ends[1]);
}

/// An account that holds a settlement gain and goes bankrupt elsewhere is
/// covered like any other, and its gain, once paid, goes to the insurance
/// fund first, up to what others covered: never ahead of the rate, never
/// on top of a debt others paid.
#[tokio::test]
async fn a_bankrupt_accounts_gain_repays_the_fund_once_paid() {
    let mut v = Venue::new(1).await;
    let owner = v.account(0, 61 * USDC).await;
    let maker = v.account(0, 100_000 * USDC).await;
    let eth_lot = eth_market().tick_size * u64::from(ETH_TICKS);
    let eth_lots = (500 * USDC / eth_lot) as u32;
    let fills = [fill(0, 1, 0, false, 10, BTC_TICKS), fill(0, 1, 1, true, eth_lots, ETH_TICKS)];
    v.settle(0, &[BTC, ETH], &[&owner, &maker], &fills).await.unwrap();
    v.wind_down_btc_at(85).await;
    close(&mut v, &owner).await;
    let held = v.ex.margin(owner.address).await.portfolio.settlement_gain(BTC);
    assert!(held > 0);
    assert_error(v.claim_settlement_gain(&owner, BTC).await, ClearshardError::WindDownNotFinal);

    // ETH falls a fifth: the account is liquidated into debt; its gain is
    // no collateral, so the liquidation comes when it would without it.
    let liqor = v.account(0, 50_000 * USDC).await;
    v.ex.set_price(ETH, ETH_PRICE * 80 / 100, 0, PRICE_EXPO).await.unwrap();
    let lots = v.liquidatable_lots(&owner, ETH, &[ETH]).await.unwrap();
    v.liquidate(&liqor, &owner, ETH, lots, &[ETH]).await.unwrap();
    v.ex.assert_conserved().await;
    let debt = v.ex.margin(owner.address).await.portfolio.collateral.unsigned_abs();
    assert!(debt > 0);
    // Covered now, over ETH's lots, with its gain pledged to the fund.
    v.ex.send_fresh(&[ix::socialize_loss(owner.address, 0, &[ETH], 1)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    let p = v.ex.margin(owner.address).await.portfolio;
    assert_eq!((p.collateral, p.pledged_to_fund), (0, debt.min(held)));

    // BTC is made final (the maker's position closed, no deficit there):
    // the gain is paid at face, the pledge to the fund first.
    // The maker's long lost at P and it still holds its live ETH short, so
    // the loss stays recorded until anyone clears it (it is above
    // maintenance): until then BTC is not final.
    close(&mut v, &maker).await;
    assert_eq!(v.ex.margin(maker.address).await.portfolio.loss_markets().map(|(m, _)| m).collect::<Vec<_>>(), [BTC]);
    assert_error(v.finalize_wind_down(BTC).await, ClearshardError::WindDownLossesPending);
    v.ex.send_fresh(&[ix::clear_loss_record(maker.address, 0, &[ETH])], &[]).await.unwrap();
    v.finalize_wind_down(BTC).await.unwrap();
    // ETH's lots carried the socialized share rounded down per lot: the
    // rest is the fund's debt there, which the pledge repays first.
    let (fund, fund_debt) = (v.ex.shard(0).await.insurance_owed, v.ex.shard(0).await.insurance_debt);
    assert!(fund_debt < 200 && (fund == 0 || fund_debt == 0), "{fund}, {fund_debt}");
    claim(&mut v, &owner).await;
    let p = v.ex.margin(owner.address).await.portfolio;
    assert_eq!((p.collateral, p.pledged_to_fund), ((held - debt.min(held)) as i64, 0));
    let shard = v.ex.shard(0).await;
    assert_eq!((shard.insurance_owed, shard.insurance_debt), (fund + debt.min(held) - fund_debt, 0));
}
