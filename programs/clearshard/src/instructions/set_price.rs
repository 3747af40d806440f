use crate::errors::ClearshardError;
use crate::state::{seeds, Exchange, PriceFeed};
use anchor_lang::prelude::*;

/// Publishes a price on a test market's built-in feed, stamped with the
/// cluster clock. A market that is not a test market takes no admin price.
#[derive(Accounts)]
pub struct SetPrice<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub price_feed: AccountLoader<'info, PriceFeed>,
}

pub fn handler(ctx: Context<SetPrice>, price: i64, confidence: u64, expo: i32) -> Result<()> {
    require!(price > 0 && (-18..=18).contains(&expo), ClearshardError::InvalidOraclePrice);
    let mut feed = ctx.accounts.price_feed.load_mut()?;
    require!(feed.test_market == 1, ClearshardError::BuiltinFeedOnTestMarketsOnly);
    // Its average is kept in the exponent it was first priced in.
    require!(feed.ema_price <= 0 || expo == feed.expo, ClearshardError::FeedExponentFixed);
    feed.publish(price, confidence, expo, Clock::get()?.unix_timestamp);
    Ok(())
}
