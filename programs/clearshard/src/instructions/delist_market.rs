use crate::errors::ClearshardError;
use crate::events::MarketChangeQueued;
use crate::state::{seeds, Exchange, Market, CHANGE_DELISTING};
use anchor_lang::prelude::*;

/// The admin announces a market's delisting: once the exchange's timelock
/// has run, anyone winds it down (`wind_down_market`), at the settlement
/// price the silent path would fix, with no silence needed. A wind-down
/// fixes one price for everyone, so it is announced like any change that
/// moves value; matchers serve meanwhile and owners may leave. It lapses a
/// timelock after it is due, and a pause since it was queued voids it;
/// `cancel_market_change` drops it.
#[derive(Accounts)]
pub struct DelistMarket<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<DelistMarket>) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    let now = Clock::get()?.unix_timestamp;
    let due = ctx.accounts.exchange.load()?.due(now)?.unwrap_or(now);
    market.delist_due = due;
    emit!(MarketChangeQueued { market: market.id, part: CHANGE_DELISTING, due });
    Ok(())
}
