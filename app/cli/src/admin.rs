//! The admin's commands over JSON-RPC: prices of the built-in feeds,
//! matcher registration and revocation, and a market's delisting (the rest
//! of the setup is `init`).

use crate::settle::market_name;
use anchor_lang::prelude::Pubkey;
use clearshard_client::instructions as ix;
use clearshard_client::rpc::Cluster;
use solana_signer::Signer;
use std::str::FromStr;

pub fn address(text: &str) -> Result<Pubkey, String> {
    Pubkey::from_str(text).map_err(|_| format!("{text:?} is not a base58 address"))
}

/// A market named by id or name.
fn market_id(cluster: &Cluster, market: &str) -> Result<u16, String> {
    let exchange = cluster.exchange()?;
    let markets = cluster.markets(exchange.market_count)?;
    markets
        .iter()
        .find(|m| m.id.to_string() == market || market_name(m) == market)
        .map(|m| m.id)
        .ok_or_else(|| format!("no market {market:?}"))
}

pub fn set_price(cluster: &Cluster, market: &str, price: i64, expo: i32, confidence: u64) -> Result<(), String> {
    let id = market_id(cluster, market)?;
    let admin = cluster.payer.pubkey();
    cluster.send(&[ix::set_price(admin, id, price, confidence, expo)], &[]).map_err(|e| format!("set_price: {e}"))?;
    println!("market {id}: price {price}e{expo}");
    Ok(())
}

pub fn register_matcher(cluster: &Cluster, authority: &Pubkey) -> Result<(), String> {
    let admin = cluster.payer.pubkey();
    cluster.send(&[ix::register_matcher(admin, *authority)], &[]).map_err(|e| format!("register_matcher: {e}"))?;
    println!("matcher {authority} registered at {}", clearshard_client::pda::matcher(authority));
    Ok(())
}

pub fn revoke_matcher(cluster: &Cluster, authority: &Pubkey) -> Result<(), String> {
    if cluster.matcher(authority)?.is_none() {
        return Err(format!("{authority} is not a registered matcher"));
    }
    let admin = cluster.payer.pubkey();
    cluster.send(&[ix::revoke_matcher(admin, *authority)], &[]).map_err(|e| format!("revoke_matcher: {e}"))?;
    println!("matcher {authority} revoked");
    Ok(())
}

pub fn delist(cluster: &Cluster, market: &str) -> Result<(), String> {
    let id = market_id(cluster, market)?;
    let admin = cluster.payer.pubkey();
    cluster.send(&[ix::delist_market(admin, id)], &[]).map_err(|e| format!("delist_market: {e}"))?;
    let due = cluster.load::<clearshard::state::Market>(&clearshard_client::pda::market(id))?.map(|m| m.delist_due);
    println!("market {id}: delisting due at {}; then `clearshard wind-down --market {market}`", due.unwrap_or(0));
    Ok(())
}
