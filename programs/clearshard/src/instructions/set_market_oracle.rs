use crate::errors::ClearshardError;
use crate::events::MarketConfigured;
use crate::state::{seeds, Exchange, Market, OracleKind};
use anchor_lang::prelude::*;

/// Points a market at its price source: the built-in feed (its own PDA) or a
/// Pyth `PriceUpdateV2` account carrying `feed_id`. The owner program and the
/// feed id are checked on every read.
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
    let oracle = ctx.accounts.oracle.key();
    if kind == OracleKind::Builtin {
        let (feed, _) = Pubkey::find_program_address(&[seeds::PRICE, &market.id.to_le_bytes()], ctx.program_id);
        require_keys_eq!(oracle, feed, ClearshardError::WrongOracle);
    }
    market.oracle_kind = kind.to_byte();
    market.oracle = oracle;
    market.pyth_feed_id = feed_id;
    emit!(MarketConfigured { market: market.id, oracle });
    Ok(())
}
