//! An owner's commands over JSON-RPC, signed by `--keypair`: `account create`,
//! `account show` / `accounts --owner`, `deposit`, `withdraw`, `limits` and
//! `trade` (one fill two owners sign, no matcher: `settle_owner_trade`).
//! Amounts are in tokens of the collateral mint (`12.5`); the wallet is the
//! owner's associated token account. Each command checks what it can before
//! it sends, and a refusal names the program's error: nothing changes.

use crate::settle::market_name;
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::{get_associated_token_address, spl_associated_token_account};
use clearshard::instructions::{MatcherLimits, OwnerTrade};
use clearshard::state::{Exchange, MarginAccount, Market};
use clearshard_client::instructions::{self as ix, CollateralMove, TradeSide};
use clearshard_client::pda;
use clearshard_client::presets::{format_usdc, revoked_limits};
use clearshard_client::rpc::Cluster;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// One of the signer's margin accounts: shard and sub id.
#[derive(Clone, Copy)]
pub struct Slot {
    pub shard: u16,
    pub sub_id: u16,
}

/// The venue as an owner's command needs it.
pub(crate) struct Venue<'a> {
    pub cluster: &'a Cluster,
    pub exchange: Exchange,
    pub markets: Vec<Market>,
}

impl<'a> Venue<'a> {
    pub fn read(cluster: &'a Cluster) -> Result<Self, String> {
        let exchange = cluster.exchange()?;
        let markets = cluster.markets(exchange.market_count)?;
        Ok(Venue { cluster, exchange, markets })
    }

    pub fn owner(&self) -> Pubkey {
        self.cluster.payer.pubkey()
    }

    /// The signer's margin account at `slot`, which must exist.
    fn account(&self, slot: Slot) -> Result<(Pubkey, MarginAccount), String> {
        self.require_shard(slot.shard)?;
        let address = pda::margin_account(&self.owner(), slot.shard, slot.sub_id);
        let account = self.cluster.load::<MarginAccount>(&address)?.ok_or_else(|| {
            format!(
                "{} has no margin account on shard {} (sub id {}): `account create` first",
                self.owner(),
                slot.shard,
                slot.sub_id
            )
        })?;
        Ok((address, account))
    }

    fn require_shard(&self, shard: u16) -> Result<(), String> {
        if shard >= self.exchange.shard_count {
            return Err(format!("no shard {shard}: the exchange has {}", self.exchange.shard_count));
        }
        Ok(())
    }

    /// A market named by id or name.
    pub fn market(&self, name: &str) -> Result<&Market, String> {
        self.markets
            .iter()
            .find(|m| m.id.to_string() == name || market_name(m) == name)
            .ok_or_else(|| format!("no market {name:?}"))
    }

    /// Tokens as native units of the collateral mint: `12.5` → 12_500_000 at 6 decimals.
    fn tokens(&self, text: &str) -> Result<u64, String> {
        let decimals = u32::from(self.exchange.quote_decimals);
        let bad = || format!("{text:?} is not an amount of tokens (at most {decimals} decimals)");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.len() > decimals as usize {
            return Err(bad());
        }
        let digits = |s: &str| if s.is_empty() { Ok(0) } else { s.parse::<u64>().map_err(|_| bad()) };
        let scale = 10u64.pow(decimals);
        let fraction_units = digits(fraction)? * 10u64.pow(decimals - fraction.len() as u32);
        let amount = digits(whole)?.checked_mul(scale).and_then(|w| w.checked_add(fraction_units)).ok_or_else(bad)?;
        if amount == 0 {
            return Err(format!("{text:?}: the amount must be more than zero"));
        }
        Ok(amount)
    }

    pub fn wallet(&self) -> Pubkey {
        get_associated_token_address(&self.owner(), &self.exchange.collateral_mint)
    }

    /// Creates the owner's wallet if it is missing (a withdrawal pays into it).
    pub fn create_wallet(&self) -> anchor_lang::solana_program::instruction::Instruction {
        spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &self.owner(),
            &self.owner(),
            &self.exchange.collateral_mint,
            &anchor_spl::token::ID,
        )
    }

    pub fn movement(&self, address: Pubkey, shard: u16) -> CollateralMove {
        CollateralMove { owner: self.owner(), margin_account: address, shard, owner_token: self.wallet() }
    }
}

/// The markets `account` holds a position in: what a withdrawal must price.
fn held(account: &MarginAccount) -> Vec<u16> {
    account.portfolio.positions.iter().filter(|p| p.base_lots != 0).map(|p| p.market_id).collect()
}

pub fn create_account(cluster: &Cluster, slot: Slot) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    venue.require_shard(slot.shard)?;
    let address = pda::margin_account(&venue.owner(), slot.shard, slot.sub_id);
    if cluster.account_data(&address)?.is_some() {
        return Err(format!("margin account {address} already exists"));
    }
    let create = ix::create_margin_account(venue.owner(), slot.shard, slot.sub_id);
    cluster.send(&[create], &[]).map_err(|e| format!("create_margin_account: {e}"))?;
    println!("margin account {address} on shard {} (sub id {})", slot.shard, slot.sub_id);
    Ok(())
}

/// Every margin account of `owner` (or the one at `address`), with its
/// collateral, positions, limits and health at the oracle now.
pub fn show(cluster: &Cluster, owner: Option<Pubkey>, address: Option<Pubkey>, as_json: bool) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let accounts = match address {
        Some(address) => {
            let account =
                cluster.load::<MarginAccount>(&address)?.ok_or_else(|| format!("{address} is no margin account"))?;
            vec![(address, account)]
        }
        None => cluster.margin_accounts(Some(&owner.unwrap_or_else(|| venue.owner())))?,
    };
    // Health needs fresh prices; without them the rest still shows.
    let risk = cluster.risk_markets(venue.exchange.quote_decimals, &venue.markets);
    let report: Vec<Value> =
        accounts.iter().map(|(address, account)| describe(&venue, address, account, &risk)).collect();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    if report.is_empty() {
        println!("no margin accounts");
    }
    for a in &report {
        println!(
            "{}  shard {}  sub {}  collateral {}  initial health {}  maintenance health {}",
            a["address"].as_str().unwrap_or_default(),
            a["shard"],
            a["sub_id"],
            a["collateral_tokens"].as_str().unwrap_or_default(),
            a["health"]["initial_tokens"].as_str().unwrap_or("-"),
            a["health"]["maintenance_tokens"].as_str().unwrap_or("-"),
        );
        for p in a["positions"].as_array().into_iter().flatten() {
            println!("    {}  {} lots", p["name"].as_str().unwrap_or_default(), p["base_lots"]);
        }
    }
    Ok(())
}

fn describe(
    venue: &Venue,
    address: &Pubkey,
    account: &MarginAccount,
    risk: &Result<Vec<clearshard_engine::RiskMarket>, String>,
) -> Value {
    let p = &account.portfolio;
    let positions: Vec<Value> = p
        .positions
        .iter()
        .filter(|pos| pos.base_lots != 0)
        .map(|pos| {
            let name = venue.markets.iter().find(|m| m.id == pos.market_id).map(market_name).unwrap_or_default();
            json!({ "market": pos.market_id, "name": name, "base_lots": pos.base_lots, "cost_basis": pos.cost_basis })
        })
        .collect();
    let health = match risk {
        Ok(risk) => {
            // What the program would see: accruals settled first, on a copy.
            let mut settled = *p;
            settled.settle_funding(&risk[..]).and_then(|_| settled.health(&risk[..])).map_or_else(
                |e| json!({ "error": format!("{e:?}") }),
                |h| {
                    json!({
                        "equity": h.equity.to_string(),
                        "initial": h.initial.to_string(),
                        "maintenance": h.maintenance.to_string(),
                        "initial_tokens": format_usdc(h.initial),
                        "maintenance_tokens": format_usdc(h.maintenance),
                    })
                },
            )
        }
        Err(e) => json!({ "error": e }),
    };
    let l = &p.limits;
    json!({
        "address": address.to_string(),
        "owner": account.owner.to_string(),
        "shard": account.shard,
        "sub_id": account.sub_id,
        "collateral": p.collateral,
        "collateral_tokens": format_usdc(i128::from(p.collateral)),
        "positions": positions,
        "health": health,
        "limits": {
            "allowed_markets": l.allowed_markets,
            "max_lots_per_fill": l.max_lots_per_fill,
            "max_position_lots": l.max_position_lots,
            "max_deviation_bps": l.max_deviation_bps,
            "max_adverse_cost": l.max_adverse_cost,
            "window_secs": l.window_secs,
            "expiry_unix": l.expiry_unix,
        },
    })
}

pub fn deposit(cluster: &Cluster, slot: Slot, amount: &str) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let amount = venue.tokens(amount)?;
    let (address, _) = venue.account(slot)?;
    let held = cluster.token_balance(&venue.wallet()).unwrap_or(0);
    if held < amount {
        return Err(format!(
            "wallet {} holds {}, less than {}",
            venue.wallet(),
            format_usdc(held.into()),
            format_usdc(amount.into())
        ));
    }
    cluster
        .send(&[ix::deposit(&venue.movement(address, slot.shard), amount)], &[])
        .map_err(|e| format!("deposit: {e}"))?;
    println!("deposited {} into {address}", format_usdc(amount.into()));
    Ok(())
}

/// Withdraws `amount` tokens, or `all`: the whole collateral of an account
/// without positions (with positions, the owner names what it takes out).
pub fn withdraw(cluster: &Cluster, slot: Slot, amount: &str) -> Result<u64, String> {
    let venue = Venue::read(cluster)?;
    let (address, account) = venue.account(slot)?;
    let markets = held(&account);
    let amount = match amount {
        "all" if !markets.is_empty() => {
            return Err(format!("{address} holds positions: close them, or name an amount its margin leaves free"))
        }
        "all" => u64::try_from(account.portfolio.collateral)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| format!("{address} holds no collateral to withdraw"))?,
        text => venue.tokens(text)?,
    };
    let take = ix::withdraw(&venue.movement(address, slot.shard), amount, &markets);
    cluster.send(&[venue.create_wallet(), take], &[]).map_err(|e| format!("withdraw: {e}"))?;
    println!("withdrew {} from {address} to {}", format_usdc(amount.into()), venue.wallet());
    Ok(amount)
}

/// What any matcher, and the owner's own trades, may do on an account.
#[derive(clap::Args)]
pub struct LimitsArgs {
    /// Markets by name or id, comma separated (default: every market).
    #[arg(long, value_delimiter = ',')]
    pub markets: Vec<String>,
    #[arg(long, default_value_t = 1_000_000)]
    pub max_lots_per_fill: u64,
    /// 0: reduce only (no fill may grow a position).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_position_lots: u64,
    #[arg(long, default_value_t = 100)]
    pub max_deviation_bps: u16,
    /// Tokens of adverse execution cost a window may charge.
    #[arg(long, default_value = "100")]
    pub budget: String,
    #[arg(long, default_value_t = 3_600)]
    pub window_secs: u32,
    #[arg(long, default_value_t = 86_400)]
    pub expires_in_secs: i64,
    /// Expire the limits now: nothing trades the account until they are set again.
    #[arg(long)]
    pub revoke: bool,
}

pub fn limits(cluster: &Cluster, slot: Slot, args: &LimitsArgs) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let (address, _) = venue.account(slot)?;
    let limits = if args.revoke {
        revoked_limits()
    } else {
        let mut allowed = 0u64;
        let ids: Vec<u16> = match args.markets.is_empty() {
            true => venue.markets.iter().map(|m| m.id).collect(),
            false => args.markets.iter().map(|n| venue.market(n).map(|m| m.id)).collect::<Result<_, _>>()?,
        };
        for id in ids {
            allowed |= 1u64
                .checked_shl(u32::from(id))
                .ok_or_else(|| format!("market {id}: only ids below 64 can be allowed"))?;
        }
        if args.window_secs == 0 || u64::from(args.max_deviation_bps) > 10_000 {
            return Err("the window must be positive and the deviation at most 10000 bps".to_string());
        }
        let now = cluster.unix_timestamp()?;
        MatcherLimits {
            allowed_markets: allowed,
            max_lots_per_fill: args.max_lots_per_fill,
            max_deviation_bps: args.max_deviation_bps,
            expiry_unix: now.saturating_add(args.expires_in_secs),
            max_position_lots: args.max_position_lots,
            max_adverse_cost: if args.budget == "0" { 0 } else { venue.tokens(&args.budget)? },
            window_secs: args.window_secs,
        }
    };
    let set = ix::set_matcher_limits(venue.owner(), address, limits);
    cluster.send(&[set], &[]).map_err(|e| format!("set_matcher_limits: {e}"))?;
    match args.revoke {
        true => println!("limits of {address} revoked: no fill is accepted until they are set again"),
        false => println!("limits of {address} set, expiring at {}", limits.expiry_unix),
    }
    Ok(())
}

/// One owner trade: the signer takes, `maker` (its keypair) makes.
pub struct TradeArgs {
    pub market: String,
    pub buy: bool,
    pub lots: u32,
    pub price_ticks: u32,
    pub taker: Slot,
    pub maker: Keypair,
    pub maker_slot: Slot,
    /// The signed trade lapses this long after it is built.
    pub expires_in_secs: i64,
}

pub fn trade(cluster: &Cluster, args: &TradeArgs) -> Result<(), String> {
    let venue = Venue::read(cluster)?;
    let market = venue.market(&args.market)?.id;
    if args.lots == 0 || args.price_ticks == 0 {
        return Err("lots and price (ticks per lot) must be positive".to_string());
    }
    let (taker_account, taker_margin) = venue.account(args.taker)?;
    venue.require_shard(args.maker_slot.shard)?;
    let maker_owner = args.maker.pubkey();
    let maker_account = pda::margin_account(&maker_owner, args.maker_slot.shard, args.maker_slot.sub_id);
    let Some(maker_margin) = cluster.load::<MarginAccount>(&maker_account)? else {
        return Err(format!("{maker_owner} has no margin account on shard {}", args.maker_slot.shard));
    };
    let taker = TradeSide { owner: venue.owner(), account: taker_account, shard: args.taker.shard };
    let maker = TradeSide { owner: maker_owner, account: maker_account, shard: args.maker_slot.shard };
    // The market traded first, then every other one either account holds.
    let markets = ix::owner_trade_markets(market, &[&taker_margin.portfolio, &maker_margin.portfolio]);
    let expires_at = cluster.unix_timestamp()?.saturating_add(args.expires_in_secs);
    let trade = OwnerTrade {
        market_slot: 0,
        taker_buys: args.buy,
        quantity_lots: args.lots,
        price_ticks: args.price_ticks,
        expires_at,
    };
    let trade = ix::settle_owner_trade(&taker, &maker, &markets, trade);
    cluster.send(&[trade], &[&args.maker]).map_err(|e| format!("settle_owner_trade: {e}"))?;
    let side = if args.buy { "bought" } else { "sold" };
    println!(
        "{taker_account} {side} {} lots of market {market} at {} ticks from {maker_account}",
        args.lots, args.price_ticks
    );
    Ok(())
}
