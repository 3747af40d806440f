use crate::events::MarketConfigured;
use crate::state::{seeds, Exchange, Market};
use anchor_lang::prelude::*;

/// Permissionless: applies what the admin queued for a market once the
/// timelock has run out (parameters and price source each on their own date),
/// within a timelock after that, and never while a pause keeps owners
/// anywhere from leaving.
#[derive(Accounts)]
pub struct ApplyMarketChange<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<ApplyMarketChange>) -> Result<()> {
    let exchange = ctx.accounts.exchange.load()?;
    exchange.require_exits_open()?;
    let mut market = ctx.accounts.market.load_mut()?;
    market.apply_due_changes(Clock::get()?.unix_timestamp, i64::from(exchange.timelock_secs))?;
    emit!(MarketConfigured { market: market.id, oracle: market.oracle });
    Ok(())
}
