//! `clearshard settle --fills FILE|-`: a matcher operator's fills, settled
//! over JSON-RPC, each exactly once.
//!
//! Every line is validated (offline, then against the chain) before anything
//! is sent. Fills are routed and packed into shard batches by the same
//! router as everywhere else; each transaction requests the compute units its
//! simulation measured (plus a margin) and carries a priority fee. Batches go
//! out in waves that share no written account, one unconfirmed batch per
//! shard, and the journal (see `journal`) makes a killed run resumable.

mod fills;
mod journal;

use anchor_lang::prelude::Pubkey;
use clearshard::state::{MarginAccount, Market, Shard};
use clearshard_client::instructions::{self as ix, BatchPlan};
use clearshard_client::packing::{batch_transaction, BatchShape, ComputeBudget};
use clearshard_client::pda;
use clearshard_client::router::{schedule, AccountRef, BatchTarget, RoutedBatch, Router, Trade};
use clearshard_client::rpc::{Cluster, SendError};
use clearshard_engine::{Fill, SequenceStatus, FILL_LEN};
use fills::{FillLine, MarketRef, Refusal};
use journal::{Entry, Journal, PlannedBatch};
use sha2::{Digest, Sha256};
use solana_message::AddressLookupTableAccount;
use solana_signer::Signer;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

/// Most addresses one lookup table holds.
const LOOKUP_TABLE_CAPACITY: usize = 256;
/// Compute units over a batch's simulated use that its transaction requests:
/// state may move a little between simulation and execution.
const MEASURED_MARGIN_PERCENT: u64 = 10;
const MEASURED_MARGIN_UNITS: u64 = 1_000;
const MAX_COMPUTE_UNITS: u64 = 1_400_000;
/// A batch whose transaction expired unconfirmed is checked and re-sent this often at most.
const MAX_ATTEMPTS: usize = 4;

pub struct SettleArgs {
    pub fills: PathBuf,
    pub journal: Option<PathBuf>,
    pub skip_refused: bool,
    pub priority_fee: PriorityFee,
    pub max_fills: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
pub enum PriorityFee {
    /// The 75th percentile of recent fees paid to write the shards (at least 1).
    Auto,
    MicroLamports(u64),
}

impl FromStr for PriorityFee {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(PriorityFee::Auto),
            n => {
                n.parse().map(PriorityFee::MicroLamports).map_err(|_| format!("{n:?}: `auto` or micro-lamports per CU"))
            }
        }
    }
}

/// The chain's view of everything the fills name.
struct Venue {
    shard_count: u16,
    matcher_index: usize,
    markets: Vec<Market>,
    /// Every account a fill names, and each maker's liquidity accounts.
    accounts: HashMap<Pubkey, MarginAccount>,
    /// Maker account → its index in the maker book.
    maker_of: HashMap<Pubkey, usize>,
    makers: Vec<Vec<(u16, Pubkey)>>,
}

/// A run's bookkeeping, rebuilt from the journal at every start.
#[derive(Default)]
struct Progress {
    next_id: u64,
    /// Per batch, the last block height its latest submission could land at.
    sent_until: BTreeMap<u64, u64>,
    table: Option<Pubkey>,
    planned: BTreeMap<u64, PlannedBatch>,
    landed: BTreeSet<u64>,
    refused: BTreeSet<u64>,
    skipped: BTreeMap<usize, String>,
}

impl Progress {
    fn replay(entries: &[Entry]) -> Progress {
        let mut p = Progress::default();
        for entry in entries {
            match entry {
                Entry::Start { .. } => {}
                Entry::Table { address } => p.table = Pubkey::from_str(address).ok(),
                Entry::Planned(b) => {
                    p.next_id = p.next_id.max(b.id + 1);
                    p.planned.insert(b.id, b.clone());
                }
                Entry::Sent { ids, last_valid_block_height } => {
                    for id in ids {
                        p.sent_until.insert(*id, *last_valid_block_height);
                    }
                }
                Entry::Landed { id, .. } => {
                    p.landed.insert(*id);
                }
                Entry::Refused { id, .. } => {
                    p.refused.insert(*id);
                }
                Entry::Skipped { line, error } => {
                    p.skipped.insert(*line, error.clone());
                }
            }
        }
        p
    }

    fn pending(&self) -> Vec<PlannedBatch> {
        self.planned
            .values()
            .filter(|b| !self.landed.contains(&b.id) && !self.refused.contains(&b.id))
            .cloned()
            .collect()
    }

    fn settled_lines(&self) -> BTreeSet<usize> {
        self.landed.iter().filter_map(|id| self.planned.get(id)).flat_map(|b| b.lines.iter().copied()).collect()
    }

    /// The first sequence on `shard` above every batch that landed or may
    /// still land (a refused batch's sequence is free again).
    fn sequence_floor(&self, shard: u16) -> u64 {
        self.planned
            .values()
            .filter(|b| b.shards[0] == shard && !self.refused.contains(&b.id))
            .map(|b| b.sequence + 1)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct Totals {
    fills: usize,
    batches: usize,
    compute_units: u64,
    fee_lamports: u64,
    resumed: usize,
}

pub fn run(cluster: &Cluster, args: &SettleArgs) -> Result<(), String> {
    let started = Instant::now();
    let (text, journal_path) = read_input(args)?;
    let lines = fills::parse(&text).map_err(|r| r.to_string())?;
    let venue = Venue::read(cluster, &lines)?;
    let fee = priority_fee(cluster, args.priority_fee, venue.shard_count)?;

    let (mut journal, entries) = Journal::open(&journal_path)?;
    let start = Entry::Start {
        matcher: cluster.payer.pubkey().to_string(),
        program: clearshard::ID.to_string(),
        input_sha256: hex(&Sha256::digest(text.as_bytes())),
        fills: lines.len(),
    };
    match entries.first() {
        None => journal.record(std::slice::from_ref(&start))?,
        Some(first) if *first == start => {}
        Some(_) => {
            return Err(format!(
                "{} records another run (other fills or another matcher); use a new --journal",
                journal_path.display()
            ))
        }
    }
    let mut progress = Progress::replay(&entries);
    let mut totals = Totals::default();

    let table = lookup_table(cluster, &venue, &mut progress, &mut journal)?;
    let by_line: BTreeMap<usize, &FillLine> = lines.iter().map(|f| (f.line, f)).collect();

    // Batches planned by an earlier run and not known to have landed: the
    // chain says whether each did; an open sequence is sent again as is.
    let pending = progress.pending();
    if !pending.is_empty() {
        let shards = cluster.shards(venue.shard_count)?;
        let mut resend = vec![];
        for batch in pending {
            let window = shards[usize::from(batch.shards[0])].sequences[venue.matcher_index];
            match window.status(batch.sequence) {
                SequenceStatus::Used => {
                    journal.record(&[Entry::Landed { id: batch.id, signature: None }])?;
                    progress.landed.insert(batch.id);
                    totals.resumed += batch.lines.len();
                }
                SequenceStatus::Open => resend.push(batch),
                other => {
                    return Err(format!(
                        "batch {} (shard {}, sequence {}) is {other:?} on chain: cannot tell whether it landed",
                        batch.id, batch.shards[0], batch.sequence
                    ))
                }
            }
        }
        if !resend.is_empty() {
            println!("resuming: {} planned batch(es) not yet on chain are sent again", resend.len());
            send_wave(cluster, &venue, &table, fee, &resend, &mut progress, &mut journal, &mut totals, args, &by_line)?;
        }
    }

    let settled = progress.settled_lines();
    let already = settled.len();
    let bar = progress_bar((lines.len() - progress.skipped.len()) as u64, already as u64);
    loop {
        let settled = progress.settled_lines();
        let remaining: Vec<&FillLine> =
            lines.iter().filter(|f| !settled.contains(&f.line) && !progress.skipped.contains_key(&f.line)).collect();
        if remaining.is_empty() {
            break;
        }
        let batches = route(cluster, &venue, &progress, &remaining, args.max_fills)?;
        let mut refused = false;
        for wave in schedule(&batches.iter().map(|(b, _)| b.clone()).collect::<Vec<_>>()) {
            let planned: Vec<PlannedBatch> = wave
                .iter()
                .map(|i| {
                    let (batch, batch_lines) = &batches[*i];
                    let id = progress.next_id;
                    progress.next_id += 1;
                    planned_batch(id, batch, batch_lines)
                })
                .collect();
            journal.record(&planned.iter().cloned().map(Entry::Planned).collect::<Vec<_>>())?;
            for b in &planned {
                progress.planned.insert(b.id, b.clone());
            }
            let before = totals.fills;
            refused = send_wave(
                cluster,
                &venue,
                &table,
                fee,
                &planned,
                &mut progress,
                &mut journal,
                &mut totals,
                args,
                &by_line,
            )?;
            bar.inc((totals.fills - before) as u64);
            if refused {
                // The fills of the refused batch not at fault go out again in new batches.
                break;
            }
        }
        if refused && !args.skip_refused {
            bar.abandon();
            return Err("a fill was refused (see above); rerun with --skip-refused to settle the rest".into());
        }
    }
    bar.finish_and_clear();
    report(&totals, &progress, &lines, already, fee, &journal_path, started);
    Ok(())
}

fn read_input(args: &SettleArgs) -> Result<(String, PathBuf), String> {
    let stdin = args.fills.as_os_str() == "-";
    let mut text = String::new();
    if stdin {
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("stdin: {e}"))?;
    } else {
        text = std::fs::read_to_string(&args.fills).map_err(|e| format!("{}: {e}", args.fills.display()))?;
    }
    let journal = match (&args.journal, stdin) {
        (Some(path), _) => path.clone(),
        (None, false) => {
            let mut name = args.fills.as_os_str().to_owned();
            name.push(".journal");
            PathBuf::from(name)
        }
        (None, true) => return Err("fills from stdin need --journal PATH (what makes the run resumable)".into()),
    };
    Ok((text, journal))
}

impl Venue {
    /// Reads the exchange, the matcher and every account the fills name;
    /// refuses lines naming what the chain does not hold, listing them all.
    fn read(cluster: &Cluster, lines: &[FillLine]) -> Result<Venue, String> {
        let exchange = cluster.exchange()?;
        let key = cluster.payer.pubkey();
        let matcher = cluster
            .matcher(&key)?
            .ok_or_else(|| format!("{key} is not a registered matcher of this exchange (--keypair)"))?;
        if matcher.active == 0 {
            return Err(format!("matcher {key} was revoked"));
        }
        let markets = cluster.markets(exchange.market_count)?;
        let named: BTreeSet<Pubkey> = lines.iter().flat_map(|f| [f.maker, f.taker]).collect();
        let named: Vec<Pubkey> = named.into_iter().collect();
        let mut accounts = HashMap::new();
        for (address, data) in named.iter().zip(cluster.accounts_data(&named)?) {
            if let Some(margin) = data.and_then(|d| clearshard_client::accounts::decode::<MarginAccount>(&d).ok()) {
                accounts.insert(*address, margin);
            }
        }
        let mut problems = vec![];
        for f in lines {
            if market_id(&markets, &f.market).is_none() {
                problems.push((f.line, format!("market {:?}: no such market", f.market)));
            }
            for (role, address) in [("maker", f.maker), ("taker", f.taker)] {
                if !accounts.contains_key(&address) {
                    problems.push((f.line, format!("{role} {address}: no margin account of this exchange there")));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Refusal(problems).to_string());
        }
        // A maker's book: its owner's accounts with the same sub id, one per shard.
        let mut makers: Vec<Vec<(u16, Pubkey)>> = vec![];
        let mut maker_of = HashMap::new();
        let mut by_owner: HashMap<Pubkey, Vec<(Pubkey, MarginAccount)>> = HashMap::new();
        for f in lines {
            if maker_of.contains_key(&f.maker) {
                continue;
            }
            let maker = accounts[&f.maker];
            let owned = match by_owner.entry(maker.owner) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(cluster.margin_accounts(Some(&maker.owner))?),
            };
            let mut book: BTreeMap<u16, Pubkey> = BTreeMap::new();
            for (address, account) in owned.iter() {
                if account.sub_id == maker.sub_id {
                    book.insert(account.shard, *address);
                    accounts.insert(*address, *account);
                }
            }
            book.insert(maker.shard, f.maker);
            maker_of.insert(f.maker, makers.len());
            makers.push(book.into_iter().collect());
        }
        Ok(Venue {
            shard_count: exchange.shard_count,
            matcher_index: usize::from(matcher.index),
            markets,
            accounts,
            maker_of,
            makers,
        })
    }

    fn addresses(&self) -> Vec<Pubkey> {
        let mut addresses = vec![pda::exchange()];
        addresses.extend((0..self.shard_count).map(pda::shard));
        addresses.extend(self.markets.iter().flat_map(|m| [pda::market(m.id), m.oracle]));
        let accounts: BTreeSet<Pubkey> = self.accounts.keys().copied().collect();
        addresses.extend(accounts);
        addresses
    }
}

fn market_id(markets: &[Market], market: &MarketRef) -> Option<u16> {
    match market {
        MarketRef::Id(id) => markets.iter().find(|m| m.id == *id).map(|m| m.id),
        MarketRef::Name(name) => markets.iter().find(|m| market_name(m) == *name).map(|m| m.id),
    }
}

pub fn market_name(market: &Market) -> String {
    String::from_utf8_lossy(&market.name).trim_end_matches('\0').to_string()
}

/// The run's lookup table: the journal's, when it still holds every address
/// the run needs, or a new one.
fn lookup_table(
    cluster: &Cluster,
    venue: &Venue,
    progress: &mut Progress,
    journal: &mut Journal,
) -> Result<AddressLookupTableAccount, String> {
    let mut needed = venue.addresses();
    needed.push(pda::matcher(&cluster.payer.pubkey()));
    if needed.len() > LOOKUP_TABLE_CAPACITY {
        return Err(format!(
            "the fills name {} accounts with the venue's; one run's lookup table holds {LOOKUP_TABLE_CAPACITY}: split the file",
            needed.len()
        ));
    }
    if let Some(address) = progress.table {
        if let Ok(table) = cluster.lookup_table(address) {
            if needed.iter().all(|a| table.addresses.contains(a)) {
                return Ok(table);
            }
        }
    }
    let table = cluster.create_lookup_table(&needed)?;
    journal.record(&[Entry::Table { address: table.key.to_string() }])?;
    progress.table = Some(table.key);
    Ok(table)
}

/// Routes `remaining` into batches; each comes with its fills' line numbers.
fn route(
    cluster: &Cluster,
    venue: &Venue,
    progress: &Progress,
    remaining: &[&FillLine],
    max_fills: Option<usize>,
) -> Result<Vec<(RoutedBatch, Vec<usize>)>, String> {
    let shards = cluster.shards(venue.shard_count)?;
    let next: BTreeMap<u16, u64> = shards
        .iter()
        .map(|s: &Shard| (s.index, s.sequences[venue.matcher_index].next.max(progress.sequence_floor(s.index))))
        .collect();
    let mut router = Router::new(venue.makers.clone(), next);
    if let Some(n) = max_fills {
        router = router.with_max_fills(n);
    }
    // Health needs every market an account holds: seed them from chain.
    let fresh = cluster.accounts_data(&venue.accounts.keys().copied().collect::<Vec<_>>())?;
    for (address, data) in venue.accounts.keys().zip(fresh) {
        let Some(account) = data.and_then(|d| clearshard_client::accounts::decode::<MarginAccount>(&d).ok()) else {
            return Err(format!("margin account {address} was closed during the run"));
        };
        let held: Vec<u16> = account.portfolio.positions.iter().filter(|p| p.is_open()).map(|p| p.market_id).collect();
        router.hold(*address, &held);
    }
    let mut queues: BTreeMap<BatchTarget, std::collections::VecDeque<usize>> = BTreeMap::new();
    for f in remaining {
        let taker = venue.accounts[&f.taker];
        let trade = Trade {
            taker: AccountRef { address: f.taker, shard: taker.shard },
            maker: venue.maker_of[&f.maker],
            market: market_id(&venue.markets, &f.market).ok_or("market vanished")?,
            taker_buys: f.taker_buys,
            lots: f.quantity_lots,
            ticks: f.price_ticks,
        };
        let (_, target) = router.settlement(&trade)?;
        router.route(&trade).map_err(|e| format!("line {}: {e}", f.line))?;
        queues.entry(target).or_default().push_back(f.line);
    }
    // The router keeps each target's fills in order: batches take them in turn.
    let by_line: HashMap<usize, &&FillLine> = remaining.iter().map(|f| (f.line, f)).collect();
    let mut out = vec![];
    for batch in router.finish() {
        let queue = queues.get_mut(&batch.target).ok_or("router returned an unknown target")?;
        let count = batch.plan.fills.len() / FILL_LEN;
        let batch_lines: Vec<usize> = (0..count).filter_map(|_| queue.pop_front()).collect();
        for (chunk, line) in batch.plan.fills.as_chunks::<FILL_LEN>().0.iter().zip(&batch_lines) {
            let fill = Fill::decode(chunk);
            let f = by_line[line];
            if (fill.quantity_lots, fill.price_ticks, fill.taker_buys) != (f.quantity_lots, f.price_ticks, f.taker_buys)
            {
                return Err(format!("line {line}: the router's batch does not carry this fill"));
            }
        }
        out.push((batch, batch_lines));
    }
    Ok(out)
}

fn planned_batch(id: u64, batch: &RoutedBatch, lines: &[usize]) -> PlannedBatch {
    PlannedBatch {
        id,
        shards: batch.target.shards(),
        sequence: batch.plan.sequence,
        lines: lines.to_vec(),
        markets: batch.plan.markets.clone(),
        accounts: batch.plan.accounts.iter().map(|a| a.to_string()).collect(),
        fills: hex(&batch.plan.fills),
    }
}

fn plan_of(b: &PlannedBatch) -> Result<(BatchTarget, BatchPlan, BatchShape), String> {
    let accounts =
        b.accounts.iter().map(|a| Pubkey::from_str(a).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let plan = BatchPlan { sequence: b.sequence, markets: b.markets.clone(), accounts, fills: unhex(&b.fills)? };
    let target = match b.shards[..] {
        [s] => BatchTarget::Shard(s),
        [a, c] => BatchTarget::Cross(a, c),
        _ => return Err(format!("batch {}: bad shards {:?}", b.id, b.shards)),
    };
    let shape = BatchShape {
        shards: b.shards.len(),
        markets: plan.markets.len(),
        margin_accounts: plan.accounts.len(),
        fills: plan.fills.len() / FILL_LEN,
    };
    Ok((target, plan, shape))
}

/// Sends one wave of planned batches (no two write the same account) and
/// confirms them. Returns whether one was refused.
#[allow(clippy::too_many_arguments)]
fn send_wave(
    cluster: &Cluster,
    venue: &Venue,
    table: &AddressLookupTableAccount,
    fee: u64,
    wave: &[PlannedBatch],
    progress: &mut Progress,
    journal: &mut Journal,
    totals: &mut Totals,
    args: &SettleArgs,
    by_line: &BTreeMap<usize, &FillLine>,
) -> Result<bool, String> {
    let matcher = cluster.payer.pubkey();
    let mut refused = false;
    let mut todo: Vec<&PlannedBatch> = wave.iter().collect();
    for _attempt in 0..MAX_ATTEMPTS {
        let (blockhash, last_valid_block_height) = cluster.blockhash_with_expiry()?;
        let mut in_flight = vec![];
        for b in &todo {
            let (target, plan, shape) = plan_of(b)?;
            let settle = match target {
                BatchTarget::Shard(s) => ix::settle_batch(matcher, s, &plan),
                BatchTarget::Cross(a, c) => ix::settle_cross_batch(matcher, a, c, &plan),
            };
            let model = shape.budget(fee);
            let tx = batch_transaction(&cluster.payer, settle.clone(), model, table, blockhash)?;
            let units = match cluster.simulate(&tx) {
                Ok(sim) => {
                    let units =
                        sim.compute_units.saturating_mul(100 + MEASURED_MARGIN_PERCENT) / 100 + MEASURED_MARGIN_UNITS;
                    u32::try_from(units.min(MAX_COMPUTE_UNITS)).unwrap_or(u32::MAX)
                }
                Err(e) => {
                    refused |= refuse(cluster, venue, b, e, progress, journal, args, by_line)?;
                    continue;
                }
            };
            let budget = ComputeBudget { units, micro_lamports_per_unit: fee };
            let tx = batch_transaction(&cluster.payer, settle, budget, table, blockhash)?;
            journal.record(&[Entry::Sent { ids: vec![b.id], last_valid_block_height }])?;
            progress.sent_until.insert(b.id, last_valid_block_height);
            match cluster.submit(&tx, true) {
                Ok(signature) => in_flight.push((*b, (signature, tx, units))),
                Err(e) => refused |= refuse(cluster, venue, b, e, progress, journal, args, by_line)?,
            }
        }
        let mut expired = vec![];
        for (b, (signature, tx, units)) in in_flight {
            match cluster.confirm(&signature, &tx) {
                Ok(()) => {
                    journal.record(&[Entry::Landed { id: b.id, signature: Some(signature.to_string()) }])?;
                    progress.landed.insert(b.id);
                    totals.fills += b.lines.len();
                    totals.batches += 1;
                    totals.compute_units += u64::from(units);
                    totals.fee_lamports += 5_000 + u64::from(units).saturating_mul(fee).div_ceil(1_000_000);
                }
                Err(SendError::Transport(_)) => expired.push(b),
                Err(e) => refused |= refuse(cluster, venue, b, e, progress, journal, args, by_line)?,
            }
        }
        if expired.is_empty() {
            return Ok(refused);
        }
        // Expired unconfirmed: the chain's window says whether each landed.
        let shards = cluster.shards(venue.shard_count)?;
        todo.clear();
        for b in expired {
            match shards[usize::from(b.shards[0])].sequences[venue.matcher_index].status(b.sequence) {
                SequenceStatus::Used => {
                    journal.record(&[Entry::Landed { id: b.id, signature: None }])?;
                    progress.landed.insert(b.id);
                    totals.fills += b.lines.len();
                    totals.batches += 1;
                }
                _ => todo.push(b),
            }
        }
        if todo.is_empty() {
            return Ok(refused);
        }
    }
    Err(format!("{} batch(es) did not land after {MAX_ATTEMPTS} attempts; rerun to resume", todo.len()))
}

/// Records a refused batch, names the fill at fault and, under
/// `--skip-refused`, leaves it out of the rest of the run. A batch submitted
/// before (by a killed run, or an attempt that expired) is first given time
/// to land: its fills may only go out again once nothing can land it.
#[allow(clippy::too_many_arguments)]
fn refuse(
    cluster: &Cluster,
    venue: &Venue,
    b: &PlannedBatch,
    e: SendError,
    progress: &mut Progress,
    journal: &mut Journal,
    args: &SettleArgs,
    by_line: &BTreeMap<usize, &FillLine>,
) -> Result<bool, String> {
    if let SendError::Transport(t) = &e {
        return Err(format!("batch {} (lines {:?}): {t}; rerun to resume", b.id, b.lines));
    }
    if let Some(height) = progress.sent_until.get(&b.id).copied() {
        cluster.wait_past_block_height(height)?;
        let shard = cluster.shards(venue.shard_count)?.swap_remove(usize::from(b.shards[0]));
        if shard.sequences[venue.matcher_index].status(b.sequence) == SequenceStatus::Used {
            // An earlier submission of this very batch landed (its sequence is
            // this run's alone): it settled, once.
            journal.record(&[Entry::Landed { id: b.id, signature: None }])?;
            progress.landed.insert(b.id);
            return Ok(false);
        }
    }
    let fill_line = match &e {
        SendError::Refused { fill: Some(i), .. } => b.lines.get(usize::from(*i)).copied(),
        _ => None,
    };
    journal.record(&[Entry::Refused { id: b.id, line: fill_line, error: e.to_string() }])?;
    progress.refused.insert(b.id);
    let Some(line) = fill_line else {
        return Err(format!("batch of lines {:?} on shard {} refused: {e}", b.lines, b.shards[0]));
    };
    let id = by_line.get(&line).map_or("?", |f| f.id.as_str());
    eprintln!("line {line} (fill {id}): refused on chain: {e}");
    if args.skip_refused {
        journal.record(&[Entry::Skipped { line, error: e.to_string() }])?;
        progress.skipped.insert(line, e.to_string());
    }
    Ok(true)
}

fn priority_fee(cluster: &Cluster, fee: PriorityFee, shard_count: u16) -> Result<u64, String> {
    match fee {
        PriorityFee::MicroLamports(n) => Ok(n),
        PriorityFee::Auto => {
            let shards: Vec<Pubkey> = (0..shard_count).map(pda::shard).collect();
            let mut recent: Vec<u64> = cluster
                .client
                .get_recent_prioritization_fees(&shards[..shards.len().min(128)])
                .map_err(|e| format!("getRecentPrioritizationFees: {}", clearshard_client::rpc::short(&e)))?
                .into_iter()
                .map(|f| f.prioritization_fee)
                .collect();
            recent.sort_unstable();
            Ok(recent.get(recent.len() * 3 / 4).copied().unwrap_or(0).max(1))
        }
    }
}

fn progress_bar(len: u64, done: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("settling [{bar:40}] {pos}/{len} fills {per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(done);
    bar
}

fn report(
    totals: &Totals,
    progress: &Progress,
    lines: &[FillLine],
    already: usize,
    fee: u64,
    journal: &Path,
    started: Instant,
) {
    let settled = progress.settled_lines().len();
    println!(
        "settled {} fill(s) in {} batch(es) this run ({} earlier, {} found on chain at resume); {settled} of {} settled in all",
        totals.fills,
        totals.batches,
        already.saturating_sub(totals.resumed),
        totals.resumed,
        lines.len()
    );
    if totals.fills > 0 {
        println!(
            "compute units requested (simulated + {MEASURED_MARGIN_PERCENT}% + {MEASURED_MARGIN_UNITS}): {} in all, {} per fill; priority fee {fee} µlamports/CU; fees ≈ {} lamports",
            totals.compute_units,
            totals.compute_units / totals.fills as u64,
            totals.fee_lamports
        );
    }
    for (line, error) in &progress.skipped {
        println!("skipped line {line}: {error}");
    }
    println!("journal {} ({:.1} s)", journal.display(), started.elapsed().as_secs_f64());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "bad hex in journal".to_string())
        })
        .collect()
}
