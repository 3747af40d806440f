use super::add_market::MarketConfig;
use crate::errors::ClearshardError;
use crate::events::{MarketChangeCancelled, MarketChangeQueued, MarketConfigured};
use crate::state::{seeds, Exchange, Market, PendingMarketChange, CHANGE_PARAMS};
use anchor_lang::prelude::*;

/// Replaces a market's risk parameters. A change that only lowers the
/// open-interest cap applies at once, and voids whatever was queued for the
/// market; any other waits out the exchange's timelock
/// (`apply_market_change`), announced by `MarketChangeQueued`.
/// Existing positions are not touched. Tick size, lot size and decimals are
/// what positions are counted in: they cannot change on a listed market.
#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler(ctx: Context<UpdateMarket>, config: MarketConfig) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    let params = config.to_params(market.test_market == 1)?;
    // A wound-down market's terms are final.
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    market.require_same_units(&params)?;
    let due = ctx.accounts.exchange.load()?.due(Clock::get()?.unix_timestamp)?;
    match due {
        Some(due) if !market.only_tightens(&params) => {
            market.pending.params = params;
            market.pending.params_due = due;
            emit!(MarketChangeQueued { market: market.id, part: CHANGE_PARAMS, due });
        }
        _ => {
            market.params = params;
            // A restriction voids what was queued: owners it holds in could
            // not leave before the queued change applies.
            if market.pending.params_due != 0 || market.pending.oracle_due != 0 {
                market.pending = PendingMarketChange::default();
                emit!(MarketChangeCancelled { market: market.id });
            }
            emit!(MarketConfigured { market: market.id, oracle: market.oracle });
        }
    }
    Ok(())
}
