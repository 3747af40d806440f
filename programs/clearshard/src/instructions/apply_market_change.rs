use crate::errors::ClearshardError;
use crate::events::MarketConfigured;
use crate::state::{seeds, Exchange, Market};
use anchor_lang::prelude::*;

/// Permissionless: applies what the admin queued for a market once the
/// timelock has run out (parameters and price source each on their own date),
/// within a timelock after that, and only if nothing anywhere has been
/// paused since it was queued (owners could leave all along).
#[derive(Accounts)]
pub struct ApplyMarketChange<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<ApplyMarketChange>) -> Result<()> {
    let exchange = ctx.accounts.exchange.load()?;
    let mut market = ctx.accounts.market.load_mut()?;
    // A wound-down market's terms are final.
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    market.apply_due_changes(Clock::get()?.unix_timestamp, &exchange)?;
    emit!(MarketConfigured { market: market.id, oracle: market.oracle });
    Ok(())
}
