//! Scenario helpers shared by the integration tests: a ready exchange with
//! markets and a matcher, funded traders, and assertions on exact errors.

use anchor_lang::error::ErrorCode;
use anchor_lang::solana_program::instruction::Instruction;
use clearshard::errors::ClearshardError;
use clearshard::instructions::OwnerTrade;
use clearshard_client::bank::{error_code, TestExchange, Trader};
use clearshard_client::instructions::BatchPlan;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::funding::{epoch_of, FUNDING_PERIOD_SECS};
use clearshard_engine::{Fill, Portfolio};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

pub use clearshard_client::bank;

pub mod invariants;
pub mod pause_rule;
pub mod reference;

pub use clearshard_client::presets::*;

/// Asserts that `result` failed with clearshard error `expected`.
#[track_caller]
pub fn assert_error(result: Result<(), BanksClientError>, expected: ClearshardError) {
    let code: u32 = expected.into();
    match result {
        Ok(()) => panic!("expected {expected:?} ({code}), but the transaction succeeded"),
        Err(e) => assert_eq!(error_code(&e), Some(code), "expected {expected:?} ({code}), got {e:?}"),
    }
}

/// Asserts that `result` failed with Anchor framework error `expected`.
#[track_caller]
pub fn assert_anchor_error(result: Result<(), BanksClientError>, expected: ErrorCode) {
    let code: u32 = expected.into();
    match result {
        Ok(()) => panic!("expected {expected:?} ({code}), but the transaction succeeded"),
        Err(e) => assert_eq!(error_code(&e), Some(code), "expected {expected:?} ({code}), got {e:?}"),
    }
}

/// An exchange with `shards` shards, BTC and ETH listed, and one matcher.
pub struct Venue {
    pub ex: TestExchange,
    pub matcher: Keypair,
}

/// A trader's margin account.
pub struct Account {
    pub trader: Trader,
    pub address: anchor_lang::prelude::Pubkey,
    pub shard: u16,
}

impl Venue {
    pub async fn new(shards: u16) -> Self {
        Self::with_exchange(TestExchange::start(shards).await).await
    }

    /// Like [`Venue::new`], with every keypair derived from `seed`: a run replays exactly.
    pub async fn seeded(shards: u16, seed: u64) -> Self {
        Self::with_exchange(TestExchange::start_seeded(shards, seed).await).await
    }

    /// Like [`Venue::new`] under `governance`: with a timelock, its matcher
    /// posts nothing until the timelock has run.
    pub async fn governed(shards: u16, governance: bank::Governance) -> Self {
        Self::with_exchange(TestExchange::start_with(shards, governance).await.expect("initialize_exchange")).await
    }

    /// Like [`Venue::new`], but no matcher is ever registered: owners trade
    /// only with each other (`settle_owner_trade`).
    pub async fn without_matcher(shards: u16) -> Self {
        let mut ex = TestExchange::start(shards).await;
        Self::list_markets(&mut ex).await;
        Venue { ex, matcher: Keypair::new() }
    }

    async fn with_exchange(mut ex: TestExchange) -> Self {
        Self::list_markets(&mut ex).await;
        let matcher = ex.register_matcher().await;
        Venue { ex, matcher }
    }

    async fn list_markets(ex: &mut TestExchange) {
        ex.add_market(BTC, "BTC-PERP", btc_market(), BTC_PRICE, PRICE_EXPO).await;
        ex.add_market(ETH, "ETH-PERP", eth_market(), ETH_PRICE, PRICE_EXPO).await;
    }

    /// A trader with a margin account on `shard` holding `collateral` tokens
    /// and open matcher limits.
    pub async fn account(&mut self, shard: u16, collateral: u64) -> Account {
        let trader = self.ex.trader(collateral).await;
        self.account_of(trader, shard, collateral).await
    }

    /// Another margin account of `trader`'s owner on `shard` (a liquidity
    /// shard), funded with `collateral` from its wallet, with open limits.
    /// One transaction: create, deposit, set limits.
    pub async fn account_of(&mut self, trader: Trader, shard: u16, collateral: u64) -> Account {
        let address = pda::margin_account(&trader.key(), shard, 0);
        let now = self.ex.now().await;
        let mut ixs = vec![ix::create_margin_account(trader.key(), shard, 0)];
        if collateral > 0 {
            ixs.push(ix::deposit(&self.ex.collateral_move(&trader, address, shard), collateral));
        }
        ixs.push(ix::set_matcher_limits(trader.key(), address, open_limits(now)));
        self.ex.send(&ixs, &[&trader.keypair]).await.expect("create, deposit, set limits");
        self.ex.margin_accounts.push(address);
        Account { trader, address, shard }
    }

    /// Opens `accounts`' limits to the markets in `markets` (a bit per id).
    pub async fn allow_markets(&mut self, accounts: &[&Account], markets: u64) {
        let now = self.ex.now().await;
        for a in accounts {
            let limits = clearshard::instructions::MatcherLimits { allowed_markets: markets, ..open_limits(now) };
            self.ex.set_limits(&a.trader, a.address, limits).await.expect("set limits");
        }
    }

    /// Posts a batch on `shard` with the matcher's next sequence there.
    pub async fn settle(
        &mut self,
        shard: u16,
        markets: &[u16],
        accounts: &[&Account],
        fills: &[Fill],
    ) -> Result<(), BanksClientError> {
        let sequence = self.next_sequence(shard).await;
        let plan = plan(sequence, markets, accounts, fills);
        let ix = ix::settle_batch(self.matcher.pubkey(), shard, &plan);
        let matcher = self.matcher.insecure_clone();
        self.ex.send(&[ix], &[&matcher]).await
    }

    /// The settle_batch instruction for `fills` on `shard` at `sequence`.
    pub fn settle_ix(
        &self,
        shard: u16,
        sequence: u64,
        markets: &[u16],
        accounts: &[&Account],
        fills: &[Fill],
    ) -> Instruction {
        ix::settle_batch(self.matcher.pubkey(), shard, &plan(sequence, markets, accounts, fills))
    }

    /// Posts `fills` on BTC alone on shard 0, with BTC's oracle read from
    /// `oracle` (a Pyth account, or a forged one) instead of its feed.
    pub async fn settle_btc_reading(
        &mut self,
        oracle: anchor_lang::prelude::Pubkey,
        accounts: &[&Account],
        fills: &[Fill],
    ) -> Result<(), BanksClientError> {
        let sequence = self.next_sequence(0).await;
        let mut settle = self.settle_ix(0, sequence, &[BTC], accounts, fills);
        settle.accounts[5].pubkey = oracle;
        let matcher = self.matcher.insecure_clone();
        self.ex.send_fresh(&[settle], &[&matcher]).await
    }

    /// Portfolios of `accounts`, to show that a refused batch changed nothing.
    pub async fn portfolios(&mut self, accounts: &[&Account]) -> Vec<Portfolio> {
        let mut out = vec![];
        for a in accounts {
            out.push(self.ex.margin(a.address).await.portfolio);
        }
        out
    }

    /// Asserts a refused batch left accounts, the shard's sequence and the invariants unchanged.
    pub async fn assert_unchanged(&mut self, shard: u16, sequence: u64, accounts: &[&Account], before: &[Portfolio]) {
        assert_eq!(self.portfolios(accounts).await, before, "a refused batch changed accounts");
        assert_eq!(self.next_sequence(shard).await, sequence, "a refused batch moved the sequence");
        self.ex.assert_conserved().await;
    }

    /// Posts a batch spanning shards `a` < `b`, with the matcher's next sequence on `a`.
    pub async fn settle_cross(
        &mut self,
        a: u16,
        b: u16,
        markets: &[u16],
        accounts: &[&Account],
        fills: &[Fill],
    ) -> Result<(), BanksClientError> {
        let sequence = self.next_sequence(a).await;
        let ix = ix::settle_cross_batch(self.matcher.pubkey(), a, b, &plan(sequence, markets, accounts, fills));
        let matcher = self.matcher.insecure_clone();
        self.ex.send(&[ix], &[&matcher]).await
    }

    /// `taker` trades `lots` of `market` with `maker` at `ticks`, both owners
    /// signing (`settle_owner_trade`), carrying every market either holds.
    pub async fn owner_trade(
        &mut self,
        taker: &Account,
        maker: &Account,
        market: u16,
        taker_buys: bool,
        lots: u32,
        ticks: u32,
    ) -> Result<(), BanksClientError> {
        let portfolios = [self.ex.margin(taker.address).await.portfolio, self.ex.margin(maker.address).await.portfolio];
        let markets = ix::owner_trade_markets(market, &[&portfolios[0], &portfolios[1]]);
        let expires_at = self.ex.now().await + 60;
        let trade = OwnerTrade { expires_at, ..owner_trade(taker_buys, lots, ticks) };
        let ix = ix::settle_owner_trade(&taker.side(), &maker.side(), &markets, trade);
        let mut signers = vec![&taker.trader.keypair];
        if maker.trader.key() != taker.trader.key() {
            signers.push(&maker.trader.keypair);
        }
        self.ex.send(&[ix], &signers).await
    }

    /// `liqor`'s owner liquidates `lots` of `liqee`'s position in `market`.
    pub async fn liquidate(
        &mut self,
        liqor: &Account,
        liqee: &Account,
        market: u16,
        lots: u64,
        markets: &[u16],
    ) -> Result<(), BanksClientError> {
        let accounts = ix::LiquidationAccounts {
            liquidator: liqor.trader.key(),
            liqee: (liqee.address, liqee.shard),
            liqor: (liqor.address, liqor.shard),
        };
        self.ex.send(&[ix::liquidate(&accounts, market, lots, markets)], &[&liqor.trader.keypair]).await
    }

    /// `liqor` takes every lot the program lets it of `liqee`'s position in
    /// `market` (the whole position, for an account under water).
    pub async fn liquidate_allowed(&mut self, liqor: &Account, liqee: &Account, market: u16, markets: &[u16]) {
        let lots = self.liquidatable_lots(liqee, market, markets).await.expect("liquidatable");
        self.liquidate(liqor, liqee, market, lots, markets).await.expect("liquidate");
        self.ex.assert_conserved().await;
    }

    /// The most lots the program lets a liquidator take now (the client runs the engine's own math).
    pub async fn liquidatable_lots(
        &mut self,
        liqee: &Account,
        market: u16,
        markets: &[u16],
    ) -> Result<u64, clearshard_engine::EngineError> {
        let risk = self.ex.risk_markets(markets).await;
        let portfolio = self.ex.margin(liqee.address).await.portfolio;
        clearshard_engine::liquidation::liquidatable_lots(&portfolio, &risk, market)
    }

    /// Sets pause `flags` on the exchange (`None`) or one shard.
    pub async fn pause(&mut self, shard: Option<u16>, flags: u8) {
        self.try_pause(shard, flags).await.expect("set_pause");
    }

    /// Like [`Venue::pause`]; the refusal, if any (`PauseTooSoon`).
    pub async fn try_pause(&mut self, shard: Option<u16>, flags: u8) -> Result<(), BanksClientError> {
        let admin = self.ex.admin.pubkey();
        self.ex.send_admin(&[ix::set_pause(admin, shard, flags)]).await
    }

    /// Long 100 BTC lots (600 USDC notional) on `margin` USDC against a deep
    /// maker on `shard`: the long, and the maker.
    pub async fn leveraged_long(&mut self, shard: u16, margin: u64) -> (Account, Account) {
        let t = self.account(shard, margin).await;
        let m = self.account(shard, 100_000 * USDC).await;
        self.settle(shard, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 100, BTC_TICKS)]).await.unwrap();
        (t, m)
    }

    /// Publishes BTC at `percent_of_start` of its starting price.
    pub async fn set_btc(&mut self, percent_of_start: i64) {
        self.ex.set_price(BTC, BTC_PRICE * percent_of_start / 100, 0, PRICE_EXPO).await.unwrap();
    }

    /// Moves the clock to `offset` seconds into the funding epoch `epochs`
    /// after the current one (oracle prices go stale: publish them again).
    pub async fn to_epoch(&mut self, epochs: i64, offset: i64) {
        let now = self.ex.now().await;
        let target = (epoch_of(now) + epochs) * FUNDING_PERIOD_SECS + offset;
        assert!(target >= now, "the clock only moves forward");
        self.ex.advance_clock(target - now).await;
    }

    /// The market's funding index now, as positions settle against it.
    pub async fn funding_index(&mut self, market: u16) -> i64 {
        let now = self.ex.now().await;
        self.ex.load::<clearshard::state::Market>(pda::market(market)).await.funding.index_at(now).expect("index")
    }

    /// Completes a funding round for `market` over every shard.
    pub async fn funding_round(&mut self, market: u16) -> Result<(), BanksClientError> {
        let shards: Vec<u16> = (0..self.ex.shard_count).collect();
        self.ex.send_fresh(&[ix::update_funding(market, &shards)], &[]).await
    }

    /// One `wind_down_market` call on `market` over every shard, with its
    /// built-in feed: it arms the wind-down, or completes an armed one.
    pub async fn wind_down(&mut self, market: u16) -> Result<(), BanksClientError> {
        let shards: Vec<u16> = (0..self.ex.shard_count).collect();
        self.ex.send_fresh(&[ix::wind_down_market(market, pda::price_feed(market), &shards, None)], &[]).await
    }

    /// Arms `market`'s wind-down, waits out its timeout while the feeds go
    /// on publishing their last prices, and completes it.
    pub async fn wind_down_fully(&mut self, market: u16) -> Result<(), BanksClientError> {
        self.wind_down(market).await?;
        let armed = self.ex.load::<clearshard::state::Market>(pda::market(market)).await;
        self.ex.advance_clock(i64::from(armed.params.liveness_timeout_mins) * 60).await;
        for id in [BTC, ETH] {
            let feed = self.ex.load::<clearshard::state::PriceFeed>(pda::price_feed(id)).await;
            self.ex.set_price(id, feed.price, feed.confidence, feed.expo).await?;
        }
        self.wind_down(market).await
    }

    /// Holds BTC at `percent` of its start for eight hours (the feed's moving
    /// average follows), ending the liveness timeout after the last batch,
    /// then winds BTC down there.
    pub async fn wind_down_btc_at(&mut self, percent: i64) {
        let timeout = i64::from(clearshard_engine::market::DEFAULT_LIVENESS_TIMEOUT_MINS) * 60;
        self.ex.advance_clock(timeout + 1 - 8 * 3_600).await;
        for _ in 0..8 {
            self.set_btc(percent).await;
            self.ex.advance_clock(3_600).await;
        }
        self.set_btc(percent).await;
        self.wind_down_fully(BTC).await.expect("wind_down_market");
        self.ex.assert_conserved().await;
    }

    /// What `market`'s wind-down would fix as its price from the feed now:
    /// the feed's moving average per lot.
    pub async fn feed_average(&mut self, market: u16) -> u64 {
        let feed = self.ex.load::<clearshard::state::PriceFeed>(pda::price_feed(market)).await;
        let params = self.ex.load::<clearshard::state::Market>(pda::market(market)).await.params;
        let quote_decimals = self.ex.exchange().await.quote_decimals;
        feed.reading().average_per_lot(feed.ema_price, &params, quote_decimals).expect("average")
    }

    /// Closes `account`'s position in wound-down `market`.
    pub async fn close_at_settlement(&mut self, account: &Account, market: u16) -> Result<(), BanksClientError> {
        self.ex.send_fresh(&[ix::close_at_settlement(account.address, account.shard, market)], &[]).await
    }

    /// Makes wound-down `market` final, over every shard.
    pub async fn finalize_wind_down(&mut self, market: u16) -> Result<(), BanksClientError> {
        let shards: Vec<u16> = (0..self.ex.shard_count).collect();
        self.ex.send_fresh(&[ix::finalize_wind_down(market, &shards)], &[]).await
    }

    /// Pays `account`'s settlement gain in wound-down `market`.
    pub async fn claim_settlement_gain(&mut self, account: &Account, market: u16) -> Result<(), BanksClientError> {
        self.ex.send_fresh(&[ix::claim_settlement_gain(account.address, account.shard, market)], &[]).await
    }

    pub async fn next_sequence(&mut self, shard: u16) -> u64 {
        self.sequence_window(shard).await.next
    }

    /// The matcher's anti-replay window on `shard`.
    pub async fn sequence_window(&mut self, shard: u16) -> clearshard_engine::SequenceWindow {
        let index = self.ex.load::<clearshard::state::Matcher>(pda::matcher(&self.matcher.pubkey())).await.index;
        self.ex.shard(shard).await.sequences[index as usize]
    }
}

impl Account {
    /// This account as one side of an owner trade.
    pub fn side(&self) -> ix::TradeSide {
        ix::TradeSide { owner: self.trader.key(), account: self.address, shard: self.shard }
    }
}

/// Builds a batch plan from accounts and fills.
pub fn plan(sequence: u64, markets: &[u16], accounts: &[&Account], fills: &[Fill]) -> BatchPlan {
    BatchPlan {
        sequence,
        markets: markets.to_vec(),
        accounts: accounts.iter().map(|a| a.address).collect(),
        fills: fills.iter().flat_map(|f| f.encode()).collect(),
    }
}

/// An owner trade in market slot 0 that never lapses.
pub fn owner_trade(taker_buys: bool, lots: u32, ticks: u32) -> OwnerTrade {
    OwnerTrade { market_slot: 0, taker_buys, quantity_lots: lots, price_ticks: ticks, expires_at: i64::MAX }
}

/// A fill: `taker` buys (or sells) `lots` from `maker` at `ticks` in market slot `slot`.
pub fn fill(taker: u8, maker: u8, slot: u8, taker_buys: bool, lots: u32, ticks: u32) -> Fill {
    Fill { taker, maker, market_slot: slot, taker_buys, quantity_lots: lots, price_ticks: ticks }
}
