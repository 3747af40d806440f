use anchor_lang::prelude::*;
use clearshard_engine::MarketParams;

/// A perpetual market. Written by the admin; read-only in settlement.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub id: u16,
    pub bump: u8,
    pub _padding: [u8; 5],
    /// The price feed settlement and margin read for this market.
    pub oracle: Pubkey,
    pub params: MarketParams,
    pub name: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<Market>() == 104);

impl Market {
    pub const SPACE: usize = 8 + core::mem::size_of::<Market>();
}
