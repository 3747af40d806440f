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
}
const _: () = assert!(core::mem::size_of::<PriceFeed>() == 32);

impl PriceFeed {
    pub const SPACE: usize = 8 + core::mem::size_of::<PriceFeed>();

    pub fn reading(&self) -> OracleReading {
        OracleReading { price: self.price, confidence: self.confidence, expo: self.expo }
    }
}
