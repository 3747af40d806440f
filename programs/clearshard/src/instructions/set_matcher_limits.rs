use crate::errors::ClearshardError;
use crate::state::MarginAccount;
use anchor_lang::prelude::*;
use clearshard_engine::{TradeLimits, BPS};

/// What the owner lets any matcher do with the account: per fill (markets,
/// size, price deviation, expiry) and in sum (position size, adverse
/// execution cost per window). See `clearshard_engine::limits`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatcherLimits {
    /// Bit `m`: market id `m` may be traded.
    pub allowed_markets: u64,
    pub max_lots_per_fill: u64,
    pub max_deviation_bps: u16,
    /// Unix time after which no fill is accepted.
    pub expiry_unix: i64,
    /// Largest size, in lots, a fill may grow a position to.
    pub max_position_lots: u64,
    /// Most adverse execution cost (quote native) fills may charge per window.
    pub max_adverse_cost: u64,
    /// Window length in seconds (> 0).
    pub window_secs: u32,
}

impl From<MatcherLimits> for TradeLimits {
    fn from(l: MatcherLimits) -> Self {
        TradeLimits {
            allowed_markets: l.allowed_markets,
            max_lots_per_fill: l.max_lots_per_fill,
            expiry_unix: l.expiry_unix,
            max_position_lots: l.max_position_lots,
            max_adverse_cost: l.max_adverse_cost,
            window_secs: l.window_secs,
            max_deviation_bps: l.max_deviation_bps,
            _padding: [0; 2],
        }
    }
}

#[derive(Accounts)]
pub struct SetMatcherLimits<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ ClearshardError::NotOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Replaces the limits; the adverse cost already spent in the current window
/// stays spent.
pub fn handler(ctx: Context<SetMatcherLimits>, limits: MatcherLimits) -> Result<()> {
    require!(u64::from(limits.max_deviation_bps) <= BPS && limits.window_secs > 0, ClearshardError::InvalidLimits);
    ctx.accounts.margin_account.load_mut()?.portfolio.limits = limits.into();
    Ok(())
}
