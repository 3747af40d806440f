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
        let price = u128::from(self.price.unsigned_abs());
        // u64 × u64 products: inside u128.
        let width = u128::from(self.confidence).wrapping_mul(u128::from(BPS));
        if width > price.wrapping_mul(u128::from(market.max_confidence_bps)) {
            return Err(EngineError::OracleConfidenceTooWide);
        }
        self.scale(self.price, market, quote_decimals)
    }

    /// `reference` (a slow average of this feed, in its exponent) per lot,
    /// given this reading's `price_per_lot`: what the circuit breaker
    /// compares the price with. Within the breaker's band (judged on the
    /// feed's own prices) the breaker is inert, and the reference is the
    /// price itself: calm markets pay no second scaling. One that cannot be
    /// scaled (none yet, or out of range) is held to the nearest end, never
    /// an error: the breaker may hold back initial margin, not stop a market
    /// (liquidations included).
    pub fn reference_per_lot(
        &self,
        reference: i64,
        market: &MarketParams,
        quote_decimals: u8,
        price_per_lot: u64,
    ) -> u64 {
        let bound = crate::health::mul_bps_floor(reference.unsigned_abs(), market.breaker_bps());
        if reference > 0 && self.price.abs_diff(reference) <= bound {
            return price_per_lot;
        }
        match self.scale(reference, market, quote_decimals) {
            Ok(reference) => reference,
            Err(EngineError::Overflow) => u64::MAX,
            Err(_) => 1,
        }
    }

    /// The feed's own moving average `reference` per lot, refused if it
    /// cannot be scaled (a wind-down's price must be a price).
    pub fn average_per_lot(
        &self,
        reference: i64,
        market: &MarketParams,
        quote_decimals: u8,
    ) -> Result<u64, EngineError> {
        self.scale(reference, market, quote_decimals)
    }

    fn scale(&self, price: i64, market: &MarketParams, quote_decimals: u8) -> Result<u64, EngineError> {
        if price <= 0 {
            return Err(EngineError::InvalidOraclePrice);
        }
        let price = u128::from(price.unsigned_abs());
        let shift =
            i64::from(self.expo).wrapping_add(i64::from(quote_decimals)).wrapping_sub(i64::from(market.base_decimals));
        let scaled = price.checked_mul(market.base_lot_size as u128).ok_or(EngineError::Overflow)?;
        let per_lot = if shift >= 0 {
            let factor = pow10(shift)?;
            scaled.checked_mul(factor).ok_or(EngineError::Overflow)?
        } else {
            scaled.checked_div(pow10(shift.wrapping_neg())?).ok_or(EngineError::Overflow)?
        };
        match u64::try_from(per_lot) {
            Ok(0) => Err(EngineError::InvalidOraclePrice),
            Ok(p) => Ok(p),
            Err(_) => Err(EngineError::Overflow),
        }
    }
}

/// Anchor discriminator of Pyth's `PriceUpdateV2`: `sha256("account:PriceUpdateV2")[..8]`.
pub const PYTH_PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

/// What settlement reads of a Pyth pull-oracle `PriceUpdateV2` account
/// (Borsh: discriminator, write authority, verification level, price
/// message, posted slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PythPriceUpdate {
    pub feed_id: [u8; 32],
    pub reading: OracleReading,
    pub publish_time: i64,
    /// Pyth's exponential moving average of the price (about an hour), in
    /// the reading's exponent: the circuit breaker's reference.
    pub ema_price: i64,
    /// Verified by a full quorum of Wormhole guardians (not `Partial`).
    pub fully_verified: bool,
}

impl PythPriceUpdate {
    pub fn decode(data: &[u8]) -> Result<PythPriceUpdate, EngineError> {
        let malformed = EngineError::OracleAccountMalformed;
        if !data.starts_with(&PYTH_PRICE_UPDATE_V2_DISCRIMINATOR) {
            return Err(malformed);
        }
        // Verification level: tag 0 = Partial { num_signatures: u8 }, tag 1 = Full.
        let (fully_verified, at) = match data.get(40) {
            Some(0) => (false, 42),
            Some(1) => (true, 41),
            _ => return Err(malformed),
        };
        // Feed id 32, price 8, confidence 8, exponent 4, publish time 8,
        // previous publish time 8, EMA price 8 (then EMA confidence).
        let message: &[u8; 76] = data.get(at..).and_then(|d| d.first_chunk()).ok_or(malformed)?;
        let (feed_id, rest) = message.split_first_chunk::<32>().ok_or(malformed)?;
        let (price, rest) = rest.split_first_chunk::<8>().ok_or(malformed)?;
        let (confidence, rest) = rest.split_first_chunk::<8>().ok_or(malformed)?;
        let (expo, rest) = rest.split_first_chunk::<4>().ok_or(malformed)?;
        let (publish_time, rest) = rest.split_first_chunk::<8>().ok_or(malformed)?;
        let ema_price = rest.get(8..).and_then(|r| r.first_chunk::<8>()).ok_or(malformed)?;
        let (feed_id, price, confidence) = (*feed_id, i64::from_le_bytes(*price), u64::from_le_bytes(*confidence));
        let (expo, publish_time) = (i32::from_le_bytes(*expo), i64::from_le_bytes(*publish_time));
        Ok(PythPriceUpdate {
            feed_id,
            reading: OracleReading { price, confidence, expo },
            publish_time,
            ema_price: i64::from_le_bytes(*ema_price),
            fully_verified,
        })
    }
}

fn pow10(exp: i64) -> Result<u128, EngineError> {
    u32::try_from(exp).ok().and_then(|e| 10u128.checked_pow(e)).ok_or(EngineError::InvalidOraclePrice)
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
            _padding: 0,
            liveness_timeout_mins: 720,
            liquidation_fee_bps: 250,
            liquidation_insurance_share_bps: 5_000,
            funding_min_volume_lots: 1,
        }
    }

    #[test]
    fn converts_pyth_style_price_to_per_lot() {
        // 150.25 USD per token, 6-decimal quote: one lot (0.01 token) = 1.5025 USD = 1_502_500 native.
        let r = OracleReading { price: 15_025_000_000, confidence: 1_000_000, expo: -8 };
        assert_eq!(r.price_per_lot(&market(), 6), Ok(1_502_500));
    }

    /// Within the breaker's band (5% here) the reference is the price per
    /// lot itself; beyond it, the average scaled; one that cannot be scaled
    /// saturates, never fails.
    #[test]
    fn a_reference_is_the_price_within_the_band_and_never_an_error() {
        let r = OracleReading { price: 15_025_000_000, confidence: 1_000_000, expo: -8 };
        let per_lot = r.price_per_lot(&market(), 6).unwrap();
        assert_eq!(r.reference_per_lot(14_400_000_000, &market(), 6, per_lot), per_lot);
        assert_eq!(r.reference_per_lot(14_000_000_000, &market(), 6, per_lot), 1_400_000);
        assert_eq!(r.reference_per_lot(0, &market(), 6, per_lot), 1);
        assert_eq!(r.reference_per_lot(-5, &market(), 6, per_lot), 1);
        assert_eq!(r.reference_per_lot(i64::MAX, &market(), 30, per_lot), u64::MAX);
    }

    #[test]
    fn decodes_pyth_price_updates_of_both_verification_levels() {
        let mut full = [0u8; 133];
        full[..8].copy_from_slice(&PYTH_PRICE_UPDATE_V2_DISCRIMINATOR);
        full[40] = 1;
        full[41..73].copy_from_slice(&[7u8; 32]);
        full[73..81].copy_from_slice(&15_025_000_000i64.to_le_bytes());
        full[81..89].copy_from_slice(&1_000u64.to_le_bytes());
        full[89..93].copy_from_slice(&(-8i32).to_le_bytes());
        full[93..101].copy_from_slice(&1_700_000_000i64.to_le_bytes());
        let update = PythPriceUpdate::decode(&full).unwrap();
        assert_eq!(update.feed_id, [7u8; 32]);
        assert_eq!(update.reading, OracleReading { price: 15_025_000_000, confidence: 1_000, expo: -8 });
        assert_eq!(update.publish_time, 1_700_000_000);
        assert!(update.fully_verified);
        // Partial { num_signatures: 5 } shifts the message by one byte.
        let mut partial = [0u8; 134];
        partial[..41].copy_from_slice(&full[..41]);
        partial[40] = 0;
        partial[41] = 5;
        partial[42..].copy_from_slice(&full[41..]);
        let update = PythPriceUpdate::decode(&partial).unwrap();
        assert!(!update.fully_verified);
        assert_eq!(update.publish_time, 1_700_000_000);
        assert_eq!(PythPriceUpdate::decode(&full[..90]), Err(EngineError::OracleAccountMalformed));
        full[0] ^= 1;
        assert_eq!(PythPriceUpdate::decode(&full), Err(EngineError::OracleAccountMalformed));
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
