use anchor_lang::prelude::*;
use clearshard_engine::MarketParams;

/// Where a market's price comes from.
pub const ORACLE_BUILTIN: u8 = 0;
/// A Pyth pull-oracle `PriceUpdateV2` account owned by the Pyth receiver.
pub const ORACLE_PYTH: u8 = 1;

/// The Pyth Solana receiver program, owner of `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER_ID: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// A perpetual market. Written by the admin; read-only in settlement.
///
/// Layout (160 bytes): id 2, bump 1, oracle kind 1, padding 4, oracle 32,
/// params 48, name 16, Pyth feed id 32, funding index 8, funding time 8,
/// socialized loss index 8.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub id: u16,
    pub bump: u8,
    pub oracle_kind: u8,
    pub _padding: [u8; 4],
    /// The price account settlement and margin read for this market.
    pub oracle: Pubkey,
    pub params: MarketParams,
    pub name: [u8; 16],
    /// For Pyth: the feed id the price update must carry.
    pub pyth_feed_id: [u8; 32],
    /// Cumulative funding per lot (quote native); positions settle against it.
    pub cumulative_funding: i64,
    /// When funding last accrued (0: never).
    pub last_funding_unix: i64,
    /// Cumulative socialized loss per lot: every open lot pays as it rises.
    pub cumulative_loss: i64,
}
const _: () = assert!(core::mem::size_of::<Market>() == 160);

impl Market {
    pub const SPACE: usize = 8 + core::mem::size_of::<Market>();
}
