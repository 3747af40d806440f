use anchor_lang::prelude::*;
use clearshard_engine::Portfolio;

/// A trader's margin account on one shard. A market maker keeps one per
/// shard it quotes on (its liquidity shards).
///
/// Layout (408 bytes): owner 32, shard 2, sub id 2, bump 1, padding 3,
/// portfolio 368 (collateral, realized PnL, limits, 8 positions).
#[account(zero_copy)]
#[derive(Debug)]
pub struct MarginAccount {
    pub owner: Pubkey,
    pub shard: u16,
    pub sub_id: u16,
    pub bump: u8,
    pub _padding: [u8; 3],
    pub portfolio: Portfolio,
}
const _: () = assert!(core::mem::size_of::<MarginAccount>() == 408);

impl MarginAccount {
    pub const SPACE: usize = 8 + core::mem::size_of::<MarginAccount>();
}
