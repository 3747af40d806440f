use super::add_market::MarketConfig;
use crate::errors::ClearshardError;
use crate::events::MarketConfigured;
use crate::state::{seeds, Exchange, Market};
use anchor_lang::prelude::*;

/// Replaces a market's risk parameters. Lowering a cap or raising a margin
/// ratio applies to the next batch; existing positions are not touched. Tick
/// size, lot size and decimals are what positions are counted in: they
/// cannot change on a listed market.
#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<UpdateMarket>, config: MarketConfig) -> Result<()> {
    let params = config.to_params()?;
    let mut market = ctx.accounts.market.load_mut()?;
    market.require_same_units(&params)?;
    market.params = params;
    emit!(MarketConfigured { market: market.id, oracle: market.oracle });
    Ok(())
}
