//! The instructions of a wound-down market: winding it down, closing its
//! positions at the settlement price, and paying its settlement pool out.

use super::build;
use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use clearshard::{accounts, instruction};

/// Winds market `market` down once no matcher has served it for its liveness
/// timeout (permissionless); `oracle` is its price account, `shards` every
/// shard of the exchange in index order (`0..shard_count`).
pub fn wind_down_market(market: u16, oracle: Pubkey, shards: &[u16], unserved_exit: Option<Pubkey>) -> Instruction {
    let accounts =
        accounts::WindDownMarket { exchange: pda::exchange(), market: pda::market(market), oracle, unserved_exit };
    let remaining = shards.iter().map(|s| AccountMeta::new_readonly(pda::shard(*s), false)).collect();
    build(accounts, instruction::WindDownMarket {}, remaining)
}

/// Closes `account`'s position in wound-down `market` at the settlement
/// price (permissionless).
pub fn close_at_settlement(account: Pubkey, shard: u16, market: u16) -> Instruction {
    let accounts = accounts::CloseAtSettlement { position: wound_down_position(account, shard, market) };
    build(accounts, instruction::CloseAtSettlement {}, vec![])
}

/// Makes wound-down `market` final (permissionless): `shards` is every shard
/// of the exchange in index order.
pub fn finalize_wind_down(market: u16, shards: &[u16]) -> Instruction {
    let accounts = accounts::FinalizeWindDown { exchange: pda::exchange(), market: pda::market(market) };
    let remaining = shards.iter().map(|s| AccountMeta::new_readonly(pda::shard(*s), false)).collect();
    build(accounts, instruction::FinalizeWindDown {}, remaining)
}

/// Pays `account`'s settlement gain in wound-down `market` (permissionless).
pub fn claim_settlement_gain(account: Pubkey, shard: u16, market: u16) -> Instruction {
    let accounts = accounts::ClaimSettlementGain { position: wound_down_position(account, shard, market) };
    build(accounts, instruction::ClaimSettlementGain {}, vec![])
}

fn wound_down_position(margin_account: Pubkey, shard: u16, market: u16) -> accounts::WoundDownPosition {
    accounts::WoundDownPosition {
        exchange: pda::exchange(),
        market: pda::market(market),
        margin_account,
        shard: pda::shard(shard),
    }
}

/// Clears `account`'s recorded losses once it is restored (permissionless):
/// `markets` are those it holds positions in, with their oracles.
pub fn clear_loss_record(account: Pubkey, shard: u16, markets: &[u16]) -> Instruction {
    let accounts =
        accounts::ClearLossRecord { exchange: pda::exchange(), margin_account: account, shard: pda::shard(shard) };
    build(accounts, instruction::ClearLossRecord {}, super::market_metas(markets))
}
