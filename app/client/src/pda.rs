//! Program-derived addresses, from the program's own seed constants.

use anchor_lang::prelude::Pubkey;
use clearshard::state::seeds;
use clearshard::ID;

fn find(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &ID).0
}

pub fn exchange() -> Pubkey {
    find(&[seeds::EXCHANGE])
}

pub fn insurance_vault() -> Pubkey {
    find(&[seeds::INSURANCE])
}

pub fn shard(index: u16) -> Pubkey {
    find(&[seeds::SHARD, &index.to_le_bytes()])
}

pub fn vault(index: u16) -> Pubkey {
    find(&[seeds::VAULT, &index.to_le_bytes()])
}

pub fn market(id: u16) -> Pubkey {
    find(&[seeds::MARKET, &id.to_le_bytes()])
}

pub fn price_feed(id: u16) -> Pubkey {
    find(&[seeds::PRICE, &id.to_le_bytes()])
}

pub fn matcher(authority: &Pubkey) -> Pubkey {
    find(&[seeds::MATCHER, authority.as_ref()])
}

pub fn margin_account(owner: &Pubkey, shard: u16, sub_id: u16) -> Pubkey {
    find(&[seeds::MARGIN, owner.as_ref(), &shard.to_le_bytes(), &sub_id.to_le_bytes()])
}

/// The documented default shard of an owner: the first two bytes of its key,
/// little-endian, modulo the shard count. Spreads owners evenly and lets
/// anyone find an owner's home shard without a lookup.
pub fn home_shard(owner: &Pubkey, shard_count: u16) -> u16 {
    let bytes = owner.to_bytes();
    u16::from_le_bytes([bytes[0], bytes[1]]) % shard_count.max(1)
}
