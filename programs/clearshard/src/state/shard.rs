use super::{MAX_MARKETS, MAX_MATCHERS};
use crate::errors::ClearshardError;
use anchor_lang::prelude::*;
use clearshard_engine::batch::MarketFlow;

/// What one shard holds of one market.
#[zero_copy]
#[derive(Debug, Default)]
pub struct ShardMarket {
    /// Long open interest of this shard's accounts, in lots.
    pub open_interest: u64,
    /// Net fees accrued (taker fees less maker rebates); backed by the vault.
    pub fees: i64,
    pub volume_lots: u64,
    pub fills: u64,
    /// Price per lot of the last fill settled here (the mark for funding).
    pub last_price: u64,
}
const _: () = assert!(core::mem::size_of::<ShardMarket>() == 40);

/// One shard: the unit of write locking. Settlement, deposits and withdrawals
/// of its margin accounts write it; batches on other shards never do.
///
/// Layout (824 bytes): header 8, vault 32, claims 8, account count 8,
/// matcher sequences 16×8, per-market stats 16×40.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Shard {
    pub index: u16,
    pub pause_flags: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub _padding: [u8; 3],
    pub vault: Pubkey,
    /// Sum of the collateral of this shard's margin accounts.
    pub collateral_claims: i64,
    pub margin_accounts: u64,
    /// Next batch sequence expected from each matcher (by matcher index).
    pub next_sequence: [u64; MAX_MATCHERS as usize],
    pub markets: [ShardMarket; MAX_MARKETS as usize],
}
const _: () = assert!(core::mem::size_of::<Shard>() == 824);

impl Shard {
    pub const SPACE: usize = 8 + core::mem::size_of::<Shard>();

    /// Tokens the vault owes: collateral claims plus fees.
    pub fn liabilities(&self) -> Result<i64> {
        self.markets
            .iter()
            .try_fold(self.collateral_claims, |acc, m| acc.checked_add(m.fees))
            .ok_or_else(|| ClearshardError::MathOverflow.into())
    }

    pub fn add_claims(&mut self, amount: i64) -> Result<()> {
        self.collateral_claims = self.collateral_claims.checked_add(amount).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Consumes `sequence` for the matcher, which must be exactly the next one.
    pub fn take_sequence(&mut self, matcher_index: u16, sequence: u64) -> Result<()> {
        let next = self.next_sequence.get_mut(matcher_index as usize).ok_or(ClearshardError::MatcherNotRegistered)?;
        if sequence < *next {
            return Err(ClearshardError::BatchSequenceReplayed.into());
        }
        if sequence > *next {
            return Err(ClearshardError::BatchSequenceGap.into());
        }
        *next += 1;
        Ok(())
    }

    /// Moves a market's long open interest by `delta` lots (liquidations,
    /// which are never refused for the cap).
    pub fn add_open_interest(&mut self, market_id: u16, delta: i64) -> Result<()> {
        let m = self.markets.get_mut(market_id as usize).ok_or(ClearshardError::UnknownMarket)?;
        m.open_interest = m.open_interest.checked_add_signed(delta).ok_or(ClearshardError::MathOverflow)?;
        Ok(())
    }

    /// Books what a batch did to this shard's market stats.
    pub fn apply_flow(&mut self, market_id: u16, flow: &MarketFlow) -> Result<()> {
        if flow.fills == 0 && flow.fees == 0 && flow.open_interest_delta == 0 {
            return Ok(());
        }
        let m = self.markets.get_mut(market_id as usize).ok_or(ClearshardError::UnknownMarket)?;
        let overflow = || error!(ClearshardError::MathOverflow);
        m.open_interest = m.open_interest.checked_add_signed(flow.open_interest_delta).ok_or_else(overflow)?;
        m.fees = m.fees.checked_add(flow.fees).ok_or_else(overflow)?;
        m.volume_lots = m.volume_lots.checked_add(flow.volume_lots).ok_or_else(overflow)?;
        m.fills = m.fills.checked_add(flow.fills as u64).ok_or_else(overflow)?;
        if flow.fills > 0 {
            m.last_price = flow.last_price;
        }
        Ok(())
    }
}
