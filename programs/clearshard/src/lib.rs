//! clearshard: the clearing house of a derivatives venue whose orders are
//! matched off-chain. Every account written on the hot path belongs to one of
//! N shards, so batches on different shards share no write lock.
//!
//! Handlers here are one line each; each instruction lives in its own file
//! under `instructions/`, state under `state/`.
#![allow(unexpected_cfgs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use anchor_lang::prelude::*;
#[cfg(target_os = "solana")]
use solana_compiler_builtins as _;

pub mod cu_trace;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod risk;
pub mod settlement;
pub mod state;
pub mod vault;

use instructions::*;
use state::OracleKind;

declare_id!("538uTuBip3qYXGtxhJmo5nQnLWAuV14FpcddjkMrnBN");

/// One-byte discriminators for the batch instructions: every byte saved is
/// room for fills. No 8-byte discriminator of another instruction starts with
/// these (checked by a test).
pub const SETTLE_BATCH_DISCRIMINATOR: u8 = 0xC1;
pub const SETTLE_CROSS_BATCH_DISCRIMINATOR: u8 = 0xC2;

#[program]
pub mod clearshard {
    use super::*;

    pub fn initialize_exchange(ctx: Context<InitializeExchange>, timelock_secs: u32, test_venue: bool) -> Result<()> {
        initialize_exchange::handler(ctx, timelock_secs, test_venue)
    }

    pub fn add_shard(ctx: Context<AddShard>, index: u16) -> Result<()> {
        add_shard::handler(ctx, index)
    }

    pub fn add_market(
        ctx: Context<AddMarket>,
        id: u16,
        name: [u8; 16],
        config: MarketConfig,
        test_market: bool,
    ) -> Result<()> {
        add_market::handler(ctx, id, name, config, test_market)
    }

    pub fn propose_admin(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
        propose_admin::handler(ctx, new_admin)
    }

    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        accept_admin::handler(ctx)
    }

    pub fn update_market(ctx: Context<UpdateMarket>, config: MarketConfig) -> Result<()> {
        update_market::handler(ctx, config)
    }

    pub fn set_market_oracle(ctx: Context<SetMarketOracle>, kind: OracleKind, feed_id: [u8; 32]) -> Result<()> {
        set_market_oracle::handler(ctx, kind, feed_id)
    }

    pub fn apply_market_change(ctx: Context<ApplyMarketChange>) -> Result<()> {
        apply_market_change::handler(ctx)
    }

    pub fn cancel_market_change(ctx: Context<CancelMarketChange>) -> Result<()> {
        cancel_market_change::handler(ctx)
    }

    pub fn set_price(ctx: Context<SetPrice>, price: i64, confidence: u64, expo: i32) -> Result<()> {
        set_price::handler(ctx, price, confidence, expo)
    }

    pub fn set_pause(ctx: Context<SetPause>, flags: u8) -> Result<()> {
        set_pause::handler(ctx, flags)
    }

    pub fn register_matcher(ctx: Context<RegisterMatcher>) -> Result<()> {
        register_matcher::handler(ctx)
    }

    pub fn revoke_matcher(ctx: Context<RevokeMatcher>) -> Result<()> {
        revoke_matcher::handler(ctx)
    }

    pub fn create_margin_account(ctx: Context<CreateMarginAccount>, shard_index: u16, sub_id: u16) -> Result<()> {
        create_margin_account::handler(ctx, shard_index, sub_id)
    }

    pub fn deposit(ctx: Context<CollateralAccounts>, amount: u64) -> Result<()> {
        deposit::handler(ctx, amount)
    }

    pub fn withdraw<'info>(ctx: Context<'info, CollateralAccounts<'info>>, amount: u64) -> Result<()> {
        withdraw::handler(ctx, amount)
    }

    pub fn set_matcher_limits(ctx: Context<SetMatcherLimits>, limits: MatcherLimits) -> Result<()> {
        set_matcher_limits::handler(ctx, limits)
    }

    pub fn transfer_collateral<'info>(ctx: Context<'info, TransferCollateral<'info>>, amount: u64) -> Result<()> {
        transfer_collateral::handler(ctx, amount)
    }

    pub fn close_margin_account(ctx: Context<CloseMarginAccount>) -> Result<()> {
        close_margin_account::handler(ctx)
    }

    #[instruction(discriminator = [SETTLE_BATCH_DISCRIMINATOR])]
    pub fn settle_batch<'info>(
        ctx: Context<'info, SettleBatch<'info>>,
        sequence: u64,
        market_count: u8,
        fills: Vec<u8>,
    ) -> Result<()> {
        settle_batch::handler(ctx, sequence, market_count, fills)
    }

    #[instruction(discriminator = [SETTLE_CROSS_BATCH_DISCRIMINATOR])]
    pub fn settle_cross_batch<'info>(
        ctx: Context<'info, SettleCrossBatch<'info>>,
        sequence: u64,
        market_count: u8,
        fills: Vec<u8>,
    ) -> Result<()> {
        settle_cross_batch::handler(ctx, sequence, market_count, fills)
    }

    pub fn settle_owner_trade<'info>(ctx: Context<'info, SettleOwnerTrade<'info>>, trade: OwnerTrade) -> Result<()> {
        settle_owner_trade::handler(ctx, trade)
    }

    pub fn rebalance_vaults<'info>(ctx: Context<'info, RebalanceVaults<'info>>) -> Result<()> {
        rebalance_vaults::handler(ctx)
    }

    pub fn sweep_fees<'info>(ctx: Context<'info, SweepFees<'info>>) -> Result<()> {
        sweep_fees::handler(ctx)
    }

    pub fn liquidate<'info>(ctx: Context<'info, Liquidate<'info>>, market_id: u16, lots: u64) -> Result<()> {
        liquidate::handler(ctx, market_id, lots)
    }

    pub fn settle_account<'info>(ctx: Context<'info, SettleAccount<'info>>) -> Result<()> {
        settle_account::handler(ctx)
    }

    pub fn resolve_bankruptcy(ctx: Context<ResolveBankruptcy>) -> Result<()> {
        resolve_bankruptcy::handler(ctx)
    }

    pub fn update_funding<'info>(ctx: Context<'info, UpdateFunding<'info>>) -> Result<()> {
        update_funding::handler(ctx)
    }

    pub fn socialize_loss<'info>(ctx: Context<'info, SocializeLoss<'info>>) -> Result<()> {
        socialize_loss::handler(ctx)
    }

    pub fn deposit_insurance(ctx: Context<DepositInsurance>, amount: u64) -> Result<()> {
        deposit_insurance::handler(ctx, amount)
    }

    pub fn wind_down_market<'info>(ctx: Context<'info, WindDownMarket<'info>>) -> Result<()> {
        wind_down_market::handler(ctx)
    }

    pub fn close_at_settlement(ctx: Context<CloseAtSettlement>) -> Result<()> {
        close_at_settlement::handler(ctx)
    }

    pub fn delist_market(ctx: Context<DelistMarket>) -> Result<()> {
        delist_market::handler(ctx)
    }

    pub fn request_exit(ctx: Context<RequestExit>, requested: bool) -> Result<()> {
        request_exit::handler(ctx, requested)
    }

    pub fn clear_loss_record<'info>(ctx: Context<'info, ClearLossRecord<'info>>) -> Result<()> {
        clear_loss_record::handler(ctx)
    }

    pub fn finalize_wind_down<'info>(ctx: Context<'info, FinalizeWindDown<'info>>) -> Result<()> {
        finalize_wind_down::handler(ctx)
    }

    pub fn claim_settlement_gain(ctx: Context<ClaimSettlementGain>) -> Result<()> {
        claim_settlement_gain::handler(ctx)
    }
}
