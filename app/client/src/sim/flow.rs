//! The simulated order flow: traders on their home shards take liquidity
//! from market makers, a few hot makers quoting most of it.

use super::Design;
use crate::rng::Rng;
use crate::router::{AccountRef, Trade};
use anchor_lang::prelude::Pubkey;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Flow {
    pub traders: u64,
    pub makers: usize,
    /// The first `hot_makers` makers quote `hot_share` of the flow.
    pub hot_makers: usize,
    pub hot_share: f64,
    pub markets: u16,
}

impl Default for Flow {
    fn default() -> Self {
        Flow { traders: 20_000, makers: 12, hot_makers: 3, hot_share: 0.8, markets: 2 }
    }
}

impl Flow {
    fn address(kind: u8, id: u64, shard: u16) -> Pubkey {
        let mut bytes = [0u8; 32];
        bytes[0] = kind;
        bytes[1..9].copy_from_slice(&id.to_le_bytes());
        bytes[9..11].copy_from_slice(&shard.to_le_bytes());
        Pubkey::new_from_array(bytes)
    }

    /// A small integer naming an account for the leader's lock tables; shard
    /// accounts are their index, margin accounts are far above.
    pub fn account_id(address: &Pubkey) -> u64 {
        let b = address.to_bytes();
        (u64::from(b[0]) << 56)
            | (u64::from_le_bytes([b[1], b[2], b[3], b[4], b[5], b[6], 0, 0]) << 16)
            | u64::from(u16::from_le_bytes([b[9], b[10]]))
    }

    /// Each maker's accounts: one per shard with liquidity shards, else one on shard 0.
    pub fn maker_book(&self, design: &Design) -> Vec<Vec<(u16, Pubkey)>> {
        let shards = if design.liquidity_shards { design.shards } else { 1 };
        (0..self.makers).map(|m| (0..shards).map(|s| (s, Self::address(2, m as u64, s))).collect()).collect()
    }

    /// The next matched trade: a random trader (on its home shard) against a
    /// maker, hot ones most of the time.
    pub fn trade(&self, rng: &mut Rng, design: &Design) -> Trade {
        let trader = rng.range(0, self.traders);
        let shard = (trader % u64::from(design.shards)) as u16;
        let maker = if rng.unit() < self.hot_share || self.hot_makers >= self.makers {
            rng.range(0, self.hot_makers.max(1) as u64) as usize
        } else {
            rng.range(self.hot_makers as u64, self.makers as u64) as usize
        };
        Trade {
            taker: AccountRef { address: Self::address(1, trader, shard), shard },
            maker,
            market: rng.range(0, u64::from(self.markets)) as u16,
            taker_buys: rng.chance(50),
            lots: 1,
            ticks: 1,
        }
    }
}
