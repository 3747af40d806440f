//! Token movements in and out of vaults. Every vault (one per shard, plus the
//! insurance vault) is a token account whose authority is the exchange PDA.

use crate::state::seeds;
use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

/// Moves `amount` out of a vault, signed by the exchange PDA.
pub fn pay_out<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    to: AccountInfo<'info>,
    exchange: AccountInfo<'info>,
    exchange_bump: u8,
    amount: u64,
) -> Result<()> {
    let signer: &[&[&[u8]]] = &[&[seeds::EXCHANGE, &[exchange_bump]]];
    let accounts = Transfer { from: vault.to_account_info(), to, authority: exchange };
    token::transfer(CpiContext::new_with_signer(token_program.key(), accounts, signer), amount)
}

/// Moves `amount` from a token account the signer controls into a vault.
pub fn pay_in<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    vault: &Account<'info, TokenAccount>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let accounts = Transfer { from: from.to_account_info(), to: vault.to_account_info(), authority };
    token::transfer(CpiContext::new(token_program.key(), accounts), amount)
}
