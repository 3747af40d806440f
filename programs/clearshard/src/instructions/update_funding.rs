use crate::errors::ClearshardError;
use crate::events::FundingUpdated;
use crate::state::{seeds, Exchange, Market, Shard, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;

/// Permissionless crank: reads the next shards of the market's funding round,
/// read-only and in index order, from where the round stands (remaining
/// accounts: one or more shards). Once every shard is read, the round accrues
/// the volume-weighted premium of every fill since the last round over the
/// oracle into the market's funding index, clamped and for at most one
/// funding period. No caller chooses which fills make the mark, and the crank
/// writes only the market: positions settle lazily when next touched.
#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be the market's oracle; `Market::fresh_price` checks it.
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let exchange = *accounts.exchange.load()?;
    // Funding must not accrue while nobody can trade out of a position.
    exchange.require_open(0, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused)?;
    require!(!remaining_accounts.is_empty(), ClearshardError::ShardsIncomplete);
    let now = Clock::get()?.unix_timestamp;
    let mut market = accounts.market.load_mut()?;
    let oracle = market.fresh_price(accounts.oracle.as_ref(), exchange.quote_decimals, now)?;
    let mut shards = Vec::with_capacity(remaining_accounts.len());
    for info in remaining_accounts {
        shards.push(AccountLoader::<Shard>::try_from(info)?.load()?.funding_totals(market.id));
    }
    if let Some(accrual) = market.accrue_funding(shards, exchange.shard_count, oracle, now)? {
        emit!(FundingUpdated {
            market: market.id,
            premium: accrual.premium,
            volume_lots: accrual.volume_lots,
            oracle,
            accrued: accrual.accrued,
            cumulative: market.cumulative_funding,
        });
    }
    Ok(())
}
