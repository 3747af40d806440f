use crate::errors::ClearshardError;
use crate::events::ShardAdded;
use crate::state::{seeds, Exchange, Shard, MAX_SHARDS};
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

/// Adds shard `index` (the next one) with its vault. Shards are added one per
/// instruction; a client packs several into a transaction.
#[derive(Accounts)]
#[instruction(index: u16)]
pub struct AddShard<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, address = seeds::EXCHANGE_ADDRESS, has_one = admin @ ClearshardError::NotAdmin, has_one = collateral_mint @ ClearshardError::WrongMint)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(init, payer = admin, space = Shard::SPACE, seeds = [seeds::SHARD, &index.to_le_bytes()], bump)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(
        init, payer = admin, seeds = [seeds::VAULT, &index.to_le_bytes()], bump,
        token::mint = collateral_mint, token::authority = exchange,
    )]
    pub vault: Account<'info, TokenAccount>,
    pub collateral_mint: Account<'info, Mint>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<AddShard>, index: u16) -> Result<()> {
    let mut exchange = ctx.accounts.exchange.load_mut()?;
    require!(index == exchange.shard_count, ClearshardError::ShardIndexNotNext);
    require!(index < MAX_SHARDS, ClearshardError::TooManyShards);
    exchange.shard_count = exchange.shard_count.saturating_add(1);
    let mut shard = ctx.accounts.shard.load_init()?;
    shard.index = index;
    shard.bump = ctx.bumps.shard;
    shard.vault_bump = ctx.bumps.vault;
    shard.vault = ctx.accounts.vault.key();
    emit!(ShardAdded { shard: index, vault: shard.vault });
    Ok(())
}
