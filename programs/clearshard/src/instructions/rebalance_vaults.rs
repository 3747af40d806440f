use crate::errors::ClearshardError;
use crate::events::VaultsRebalanced;
use crate::state::{seeds, Exchange, Shard};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

/// Permissionless: moves tokens from a vault holding more than its shard owes
/// (collateral claims + fees) to one holding less, as much as both allow.
#[derive(Accounts)]
pub struct RebalanceVaults<'info> {
    #[account(seeds = [seeds::EXCHANGE], bump = exchange.load()?.bump)]
    pub exchange: AccountLoader<'info, Exchange>,
    pub from_shard: AccountLoader<'info, Shard>,
    pub to_shard: AccountLoader<'info, Shard>,
    #[account(mut, address = from_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub from_vault: Account<'info, TokenAccount>,
    #[account(mut, address = to_shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub to_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<RebalanceVaults>) -> Result<()> {
    let accounts = &ctx.accounts;
    let surplus = accounts.from_vault.amount as i128 - accounts.from_shard.load()?.liabilities()? as i128;
    let deficit = accounts.to_shard.load()?.liabilities()? as i128 - accounts.to_vault.amount as i128;
    let amount = surplus.min(deficit).min(accounts.from_vault.amount as i128);
    require!(amount > 0, ClearshardError::NothingToRebalance);
    let amount = amount as u64;
    vault::pay_out(
        &accounts.token_program,
        &accounts.from_vault,
        accounts.to_vault.to_account_info(),
        accounts.exchange.to_account_info(),
        accounts.exchange.load()?.bump,
        amount,
    )?;
    emit!(VaultsRebalanced {
        from_shard: accounts.from_shard.load()?.index,
        to_shard: accounts.to_shard.load()?.index,
        amount
    });
    Ok(())
}
