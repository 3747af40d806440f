use crate::errors::ClearshardError;
use crate::events::MarketChangeCancelled;
use crate::state::{seeds, Exchange, Market};
use anchor_lang::prelude::*;

/// The admin drops what it queued for a market (stopping a change is never
/// delayed).
#[derive(Accounts)]
pub struct CancelMarketChange<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<CancelMarketChange>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    market.cancel_changes()?;
    emit!(MarketChangeCancelled { market: market.id });
    Ok(())
}
