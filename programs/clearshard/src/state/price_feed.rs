use anchor_lang::prelude::*;
use clearshard_engine::oracle::OracleReading;

/// The built-in price feed (local use and tests), in Pyth's convention:
/// `price × 10^expo` quote tokens per base token, ± `confidence`.
#[account(zero_copy)]
#[derive(Debug)]
pub struct PriceFeed {
    pub market_id: u16,
    pub bump: u8,
    /// 1: its market is a test market; otherwise no price may be published.
    pub test_market: u8,
    pub expo: i32,
    pub price: i64,
    pub confidence: u64,
    pub publish_time: i64,
    /// The feed's own moving average of the prices that stood (an hour's
    /// time constant, like Pyth's EMA), in `expo`: the circuit breaker's
    /// reference.
    pub ema_price: i64,
}
const _: () = assert!(core::mem::size_of::<PriceFeed>() == 40);

/// The time constant of the built-in feed's moving average.
pub const FEED_EMA_SECS: i64 = 3_600;

impl PriceFeed {
    pub const SPACE: usize = 8 + core::mem::size_of::<PriceFeed>();

    pub fn reading(&self) -> OracleReading {
        OracleReading { price: self.price, confidence: self.confidence, expo: self.expo }
    }

    /// Publishes `price` at `now`. The average moves toward the price that
    /// stood since the last print (never toward the new one), weighted by how
    /// long it stood, `elapsed / (FEED_EMA_SECS + elapsed)` with `elapsed`
    /// at most `FEED_EMA_SECS`: a print is always judged against a past it
    /// did not make, and only a price that holds drags the average (about
    /// half the gap an hour). The first price starts it. The exponent is
    /// fixed once priced (`set_price` refuses a change).
    pub fn publish(&mut self, price: i64, confidence: u64, expo: i32, now: i64) {
        self.ema_price = if self.ema_price <= 0 {
            price
        } else {
            let elapsed = now.saturating_sub(self.publish_time).clamp(0, FEED_EMA_SECS).unsigned_abs();
            let gap = self.price.saturating_sub(self.ema_price);
            // |gap| < 2^64 and elapsed ≤ 3,600: the product fits u128;
            // unsigned division (SBF has no signed 64-bit division).
            let moved = u128::from(gap.unsigned_abs())
                .saturating_mul(u128::from(elapsed))
                .checked_div(u128::from(FEED_EMA_SECS.unsigned_abs().saturating_add(elapsed)))
                .unwrap_or(0);
            let moved = i64::try_from(moved).unwrap_or(i64::MAX);
            if gap >= 0 {
                self.ema_price.saturating_add(moved)
            } else {
                self.ema_price.saturating_sub(moved)
            }
        };
        self.price = price;
        self.confidence = confidence;
        self.expo = expo;
        self.publish_time = now;
    }
}
