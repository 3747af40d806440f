//! Loading what risk checks need from `remaining_accounts`: markets with fresh
//! oracle prices, and margin accounts of the right shard, each exactly once.

use crate::errors::ClearshardError;
use crate::state::{MarginAccount, Market, MAX_MARKETS};
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use clearshard_engine::{Portfolio, RiskMarket, MAX_BATCH_MARKETS};
use std::cell::RefMut;

/// Reads `(market, oracle)` account pairs and returns each market with its
/// oracle price per lot (see `Market::priced_risk`: a wound-down market is
/// at its settlement price). A market listed twice is refused, so a caller
/// cannot weigh one twice. At most `MAX_BATCH_MARKETS` pairs: as many as an
/// account can hold positions in.
pub fn load_markets<'info>(
    pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
    now_unix: i64,
) -> Result<Vec<RiskMarket>> {
    Ok(load_up_to(pairs, MAX_BATCH_MARKETS, quote_decimals, now_unix)?.into_iter().map(|(m, _)| m).collect())
}

/// Like [`load_markets`], with whether each market was wound down (a batch
/// trades none that was).
pub fn load_markets_with_status<'info>(
    pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
    now_unix: i64,
) -> Result<Vec<(RiskMarket, bool)>> {
    load_up_to(pairs, MAX_BATCH_MARKETS, quote_decimals, now_unix)
}

/// Like [`load_markets`], up to every listed market: a shard's reserve may
/// need all of them, and 16 pairs fit one transaction with a lookup table.
pub fn load_every_market<'info>(
    pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
    now_unix: i64,
) -> Result<Vec<RiskMarket>> {
    Ok(load_up_to(pairs, usize::from(MAX_MARKETS), quote_decimals, now_unix)?.into_iter().map(|(m, _)| m).collect())
}

/// The ids of `loaded`'s wound-down markets, as a bit set.
pub fn wound_down_set(loaded: &[(RiskMarket, bool)]) -> u32 {
    loaded.iter().filter(|(_, wound_down)| *wound_down).fold(0, |set, (m, _)| set | market_bit(m.id))
}

/// `id`'s bit in a set of market ids.
pub fn market_bit(id: u16) -> u32 {
    1u32.checked_shl(u32::from(id)).unwrap_or(0)
}

/// Refuses an account that still holds a position in one of the wound-down
/// markets of `wound_down` (a bit set of ids). Until closed, such a
/// position is valued at its settlement price, gain included, but its gain
/// becomes a junior claim once closed: no health, and so no withdrawal,
/// transfer, trade, liquidation or record cleared, may lean on it, nor
/// depend on whether anyone closed it yet (the close is free, by anyone).
pub fn require_no_settlement_close_pending(portfolio: &Portfolio, wound_down: u32) -> Result<()> {
    if wound_down == 0 {
        return Ok(());
    }
    let pending = portfolio.positions.iter().any(|p| p.is_open() && wound_down & market_bit(p.market_id) != 0);
    require!(!pending, ClearshardError::SettlementClosePending);
    Ok(())
}

fn load_up_to<'info>(
    pairs: &'info [AccountInfo<'info>],
    limit: usize,
    quote_decimals: u8,
    now_unix: i64,
) -> Result<Vec<(RiskMarket, bool)>> {
    if !pairs.len().is_multiple_of(2) || pairs.len() / 2 > limit {
        return Err(ClearshardError::MalformedBatch.into());
    }
    let mut markets: Vec<(RiskMarket, bool)> = Vec::with_capacity(pairs.len() / 2);
    for [market, oracle] in pairs.as_chunks::<2>().0 {
        let market = *AccountLoader::<Market>::try_from(market)?.load()?;
        if markets.iter().any(|(m, _)| m.id == market.id) {
            return Err(ClearshardError::DuplicateMarket.into());
        }
        require!(now_unix >= market.listed_from, ClearshardError::MarketNotYetListed);
        markets.push((market.priced_risk(oracle, quote_decimals, now_unix)?, market.is_wound_down()));
    }
    Ok(markets)
}

/// The markets a withdrawal rule needs for `account`: none without
/// positions (no oracle can block a position-less withdrawal), else every
/// `(market, oracle)` pair given, fresh. Refuses an account that still
/// holds a wound-down market's position (`SettlementClosePending`).
pub fn markets_for<'info>(
    account: &MarginAccount,
    pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
) -> Result<Vec<RiskMarket>> {
    if !account.markets_needed() {
        return Ok(vec![]);
    }
    let loaded = load_markets_with_status(pairs, quote_decimals, Clock::get()?.unix_timestamp)?;
    require_no_settlement_close_pending(&account.portfolio, wound_down_set(&loaded))?;
    Ok(loaded.into_iter().map(|(m, _)| m).collect())
}

/// Borrows a margin account for writing. The borrow doubles as the duplicate
/// check: the runtime hands a repeated account over as the same cell, so a
/// second mutable borrow fails.
pub fn load_margin_mut<'a>(info: &'a AccountInfo<'_>, program_id: &Pubkey) -> Result<RefMut<'a, MarginAccount>> {
    if info.owner != program_id {
        return Err(error!(ErrorCode::AccountOwnedByWrongProgram).with_pubkeys((*info.owner, *program_id)));
    }
    if !info.is_writable {
        return Err(ClearshardError::MarginAccountNotWritable.into());
    }
    let data = info.try_borrow_mut_data().map_err(|_| error!(ClearshardError::DuplicateMarginAccount))?;
    if data.len() != MarginAccount::SPACE || !data.starts_with(MarginAccount::DISCRIMINATOR) {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    RefMut::filter_map(data, |d| d.get_mut(8..).and_then(|d| bytemuck::try_from_bytes_mut::<MarginAccount>(d).ok()))
        .map_err(|_| error!(ErrorCode::AccountDidNotDeserialize))
}
