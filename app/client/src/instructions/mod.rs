//! Instruction builders, one per program instruction.

use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use clearshard::instructions::{MarketConfig, MatcherLimits, OwnerTrade};
use clearshard::state::OracleKind;
use clearshard::{accounts, instruction, ID};

mod wind_down;
pub use wind_down::*;

pub(crate) fn build(
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
    remaining: Vec<AccountMeta>,
) -> Instruction {
    let mut metas = accounts.to_account_metas(None);
    metas.extend(remaining);
    Instruction { program_id: ID, accounts: metas, data: data.data() }
}

pub fn token_program() -> Pubkey {
    anchor_spl::token::ID
}

/// Creates the exchange; value-moving changes wait `timelock_secs` (at least
/// a day unless `test_venue`).
pub fn initialize_exchange(
    admin: Pubkey,
    collateral_mint: Pubkey,
    treasury: Pubkey,
    timelock_secs: u32,
    test_venue: bool,
) -> Instruction {
    let accounts = accounts::InitializeExchange {
        admin,
        exchange: pda::exchange(),
        collateral_mint,
        insurance_vault: pda::insurance_vault(),
        treasury,
        token_program: token_program(),
        system_program: system_program::ID,
    };
    build(accounts, instruction::InitializeExchange { timelock_secs, test_venue }, vec![])
}

pub fn add_shard(admin: Pubkey, collateral_mint: Pubkey, index: u16) -> Instruction {
    let accounts = accounts::AddShard {
        admin,
        exchange: pda::exchange(),
        shard: pda::shard(index),
        vault: pda::vault(index),
        collateral_mint,
        token_program: token_program(),
        system_program: system_program::ID,
    };
    build(accounts, instruction::AddShard { index }, vec![])
}

/// Lists market `id`; `test_market`: priced by its built-in feed, which the
/// admin publishes (never so on a production venue's markets).
pub fn add_market(admin: Pubkey, id: u16, name: &str, config: MarketConfig, test_market: bool) -> Instruction {
    let mut padded = [0u8; 16];
    let len = name.len().min(16);
    padded[..len].copy_from_slice(&name.as_bytes()[..len]);
    let accounts = accounts::AddMarket {
        admin,
        exchange: pda::exchange(),
        market: pda::market(id),
        price_feed: pda::price_feed(id),
        system_program: system_program::ID,
    };
    build(accounts, instruction::AddMarket { id, name: padded, config, test_market }, vec![])
}

pub fn update_market(admin: Pubkey, id: u16, config: MarketConfig) -> Instruction {
    let accounts = accounts::UpdateMarket { admin, exchange: pda::exchange(), market: pda::market(id) };
    build(accounts, instruction::UpdateMarket { config }, vec![])
}

/// Points market `id` at `oracle`: its built-in feed, or a Pyth update carrying `feed_id`.
pub fn set_market_oracle(admin: Pubkey, id: u16, kind: OracleKind, oracle: Pubkey, feed_id: [u8; 32]) -> Instruction {
    let accounts = accounts::SetMarketOracle { admin, exchange: pda::exchange(), market: pda::market(id), oracle };
    build(accounts, instruction::SetMarketOracle { kind, feed_id }, vec![])
}

/// Books `account`'s funding and socialized loss (permissionless);
/// `markets`: every market it holds a position in.
pub fn settle_account(account: Pubkey, shard: u16, markets: &[u16]) -> Instruction {
    let accounts = accounts::SettleAccount { margin_account: account, shard: pda::shard(shard) };
    let metas = markets.iter().map(|id| AccountMeta::new_readonly(pda::market(*id), false)).collect();
    build(accounts, instruction::SettleAccount {}, metas)
}

/// First step of an admin handover (`Pubkey::default()` withdraws it).
pub fn propose_admin(admin: Pubkey, new_admin: Pubkey) -> Instruction {
    build(accounts::ProposeAdmin { admin, exchange: pda::exchange() }, instruction::ProposeAdmin { new_admin }, vec![])
}

/// Second step: the proposed admin takes over.
pub fn accept_admin(new_admin: Pubkey) -> Instruction {
    build(accounts::AcceptAdmin { new_admin, exchange: pda::exchange() }, instruction::AcceptAdmin {}, vec![])
}

/// Applies a market's queued change once due (permissionless).
pub fn apply_market_change(id: u16) -> Instruction {
    let accounts = accounts::ApplyMarketChange { exchange: pda::exchange(), market: pda::market(id) };
    build(accounts, instruction::ApplyMarketChange {}, vec![])
}

/// Announces `id`'s delisting: anyone winds it down once the timelock has run.
pub fn delist_market(admin: Pubkey, id: u16) -> Instruction {
    let accounts = accounts::DelistMarket { admin, exchange: pda::exchange(), market: pda::market(id) };
    build(accounts, instruction::DelistMarket {}, vec![])
}

/// Drops a market's queued change (a delisting too).
pub fn cancel_market_change(admin: Pubkey, id: u16) -> Instruction {
    let accounts = accounts::CancelMarketChange { admin, exchange: pda::exchange(), market: pda::market(id) };
    build(accounts, instruction::CancelMarketChange {}, vec![])
}

pub fn set_price(admin: Pubkey, market: u16, price: i64, confidence: u64, expo: i32) -> Instruction {
    let accounts = accounts::SetPrice { admin, exchange: pda::exchange(), price_feed: pda::price_feed(market) };
    build(accounts, instruction::SetPrice { price, confidence, expo }, vec![])
}

/// Pauses (flags set) or resumes the whole exchange, or one shard.
pub fn set_pause(admin: Pubkey, shard: Option<u16>, flags: u8) -> Instruction {
    let accounts = accounts::SetPause { admin, exchange: pda::exchange(), shard: shard.map(pda::shard) };
    build(accounts, instruction::SetPause { flags }, vec![])
}

pub fn register_matcher(admin: Pubkey, authority: Pubkey) -> Instruction {
    let accounts = accounts::RegisterMatcher {
        admin,
        exchange: pda::exchange(),
        authority,
        matcher: pda::matcher(&authority),
        system_program: system_program::ID,
    };
    build(accounts, instruction::RegisterMatcher {}, vec![])
}

pub fn revoke_matcher(admin: Pubkey, authority: Pubkey) -> Instruction {
    let accounts = accounts::RevokeMatcher { admin, exchange: pda::exchange(), matcher: pda::matcher(&authority) };
    build(accounts, instruction::RevokeMatcher {}, vec![])
}

pub fn create_margin_account(owner: Pubkey, shard: u16, sub_id: u16) -> Instruction {
    let accounts = accounts::CreateMarginAccount {
        owner,
        exchange: pda::exchange(),
        shard: pda::shard(shard),
        margin_account: pda::margin_account(&owner, shard, sub_id),
        system_program: system_program::ID,
    };
    build(accounts, instruction::CreateMarginAccount { shard_index: shard, sub_id }, vec![])
}

/// The accounts of deposit and withdraw. `shard` is given separately from the
/// account so that tests can post a mismatched one.
pub struct CollateralMove {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub shard: u16,
    pub owner_token: Pubkey,
}

impl CollateralMove {
    fn accounts(&self) -> accounts::CollateralAccounts {
        accounts::CollateralAccounts {
            owner: self.owner,
            exchange: pda::exchange(),
            shard: pda::shard(self.shard),
            vault: pda::vault(self.shard),
            margin_account: self.margin_account,
            owner_token: self.owner_token,
            token_program: token_program(),
        }
    }
}

pub fn deposit(m: &CollateralMove, amount: u64) -> Instruction {
    build(m.accounts(), instruction::Deposit { amount }, vec![])
}

/// `markets`: the ids of every market the account holds a position in.
pub fn withdraw(m: &CollateralMove, amount: u64, markets: &[u16]) -> Instruction {
    build(m.accounts(), instruction::Withdraw { amount }, market_metas(markets))
}

pub fn set_matcher_limits(owner: Pubkey, margin_account: Pubkey, limits: MatcherLimits) -> Instruction {
    let accounts = accounts::SetMatcherLimits { owner, margin_account };
    build(accounts, instruction::SetMatcherLimits { limits }, vec![])
}

/// The owner asks to be closed out (`requested`), or withdraws the request.
pub fn request_exit(owner: Pubkey, margin_account: Pubkey, requested: bool) -> Instruction {
    let accounts = accounts::RequestExit { owner, margin_account };
    build(accounts, instruction::RequestExit { requested }, vec![])
}

/// Moves collateral between two accounts of `owner` (given with their shards).
pub fn transfer_collateral(
    owner: Pubkey,
    from: (Pubkey, u16),
    to: (Pubkey, u16),
    amount: u64,
    markets: &[u16],
) -> Instruction {
    let accounts = accounts::TransferCollateral {
        owner,
        exchange: pda::exchange(),
        from_account: from.0,
        to_account: to.0,
        from_shard: pda::shard(from.1),
        to_shard: pda::shard(to.1),
        from_vault: pda::vault(from.1),
        to_vault: pda::vault(to.1),
        token_program: token_program(),
    };
    build(accounts, instruction::TransferCollateral { amount }, market_metas(markets))
}

pub fn close_margin_account(owner: Pubkey, margin_account: Pubkey, shard: u16) -> Instruction {
    let accounts = accounts::CloseMarginAccount { owner, shard: pda::shard(shard), margin_account };
    build(accounts, instruction::CloseMarginAccount {}, vec![])
}

/// `(market, oracle)` pairs, read-only, in the order given, with each
/// market's built-in feed; see [`market_metas_with`] for other oracles.
pub fn market_metas(markets: &[u16]) -> Vec<AccountMeta> {
    let pairs: Vec<(u16, Pubkey)> = markets.iter().map(|id| (*id, pda::price_feed(*id))).collect();
    market_metas_with(&pairs)
}

/// `(market, oracle)` pairs for markets whose oracle is given.
pub fn market_metas_with(markets: &[(u16, Pubkey)]) -> Vec<AccountMeta> {
    markets
        .iter()
        .flat_map(|(id, oracle)| {
            [AccountMeta::new_readonly(pda::market(*id), false), AccountMeta::new_readonly(*oracle, false)]
        })
        .collect()
}

/// A batch ready to post: markets (their order is the fills' market slots),
/// margin accounts (their order is the fills' account indexes), fills.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchPlan {
    pub sequence: u64,
    pub markets: Vec<u16>,
    pub accounts: Vec<Pubkey>,
    pub fills: Vec<u8>,
}

impl BatchPlan {
    fn remaining(&self) -> Vec<AccountMeta> {
        let mut metas = market_metas(&self.markets);
        metas.extend(self.accounts.iter().map(|a| AccountMeta::new(*a, false)));
        metas
    }

    fn data_parts(&self) -> (u64, u8, Vec<u8>) {
        (self.sequence, u8::try_from(self.markets.len()).unwrap_or(u8::MAX), self.fills.clone())
    }
}

pub fn settle_batch(matcher_authority: Pubkey, shard: u16, plan: &BatchPlan) -> Instruction {
    let accounts = accounts::SettleBatch {
        matcher_authority,
        matcher: pda::matcher(&matcher_authority),
        exchange: pda::exchange(),
        shard: pda::shard(shard),
    };
    let (sequence, market_count, fills) = plan.data_parts();
    build(accounts, instruction::SettleBatch { sequence, market_count, fills }, plan.remaining())
}

pub fn settle_cross_batch(matcher_authority: Pubkey, shard_a: u16, shard_b: u16, plan: &BatchPlan) -> Instruction {
    let accounts = accounts::SettleCrossBatch {
        matcher_authority,
        matcher: pda::matcher(&matcher_authority),
        exchange: pda::exchange(),
        shard_a: pda::shard(shard_a),
        shard_b: pda::shard(shard_b),
    };
    let (sequence, market_count, fills) = plan.data_parts();
    build(accounts, instruction::SettleCrossBatch { sequence, market_count, fills }, plan.remaining())
}

/// One side of an owner trade: the owner, who signs, and its margin account on `shard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeSide {
    pub owner: Pubkey,
    pub account: Pubkey,
    pub shard: u16,
}

/// The markets an owner trade in `market` carries for accounts holding
/// `portfolios`: the traded one first (slot 0), then every other one held.
pub fn owner_trade_markets(market: u16, portfolios: &[&clearshard_engine::Portfolio]) -> Vec<u16> {
    let mut markets = vec![market];
    for p in portfolios.iter().flat_map(|p| p.positions.iter()).filter(|p| p.is_open()) {
        if !markets.contains(&p.market_id) {
            markets.push(p.market_id);
        }
    }
    markets
}

/// `taker` and `maker` trade as `trade` says, both owners signing, no
/// matcher (`settle_owner_trade`). `markets`: the market traded (slot
/// `trade.market_slot`) and every other market either account holds.
pub fn settle_owner_trade(taker: &TradeSide, maker: &TradeSide, markets: &[u16], trade: OwnerTrade) -> Instruction {
    let accounts = accounts::SettleOwnerTrade {
        taker: taker.owner,
        maker: maker.owner,
        exchange: pda::exchange(),
        taker_shard: pda::shard(taker.shard),
        maker_shard: (maker.shard != taker.shard).then(|| pda::shard(maker.shard)),
    };
    let mut remaining = market_metas(markets);
    remaining.extend([AccountMeta::new(taker.account, false), AccountMeta::new(maker.account, false)]);
    build(accounts, instruction::SettleOwnerTrade { trade }, remaining)
}

/// Rebalances from `from_shard` to `to_shard`; `markets`: every market in
/// which either shard holds a position (their oracles value the reserves).
pub fn rebalance_vaults(from_shard: u16, to_shard: u16, markets: &[u16]) -> Instruction {
    let accounts = accounts::RebalanceVaults {
        exchange: pda::exchange(),
        from_shard: pda::shard(from_shard),
        to_shard: pda::shard(to_shard),
        from_vault: pda::vault(from_shard),
        to_vault: pda::vault(to_shard),
        insurance_vault: pda::insurance_vault(),
        token_program: token_program(),
    };
    build(accounts, instruction::RebalanceVaults {}, market_metas(markets))
}

/// Pays shard `shard`'s backed fees to `treasury` (the exchange's).
/// `markets`: every market the shard holds a position in.
pub fn sweep_fees(shard: u16, treasury: Pubkey, markets: &[u16]) -> Instruction {
    let accounts = accounts::SweepFees {
        exchange: pda::exchange(),
        shard: pda::shard(shard),
        vault: pda::vault(shard),
        treasury,
        token_program: token_program(),
    };
    build(accounts, instruction::SweepFees {}, market_metas(markets))
}

/// `liqor` (owned by `liquidator`) takes `lots` of `liqee`'s position in
/// `market`. `markets`: every market either account holds.
pub struct LiquidationAccounts {
    pub liquidator: Pubkey,
    pub liqee: (Pubkey, u16),
    pub liqor: (Pubkey, u16),
}

pub fn liquidate(a: &LiquidationAccounts, market: u16, lots: u64, markets: &[u16]) -> Instruction {
    let accounts = accounts::Liquidate {
        liquidator: a.liquidator,
        exchange: pda::exchange(),
        liqee: a.liqee.0,
        liqor: a.liqor.0,
        liqee_shard: pda::shard(a.liqee.1),
        liqor_shard: pda::shard(a.liqor.1),
    };
    build(accounts, instruction::Liquidate { market_id: market, lots }, market_metas(markets))
}

fn bankrupt_account(account: Pubkey, shard: u16) -> accounts::BankruptAccount {
    accounts::BankruptAccount {
        exchange: pda::exchange(),
        account,
        shard: pda::shard(shard),
        vault: pda::vault(shard),
        insurance_vault: pda::insurance_vault(),
        token_program: token_program(),
    }
}

pub fn resolve_bankruptcy(account: Pubkey, shard: u16) -> Instruction {
    let accounts = accounts::ResolveBankruptcy { bankrupt: bankrupt_account(account, shard) };
    build(accounts, instruction::ResolveBankruptcy {}, vec![])
}

pub fn deposit_insurance(funder: Pubkey, source: Pubkey, amount: u64) -> Instruction {
    let accounts = accounts::DepositInsurance {
        funder,
        exchange: pda::exchange(),
        source,
        insurance_vault: pda::insurance_vault(),
        token_program: token_program(),
    };
    build(accounts, instruction::DepositInsurance { amount }, vec![])
}

/// The funding crank for `market`, reading `shards`:
/// the next ones of the market's funding round, in index order.
pub fn update_funding(market: u16, shards: &[u16]) -> Instruction {
    let accounts = accounts::UpdateFunding { exchange: pda::exchange(), market: pda::market(market) };
    let remaining = shards.iter().map(|s| AccountMeta::new_readonly(pda::shard(*s), false)).collect();
    build(accounts, instruction::UpdateFunding {}, remaining)
}

/// Covers a bankrupt account from the whole insurance fund, then spreads the
/// rest over the open lots of `markets`, where it arose (the account's
/// `Portfolio::loss_markets`, ascending); `shards` is the exchange's shard
/// count (every shard is passed, writable: the fund's shares there are used).
pub fn socialize_loss(account: Pubkey, shard: u16, markets: &[u16], shards: u16) -> Instruction {
    let accounts = accounts::SocializeLoss { bankrupt: bankrupt_account(account, shard) };
    let markets = markets.iter().map(|m| AccountMeta::new(pda::market(*m), false));
    let remaining = markets.chain((0..shards).map(|s| AccountMeta::new(pda::shard(s), false))).collect();
    build(accounts, instruction::SocializeLoss {}, remaining)
}
