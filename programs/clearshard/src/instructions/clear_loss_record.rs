use crate::errors::ClearshardError;
use crate::events::LossRecordCleared;
use crate::risk;
use crate::state::{seeds, Exchange, MarginAccount, Shard};
use anchor_lang::prelude::*;

/// Permissionless: forgets where an account's past losses arose once that
/// can no longer become a deficit: it holds positions and is above
/// maintenance at fresh prices (funding and loss accrued counted), or holds
/// none and its collateral is not negative. A liquidation that restores the
/// account does the same; this covers one restored by the market instead,
/// so that a wound-down market where it was once liquidated can become
/// final. Not while it holds a position in a wound-down market: that
/// position's loss at the settlement price is already fixed, and whether
/// it is recorded must not depend on whether anyone closed it before this
/// call (`SettlementClosePending`; anyone may close it first, for free).
/// Remaining accounts: `(market, oracle)` pairs for every market the
/// account holds.
#[derive(Accounts)]
pub struct ClearLossRecord<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, constraint = shard.load()?.index == margin_account.load()?.shard
        @ ClearshardError::MarginAccountOfAnotherShard)]
    pub shard: AccountLoader<'info, Shard>,
}

pub fn handler<'info>(ctx: Context<'info, ClearLossRecord<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let quote_decimals = accounts.exchange.load()?.quote_decimals;
    let mut margin = accounts.margin_account.load_mut()?;
    require!(margin.portfolio.loss_markets().next().is_some(), ClearshardError::NoLossRecorded);
    let restored = if margin.portfolio.has_open_positions() {
        let loaded = risk::load_markets_with_status(remaining_accounts, quote_decimals, Clock::get()?.unix_timestamp)?;
        risk::require_no_settlement_close_pending(&margin.portfolio, risk::wound_down_set(&loaded))?;
        let markets: Vec<_> = loaded.into_iter().map(|(m, _)| m).collect();
        let mut settled = margin.portfolio;
        let (_, health) = settled.settle_and_health(&markets[..]).map_err(ClearshardError::from)?;
        health.maintenance >= 0
    } else {
        margin.portfolio.collateral >= 0
    };
    require!(restored, ClearshardError::AccountUnderWater);
    let before = margin.portfolio.liquidation_losses;
    margin.portfolio.clear_liquidation_losses();
    accounts.shard.load_mut()?.count_loss_records(&before, &margin.portfolio.liquidation_losses)?;
    emit!(LossRecordCleared { account: accounts.margin_account.key() });
    Ok(())
}
