//! Loading what risk checks need from `remaining_accounts`: markets with fresh
//! oracle prices, and margin accounts of the right shard, each exactly once.

use crate::errors::ClearshardError;
use crate::state::{MarginAccount, Market, PriceFeed, ORACLE_BUILTIN, ORACLE_PYTH, PYTH_RECEIVER_ID};
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use clearshard_engine::oracle::{OracleReading, PythPriceUpdate};
use clearshard_engine::{RiskMarket, MAX_BATCH_MARKETS};
use std::cell::RefMut;

/// Reads `(market, oracle)` account pairs and returns each market with its
/// oracle price per lot. Stale, wide, unverified or foreign oracles are
/// refused: a circuit breaker, never a fallback.
pub fn load_markets<'info>(
    pairs: &'info [AccountInfo<'info>],
    quote_decimals: u8,
    now_unix: i64,
) -> Result<Vec<RiskMarket>> {
    if !pairs.len().is_multiple_of(2) || pairs.len() / 2 > MAX_BATCH_MARKETS {
        return Err(ClearshardError::MalformedBatch.into());
    }
    let mut markets: Vec<RiskMarket> = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.as_chunks::<2>().0 {
        let market = *AccountLoader::<Market>::try_from(&pair[0])?.load()?;
        if markets.iter().any(|m| m.id == market.id) {
            return Err(ClearshardError::DuplicateMarket.into());
        }
        if pair[1].key() != market.oracle {
            return Err(ClearshardError::WrongOracle.into());
        }
        let (reading, publish_time) = read_oracle(&market, &pair[1])?;
        let age = now_unix.saturating_sub(publish_time);
        if age > market.params.max_staleness_secs as i64 || age < 0 {
            return Err(ClearshardError::StaleOracle.into());
        }
        let oracle_price = reading.price_per_lot(&market.params, quote_decimals).map_err(ClearshardError::from)?;
        markets.push(RiskMarket {
            id: market.id,
            params: market.params,
            oracle_price,
            cumulative_funding: market.cumulative_funding,
            cumulative_loss: market.cumulative_loss,
        });
    }
    Ok(markets)
}

/// The price in `oracle` (already checked to be the market's account) and its publish time.
pub fn read_oracle<'info>(market: &Market, oracle: &'info AccountInfo<'info>) -> Result<(OracleReading, i64)> {
    match market.oracle_kind {
        ORACLE_BUILTIN => {
            let feed = *AccountLoader::<PriceFeed>::try_from(oracle)?.load()?;
            Ok((feed.reading(), feed.publish_time))
        }
        ORACLE_PYTH => {
            require_keys_eq!(*oracle.owner, PYTH_RECEIVER_ID, ClearshardError::OracleOwnedByWrongProgram);
            let data = oracle.try_borrow_data()?;
            let update = PythPriceUpdate::decode(&data).map_err(ClearshardError::from)?;
            require!(update.feed_id == market.pyth_feed_id, ClearshardError::OracleFeedMismatch);
            require!(update.fully_verified, ClearshardError::OracleNotFullyVerified);
            Ok((update.reading, update.publish_time))
        }
        _ => Err(ClearshardError::InvalidOracleKind.into()),
    }
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
    RefMut::filter_map(data, |d| bytemuck::try_from_bytes_mut::<MarginAccount>(&mut d[8..]).ok())
        .map_err(|_| error!(ErrorCode::AccountDidNotDeserialize))
}
