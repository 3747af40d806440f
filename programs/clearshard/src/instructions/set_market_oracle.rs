use crate::errors::ClearshardError;
use crate::events::{MarketChangeQueued, MarketConfigured};
use crate::state::{seeds, Exchange, Market, OracleKind, CHANGE_ORACLE};
use anchor_lang::prelude::*;

/// Points a market at its price source: the built-in feed (its own PDA; test
/// markets only) or a Pyth `PriceUpdateV2` account carrying `feed_id`. The
/// owner program and the feed id are checked on every read. A market's first
/// source (it has no price before, so nothing to move) applies at once, and
/// the market trades only a timelock later; a switch waits out the
/// exchange's timelock (`apply_market_change`).
#[derive(Accounts)]
pub struct SetMarketOracle<'info> {
    pub admin: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: recorded as the market's oracle; validated by kind at every read.
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<SetMarketOracle>, kind: OracleKind, feed_id: [u8; 32]) -> Result<()> {
    let mut market = ctx.accounts.market.load_mut()?;
    // A wound-down market's terms are final.
    require!(!market.is_wound_down(), ClearshardError::MarketWoundDown);
    let oracle = ctx.accounts.oracle.key();
    // The default key is how an unpriced market reads: never a source.
    require_keys_neq!(oracle, Pubkey::default(), ClearshardError::WrongOracle);
    if kind == OracleKind::Builtin {
        require!(market.test_market == 1, ClearshardError::BuiltinFeedOnTestMarketsOnly);
        let (feed, _) = Pubkey::find_program_address(&[seeds::PRICE, &market.id.to_le_bytes()], ctx.program_id);
        require_keys_eq!(oracle, feed, ClearshardError::WrongOracle);
    }
    let due = ctx.accounts.exchange.load()?.due(Clock::get()?.unix_timestamp)?;
    match due {
        Some(due) if market.priced == 1 => {
            market.pending.oracle_kind = kind.to_byte();
            market.pending.oracle = oracle;
            market.pending.pyth_feed_id = feed_id;
            market.pending.oracle_due = due;
            emit!(MarketChangeQueued { market: market.id, part: CHANGE_ORACLE, due });
        }
        first => {
            // A first source sets the price the listing's traders will face:
            // no batch trades the market before a timelock from now.
            if let Some(due) = first {
                market.listed_from = market.listed_from.max(due);
            }
            market.set_oracle(kind, oracle, feed_id);
            emit!(MarketConfigured { market: market.id, oracle });
        }
    }
    Ok(())
}
