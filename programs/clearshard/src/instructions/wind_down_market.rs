use crate::errors::ClearshardError;
use crate::events::{MarketWoundDown, WindDownArmed};
use crate::state::{seeds, Exchange, MarginAccount, Market, Shard};
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
/// (`close_at_settlement`). An owner's exit that went unserved stands in for
/// silence (`unserved_exit`: an account that asked to exit and holds a
/// position in this market and no other the liveness timeout after its
/// request, or after the last settlement pause ended if later): the first
/// call arms, and one between T and 2T later completes if the exit was
/// already due when armed and no settlement pause came since, so a matcher
/// that keeps the market alive but not the owner's way out loses the
/// market, after a public warning and a timeout to serve it. The admin's
/// delisting, once due (`delist_market`), completes it in one call.
/// Remaining accounts: every shard in index order.
#[derive(Accounts)]
pub struct WindDownMarket<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be the market's oracle (`Market::settlement_price_at`).
    pub oracle: UncheckedAccount<'info>,
    pub unserved_exit: Option<AccountLoader<'info, MarginAccount>>,
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
    let (unserved_exit, exit_due_at) = match &accounts.unserved_exit {
        Some(account) => {
            let margin = account.load()?;
            let since = market.listed_from.max(exchange.pause.settlement_ends_at());
            (account.key(), Some(unserved_exit_due_at(&margin, market.id, since, now, timeout)?))
        }
        None => (Pubkey::default(), None),
    };
    let silent = now.saturating_sub(silent_since) >= timeout;
    require!(delisted || exit_due_at.is_some() || silent, ClearshardError::MarketStillLive);

    let oracle: &'info AccountInfo<'info> = accounts.oracle.as_ref();
    let accepted = (last_accepted, accepted_at);
    let (price, fallback) = market.settlement_price_at(oracle, exchange.quote_decimals, now, accepted)?;
    let wound_down =
        MarketWoundDown { market: market.id, settlement_price: price, fallback, silent_since, delisted, unserved_exit };
    if delisted {
        market.wind_down(now, price);
        emit!(wound_down);
        return Ok(());
    }
    // An arming stands while what armed it still holds: silence (no batch
    // since), or an unserved exit (no settlement pause since). It completes
    // only with an exit already due when it was armed, so that a matcher
    // serving the market gets a public warning and a whole timeout to serve
    // the exit, and no call naming a fresh exit can put that arming off.
    let armed = market.wind_down_armed_at;
    let voided = match exit_due_at {
        Some(_) => exchange.pause.settlement_ends_at() >= armed,
        None => silent_since >= armed,
    };
    let lapsed = armed == 0 || voided || now.saturating_sub(armed) > timeout.saturating_mul(2);
    if lapsed {
        market.wind_down_armed_at = now;
        emit!(WindDownArmed { market: market.id, due: now.saturating_add(timeout), silent_since });
        return Ok(());
    }
    if let Some(due) = exit_due_at {
        require!(due <= armed, ClearshardError::ExitDueAfterArming);
    }
    require!(now.saturating_sub(armed) >= timeout, ClearshardError::WindDownNotDue);
    market.wind_down(now, price);
    emit!(wound_down);
    Ok(())
}

/// When `margin`'s exit fell due in `market_id`: it asked to exit, still
/// holds a position there and in no other market, and has waited the
/// timeout since its request or `since`, whichever is later (by `now`).
/// One market only: a batch prices every market an account holds, so while
/// another market's feed is out no matcher can serve the account, and that
/// outage must not wind this market down.
fn unserved_exit_due_at(margin: &MarginAccount, market_id: u16, since: i64, now: i64, timeout: i64) -> Result<i64> {
    let portfolio = &margin.portfolio;
    require!(portfolio.is_exiting(), ClearshardError::NoExitRequested);
    require!(portfolio.position(market_id).is_some_and(|p| p.base_lots != 0), ClearshardError::ExitServed);
    let elsewhere = portfolio.positions.iter().any(|p| p.base_lots != 0 && p.market_id != market_id);
    require!(!elsewhere, ClearshardError::ExitHoldsOtherMarkets);
    let due_at = portfolio.exit_requested_at.max(since).saturating_add(timeout);
    require!(now >= due_at, ClearshardError::ExitRequestNotDue);
    Ok(due_at)
}
