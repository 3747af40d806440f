//! Where a deficit that no market can carry goes (#15, the second review's
//! F3 and the pool's residue). A market's share of a deficit depends only
//! on the losses recorded, never on which markets happen to hold lots when
//! anyone calls `socialize_loss`; the share of a live market with no lot
//! left, and what exceeds the losses, are the insurance fund's debt to the
//! account's shard (`Shard::insurance_debt`), repaid before the fund or the
//! venue takes anything: by the fund's income there, by the shard's fees
//! before a sweep, and by the insurance vault through `rebalance_vaults`.
//! Conservation (vault = claims + fees + the fund's share − its debt) after
//! every step.

use super::settlement_records::two_market_loser_on;
use clearshard::errors::ClearshardError;
use clearshard::state::Market;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::liquidation::socialized_loss_per_lot;
use clearshard_tests::invariants::vaults_cover_every_owner;
use clearshard_tests::*;

/// The loser (short 50 BTC lots, long 100 ETH lots, 300 USDC of notional
/// each, 65 USDC of margin) at BTC 110% and ETH 75%: under water by some 40
/// USDC, both positions taken over whole by a liquidator (no fee, so the
/// fund holds nothing), its losses recorded in both markets. If
/// `eth_flat`, the liquidator and the ETH maker then trade their ETH away,
/// so no ETH lot is left when the deficit is socialized. Returns the venue,
/// the loser and every other account.
async fn bankrupt_in_two_markets(eth_flat: bool) -> (Venue, Account, [Account; 3]) {
    let (mut v, [loser, btc_maker, eth_maker]) = two_market_loser_on(2).await;
    let liquidator = v.account(0, 10_000 * USDC).await;
    v.set_btc(110).await;
    v.ex.set_price(ETH, ETH_PRICE * 75 / 100, 0, PRICE_EXPO).await.unwrap();
    v.liquidate_allowed(&liquidator, &loser, ETH, &[BTC, ETH]).await;
    v.liquidate_allowed(&liquidator, &loser, BTC, &[BTC, ETH]).await;
    if eth_flat {
        v.owner_trade(&liquidator, &eth_maker, ETH, false, 100, ETH_TICKS * 75 / 100).await.unwrap();
        v.ex.assert_conserved().await;
        let oi = v.ex.shard(0).await.open_interest(ETH);
        assert_eq!((oi.long, oi.short), (0, 0));
    }
    let p = v.ex.margin(loser.address).await.portfolio;
    assert!(!p.has_open_positions() && p.collateral < -30 * USDC as i64, "{}", p.collateral);
    assert_eq!((v.ex.shard(0).await.insurance_owed, v.ex.token_balance(pda::insurance_vault()).await), (0, 0));
    (v, loser, [btc_maker, eth_maker, liquidator])
}

async fn loss_index(v: &mut Venue, market: u16) -> i64 {
    v.ex.load::<Market>(pda::market(market)).await.cumulative_loss
}

/// The same deficit, socialized while ETH holds lots and after its holders
/// left: BTC's holders carry exactly the same, by the losses recorded.
/// Before the fix, with ETH empty they carried ETH's part too (the whole
/// deficit): who pays depended on the moment of the call.
#[tokio::test]
async fn a_markets_share_does_not_depend_on_which_markets_hold_lots_at_the_call() {
    let mut outcomes = vec![];
    for eth_flat in [false, true] {
        let (mut v, loser, _) = bankrupt_in_two_markets(eth_flat).await;
        let p = v.ex.margin(loser.address).await.portfolio;
        let (btc_loss, eth_loss) = (p.liquidation_losses[usize::from(BTC)], p.liquidation_losses[usize::from(ETH)]);
        let deficit = p.collateral.unsigned_abs();
        assert!(deficit < btc_loss + eth_loss, "{deficit} beyond the losses {btc_loss} + {eth_loss}");
        v.ex.send_fresh(&[ix::socialize_loss(loser.address, 0, &[BTC, ETH], 2)], &[]).await.unwrap();
        v.ex.assert_conserved().await;
        assert_eq!(v.ex.margin(loser.address).await.portfolio.collateral, 0);
        let btc_share = deficit * btc_loss / (btc_loss + eth_loss);
        let (per_lot, btc_rest) = socialized_loss_per_lot(btc_share, 100).unwrap();
        assert_eq!(loss_index(&mut v, BTC).await, per_lot);
        let debt = v.ex.shard(0).await.insurance_debt;
        let eth_share = deficit - btc_share;
        if eth_flat {
            // ETH's part is nobody's lots': the fund owes it to shard 0.
            assert_eq!((loss_index(&mut v, ETH).await, debt), (0, eth_share + btc_rest));
        } else {
            // Both rounded down per lot; only the rounding is the fund's.
            let (eth_per_lot, eth_rest) = socialized_loss_per_lot(eth_share, 200).unwrap();
            assert_eq!((loss_index(&mut v, ETH).await, debt), (eth_per_lot, btc_rest + eth_rest));
            assert!(debt < 300);
        }
        outcomes.push(loss_index(&mut v, BTC).await);
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

/// The fund's debt comes before the venue and the fund: the shard's fees
/// repay it at the next sweep (the treasury gets nothing while it lasts),
/// the fund's share of the next liquidation fee there repays it instead of
/// filling the fund, a donation reaches it through `rebalance_vaults`
/// (even while the shard's withdrawals are paused), and then every owner
/// can withdraw everything.
#[tokio::test]
async fn the_funds_debt_is_repaid_first_and_then_every_owner_gets_out() {
    let (mut v, loser, others) = bankrupt_in_two_markets(true).await;
    v.ex.send_fresh(&[ix::socialize_loss(loser.address, 0, &[BTC, ETH], 2)], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    let debt = v.ex.shard(0).await.insurance_debt;
    assert!(debt > 20 * USDC, "{debt}");
    // BTC's holders settle their share of the loss (what the vault check sees).
    for a in [&others[0], &others[2]] {
        v.ex.send_fresh(&[ix::settle_account(a.address, 0, &[BTC])], &[]).await.unwrap();
    }
    // The fund's debt is no claim on another shard's vault: the reserve does
    // not ask rebalancing to fill it with tokens other owners are owed.
    assert_eq!((v.ex.vault_imbalance(0).await, v.ex.vault_surplus(0).await.min(0)), (0, 0));
    let risk = v.ex.risk_markets(&[BTC, ETH]).await;
    let stuck = vaults_cover_every_owner(&v.ex.snapshot().await, &risk);
    assert_eq!(stuck, Some(Ok(())), "owners are short by no more than the fund owes");

    // Fees first repay the debt: nothing reaches the treasury.
    let fees = v.ex.shard(0).await.fees().unwrap() as u64;
    assert!(fees > 0 && fees < debt, "{fees}");
    let treasury = v.ex.token_balance(v.ex.treasury).await;
    v.ex.send(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.token_balance(v.ex.treasury).await, treasury);
    let shard = v.ex.shard(0).await;
    assert_eq!((shard.fees().unwrap(), shard.insurance_debt), (0, debt - fees));
    let again = v.ex.send_fresh(&[ix::sweep_fees(0, v.ex.treasury, &[BTC])], &[]).await;
    assert_error(again, ClearshardError::NoFeesToSweep);

    // The fund's share of a liquidation fee on shard 0 repays it too.
    v.set_btc(100).await;
    let (long, _) = v.leveraged_long(0, 70 * USDC).await;
    v.set_btc(92).await;
    let [_, _, liquidator] = &others;
    v.liquidate_allowed(liquidator, &long, BTC, &[BTC]).await;
    let shard = v.ex.shard(0).await;
    let repaid = debt - fees - shard.insurance_debt;
    assert!(repaid > 0 && shard.insurance_owed == 0, "repaid {repaid}, fund {}", shard.insurance_owed);

    // A donation to the fund reaches the shard at the next rebalance, paused or not.
    let rest = shard.insurance_debt;
    v.ex.fund_insurance(rest + 5 * USDC).await;
    v.pause(Some(0), clearshard::state::PAUSE_WITHDRAWALS).await;
    v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    v.pause(Some(0), 0).await;
    assert_eq!(v.ex.shard(0).await.insurance_debt, 0);
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, 5 * USDC);
    let again = v.ex.send_fresh(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await;
    assert_error(again, ClearshardError::NothingToRebalance);

    // Every owner withdraws its whole equity at the oracle, in any order.
    let risk = v.ex.risk_markets(&[BTC, ETH]).await;
    assert_eq!(vaults_cover_every_owner(&v.ex.snapshot().await, &risk), Some(Ok(())));
    let vault_before = v.ex.token_balance(pda::vault(0)).await;
    let mut withdrawn = 0;
    for a in others.iter().chain([&long]) {
        let p = v.ex.margin(a.address).await.portfolio;
        if p.has_open_positions() || p.collateral <= 0 {
            continue;
        }
        let amount = p.collateral as u64;
        v.ex.withdraw(&a.trader, a.address, 0, amount, &[BTC]).await.unwrap();
        v.ex.assert_conserved().await;
        withdrawn += amount;
    }
    assert_eq!(v.ex.token_balance(pda::vault(0)).await, vault_before - withdrawn);
}
