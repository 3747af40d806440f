//! Liquidation and bankruptcy: a price crash across shards, liquidators
//! restoring accounts, the insurance fund absorbing a bankruptcy, and every
//! malicious variant refused with its own error and nothing changed.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;

/// A 70-USDC long after an 8% fall, a liquidator holding `liqor_collateral`,
/// and the lots the program allows, with both accounts' portfolios before.
async fn crashed_long(
    v: &mut Venue,
    liqor_collateral: u64,
) -> (Account, Account, u64, Vec<clearshard_engine::Portfolio>) {
    let (t, _) = v.leveraged_long(0, 70 * USDC).await;
    let liqor = v.account(0, liqor_collateral).await;
    crash(v, 8).await;
    let lots = v.liquidatable_lots(&t, BTC, &[BTC]).await.unwrap();
    let before = v.portfolios(&[&t, &liqor]).await;
    (t, liqor, lots, before)
}

/// BTC falls by `percent`.
async fn crash(v: &mut Venue, percent: i64) {
    v.ex.set_price(BTC, BTC_PRICE * (100 - percent) / 100, 0, PRICE_EXPO).await.unwrap();
}

#[tokio::test]
async fn liquidating_a_healthy_account_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, _) = v.leveraged_long(0, 100 * USDC).await;
    let liqor = v.account(0, 10_000 * USDC).await;
    let before = v.portfolios(&[&t, &liqor]).await;
    assert_error(v.liquidate(&liqor, &t, BTC, 1, &[BTC]).await, ClearshardError::NotLiquidatable);
    assert_eq!(v.portfolios(&[&t, &liqor]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidation_restores_the_account_and_funds_insurance() {
    let mut v = Venue::new(1).await;
    let (t, _) = v.leveraged_long(0, 70 * USDC).await;
    let liqor = v.account(0, 10_000 * USDC).await;
    crash(&mut v, 5).await; // equity 40, maintenance requirement 28.5 -> still fine
    assert_error(v.liquidate(&liqor, &t, BTC, 1, &[BTC]).await, ClearshardError::NotLiquidatable);
    crash(&mut v, 8).await; // equity 22 < maintenance 27.6
    let lots = v.liquidatable_lots(&t, BTC, &[BTC]).await.unwrap();
    assert!(lots > 0 && lots < 100, "partial liquidation: {lots}");
    let collateral_before = v.ex.margin(t.address).await.portfolio.collateral;
    v.liquidate(&liqor, &t, BTC, lots, &[BTC]).await.unwrap();
    let after = v.ex.margin(t.address).await.portfolio;
    let risk = v.ex.risk_markets(&[BTC]).await;
    assert!(after.health(&risk[..]).unwrap().maintenance >= 0);
    assert_eq!(after.position(BTC).unwrap().base_lots, 100 - lots as i64);
    assert_eq!(v.ex.margin(liqor.address).await.portfolio.position(BTC).unwrap().base_lots, lots as i64);
    // Fee 2.5% of lots × 5.52 USDC, half to the insurance fund.
    let notional = lots as i64 * 5_520_000;
    let fee = (notional * 250 + 9_999) / 10_000;
    assert_eq!(after.collateral, collateral_before + notional - fee);
    // The fund's share stays in the shard's vault, owed to the fund: no token moves.
    let insurance = v.ex.shard(0).await.insurance_owed as i64;
    assert_eq!(insurance, (fee * 5_000 + 9_999) / 10_000);
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, 0);
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].open_interest, 100);
    v.ex.assert_conserved().await;
    // Back above maintenance: a second liquidation is refused.
    v.ex.refresh_blockhash().await;
    assert_error(v.liquidate(&liqor, &t, BTC, 1, &[BTC]).await, ClearshardError::NotLiquidatable);
}

#[tokio::test]
async fn liquidation_across_shards_moves_claims_and_open_interest() {
    let mut v = Venue::new(2).await;
    let (t, _) = v.leveraged_long(0, 70 * USDC).await;
    let liqor = v.account(1, 10_000 * USDC).await;
    crash(&mut v, 8).await;
    let lots = v.liquidatable_lots(&t, BTC, &[BTC]).await.unwrap();
    v.liquidate(&liqor, &t, BTC, lots, &[BTC]).await.unwrap();
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].open_interest, 100 - lots);
    assert_eq!(v.ex.shard(1).await.markets[BTC as usize].open_interest, lots);
    v.ex.assert_conserved().await;
    // The position changed shards at the oracle: equity moved only by the
    // liquidator's reward, earned on shard 1 and held in shard 0's vault.
    let owed = v.ex.shard(0).await.insurance_owed;
    let reward = v.ex.vault_surplus(0).await;
    assert!(owed > 0 && reward > 0);
    assert_eq!(v.ex.vault_surplus(1).await, -reward);
    // Rebalancing pays the fund its share and the reward's tokens to shard 1.
    v.ex.send(&[ix::rebalance_vaults(0, 1, &[BTC])], &[]).await.unwrap();
    assert_eq!((v.ex.vault_surplus(0).await, v.ex.vault_surplus(1).await), (0, 0));
    assert_eq!(v.ex.shard(0).await.insurance_owed, 0);
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, owed);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn self_liquidation_is_refused() {
    let mut v = Venue::new(2).await;
    let (t, _) = v.leveraged_long(0, 70 * USDC).await;
    crash(&mut v, 8).await;
    // The same account, and another account of the same owner.
    assert_error(v.liquidate(&t, &t, BTC, 1, &[BTC]).await, ClearshardError::SelfLiquidation);
    let own = v.ex.create_margin_account(&t.trader, 1, 0).await.unwrap();
    let own = Account { trader: t.trader.clone(), address: own, shard: 1 };
    assert_error(v.liquidate(&own, &t, BTC, 1, &[BTC]).await, ClearshardError::SelfLiquidation);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidator_ending_under_initial_margin_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, poor, lots, before) = crashed_long(&mut v, 5 * USDC).await;
    assert_error(v.liquidate(&poor, &t, BTC, lots, &[BTC]).await, ClearshardError::LiquidatorUnderInitialMargin);
    assert_eq!(v.portfolios(&[&t, &poor]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidating_more_than_allowed_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, liqor, lots, before) = crashed_long(&mut v, 10_000 * USDC).await;
    assert_error(v.liquidate(&liqor, &t, BTC, lots + 1, &[BTC]).await, ClearshardError::LiquidationExceedsAllowed);
    assert_error(v.liquidate(&liqor, &t, ETH, 1, &[BTC, ETH]).await, ClearshardError::NoPositionToLiquidate);
    assert_eq!(v.portfolios(&[&t, &liqor]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidation_with_a_stale_or_foreign_oracle_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, liqor, lots, before) = crashed_long(&mut v, 10_000 * USDC).await;
    let accounts =
        ix::LiquidationAccounts { liquidator: liqor.trader.key(), liqee: (t.address, 0), liqor: (liqor.address, 0) };
    let mut foreign = ix::liquidate(&accounts, BTC, lots, &[BTC]);
    let last = foreign.accounts.len() - 1;
    foreign.accounts[last].pubkey = pda::price_feed(ETH);
    assert_error(v.ex.send(&[foreign], &[&liqor.trader.keypair]).await, ClearshardError::WrongOracle);
    let mut not_a_feed = ix::liquidate(&accounts, BTC, lots, &[BTC]);
    not_a_feed.accounts[last].pubkey = pda::market(BTC);
    assert_error(v.ex.send(&[not_a_feed], &[&liqor.trader.keypair]).await, ClearshardError::WrongOracle);
    // A market whose position is held but not supplied.
    assert_error(v.liquidate(&liqor, &t, BTC, lots, &[]).await, ClearshardError::MissingMarket);
    v.ex.advance_clock(61).await;
    assert_error(v.liquidate(&liqor, &t, BTC, lots, &[BTC]).await, ClearshardError::StaleOracle);
    assert_eq!(v.portfolios(&[&t, &liqor]).await, before);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn liquidation_needs_the_liquidators_own_account_and_the_right_vaults() {
    let mut v = Venue::new(2).await;
    let (t, _) = v.leveraged_long(0, 70 * USDC).await;
    let liqor = v.account(0, 10_000 * USDC).await;
    let bystander = v.account(0, 10_000 * USDC).await;
    crash(&mut v, 8).await;
    let lots = v.liquidatable_lots(&t, BTC, &[BTC]).await.unwrap();
    // Signing as the liquidator while naming someone else's account as the taker of the position.
    let accounts = ix::LiquidationAccounts {
        liquidator: liqor.trader.key(),
        liqee: (t.address, 0),
        liqor: (bystander.address, 0),
    };
    let r = v.ex.send(&[ix::liquidate(&accounts, BTC, lots, &[BTC])], &[&liqor.trader.keypair]).await;
    assert_error(r, ClearshardError::NotOwner);
    let accounts =
        ix::LiquidationAccounts { liquidator: liqor.trader.key(), liqee: (t.address, 0), liqor: (liqor.address, 0) };
    for shard_slot in [4, 5] {
        let mut other_shard = ix::liquidate(&accounts, BTC, lots, &[BTC]);
        other_shard.accounts[shard_slot].pubkey = pda::shard(1);
        let r = v.ex.send(&[other_shard], &[&liqor.trader.keypair]).await;
        assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    }
    // A margin account in a shard's place is not a shard.
    let mut not_a_shard = ix::liquidate(&accounts, BTC, lots, &[BTC]);
    not_a_shard.accounts[4].pubkey = bystander.address;
    let r = v.ex.send(&[not_a_shard], &[&liqor.trader.keypair]).await;
    assert_anchor_error(r, ErrorCode::AccountDiscriminatorMismatch);
    // Unsigned: the liquidator's signature is required.
    let mut unsigned = ix::liquidate(&accounts, BTC, lots, &[BTC]);
    unsigned.accounts[0].is_signer = false;
    assert_anchor_error(v.ex.send(&[unsigned], &[]).await, ErrorCode::AccountNotSigner);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn price_crash_liquidations_across_shards_and_a_bankruptcy() {
    let mut v = Venue::new(4).await;
    v.ex.fund_insurance(100 * USDC).await;
    let mut longs = vec![];
    for shard in 0..4 {
        longs.push(v.leveraged_long(shard, 70 * USDC).await.0);
    }
    // One account with almost no margin: a 20% gap leaves it under water.
    let (reckless, _) = v.leveraged_long(1, 61 * USDC).await;
    let liquidators = [v.account(0, 50_000 * USDC).await, v.account(3, 50_000 * USDC).await];
    v.ex.assert_conserved().await;

    crash(&mut v, 8).await;
    for (i, account) in longs.iter().enumerate() {
        let lots = v.liquidatable_lots(account, BTC, &[BTC]).await.unwrap();
        v.liquidate(&liquidators[i % 2], account, BTC, lots, &[BTC]).await.unwrap();
        let risk = v.ex.risk_markets(&[BTC]).await;
        assert!(v.ex.margin(account.address).await.portfolio.health(&risk[..]).unwrap().maintenance >= 0);
        v.ex.assert_conserved().await;
    }

    crash(&mut v, 20).await;
    // Under water: the whole position goes, and collateral stays negative.
    let lots = v.liquidatable_lots(&reckless, BTC, &[BTC]).await.unwrap();
    assert_eq!(lots, 100);
    v.liquidate(&liquidators[0], &reckless, BTC, lots, &[BTC]).await.unwrap();
    v.ex.assert_conserved().await;
    let deficit = -v.ex.margin(reckless.address).await.portfolio.collateral;
    assert!(deficit > 0);
    let fund_before = v.ex.totals().await.insurance_fund();
    let owed_before = v.ex.shard(1).await.insurance_owed as i64;
    v.ex.send(&[ix::resolve_bankruptcy(reckless.address, 1)], &[]).await.unwrap();
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
    // Covered first by the fund's share already in shard 1's vault, then from the insurance vault.
    assert_eq!(v.ex.shard(1).await.insurance_owed as i64, (owed_before - deficit).max(0));
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.insurance_fund(), fund_before - deficit as i128);
    // Nothing left to resolve.
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::resolve_bankruptcy(reckless.address, 1)], &[]).await, ClearshardError::NotBankrupt);
    // Rebalancing brings every vault to its reserve.
    for _ in 0..8 {
        let mut surplus = vec![];
        for s in 0..4 {
            surplus.push((v.ex.vault_surplus(s).await, s));
        }
        let (most, from) = *surplus.iter().max().unwrap();
        let (least, to) = *surplus.iter().min().unwrap();
        if most <= 0 || least >= 0 {
            break;
        }
        v.ex.send_fresh(&[ix::rebalance_vaults(from, to, &[BTC])], &[]).await.unwrap();
        v.ex.assert_conserved().await;
    }
    for s in 0..4 {
        assert_eq!(v.ex.vault_surplus(s).await, 0);
    }
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn bankruptcy_needs_a_bankrupt_account_and_an_insurance_fund() {
    let mut v = Venue::new(1).await;
    let (t, _) = v.leveraged_long(0, 61 * USDC).await;
    assert_error(v.ex.send(&[ix::resolve_bankruptcy(t.address, 0)], &[]).await, ClearshardError::NotBankrupt);
    let liqor = v.account(0, 50_000 * USDC).await;
    v.ex.fund_insurance(10 * USDC).await;
    crash(&mut v, 20).await;
    v.liquidate(&liqor, &t, BTC, 100, &[BTC]).await.unwrap();
    // Under water already, the account paid no liquidation fee; the fund is
    // smaller than its deficit.
    let fund = v.ex.token_balance(pda::insurance_vault()).await;
    assert_eq!(fund, 10 * USDC);
    let deficit = -v.ex.margin(t.address).await.portfolio.collateral as u64;
    assert!(fund < deficit);
    v.ex.refresh_blockhash().await;
    v.ex.send(&[ix::resolve_bankruptcy(t.address, 0)], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, 0);
    assert_eq!(v.ex.margin(t.address).await.portfolio.collateral, -((deficit - fund) as i64));
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::resolve_bankruptcy(t.address, 0)], &[]).await, ClearshardError::InsuranceFundEmpty);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn bankruptcy_beyond_the_insurance_fund_is_socialized_over_open_lots() {
    use clearshard::state::Market;
    let mut v = Venue::new(2).await;
    v.ex.fund_insurance(USDC).await;
    let (reckless, _) = v.leveraged_long(0, 61 * USDC).await;
    let (long1, _) = {
        let t = v.account(1, 1_000 * USDC).await;
        let m = v.account(1, 100_000 * USDC).await;
        v.settle(1, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 50, BTC_TICKS)]).await.unwrap();
        (t, m)
    };
    let liqor = v.account(1, 50_000 * USDC).await;
    crash(&mut v, 20).await;
    v.liquidate(&liqor, &reckless, BTC, 100, &[BTC]).await.unwrap();
    let socialize = |shards| ix::socialize_loss(reckless.address, 0, &[BTC], shards);
    // The insurance fund covers what it can first, in the same instruction.
    let deficit = v.ex.margin(reckless.address).await.portfolio.collateral.unsigned_abs() - USDC;
    assert!(deficit > 0);
    assert_error(v.ex.send(&[socialize(1)], &[]).await, ClearshardError::ShardsIncomplete);
    let mut reordered = socialize(2);
    let n = reordered.accounts.len();
    reordered.accounts.swap(n - 1, n - 2);
    assert_error(v.ex.send(&[reordered], &[]).await, ClearshardError::ShardsIncomplete);
    v.ex.send(&[socialize(2)], &[]).await.unwrap();
    assert_eq!(v.ex.token_balance(pda::insurance_vault()).await, 0);
    assert_eq!(v.ex.margin(reckless.address).await.portfolio.collateral, 0);
    // Open lots: 150 long on shard 1 (50 + the liquidator's 100), 150 short;
    // rounded down per lot, the rest is the fund's debt to shard 0.
    let per_lot = (deficit / 300) as i64;
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.cumulative_loss, per_lot);
    assert_eq!(v.ex.shard(0).await.insurance_debt, deficit - per_lot as u64 * 300);
    let t = v.ex.assert_conserved().await;
    assert_eq!(t.unsettled_funding, -(per_lot as i128) * 300);
    // A position pays its share when touched.
    let before = v.ex.margin(long1.address).await.portfolio.collateral;
    v.ex.withdraw(&long1.trader, long1.address, 1, USDC, &[BTC]).await.unwrap();
    assert_eq!(v.ex.margin(long1.address).await.portfolio.collateral, before - USDC as i64 - 50 * per_lot);
    v.ex.assert_conserved().await;
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[socialize(2)], &[]).await, ClearshardError::NotBankrupt);
}
