//! `clearshard init`: an exchange, its shards and markets on a fresh cluster,
//! and (with `--venue DIR`) the demo venue `make localnet` serves: a
//! registered matcher, makers with a liquidity account on every shard,
//! traders on their home shards, a liquidator and an insurance fund. Every
//! step is skipped when the chain already holds it, so `init` can be rerun.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::associated_token::{get_associated_token_address, spl_associated_token_account};
use clearshard::instructions::MatcherLimits;
use clearshard_client::instructions::{self as ix, CollateralMove};
use clearshard_client::pda;
use clearshard_client::presets::*;
use clearshard_client::rpc::Cluster;
use solana_keypair::{read_keypair_file, Keypair};
use solana_signer::Signer;
use std::path::Path;

pub struct InitArgs<'a> {
    pub shards: u16,
    pub mint: Option<Pubkey>,
    pub venue: Option<&'a Path>,
}

/// Staleness the markets `init` lists accept: their built-in feeds are set
/// by hand (`clearshard set-price`), not by a keeper every few seconds.
const HAND_SET_FEED_STALENESS_SECS: u32 = 86_400;
/// Shards added per transaction.
const SHARDS_PER_TX: usize = 6;
/// Collateral each demo maker deposits on every shard, each trader on its
/// home shard, the liquidator on shard 0, and the insurance fund gets.
const MAKER_DEPOSIT: u64 = 50_000 * USDC;
const TRADER_DEPOSIT: u64 = 10_000 * USDC;
const LIQUIDATOR_DEPOSIT: u64 = 200_000 * USDC;
const INSURANCE_DEPOSIT: u64 = 100_000 * USDC;

pub fn run(cluster: &Cluster, args: &InitArgs) -> Result<(), String> {
    // What `init` makes is a test venue (no timelock, admin-priced markets):
    // never on mainnet, where such a venue would trust its admin outright.
    if cluster.url.contains("mainnet") {
        return Err(format!("`init` makes a test venue; refusing to run against {}", cluster.url));
    }
    let admin = cluster.payer.pubkey();
    let mint = match cluster.load::<clearshard::state::Exchange>(&pda::exchange())? {
        Some(exchange) => {
            println!("exchange {} exists (admin {})", pda::exchange(), exchange.admin);
            if exchange.admin != admin {
                return Err(format!("{admin} is not this exchange's admin ({})", exchange.admin));
            }
            exchange.collateral_mint
        }
        None => {
            let mint = match args.mint {
                Some(mint) => mint,
                None => create_mint(cluster)?,
            };
            // Its markets are test markets, priced by hand: a test venue, without a timelock.
            // Swept fees go to the admin's own token account.
            let (treasury, create_treasury) = admin_wallet(admin, mint);
            let ixs = [create_treasury, ix::initialize_exchange(admin, mint, treasury, 0, true)];
            send(cluster, &ixs, &[], "initialize_exchange")?;
            println!("exchange {} created (a test venue, no timelock); collateral mint {mint}", pda::exchange());
            mint
        }
    };
    let exchange = cluster.exchange()?;
    let have = exchange.shard_count;
    for chunk in (have..args.shards).collect::<Vec<_>>().chunks(SHARDS_PER_TX) {
        let ixs: Vec<Instruction> = chunk.iter().map(|i| ix::add_shard(admin, mint, *i)).collect();
        send(cluster, &ixs, &[], "add_shard")?;
    }
    println!("{} shards ({} added)", args.shards.max(have), args.shards.saturating_sub(have));
    if exchange.market_count == 0 {
        for (id, name, mut config, price) in
            [(BTC, "BTC-PERP", btc_market(), BTC_PRICE), (ETH, "ETH-PERP", eth_market(), ETH_PRICE)]
        {
            config.max_staleness_secs = HAND_SET_FEED_STALENESS_SECS;
            let ixs = [ix::add_market(admin, id, name, config, true), ix::set_price(admin, id, price, 0, PRICE_EXPO)];
            send(cluster, &ixs, &[], "add_market")?;
            println!("market {id} {name} listed as a test market, priced by its built-in feed");
        }
    }
    if let Some(dir) = args.venue {
        venue(cluster, dir, mint, args.shards.max(have))?;
    }
    Ok(())
}

/// The admin's associated token account of `mint` (the treasury, and where
/// the insurance deposit is minted), and the instruction that creates it if
/// it is missing.
fn admin_wallet(admin: Pubkey, mint: Pubkey) -> (Pubkey, Instruction) {
    let wallet = get_associated_token_address(&admin, &mint);
    let create = spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &admin,
        &admin,
        &mint,
        &spl_token_interface::ID,
    );
    (wallet, create)
}

fn send(cluster: &Cluster, ixs: &[Instruction], signers: &[&Keypair], what: &str) -> Result<(), String> {
    cluster.send(ixs, signers).map(|_| ()).map_err(|e| format!("{what}: {e}"))
}

/// A new collateral mint (6 decimals) whose authority is the admin.
fn create_mint(cluster: &Cluster) -> Result<Pubkey, String> {
    let mint = Keypair::new();
    let space = spl_token_interface::state::Mint::LEN;
    let rent = cluster
        .client
        .get_minimum_balance_for_rent_exemption(space)
        .map_err(|e| format!("rent: {}", clearshard_client::rpc::short(&e)))?;
    let admin = cluster.payer.pubkey();
    let ixs = [
        solana_system_interface::instruction::create_account(
            &admin,
            &mint.pubkey(),
            rent,
            space as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_mint2(&spl_token_interface::ID, &mint.pubkey(), &admin, None, 6)
            .map_err(|e| e.to_string())?,
    ];
    send(cluster, &ixs, &[&mint], "create mint")?;
    Ok(mint.pubkey())
}

/// Limits that let the venue's matcher trade for a day (the demo's traders trust it).
fn demo_limits(cluster: &Cluster) -> Result<MatcherLimits, String> {
    Ok(open_limits(cluster.unix_timestamp()?))
}

/// Instructions of one transaction and the keys that sign it besides the payer.
type SignedIxs = (Vec<Instruction>, Vec<Keypair>);

/// Wallet token account, tokens minted into it, and margin accounts with a
/// deposit and the matcher's limits, for one demo key.
fn fund(
    cluster: &Cluster,
    owner: &Keypair,
    mint: Pubkey,
    shards: &[u16],
    deposit: u64,
    limits: Option<MatcherLimits>,
) -> Result<Vec<SignedIxs>, String> {
    let admin = cluster.payer.pubkey();
    let wallet = get_associated_token_address(&owner.pubkey(), &mint);
    let tokens = deposit.saturating_mul(shards.len() as u64);
    let mut setup = vec![
        spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &admin,
            &owner.pubkey(),
            &mint,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::mint_to(&spl_token_interface::ID, &mint, &wallet, &admin, &[], tokens)
            .map_err(|e| e.to_string())?,
    ];
    let mut txs = vec![];
    for shard in shards {
        let account = pda::margin_account(&owner.pubkey(), *shard, 0);
        if cluster.account_data(&account)?.is_some() {
            continue;
        }
        let mut ixs = std::mem::take(&mut setup);
        ixs.push(ix::create_margin_account(owner.pubkey(), *shard, 0));
        let movement =
            CollateralMove { owner: owner.pubkey(), margin_account: account, shard: *shard, owner_token: wallet };
        ixs.push(ix::deposit(&movement, deposit));
        if let Some(limits) = limits {
            ixs.push(ix::set_matcher_limits(owner.pubkey(), account, limits));
        }
        txs.push((ixs, vec![owner.insecure_clone()]));
    }
    // The first transaction (with the wallet) must land before the others spend from it.
    Ok(txs)
}

fn venue(cluster: &Cluster, dir: &Path, mint: Pubkey, shard_count: u16) -> Result<(), String> {
    let admin = cluster.payer.pubkey();
    let key = |name: &str| {
        let path = dir.join(format!("{name}.json"));
        read_keypair_file(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let matcher = key("matcher")?;
    if cluster.matcher(&matcher.pubkey())?.is_none() {
        send(cluster, &[ix::register_matcher(admin, matcher.pubkey())], &[], "register_matcher")?;
    }
    println!("matcher {} registered", matcher.pubkey());
    let limits = demo_limits(cluster)?;
    let all_shards: Vec<u16> = (0..shard_count).collect();
    let mut plans = vec![];
    let mut names = vec![];
    for i in 0.. {
        let Ok(maker) = key(&format!("maker-{i}")) else { break };
        plans.push(fund(cluster, &maker, mint, &all_shards, MAKER_DEPOSIT, Some(limits))?);
        names.push(format!("maker-{i}: {} USDC on each of {shard_count} shards", MAKER_DEPOSIT / USDC));
    }
    for i in 0.. {
        let Ok(trader) = key(&format!("trader-{i}")) else { break };
        let home = pda::home_shard(&trader.pubkey(), shard_count);
        plans.push(fund(cluster, &trader, mint, &[home], TRADER_DEPOSIT, Some(limits))?);
        names.push(format!("trader-{i}: {} USDC on shard {home}", TRADER_DEPOSIT / USDC));
    }
    let liquidator = key("liquidator")?;
    plans.push(fund(cluster, &liquidator, mint, &[0], LIQUIDATOR_DEPOSIT, None)?);
    names.push(format!("liquidator: {} USDC on shard 0", LIQUIDATOR_DEPOSIT / USDC));
    // Each key's first transaction creates its wallet: send those, then the rest at once.
    let firsts: Vec<(Vec<Instruction>, Vec<&Keypair>)> =
        plans.iter().filter_map(|p| p.first()).map(|(ixs, signers)| (ixs.clone(), signers.iter().collect())).collect();
    cluster.send_all(&firsts).map_err(|e| format!("demo accounts: {e}"))?;
    let rest: Vec<(Vec<Instruction>, Vec<&Keypair>)> = plans
        .iter()
        .flat_map(|p| p.iter().skip(1))
        .map(|(ixs, signers)| (ixs.clone(), signers.iter().collect()))
        .collect();
    for chunk in rest.chunks(32) {
        cluster.send_all(chunk).map_err(|e| format!("demo accounts: {e}"))?;
    }
    for line in names {
        println!("{line}");
    }
    let insurance = cluster.insurance_balance()?;
    if insurance == 0 {
        let (wallet, create_wallet) = admin_wallet(admin, mint);
        let ixs = [
            create_wallet,
            spl_token_interface::instruction::mint_to(
                &spl_token_interface::ID,
                &mint,
                &wallet,
                &admin,
                &[],
                INSURANCE_DEPOSIT,
            )
            .map_err(|e| e.to_string())?,
            ix::deposit_insurance(admin, wallet, INSURANCE_DEPOSIT),
        ];
        send(cluster, &ixs, &[], "deposit_insurance")?;
    }
    println!("insurance fund {} USDC", cluster.insurance_balance()? / USDC);
    Ok(())
}
