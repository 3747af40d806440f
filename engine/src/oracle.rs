//! Oracle prices as the engine uses them: per base lot in quote native units.
//! Feeds quote a price per whole base token with a decimal exponent (Pyth's
//! convention, also the built-in feed's); the conversion happens once per
//! market per batch, never per fill.

use crate::{EngineError, MarketParams, BPS};

/// A feed's reading: `price * 10^expo` quote tokens per base token, ± `confidence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleReading {
    pub price: i64,
    pub confidence: u64,
    pub expo: i32,
}

impl OracleReading {
    /// The price per lot, after checking that the confidence interval is narrow enough.
    pub fn price_per_lot(&self, market: &MarketParams, quote_decimals: u8) -> Result<u64, EngineError> {
        if self.price <= 0 {
            return Err(EngineError::InvalidOraclePrice);
        }
        let price = self.price as u128;
        if self.confidence as u128 * BPS as u128 > price * market.max_confidence_bps as u128 {
            return Err(EngineError::OracleConfidenceTooWide);
        }
        let shift = self.expo as i64 + quote_decimals as i64 - market.base_decimals as i64;
        let scaled = price.checked_mul(market.base_lot_size as u128).ok_or(EngineError::Overflow)?;
        let per_lot = if shift >= 0 {
            let factor = pow10(shift)?;
            scaled.checked_mul(factor).ok_or(EngineError::Overflow)?
        } else {
            scaled / pow10(-shift)?
        };
        match u64::try_from(per_lot) {
            Ok(0) => Err(EngineError::InvalidOraclePrice),
            Ok(p) => Ok(p),
            Err(_) => Err(EngineError::Overflow),
        }
    }
}

fn pow10(exp: i64) -> Result<u128, EngineError> {
    u32::try_from(exp)
        .ok()
        .and_then(|e| 10u128.checked_pow(e))
        .ok_or(EngineError::InvalidOraclePrice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> MarketParams {
        MarketParams {
            tick_size: 1,
            base_lot_size: 10_000_000, // 0.01 of a 9-decimal token
            max_open_interest_per_shard: 1,
            initial_margin_bps: 1000,
            maintenance_margin_bps: 500,
            taker_fee_bps: 5,
            maker_fee_bps: 0,
            band_bps: 500,
            max_confidence_bps: 50,
            max_staleness_secs: 30,
            base_decimals: 9,
            _padding: [0; 3],
        liquidation_fee_bps: 250,
        liquidation_insurance_share_bps: 5_000,
        }
    }

    #[test]
    fn converts_pyth_style_price_to_per_lot() {
        // 150.25 USD per token, 6-decimal quote: one lot (0.01 token) = 1.5025 USD = 1_502_500 native.
        let r = OracleReading { price: 15_025_000_000, confidence: 1_000_000, expo: -8 };
        assert_eq!(r.price_per_lot(&market(), 6), Ok(1_502_500));
    }

    #[test]
    fn refuses_wide_confidence_and_bad_prices() {
        let wide = OracleReading { price: 10_000, confidence: 51, expo: 0 };
        assert_eq!(wide.price_per_lot(&market(), 6), Err(EngineError::OracleConfidenceTooWide));
        let zero = OracleReading { price: 0, confidence: 0, expo: 0 };
        assert_eq!(zero.price_per_lot(&market(), 6), Err(EngineError::InvalidOraclePrice));
        let huge = OracleReading { price: i64::MAX, confidence: 0, expo: 10 };
        assert_eq!(huge.price_per_lot(&market(), 6), Err(EngineError::Overflow));
        let tiny = OracleReading { price: 1, confidence: 0, expo: -12 };
        assert_eq!(tiny.price_per_lot(&market(), 6), Err(EngineError::InvalidOraclePrice));
    }
}
