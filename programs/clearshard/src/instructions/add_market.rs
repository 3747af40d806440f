use crate::errors::ClearshardError;
use crate::events::MarketConfigured;
use crate::state::{seeds, Exchange, Market, OracleKind, PriceFeed, MAX_MARKETS};
use anchor_lang::prelude::*;
use clearshard_engine::funding::Funding;
use clearshard_engine::market::{MIN_LIVENESS_TIMEOUT_MINS, MIN_TEST_LIVENESS_TIMEOUT_MINS};
use clearshard_engine::MarketParams;

/// Market parameters as instruction data (see `MarketParams` for meanings).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketConfig {
    pub tick_size: u64,
    pub base_lot_size: u64,
    pub max_open_interest_per_shard: u64,
    pub initial_margin_bps: u16,
    pub maintenance_margin_bps: u16,
    pub taker_fee_bps: u16,
    pub maker_fee_bps: i16,
    pub band_bps: u16,
    pub max_confidence_bps: u16,
    pub max_staleness_secs: u32,
    pub base_decimals: u8,
    pub liquidation_fee_bps: u16,
    pub liquidation_insurance_share_bps: u16,
    pub funding_min_volume_lots: u64,
    /// Minutes without a matcher's batch after which anyone may wind the market down.
    pub liveness_timeout_mins: u16,
}

impl From<MarketParams> for MarketConfig {
    fn from(p: MarketParams) -> Self {
        MarketConfig {
            tick_size: p.tick_size,
            base_lot_size: p.base_lot_size,
            max_open_interest_per_shard: p.max_open_interest_per_shard,
            initial_margin_bps: p.initial_margin_bps,
            maintenance_margin_bps: p.maintenance_margin_bps,
            taker_fee_bps: p.taker_fee_bps,
            maker_fee_bps: p.maker_fee_bps,
            band_bps: p.band_bps,
            max_confidence_bps: p.max_confidence_bps,
            max_staleness_secs: p.max_staleness_secs,
            base_decimals: p.base_decimals,
            liquidation_fee_bps: p.liquidation_fee_bps,
            liquidation_insurance_share_bps: p.liquidation_insurance_share_bps,
            funding_min_volume_lots: p.funding_min_volume_lots,
            liveness_timeout_mins: p.liveness_timeout_mins,
        }
    }
}

impl MarketConfig {
    /// The parameters, validated; a test market may time out after a minute.
    pub fn to_params(self, test_market: bool) -> Result<MarketParams> {
        let params = MarketParams {
            tick_size: self.tick_size,
            base_lot_size: self.base_lot_size,
            max_open_interest_per_shard: self.max_open_interest_per_shard,
            initial_margin_bps: self.initial_margin_bps,
            maintenance_margin_bps: self.maintenance_margin_bps,
            taker_fee_bps: self.taker_fee_bps,
            maker_fee_bps: self.maker_fee_bps,
            band_bps: self.band_bps,
            max_confidence_bps: self.max_confidence_bps,
            max_staleness_secs: self.max_staleness_secs,
            base_decimals: self.base_decimals,
            _padding: 0,
            liveness_timeout_mins: self.liveness_timeout_mins,
            liquidation_fee_bps: self.liquidation_fee_bps,
            liquidation_insurance_share_bps: self.liquidation_insurance_share_bps,
            funding_min_volume_lots: self.funding_min_volume_lots,
        };
        let min_liveness = if test_market { MIN_TEST_LIVENESS_TIMEOUT_MINS } else { MIN_LIVENESS_TIMEOUT_MINS };
        params.validate_with(min_liveness).map_err(|_| error!(ClearshardError::InvalidMarketParams))?;
        Ok(params)
    }
}

/// Lists market `id` (the next one). A test market reads its built-in feed,
/// whose prices the admin publishes; any other market reads an oracle network
/// and has no price until `set_market_oracle` names its Pyth account. The
/// kind is fixed here: no later instruction turns a market into a test one.
/// No batch trades it before the exchange's timelock has run: a listing's
/// parameters are announced like any change.
#[derive(Accounts)]
#[instruction(id: u16)]
pub struct AddMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(init, payer = admin, space = Market::SPACE, seeds = [seeds::MARKET, &id.to_le_bytes()], bump)]
    pub market: AccountLoader<'info, Market>,
    #[account(init, payer = admin, space = PriceFeed::SPACE, seeds = [seeds::PRICE, &id.to_le_bytes()], bump)]
    pub price_feed: AccountLoader<'info, PriceFeed>,
    pub system_program: Program<'info, System>,
}

pub fn handler(
    ctx: Context<AddMarket>,
    id: u16,
    name: [u8; 16],
    config: MarketConfig,
    test_market: bool,
) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    require!(id == exchange.market_count, ClearshardError::MarketIdNotNext);
    require!(id < MAX_MARKETS, ClearshardError::TooManyMarkets);
    require!(!test_market || exchange.test_venue == 1, ClearshardError::NotATestVenue);
    let params = config.to_params(test_market)?;
    exchange.market_count = exchange.market_count.saturating_add(1);
    let mut market = ctx.accounts.market.load_init()?;
    market.id = id;
    market.bump = ctx.bumps.market;
    let now = Clock::get()?.unix_timestamp;
    market.listed_from = exchange.due(now)?.unwrap_or(now);
    if test_market {
        market.oracle = ctx.accounts.price_feed.key();
        market.priced = 1;
    } else {
        market.oracle_kind = OracleKind::Pyth.to_byte();
    }
    market.test_market = u8::from(test_market);
    market.params = params;
    market.name = name;
    market.funding = Funding::starting(now);
    let mut feed = ctx.accounts.price_feed.load_init()?;
    feed.market_id = id;
    feed.bump = ctx.bumps.price_feed;
    feed.test_market = u8::from(test_market);
    emit!(MarketConfigured { market: id, oracle: market.oracle });
    Ok(())
}
