use crate::errors::ClearshardError;
use crate::events::FundingUpdated;
use crate::risk::read_oracle;
use crate::state::{seeds, Exchange, Market, Shard};
use anchor_lang::prelude::*;
use clearshard_engine::funding::funding_per_lot;

/// Permissionless crank: accrues funding into the market's index from the
/// mark (the mean of the last fill prices recorded by the shards passed in
/// remaining accounts, read-only) against the oracle. It writes only the
/// market; positions settle lazily when next touched, so funding never needs
/// a write lock on any shard, let alone all of them.
#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(seeds = [seeds::EXCHANGE], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be the market's oracle; read by kind like in settlement.
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let now = Clock::get()?.unix_timestamp;
    let quote_decimals = accounts.exchange.load()?.quote_decimals;
    let mut market = accounts.market.load_mut()?;
    require_keys_eq!(accounts.oracle.key(), market.oracle, ClearshardError::WrongOracle);
    let (reading, publish_time) = read_oracle(&market, accounts.oracle.as_ref())?;
    let age = now.saturating_sub(publish_time);
    require!(age >= 0 && age <= market.params.max_staleness_secs as i64, ClearshardError::StaleOracle);
    let oracle = reading.price_per_lot(&market.params, quote_decimals).map_err(ClearshardError::from)?;

    let (mut sum, mut count) = (0u128, 0u128);
    for info in remaining_accounts {
        let shard = AccountLoader::<Shard>::try_from(info)?;
        let last_price = shard.load()?.markets.get(market.id as usize).map_or(0, |m| m.last_price);
        if last_price > 0 {
            sum += last_price as u128;
            count += 1;
        }
    }
    require!(count > 0, ClearshardError::NoMarkPrice);
    let mark = (sum / count) as u64;

    if market.last_funding_unix == 0 {
        market.last_funding_unix = now;
        return Ok(());
    }
    let elapsed = now - market.last_funding_unix;
    let accrued = funding_per_lot(mark, oracle, elapsed);
    // Keep the clock where it was while the premium rounds to nothing, so
    // that small premiums still accrue over time.
    if accrued != 0 || mark == oracle {
        market.cumulative_funding =
            market.cumulative_funding.checked_add(accrued).ok_or(ClearshardError::MathOverflow)?;
        market.last_funding_unix = now;
    }
    emit!(FundingUpdated { market: market.id, mark, oracle, accrued, cumulative: market.cumulative_funding });
    Ok(())
}
