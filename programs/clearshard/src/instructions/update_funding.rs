use crate::errors::ClearshardError;
use crate::events::FundingUpdated;
use crate::state::{seeds, Exchange, Market, Shard, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;

/// Permissionless crank: reads the next shards of the market's funding round,
/// read-only and in index order, from where the round stands (remaining
/// accounts: one or more shards). A round reads the fills of the funding epoch
/// that just ended, frozen since it ended; once every shard is read it sets
/// the rate that accrues, second by second, over the epoch after next. No
/// caller chooses the fills, the moment or the pages that make the mark, and
/// the crank writes only the market: positions settle lazily when touched.
#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
}

pub fn handler<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let exchange = *accounts.exchange.load()?;
    let now = Clock::get()?.unix_timestamp;
    // No new rate while some owners cannot trade out of a position: a
    // settlement pause on the exchange, or on any shard the round reads
    // (a round reads every shard, so it stays incomplete and sets nothing).
    require!(exchange.live_pause(now) & PAUSE_SETTLEMENT == 0, ClearshardError::SettlementPaused);
    require!(!remaining_accounts.is_empty(), ClearshardError::ShardsIncomplete);
    let mut market = accounts.market.load_mut()?;
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    let mut shards = Vec::with_capacity(remaining_accounts.len());
    for info in remaining_accounts {
        let shard = AccountLoader::<Shard>::try_from(info)?;
        let shard = shard.load()?;
        exchange.require_open(&shard, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused, now)?;
        shards.push(shard.funding(market.id)?);
    }
    if let Some(set) = market.read_funding(&shards, exchange.shard_count, now)? {
        emit!(FundingUpdated {
            market: market.id,
            fill_epoch: set.fill_epoch,
            volume_lots: set.fills.volume_lots,
            premium: set.fills.premium,
            rate: set.rate,
            index: market.funding.index_at(now).map_err(ClearshardError::from)?,
        });
    }
    Ok(())
}
