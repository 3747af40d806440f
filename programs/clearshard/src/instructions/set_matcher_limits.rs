use crate::errors::ClearshardError;
use crate::state::MarginAccount;
use anchor_lang::prelude::*;
use clearshard_engine::{TradeLimits, BPS};

/// What the owner lets any matcher do with the account.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatcherLimits {
    /// Bit `m`: market id `m` may be traded.
    pub allowed_markets: u64,
    pub max_lots_per_fill: u64,
    pub max_deviation_bps: u16,
    /// Unix time after which no fill is accepted.
    pub expiry_unix: i64,
}

#[derive(Accounts)]
pub struct SetMatcherLimits<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

pub fn handler(ctx: Context<SetMatcherLimits>, limits: MatcherLimits) -> Result<()> {
    require!(limits.max_deviation_bps as u64 <= BPS, ClearshardError::InvalidLimits);
    ctx.accounts.margin_account.load_mut()?.portfolio.limits = TradeLimits {
        allowed_markets: limits.allowed_markets,
        max_lots_per_fill: limits.max_lots_per_fill,
        expiry_unix: limits.expiry_unix,
        max_deviation_bps: limits.max_deviation_bps,
        _padding: [0; 6],
    };
    Ok(())
}
