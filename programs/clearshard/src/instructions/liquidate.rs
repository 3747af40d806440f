use crate::cu_trace::checkpoint;
use crate::errors::ClearshardError;
use crate::events::Liquidated;
use crate::risk;
use crate::state::{seeds, Exchange, MarginAccount, Shard, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;
use clearshard_engine::liquidation::{self, Liquidation};

/// Takes over `lots` of an unhealthy account's position in `market_id` at the
/// oracle price. The liquidatee pays the market's liquidation fee: the
/// liquidator keeps part, the rest is booked on the liquidatee's shard as owed
/// to the insurance fund (its tokens are already in that shard's vault, so a
/// liquidation never waits for tokens). The two accounts may sit on different
/// shards (pass the same shard twice otherwise). Remaining accounts:
/// `(market, oracle)` pairs for every market either account holds.
#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub liqee: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = liqor.load()?.owner == liquidator.key() @ ClearshardError::NotOwner)]
    pub liqor: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub liqee_shard: AccountLoader<'info, Shard>,
    #[account(mut)]
    pub liqor_shard: AccountLoader<'info, Shard>,
}

impl Liquidate<'_> {
    fn validate(&self, now: i64) -> Result<()> {
        require_keys_neq!(self.liqee.key(), self.liqor.key(), ClearshardError::SelfLiquidation);
        let (liqee, liqor) = (self.liqee.load()?, self.liqor.load()?);
        require_keys_neq!(liqee.owner, liqor.owner, ClearshardError::SelfLiquidation);
        let exchange = self.exchange.load()?;
        let (liqee_shard, liqor_shard) = (self.liqee_shard.load()?, self.liqor_shard.load()?);
        for (shard, account) in [(&liqee_shard, &liqee), (&liqor_shard, &liqor)] {
            shard.require_holds(account)?;
            exchange.require_open(shard, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused, now)?;
        }
        // The liquidator's reward crosses to its shard.
        if liqee.shard != liqor.shard {
            exchange.require_value_may_move(&liqee_shard, &liqor_shard, now)?;
        }
        Ok(())
    }
}

pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, market_id: u16, lots: u64) -> Result<()> {
    checkpoint();
    checkpoint();
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let now = Clock::get()?.unix_timestamp;
    accounts.validate(now)?;
    let exchange = *accounts.exchange.load()?;
    let loaded = risk::load_markets_with_status(remaining_accounts, exchange.quote_decimals, now)?;
    // A wound-down market's positions close at its settlement price, for
    // free and by anyone (`close_at_settlement`): none is liquidated.
    require!(!loaded.iter().any(|(m, wound_down)| m.id == market_id && *wound_down), ClearshardError::MarketWoundDown);
    let mut liqee = accounts.liqee.load_mut()?;
    // The liquidatee's positions there close first, so that the losses a
    // restoring liquidation forgets never depend on whether anyone had.
    risk::require_no_settlement_close_pending(&liqee.portfolio, risk::wound_down_set(&loaded))?;
    let markets: Vec<_> = loaded.into_iter().map(|(m, _)| m).collect();

    let mut liqor = accounts.liqor.load_mut()?;
    checkpoint();
    let losses_before = liqee.portfolio.liquidation_losses;
    let outcome = liquidation::liquidate(&mut liqee.portfolio, &mut liqor.portfolio, &markets, market_id, lots)
        .map_err(ClearshardError::from)?;
    checkpoint();
    book(accounts, market_id, &outcome, liqee.shard == liqor.shard)?;
    accounts.liqee_shard.load_mut()?.count_loss_records(&losses_before, &liqee.portfolio.liquidation_losses)?;
    checkpoint();
    emit!(Liquidated {
        liqee: accounts.liqee.key(),
        liqor: accounts.liqor.key(),
        market: market_id,
        lots: outcome.lots,
        price: outcome.price,
        fee: outcome.fee,
        insurance: outcome.insurance,
        maintenance_after: i64::try_from(outcome.maintenance_after).unwrap_or(i64::MAX),
    });
    Ok(())
}

/// Claims and open interest follow each account's shard; the insurance share
/// stays in the liquidatee's vault, owed to the fund.
fn book(accounts: &Liquidate, market_id: u16, outcome: &Liquidation, same_shard: bool) -> Result<()> {
    let insurance = u64::try_from(outcome.insurance).map_err(|_| error!(ClearshardError::MathOverflow))?;
    let mut liqee_shard = accounts.liqee_shard.load_mut()?;
    liqee_shard.add_claims(outcome.liqee.collateral_change)?;
    liqee_shard.book_position_change(market_id, &outcome.liqee.position)?;
    liqee_shard.owe_insurance(insurance)?;
    if same_shard {
        liqee_shard.add_claims(outcome.liqor.collateral_change)?;
        return liqee_shard.book_position_change(market_id, &outcome.liqor.position);
    }
    drop(liqee_shard);
    let mut liqor_shard = accounts.liqor_shard.load_mut()?;
    liqor_shard.add_claims(outcome.liqor.collateral_change)?;
    liqor_shard.book_position_change(market_id, &outcome.liqor.position)
}
