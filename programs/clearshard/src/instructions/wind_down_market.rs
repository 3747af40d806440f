use crate::errors::ClearshardError;
use crate::events::{MarketWoundDown, WindDownArmed};
use crate::state::{seeds, Exchange, Market, Shard};
use anchor_lang::prelude::*;

/// Permissionless: winds a market down once no matcher has served it for
/// its liveness timeout T, in two calls T apart. The proof reads every
/// shard, read-only, in index order, in this one transaction (41 shards fit
/// with a lookup table), so no caller picks a subset, an order or a moment
/// between pages. Silence runs from the last matcher's batch on any shard,
/// the listing, or the end of the last pause window, whichever is latest.
/// The first call arms the wind-down; the second, between T and 2T later,
/// completes it if the market is still silent (a batch or pause since
/// arming voids it, and a lapsed arming is armed afresh). Both need a
/// settlement price (`Market::settlement_price_at`): a market whose feed
/// went quiet (a weekend, an outage) is silent because nobody could trade,
/// so it is never wound down before it has been readable and unserved for T.
/// Completing fixes the price and stops funding; from then on no batch
/// trades the market and anyone closes its positions at that price
/// (`close_at_settlement`). The admin's delisting, once due
/// (`delist_market`), completes it in one call with no silence needed.
/// Remaining accounts: every shard in index order.
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

    let delisted = market.delisting_is_due(now, &exchange);
    let timeout = market.liveness_timeout_secs();
    require!(delisted || now.saturating_sub(silent_since) >= timeout, ClearshardError::MarketStillLive);

    let oracle: &'info AccountInfo<'info> = accounts.oracle.as_ref();
    let accepted = (last_accepted, accepted_at);
    let (price, fallback) = market.settlement_price_at(oracle, exchange.quote_decimals, now, accepted)?;
    if delisted {
        market.wind_down(now, price);
        emit!(MarketWoundDown { market: market.id, settlement_price: price, fallback, silent_since, delisted });
        return Ok(());
    }
    let armed = market.wind_down_armed_at;
    let lapsed = armed == 0 || silent_since >= armed || now.saturating_sub(armed) > timeout.saturating_mul(2);
    if lapsed {
        market.wind_down_armed_at = now;
        emit!(WindDownArmed { market: market.id, due: now.saturating_add(timeout), silent_since });
        return Ok(());
    }
    require!(now.saturating_sub(armed) >= timeout, ClearshardError::WindDownNotDue);
    market.wind_down(now, price);
    emit!(MarketWoundDown { market: market.id, settlement_price: price, fallback, silent_since, delisted });
    Ok(())
}
