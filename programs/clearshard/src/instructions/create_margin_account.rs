use crate::errors::ClearshardError;
use crate::events::MarginAccountCreated;
use crate::state::{seeds, Exchange, MarginAccount, Shard, PAUSE_DEPOSITS};
use anchor_lang::prelude::*;

/// Opens the owner's margin account `sub_id` on shard `shard_index`. New
/// accounts allow no matcher trades until the owner sets limits. Refused while
/// deposits are paused on the exchange or the shard.
#[derive(Accounts)]
#[instruction(shard_index: u16, sub_id: u16)]
pub struct CreateMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut, seeds = [seeds::SHARD, &shard_index.to_le_bytes()], bump)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(
        init, payer = owner, space = MarginAccount::SPACE,
        seeds = [seeds::MARGIN, owner.key().as_ref(), &shard_index.to_le_bytes(), &sub_id.to_le_bytes()], bump,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateMarginAccount>, shard_index: u16, sub_id: u16) -> Result<()> {
    let mut shard = ctx.accounts.shard.load_mut()?;
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.exchange.load()?.require_open(&shard, PAUSE_DEPOSITS, ClearshardError::DepositsPaused, now)?;
    shard.margin_accounts = shard.margin_accounts.saturating_add(1);
    let mut account = ctx.accounts.margin_account.load_init()?;
    account.owner = ctx.accounts.owner.key();
    account.shard = shard_index;
    account.sub_id = sub_id;
    account.bump = ctx.bumps.margin_account;
    emit!(MarginAccountCreated {
        account: ctx.accounts.margin_account.key(),
        owner: account.owner,
        shard: shard_index,
        sub_id,
    });
    Ok(())
}
