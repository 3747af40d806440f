use crate::errors::ClearshardError;
use crate::events::MarketWoundDown;
use crate::state::{seeds, Exchange, Market, Shard};
use anchor_lang::prelude::*;

/// Permissionless: winds a market down once no matcher has served it for
/// its liveness timeout. The proof reads every shard, read-only, in index
/// order, in this one transaction (41 shards fit with a lookup table), so
/// no caller picks a subset, an order or a moment between pages. Silence
/// runs from the last matcher's batch on any shard, the listing, or the end
/// of the last pause window, whichever is latest. It fixes the settlement
/// price (`Market::settlement_price_at`) and stops funding; from then on no
/// batch trades the market and anyone closes its positions at that price
/// (`close_at_settlement`). Remaining accounts: every shard in index order.
#[derive(Accounts)]
pub struct WindDownMarket<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be the market's oracle (`Market::settlement_price_at`).
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, WindDownMarket<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let exchange = *accounts.exchange.load()?;
    let now = Clock::get()?.unix_timestamp;
    let mut market = accounts.market.load_mut()?;
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    require!(remaining_accounts.len() == usize::from(exchange.shard_count), ClearshardError::ShardsIncomplete);

    let id = usize::from(market.id);
    let mut silent_since = market.listed_from.max(exchange.pause.ends_at());
    let (mut last_accepted, mut accepted_at) = (0u64, i64::MIN);
    for (index, info) in remaining_accounts.iter().enumerate() {
        let shard = AccountLoader::<Shard>::try_from(info)?;
        let shard = shard.load()?;
        require!(usize::from(shard.index) == index, ClearshardError::ShardOutOfOrder);
        let stats = shard.markets.get(id).ok_or(ClearshardError::UnknownMarket)?;
        silent_since = silent_since.max(stats.last_batch_at);
        if stats.last_oracle_at > accepted_at {
            (last_accepted, accepted_at) = (stats.last_oracle_price, stats.last_oracle_at);
        }
    }
    require!(now.saturating_sub(silent_since) >= market.liveness_timeout_secs(), ClearshardError::MarketStillLive);

    let oracle: &'info AccountInfo<'info> = accounts.oracle.as_ref();
    let (price, fallback) = market.settlement_price_at(oracle, exchange.quote_decimals, now, last_accepted)?;
    market.wound_down = 1;
    market.wound_down_at = now;
    market.settlement_price = price;
    emit!(MarketWoundDown { market: market.id, settlement_price: price, fallback, silent_since });
    Ok(())
}
