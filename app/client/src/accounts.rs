//! Decoding program accounts from raw bytes (discriminator checked).

use anchor_lang::{Discriminator, ZeroCopy};

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    WrongSize { expected: usize, got: usize },
    WrongDiscriminator,
}

/// Reads a zero-copy account of type `T` from its data.
pub fn decode<T: ZeroCopy + Discriminator>(data: &[u8]) -> Result<T, DecodeError> {
    let size = 8 + std::mem::size_of::<T>();
    if data.len() != size {
        return Err(DecodeError::WrongSize { expected: size, got: data.len() });
    }
    if !data.starts_with(T::DISCRIMINATOR) {
        return Err(DecodeError::WrongDiscriminator);
    }
    Ok(bytemuck::pod_read_unaligned(&data[8..]))
}

/// A market as the program's risk checks see it at `now`, priced by its
/// built-in feed (once wound down, at its settlement price).
pub fn risk_market(
    market: &clearshard::state::Market,
    feed: &clearshard::state::PriceFeed,
    quote_decimals: u8,
    now: i64,
) -> Result<clearshard_engine::RiskMarket, clearshard_engine::EngineError> {
    if market.is_wound_down() {
        let price = market.settlement_price;
        return market.risk(price, price, now).map_err(|_| clearshard_engine::EngineError::Overflow);
    }
    let reading = feed.reading();
    let price = reading.price_per_lot(&market.params, quote_decimals)?;
    let reference = reading.reference_per_lot(feed.ema_price, &market.params, quote_decimals, price);
    // The only way the index can fail is overflow.
    market.risk(price, reference, now).map_err(|_| clearshard_engine::EngineError::Overflow)
}
