//! The accounts resolve_bankruptcy and socialize_loss share — a margin
//! account that may be bankrupt, its shard and vault, the insurance vault —
//! and the step both take first: covering the deficit from the insurance fund.

use crate::errors::ClearshardError;
use crate::events::BankruptcyResolved;
use crate::state::{seeds, Exchange, MarginAccount, Shard, PAUSE_SETTLEMENT};
use crate::vault;
use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use clearshard_engine::liquidation::bankruptcy_deficit;

#[derive(Accounts)]
pub struct BankruptAccount<'info> {
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub account: AccountLoader<'info, MarginAccount>,
    #[account(mut)]
    pub shard: AccountLoader<'info, Shard>,
    #[account(mut, address = shard.load()?.vault @ ClearshardError::VaultOfAnotherShard)]
    pub vault: Account<'info, TokenAccount>,
    #[account(mut, address = exchange.load()?.insurance_vault @ ClearshardError::WrongInsuranceVault)]
    pub insurance_vault: Account<'info, TokenAccount>,
    pub token_program: Program<'info, Token>,
}

/// How much of a deficit the insurance fund covered.
pub struct Cover {
    pub deficit: u64,
    pub covered: u64,
}

impl BankruptAccount<'_> {
    pub fn validate(&self) -> Result<()> {
        let shard = self.shard.load()?;
        shard.require_holds(&*self.account.load()?)?;
        let now = Clock::get()?.unix_timestamp;
        self.exchange.load()?.require_open(&shard, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused, now)
    }

    /// Covers the account's deficit from the insurance fund as far as it
    /// reaches: first the fund's share of fees already in this shard's vault
    /// (no tokens move), then tokens from the insurance vault.
    pub fn cover_from_insurance(&self) -> Result<Cover> {
        let deficit = bankruptcy_deficit(&self.account.load()?.portfolio).map_err(ClearshardError::from)?;
        let mut shard = self.shard.load_mut()?;
        let local = shard.take_insurance(deficit);
        let from_vault = deficit.saturating_sub(local).min(self.insurance_vault.amount);
        let covered = local.saturating_add(from_vault);
        let signed = i64::try_from(covered).map_err(|_| error!(ClearshardError::MathOverflow))?;
        shard.add_claims(signed)?;
        let mut account = self.account.load_mut()?;
        account.portfolio.credit(signed).map_err(ClearshardError::from)?;
        account.portfolio.pledge_gains(covered).map_err(ClearshardError::from)?;
        if account.portfolio.collateral >= 0 {
            let losses_before = account.portfolio.liquidation_losses;
            account.portfolio.clear_liquidation_losses();
            shard.count_loss_records(&losses_before, &account.portfolio.liquidation_losses)?;
        }
        drop(account);
        drop(shard);
        if from_vault > 0 {
            vault::pay_out(
                &self.token_program,
                &self.insurance_vault,
                self.vault.to_account_info(),
                self.exchange.to_account_info(),
                self.exchange.load()?.bump,
                from_vault,
            )?;
        }
        emit!(BankruptcyResolved { account: self.account.key(), covered, uncovered: deficit.saturating_sub(covered) });
        Ok(Cover { deficit, covered })
    }
}
