//! Where a wound-down loser's deficit arose (#15, helper-15's review, F-A):
//! the same markets, in the same proportion, whatever the order in which
//! anyone closes its positions, and never more on a market's winners than
//! it lost there. Before, a close recorded its loss only if it left the
//! account's collateral negative, so an account short BTC and long ETH was
//! carried by ETH's winners alone if ETH closed first (the long's sale
//! kept collateral positive), and by both if BTC did. Conservation after
//! every step.

use clearshard::errors::ClearshardError;
use clearshard::state::Market;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// The loser's collateral: both positions need 60 USDC of initial margin.
const MARGIN: u64 = 65 * USDC;

/// A loser short 50 BTC lots and long 100 ETH lots (300 USDC of notional
/// each) against a BTC maker and an ETH maker, each its only counterparty,
/// on one shard.
async fn two_market_loser() -> (Venue, [Account; 3]) {
    two_market_loser_on(1).await
}

/// [`two_market_loser`] on a venue of `shards` shards (everyone on shard 0).
pub(crate) async fn two_market_loser_on(shards: u16) -> (Venue, [Account; 3]) {
    let mut v = Venue::new(shards).await;
    let loser = v.account(0, MARGIN).await;
    let (btc_maker, eth_maker) = (v.account(0, 10_000 * USDC).await, v.account(0, 10_000 * USDC).await);
    let fills = [fill(0, 1, 0, false, 50, BTC_TICKS), fill(0, 2, 1, true, 100, ETH_TICKS)];
    v.settle(0, &[BTC, ETH], &[&loser, &btc_maker, &eth_maker], &fills).await.unwrap();
    v.ex.assert_conserved().await;
    (v, [loser, btc_maker, eth_maker])
}

/// Holds BTC and ETH at the given percents of their start for eight hours
/// (the feeds' averages follow), from the liveness timeout after the last
/// batch, then arms and completes both wind-downs.
async fn wind_down_both_at(v: &mut Venue, btc: i64, eth: i64) {
    let timeout = i64::from(clearshard_engine::market::DEFAULT_LIVENESS_TIMEOUT_MINS) * 60;
    v.ex.advance_clock(timeout + 1 - 8 * 3_600).await;
    for _ in 0..=8 {
        v.set_btc(btc).await;
        v.ex.set_price(ETH, ETH_PRICE * eth / 100, 0, PRICE_EXPO).await.unwrap();
        v.ex.advance_clock(3_600).await;
    }
    v.set_btc(btc).await;
    v.ex.set_price(ETH, ETH_PRICE * eth / 100, 0, PRICE_EXPO).await.unwrap();
    for market in [BTC, ETH] {
        v.wind_down(market).await.unwrap();
    }
    v.ex.advance_clock(timeout).await;
    v.set_btc(btc).await;
    v.ex.set_price(ETH, ETH_PRICE * eth / 100, 0, PRICE_EXPO).await.unwrap();
    for market in [BTC, ETH] {
        v.wind_down(market).await.unwrap();
        assert!(v.ex.load::<Market>(pda::market(market)).await.is_wound_down());
    }
    v.ex.assert_conserved().await;
}

async fn close(v: &mut Venue, a: &Account, market: u16) {
    v.close_at_settlement(a, market).await.unwrap();
    v.ex.assert_conserved().await;
}

/// The loser's closes in `order`, then everything to the end: the makers
/// close, the loser is covered, both markets are made final, every claim
/// is paid and every owner withdraws. Returns the loser's records after its
/// closes, its deficit shares registered, and the three wallets.
async fn settle_in_order(order: [u16; 2]) -> (Vec<(u16, u64)>, [u64; 2], Vec<u64>) {
    let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser().await;
    wind_down_both_at(&mut v, 110, 80).await;
    for market in order {
        close(&mut v, &loser, market).await;
    }
    let records: Vec<(u16, u64)> = v.ex.margin(loser.address).await.portfolio.loss_markets().collect();
    close(&mut v, &btc_maker, BTC).await;
    close(&mut v, &eth_maker, ETH).await;
    let arose: Vec<u16> = records.iter().map(|(m, _)| *m).collect();
    v.ex.send_fresh(&[ix::socialize_loss(loser.address, loser.shard, &arose, 1)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    let p = v.ex.margin(loser.address).await.portfolio;
    let shares = [p.settlement_recovery(BTC), p.settlement_recovery(ETH)];
    for market in [BTC, ETH] {
        v.finalize_wind_down(market).await.unwrap();
    }
    for (a, market) in [(&btc_maker, BTC), (&eth_maker, ETH), (&loser, BTC), (&loser, ETH)] {
        if v.ex.margin(a.address).await.portfolio.holds_settlement_claims() {
            v.claim_settlement_gain(a, market).await.unwrap();
            v.ex.assert_conserved().await;
        }
    }
    let mut wallets = vec![];
    for a in [&loser, &btc_maker, &eth_maker] {
        let collateral = v.ex.margin(a.address).await.portfolio.collateral;
        if collateral > 0 {
            v.ex.withdraw(&a.trader, a.address, a.shard, collateral as u64, &[]).await.unwrap();
        }
        v.ex.assert_conserved().await;
        wallets.push(v.ex.token_balance(a.trader.token_account).await);
    }
    (records, shares, wallets)
}

#[tokio::test]
async fn a_losers_deficit_lands_on_the_same_markets_whatever_the_order_of_its_closes() {
    let (records, shares, wallets) = settle_in_order([BTC, ETH]).await;
    // Both losses recorded at their settlement prices: BTC's short lost about
    // 10% of 300 USDC, ETH's long about 20% (the averages lag the prints).
    let loss = |m: u16| records.iter().find(|(id, _)| *id == m).map_or(0, |(_, l)| *l);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!((29 * USDC..=30 * USDC).contains(&loss(BTC)), "{records:?}");
    assert!((59 * USDC..=60 * USDC).contains(&loss(ETH)), "{records:?}");
    // The deficit (the losses beyond the margin, less the fund's fees) is
    // split in proportion to them, each within its loss.
    let deficit = shares[0] + shares[1];
    assert!(deficit > 20 * USDC && deficit < loss(BTC) + loss(ETH) - 60 * USDC, "{shares:?}");
    assert!(shares[0] <= loss(BTC) && shares[1] <= loss(ETH));
    assert!(shares[0].abs_diff(deficit * loss(BTC) / (loss(BTC) + loss(ETH))) <= 1, "{shares:?} of {records:?}");
    // Closing ETH first (the account's collateral stays positive until
    // BTC's close) changes nothing: not the records, not the split, not a
    // wallet.
    assert_eq!(settle_in_order([ETH, BTC]).await, (records, shares, wallets));
}

/// A restoring liquidation or a cleared record forgets the account's
/// losses; while it still holds a position in a wound-down market, whether
/// that position's loss (fixed at the settlement price) was among them
/// would depend on whether anyone had closed it: both are refused until it
/// is closed, which anyone may do for free.
#[tokio::test]
async fn no_record_is_forgotten_while_a_wound_down_position_is_open() {
    let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser().await;
    let liquidator = v.account(0, 10_000 * USDC).await;
    // ETH falls 15%: the loser is liquidated one lot there, not restored,
    // so ETH is recorded; ETH comes back and BTC winds down at 110%.
    v.ex.set_price(ETH, ETH_PRICE * 85 / 100, 0, PRICE_EXPO).await.unwrap();
    v.liquidate(&liquidator, &loser, ETH, 1, &[BTC, ETH]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.margin(loser.address).await.portfolio.loss_markets().map(|(m, _)| m).collect::<Vec<_>>(), [ETH]);
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.wind_down_btc_at(110).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    let before = v.portfolios(&[&loser, &liquidator]).await;
    let clear = ix::clear_loss_record(loser.address, loser.shard, &[BTC, ETH]);
    assert_error(v.ex.send_fresh(&[clear], &[]).await, ClearshardError::SettlementClosePending);
    // ETH falls 8%: the loser is liquidatable again.
    v.ex.set_price(ETH, ETH_PRICE * 92 / 100, 0, PRICE_EXPO).await.unwrap();
    let lots = v.liquidatable_lots(&loser, ETH, &[BTC, ETH]).await.unwrap();
    assert_error(
        v.liquidate(&liquidator, &loser, ETH, lots, &[BTC, ETH]).await,
        ClearshardError::SettlementClosePending,
    );
    assert_eq!(v.portfolios(&[&loser, &liquidator]).await, before);
    v.ex.assert_conserved().await;

    // Closed, the BTC loss is recorded beside ETH's, the liquidation goes
    // through (one lot: not restored, both stay recorded), and once ETH
    // comes back the records are cleared.
    close(&mut v, &loser, BTC).await;
    let recorded = |p: clearshard_engine::Portfolio| p.loss_markets().map(|(m, _)| m).collect::<Vec<_>>();
    assert_eq!(recorded(v.ex.margin(loser.address).await.portfolio), [BTC, ETH]);
    v.liquidate(&liquidator, &loser, ETH, 1, &[ETH]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(recorded(v.ex.margin(loser.address).await.portfolio), [BTC, ETH]);
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.ex.send_fresh(&[ix::clear_loss_record(loser.address, loser.shard, &[ETH])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(recorded(v.ex.margin(loser.address).await.portfolio), Vec::<u16>::new());
    assert_eq!(v.ex.shard(0).await.loss_records(BTC).unwrap(), 0);
    // The makers' positions close as ever.
    close(&mut v, &btc_maker, BTC).await;
    assert!(v.ex.margin(eth_maker.address).await.portfolio.position(ETH).is_some());
}

/// A pool carries no more of a deficit than the loss recorded in its
/// market, and a market with no lot left carries nothing. The loser closes
/// BTC at a 30 USDC loss, is then liquidated into debt in ETH, and ETH's
/// holders leave, so no ETH lot is left to carry ETH's part: BTC's winners
/// (the maker, and a long whose short lost 60 USDC solvently) carry BTC's
/// share by the losses, and ETH's share is the insurance fund's debt to the
/// shard. Before the class fix they carried the whole deficit, then (with
/// the cap alone) ETH's part stayed a hole in the loser's account.
#[tokio::test]
async fn a_pool_carries_no_more_than_the_loss_recorded_in_its_market() {
    let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser().await;
    let liquidator = v.account(0, 10_000 * USDC).await;
    let (long, short) = (v.account(0, 10_000 * USDC).await, v.account(0, 10_000 * USDC).await);
    v.settle(0, &[BTC], &[&long, &short], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
    v.wind_down_btc_at(110).await;
    close(&mut v, &loser, BTC).await;
    let btc_loss = v.ex.margin(loser.address).await.portfolio.liquidation_losses[usize::from(BTC)];
    assert!((29 * USDC..=30 * USDC).contains(&btc_loss), "{btc_loss}");
    v.ex.set_price(ETH, ETH_PRICE * 75 / 100, 0, PRICE_EXPO).await.unwrap();
    v.liquidate_allowed(&liquidator, &loser, ETH, &[ETH]).await;
    // A day on, their limits lapsed: both renew them and trade between themselves.
    let now = v.ex.now().await;
    for a in [&liquidator, &eth_maker] {
        v.ex.set_limits(&a.trader, a.address, open_limits(now)).await.unwrap();
    }
    v.owner_trade(&liquidator, &eth_maker, ETH, false, 100, ETH_TICKS * 75 / 100).await.unwrap();
    v.ex.assert_conserved().await;
    let oi = v.ex.shard(0).await.open_interest(ETH);
    assert_eq!((oi.long, oi.short), (0, 0));
    let p = v.ex.margin(loser.address).await.portfolio;
    assert!(!p.has_open_positions());
    let eth_loss = p.liquidation_losses[usize::from(ETH)];
    let fund = v.ex.shard(0).await.insurance_owed;
    let remaining = p.collateral.unsigned_abs() - fund;
    assert!(remaining > btc_loss + 5 * USDC, "{remaining}");
    let within = remaining.min(btc_loss + eth_loss);
    let btc_share = (u128::from(within) * u128::from(btc_loss) / u128::from(btc_loss + eth_loss)) as u64;
    assert!(btc_share > 0 && btc_share < btc_loss, "{btc_share} of {btc_loss}");
    let eth_index = v.ex.load::<Market>(pda::market(ETH)).await.cumulative_loss;

    v.ex.send_fresh(&[ix::socialize_loss(loser.address, loser.shard, &[BTC, ETH], 1)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    let p = v.ex.margin(loser.address).await.portfolio;
    assert_eq!((p.settlement_recovery(BTC), p.collateral), (btc_share, -(btc_share as i64)));
    assert_eq!(p.loss_markets().count(), 0);
    let shard = v.ex.shard(0).await;
    assert_eq!((shard.insurance_debt, shard.insurance_owed), (remaining - btc_share, 0));
    assert_eq!(v.ex.load::<Market>(pda::market(ETH)).await.cumulative_loss, eth_index);
    for a in [&btc_maker, &long, &short] {
        close(&mut v, a, BTC).await;
    }
    v.finalize_wind_down(BTC).await.unwrap();
    let m = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!((m.recovery_faces, m.recovery_pool), (btc_share, btc_share));
    v.claim_settlement_gain(&loser, BTC).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.margin(loser.address).await.portfolio.collateral, 0, "made whole");
}

/// The loser's short BTC loses about 90 USDC at 130%, its long ETH gains
/// about 30 at 110%: bankrupt by some 25 while its ETH gain is held. Its
/// socialization first (registered against BTC's pool), or its ETH gain
/// first (paying its own debt): its owner ends the same. Before, a share
/// registered against a pool was not pledged, so socializing first let
/// the owner keep the ETH gain on top of BTC's winners paying its debt.
/// What still moves with the order is stated: BTC's maker carries the
/// share and the fund is repaid out of the gain, or neither.
#[tokio::test]
async fn a_bankrupt_owner_ends_the_same_whether_its_gain_or_its_socialization_comes_first() {
    let mut ends = vec![];
    for socialize_first in [true, false] {
        let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser().await;
        wind_down_both_at(&mut v, 130, 110).await;
        for (a, market) in [(&loser, BTC), (&loser, ETH), (&eth_maker, ETH), (&btc_maker, BTC)] {
            close(&mut v, a, market).await;
        }
        let p = v.ex.margin(loser.address).await.portfolio;
        assert!(p.collateral < -20 * USDC as i64 && p.settlement_gain(ETH) > 29 * USDC, "{p:?}");
        let socialize = ix::socialize_loss(loser.address, loser.shard, &[BTC], 1);
        if socialize_first {
            v.ex.send_fresh(&[socialize], &[]).await.unwrap();
            v.ex.assert_conserved().await;
        }
        v.finalize_wind_down(ETH).await.unwrap();
        v.claim_settlement_gain(&loser, ETH).await.unwrap();
        v.ex.assert_conserved().await;
        if !socialize_first {
            // Its own gain paid its debt: flat and solvent, its record goes.
            v.ex.send_fresh(&[ix::clear_loss_record(loser.address, loser.shard, &[])], &[]).await.unwrap();
        }
        v.finalize_wind_down(BTC).await.unwrap();
        for a in [&btc_maker, &loser] {
            if v.ex.margin(a.address).await.portfolio.holds_settlement_claims() {
                v.claim_settlement_gain(a, BTC).await.unwrap();
                v.ex.assert_conserved().await;
            }
        }
        let mut wallets = vec![];
        for a in [&loser, &btc_maker] {
            let collateral = v.ex.margin(a.address).await.portfolio.collateral;
            assert!(collateral >= 0, "{collateral}");
            if collateral > 0 {
                v.ex.withdraw(&a.trader, a.address, a.shard, collateral as u64, &[]).await.unwrap();
            }
            wallets.push(v.ex.token_balance(a.trader.token_account).await);
        }
        v.ex.assert_conserved().await;
        ends.push((wallets, v.ex.shard(0).await.insurance_owed));
    }
    let (first, second) = (&ends[0], &ends[1]);
    assert_eq!(first.0[0], second.0[0], "the loser's owner ends the same: {ends:?}");
    // BTC's maker carried in the first order what the fund got back.
    assert_eq!(second.0[1] - first.0[1], first.1 - second.1, "{ends:?}");
}

/// Helper-16's F0: an open wound-down position is valued at P, gain
/// included, but its gain becomes a junior claim once closed. Nothing may
/// lean on it before: the winner's withdrawal, its transfer to its own
/// other account, and a batch that trades its live market are refused
/// until anyone closes it (then the gain is held, and backs nothing).
/// Before, the winner withdrew its gain as collateral and left the account
/// bankrupt once closed.
#[tokio::test]
async fn a_wound_down_gain_backs_nothing_until_its_position_is_closed() {
    let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser_on(2).await;
    // BTC falls 10%: the short gains about 30 USDC at P.
    v.wind_down_btc_at(90).await;
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    let other = v.account_of(loser.trader.clone(), 1, 0).await;
    let now = v.ex.now().await;
    for a in [&loser, &eth_maker] {
        v.ex.set_limits(&a.trader, a.address, open_limits(now)).await.unwrap();
    }
    let before = v.portfolios(&[&loser, &other, &eth_maker]).await;
    let r = v.ex.withdraw(&loser.trader, loser.address, loser.shard, 36 * USDC, &[BTC, ETH]).await;
    assert_error(r, ClearshardError::SettlementClosePending);
    let r = v.ex.transfer(&loser.trader, (loser.address, 0), (other.address, 1), 36 * USDC, &[BTC, ETH]).await;
    assert_error(r, ClearshardError::SettlementClosePending);
    let sell = fill(0, 1, 1, false, 10, ETH_TICKS);
    let r = v.settle(0, &[BTC, ETH], &[&loser, &eth_maker], &[sell]).await;
    assert_error(r, ClearshardError::SettlementClosePending);
    assert_eq!(v.portfolios(&[&loser, &other, &eth_maker]).await, before);
    v.ex.assert_conserved().await;

    // Closed, the gain is held and backs nothing: what initial margin on
    // the ETH long leaves (about 64.7 - 30) may go, not the 36 its gain
    // would have backed.
    close(&mut v, &loser, BTC).await;
    let gain = v.ex.margin(loser.address).await.portfolio.settlement_gain(BTC);
    assert!(gain > 29 * USDC, "{gain}");
    let r = v.ex.withdraw(&loser.trader, loser.address, loser.shard, 36 * USDC, &[ETH]).await;
    assert_error(r, ClearshardError::BreaksInitialMargin);
    v.ex.withdraw(&loser.trader, loser.address, loser.shard, 34 * USDC, &[ETH]).await.unwrap();
    v.settle(0, &[ETH], &[&loser, &eth_maker], &[fill(0, 1, 0, false, 10, ETH_TICKS)]).await.unwrap();
    v.ex.assert_conserved().await;
    close(&mut v, &btc_maker, BTC).await;
}
