// solana-program-test 3.1 marks its whole API deprecated ahead of 4.0's
// `agave-unstable-api` gate; it is the supported test bank for this cohort.
#![allow(deprecated)]

//! An exchange on solana-program-test's in-process bank: the harness of the
//! integration tests and of `clearshard demo`, and a starting point for
//! integrators' own tests.
//!
//! The program runs as SBF from `target/deploy/clearshard.so` (`make sbf`),
//! or from `SBF_OUT_DIR/clearshard.so`; `CLEARSHARD_PROGRAM=native` runs its
//! native entrypoint instead, for debugging. The real SPL Token program
//! binary that solana-program-test ships is always used.

pub use crate::snapshot::{Snapshot, Totals};
use crate::{accounts::decode, instructions as ix, pda};
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::clock::Clock;
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::{error::InstructionError, Instruction};
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::{Discriminator, ZeroCopy};
use clearshard::instructions::{MarketConfig, MatcherLimits};
use clearshard::state::{Exchange, MarginAccount, Market, PriceFeed, Shard};
use solana_keypair::Keypair;
use solana_message::AddressLookupTableAccount;
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use std::collections::HashSet;
use std::path::PathBuf;

/// The native entrypoint. Anchor's `entry` ties the accounts slice to the
/// accounts' own lifetime, which `processor!` cannot express.
fn native_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // SAFETY: only the lifetime parameter changes; the slice outlives the call.
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute(accounts) };
    clearshard::entry(program_id, accounts, data)
}

/// How the program was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramMode {
    Native,
    Sbf,
}

/// The program binary the bank loads: `target/deploy/clearshard.so` (built by
/// `make sbf`), unless `SBF_OUT_DIR` names another folder holding one.
fn sbf_program_dir() -> PathBuf {
    std::env::var_os("SBF_OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/deploy"))
}

/// `CLEARSHARD_PROGRAM=sbf` (what `make` sets) requires the SBF binary;
/// `native` runs the native entrypoint, a debugging aid; unset, the binary is
/// used when it exists.
fn program_test() -> (ProgramTest, ProgramMode) {
    let dir = sbf_program_dir();
    let so = dir.join("clearshard.so");
    let mode = match std::env::var("CLEARSHARD_PROGRAM").as_deref() {
        Ok("native") => ProgramMode::Native,
        Ok("sbf") => {
            assert!(so.exists(), "CLEARSHARD_PROGRAM=sbf but {} is missing: run `make sbf`", so.display());
            ProgramMode::Sbf
        }
        _ if so.exists() => ProgramMode::Sbf,
        _ => ProgramMode::Native,
    };
    if mode == ProgramMode::Sbf {
        // Set before any thread of the bank starts: program-test reads it when loading.
        std::env::set_var("SBF_OUT_DIR", &dir);
    }
    let mut pt = ProgramTest::new("clearshard", clearshard::ID, processor!(native_entry));
    pt.prefer_bpf(mode == ProgramMode::Sbf);
    (pt, mode)
}

/// What the runtime logs when an SBF program panics (the message itself is
/// lost under `panic=immediate-abort`).
const PANIC_LOG: &str = "panicked";

/// The program reports every refusal with an error code; a panic is a bug.
/// Every transaction the harness sends passes through here, so the whole
/// suite checks it.
fn refuse_panics(result: Result<(), BanksClientError>) -> Result<(), BanksClientError> {
    if let Err(BanksClientError::SimulationError { logs, .. }) = &result {
        if logs.iter().any(|l| l.contains(PANIC_LOG)) {
            panic!("the program panicked instead of returning an error: {logs:#?}");
        }
    }
    result
}

/// A transaction's compute units and logs, as the runtime metered them.
#[derive(Clone, Debug)]
pub struct Metered {
    pub compute_units: u64,
    pub logs: Vec<String>,
}

impl Metered {
    /// `(depth, units)` of every invocation of `program`, from the runtime's
    /// `Program … invoke [depth]` and `Program … consumed N of M compute units`
    /// lines. A program's figure includes the CPIs it makes.
    pub fn invocations(&self, program: &Pubkey) -> Vec<(usize, u64)> {
        let consumed = format!("Program {program} consumed ");
        let mut depth = 0usize;
        let mut out = vec![];
        for line in &self.logs {
            if line.contains(" invoke [") {
                depth += 1;
            }
            if let Some(units) = line.strip_prefix(&consumed).and_then(|r| r.split(' ').next()?.parse().ok()) {
                out.push((depth, units));
            }
            if line.ends_with(" success") || line.contains(" failed: ") {
                depth = depth.saturating_sub(1);
            }
        }
        out
    }

    /// Compute units of the top-level instructions of `program`, in order.
    pub fn program_units(&self, program: &Pubkey) -> Vec<u64> {
        self.invocations(program).into_iter().filter(|(d, _)| *d == 1).map(|(_, u)| u).collect()
    }

    /// Compute units of every CPI into `program`.
    pub fn cpi_units(&self, program: &Pubkey) -> u64 {
        self.invocations(program).into_iter().filter(|(d, _)| *d >= 2).map(|(_, u)| u).sum()
    }
}

/// The custom error code of a failed transaction, if it has one.
pub fn error_code(err: &BanksClientError) -> Option<u32> {
    let tx_err = match err {
        BanksClientError::TransactionError(e) => e,
        BanksClientError::SimulationError { err, .. } => err,
        _ => return None,
    };
    match tx_err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// A Pyth price update as the receiver program stores it (`PriceUpdateV2`).
#[derive(Clone, Copy, Debug)]
pub struct PythPrice {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub confidence: u64,
    pub expo: i32,
    pub publish_time: i64,
    /// `None`: fully verified; `Some(n)`: partially, with `n` signatures.
    pub partial_signatures: Option<u8>,
    /// Pyth's EMA price; `None`: equal to `price` (a calm market).
    pub ema_price: Option<i64>,
}

impl PythPrice {
    /// Borsh layout: discriminator, write authority, verification level,
    /// price message (feed id, price, conf, exponent, publish time, previous
    /// publish time, EMA price, EMA conf), posted slot.
    pub fn encode(&self) -> Vec<u8> {
        let mut d = clearshard_engine::oracle::PYTH_PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
        d.extend_from_slice(&[9u8; 32]);
        match self.partial_signatures {
            None => d.push(1),
            Some(n) => d.extend_from_slice(&[0, n]),
        }
        d.extend_from_slice(&self.feed_id);
        d.extend_from_slice(&self.price.to_le_bytes());
        d.extend_from_slice(&self.confidence.to_le_bytes());
        d.extend_from_slice(&self.expo.to_le_bytes());
        d.extend_from_slice(&self.publish_time.to_le_bytes());
        d.extend_from_slice(&(self.publish_time - 1).to_le_bytes());
        d.extend_from_slice(&self.ema_price.unwrap_or(self.price).to_le_bytes());
        d.extend_from_slice(&self.confidence.to_le_bytes());
        d.extend_from_slice(&0u64.to_le_bytes());
        d
    }
}

/// A trader: a funded keypair with a collateral token account.
pub struct Trader {
    pub keypair: Keypair,
    pub token_account: Pubkey,
}

impl Trader {
    pub fn key(&self) -> Pubkey {
        self.keypair.pubkey()
    }
}

impl Clone for Trader {
    /// The same owner again (for its accounts on other shards).
    fn clone(&self) -> Self {
        Trader { keypair: self.keypair.insecure_clone(), token_account: self.token_account }
    }
}

/// When seeded venues start (a whole funding epoch: 2027-01-15 08:00 UTC).
pub const SEEDED_START: i64 = 1_800_000_000;

pub struct TestExchange {
    pub ctx: ProgramTestContext,
    pub mode: ProgramMode,
    pub admin: Keypair,
    pub mint: Pubkey,
    /// The admin's token account that swept fees go to.
    pub treasury: Pubkey,
    mint_authority: Keypair,
    pub shard_count: u16,
    /// Every margin account created through the harness (for the invariants).
    pub margin_accounts: Vec<Pubkey>,
    keys: KeySource,
    /// The signatures sent under the latest blockhash used.
    sent: (solana_message::Hash, HashSet<Signature>),
}

pub const COLLATERAL_DECIMALS: u8 = 6;

/// Where the harness's keypairs come from: random, or derived from a seed so
/// that a run (the demo's shard assignment, say) replays exactly.
enum KeySource {
    Random,
    Seeded { seed: u64, next: u64 },
}

impl KeySource {
    fn keypair(&mut self) -> Keypair {
        match self {
            KeySource::Random => Keypair::new(),
            KeySource::Seeded { seed, next } => {
                *next += 1;
                // splitmix64 over (seed, counter): distinct, well-spread secret keys.
                let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ *next;
                let mut secret = [0u8; 32];
                for chunk in secret.chunks_mut(8) {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
                }
                Keypair::new_from_array(secret)
            }
        }
    }
}

/// What `initialize_exchange` fixes for an exchange's life.
#[derive(Clone, Copy, Debug)]
pub struct Governance {
    pub timelock_secs: u32,
    pub test_venue: bool,
}

impl Governance {
    /// A test venue without a timelock: every admin change applies at once.
    pub const TEST: Governance = Governance { timelock_secs: 0, test_venue: true };
}

impl TestExchange {
    /// Starts a bank with a test exchange initialized and `shards` shards.
    pub async fn start(shards: u16) -> Self {
        Self::start_governed(shards, KeySource::Random, Governance::TEST, None).await.expect("initialize_exchange")
    }

    /// Like [`TestExchange::start`], with every keypair derived from `seed`
    /// and the clock at a time it fixes ([`SEEDED_START`] plus the seed's
    /// phase within an hour's funding epoch): a seed replays the same run
    /// whenever it runs, not one shifted by the wall clock's phase.
    pub async fn start_seeded(shards: u16, seed: u64) -> Self {
        let keys = KeySource::Seeded { seed, next: 0 };
        let start = SEEDED_START + (seed % 3_600) as i64;
        Self::start_governed(shards, keys, Governance::TEST, Some(start)).await.expect("initialize_exchange")
    }

    /// Like [`TestExchange::start`] under `governance`; the refusal of
    /// `initialize_exchange` if it refuses.
    pub async fn start_with(shards: u16, governance: Governance) -> Result<Self, BanksClientError> {
        Self::start_governed(shards, KeySource::Random, governance, None).await
    }

    async fn start_governed(
        shards: u16,
        mut keys: KeySource,
        governance: Governance,
        start: Option<i64>,
    ) -> Result<Self, BanksClientError> {
        let (pt, mode) = program_test();
        let ctx = pt.start_with_context().await;
        if let Some(start) = start {
            let mut clock: Clock = ctx.banks_client.get_sysvar().await.expect("clock");
            clock.unix_timestamp = start;
            ctx.set_sysvar(&clock);
        }
        let mut ex = TestExchange {
            admin: keys.keypair(),
            mint: Pubkey::default(),
            treasury: Pubkey::default(),
            mint_authority: keys.keypair(),
            shard_count: 0,
            margin_accounts: vec![],
            ctx,
            mode,
            keys,
            sent: Default::default(),
        };
        ex.airdrop(&ex.admin.pubkey(), 100_000_000_000).await;
        ex.mint = ex.create_mint().await;
        ex.treasury = ex.token_account(ex.mint, &ex.admin.pubkey(), 0).await;
        let Governance { timelock_secs, test_venue } = governance;
        let init = ix::initialize_exchange(ex.admin.pubkey(), ex.mint, ex.treasury, timelock_secs, test_venue);
        ex.send_admin(&[init]).await?;
        ex.add_shards(shards).await;
        Ok(ex)
    }

    pub async fn add_shards(&mut self, count: u16) {
        let start = self.shard_count;
        for chunk in (start..start + count).collect::<Vec<_>>().chunks(6) {
            let ixs: Vec<Instruction> =
                chunk.iter().map(|i| ix::add_shard(self.admin.pubkey(), self.mint, *i)).collect();
            self.send_admin(&ixs).await.expect("add_shard");
        }
        self.shard_count += count;
    }

    /// Sends `ixs` paid by the bank's payer and signed by `signers`, on the
    /// bank's latest blockhash (the bank keeps producing slots, so a blockhash
    /// kept from the start expires in long runs).
    /// A transaction identical to one already sent under the same blockhash
    /// would be answered from the status cache with that one's result, not
    /// executed: such a one waits for the next blockhash (a slot, 6.4 ms).
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        let payer = self.ctx.payer.insecure_clone();
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend_from_slice(signers);
        self.ctx.last_blockhash = self.blockhash().await;
        loop {
            let blockhash = self.ctx.last_blockhash;
            let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
            if self.sent.0 != blockhash {
                self.sent = (blockhash, HashSet::new());
            }
            if self.sent.1.insert(tx.signatures[0]) {
                return refuse_panics(self.ctx.banks_client.process_transaction(tx).await);
            }
            self.refresh_blockhash().await;
        }
    }

    /// Executes `ixs` like [`TestExchange::send`] and returns what the runtime
    /// metered: the compute units and logs of the transaction.
    pub async fn send_metered(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Metered, BanksClientError> {
        self.ctx.last_blockhash = self.blockhash().await;
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(ixs, Some(&self.ctx.payer.pubkey()), &all, self.ctx.last_blockhash);
        self.execute_metered(tx.into()).await
    }

    /// Executes a signed transaction (legacy or v0) without preflight and
    /// returns its compute units and logs.
    pub async fn execute_metered(&mut self, tx: VersionedTransaction) -> Result<Metered, BanksClientError> {
        let executed = self.ctx.banks_client.process_transaction_with_metadata(tx).await?;
        let (compute_units, logs) =
            executed.metadata.map(|m| (m.compute_units_consumed, m.log_messages)).unwrap_or_default();
        if logs.iter().any(|l| l.contains(PANIC_LOG)) {
            panic!("the program panicked instead of returning an error: {logs:#?}");
        }
        executed.result.map_err(BanksClientError::TransactionError)?;
        Ok(Metered { compute_units, logs })
    }

    /// Simulates `ixs`; for a refused batch, returns the fill it names and the
    /// error code (from the program's return data).
    pub async fn simulate_refused_fill(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Option<(u16, u32)> {
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(ixs, Some(&self.ctx.payer.pubkey()), &all, self.ctx.last_blockhash);
        let sim = self.ctx.banks_client.simulate_transaction(tx).await.expect("simulate");
        let data = sim.simulation_details?.return_data?.data;
        let fill = u16::from_le_bytes(data.get(..2)?.try_into().ok()?);
        let code = u32::from_le_bytes(data.get(2..6)?.try_into().ok()?);
        Some((fill, code))
    }

    /// Waits for a new blockhash, so that a transaction identical to an earlier
    /// one is executed again rather than answered from the status cache.
    /// The harness registers one every slot (6.4 ms); program-test's own
    /// `get_new_latest_blockhash` polls every 200 ms, which left the
    /// stateful suite asleep most of its time, so this polls every 2 ms.
    pub async fn refresh_blockhash(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let hash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
            if hash != self.ctx.last_blockhash {
                self.ctx.last_blockhash = hash;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("no new blockhash in 5 s");
    }

    /// Like `send`, on a new blockhash.
    pub async fn send_fresh(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        self.refresh_blockhash().await;
        self.send(ixs, signers).await
    }

    pub async fn send_admin(&mut self, ixs: &[Instruction]) -> Result<(), BanksClientError> {
        let admin = self.admin.insecure_clone();
        self.send(ixs, &[&admin]).await
    }

    pub async fn airdrop(&mut self, to: &Pubkey, lamports: u64) {
        let payer = self.ctx.payer.insecure_clone();
        let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), to, lamports);
        self.send(&[ix], &[]).await.expect("airdrop");
    }

    /// A new mint whose authority is the harness (the collateral mint, or a foreign one for tests).
    pub async fn create_mint(&mut self) -> Pubkey {
        let mint = self.keys.keypair();
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let space = spl_token_interface::state::Mint::LEN;
        let ixs = [
            solana_system_interface::instruction::create_account(
                &self.ctx.payer.pubkey(),
                &mint.pubkey(),
                rent.minimum_balance(space),
                space as u64,
                &spl_token_interface::ID,
            ),
            spl_token_interface::instruction::initialize_mint2(
                &spl_token_interface::ID,
                &mint.pubkey(),
                &self.mint_authority.pubkey(),
                None,
                COLLATERAL_DECIMALS,
            )
            .expect("initialize_mint2"),
        ];
        self.send(&ixs, &[&mint]).await.expect("create mint");
        mint.pubkey()
    }

    /// A token account of `mint` owned by `owner`, holding `amount` freshly minted.
    pub async fn token_account(&mut self, mint: Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        self.token_account_with(mint, owner, amount, 0).await
    }

    /// Like [`TestExchange::token_account`], and `lamports` airdropped to
    /// `owner` in the same transaction.
    async fn token_account_with(&mut self, mint: Pubkey, owner: &Pubkey, amount: u64, lamports: u64) -> Pubkey {
        let account = self.keys.keypair();
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let space = spl_token_interface::state::Account::LEN;
        let mut ixs = vec![
            solana_system_interface::instruction::create_account(
                &self.ctx.payer.pubkey(),
                &account.pubkey(),
                rent.minimum_balance(space),
                space as u64,
                &spl_token_interface::ID,
            ),
            spl_token_interface::instruction::initialize_account3(
                &spl_token_interface::ID,
                &account.pubkey(),
                &mint,
                owner,
            )
            .expect("initialize_account3"),
        ];
        if lamports > 0 {
            ixs.push(solana_system_interface::instruction::transfer(&self.ctx.payer.pubkey(), owner, lamports));
        }
        if amount > 0 {
            ixs.push(
                spl_token_interface::instruction::mint_to(
                    &spl_token_interface::ID,
                    &mint,
                    &account.pubkey(),
                    &self.mint_authority.pubkey(),
                    &[],
                    amount,
                )
                .expect("mint_to"),
            );
        }
        let authority = self.mint_authority.insecure_clone();
        let signers: Vec<&Keypair> = if amount > 0 { vec![&account, &authority] } else { vec![&account] };
        self.send(&ixs, &signers).await.expect("token account");
        account.pubkey()
    }

    /// A funded trader holding `tokens` collateral tokens in its wallet.
    pub async fn trader(&mut self, tokens: u64) -> Trader {
        let keypair = self.keys.keypair();
        let token_account = self.token_account_with(self.mint, &keypair.pubkey(), tokens, 1_000_000_000).await;
        Trader { keypair, token_account }
    }

    pub async fn create_margin_account(
        &mut self,
        trader: &Trader,
        shard: u16,
        sub_id: u16,
    ) -> Result<Pubkey, BanksClientError> {
        let ix = ix::create_margin_account(trader.key(), shard, sub_id);
        self.send(&[ix], &[&trader.keypair]).await?;
        let account = pda::margin_account(&trader.key(), shard, sub_id);
        self.margin_accounts.push(account);
        Ok(account)
    }

    pub fn collateral_move(&self, trader: &Trader, account: Pubkey, shard: u16) -> ix::CollateralMove {
        ix::CollateralMove { owner: trader.key(), margin_account: account, shard, owner_token: trader.token_account }
    }

    pub async fn deposit(
        &mut self,
        trader: &Trader,
        account: Pubkey,
        shard: u16,
        amount: u64,
    ) -> Result<(), BanksClientError> {
        let ix = ix::deposit(&self.collateral_move(trader, account, shard), amount);
        self.send(&[ix], &[&trader.keypair]).await
    }

    pub async fn withdraw(
        &mut self,
        trader: &Trader,
        account: Pubkey,
        shard: u16,
        amount: u64,
        markets: &[u16],
    ) -> Result<(), BanksClientError> {
        let ix = ix::withdraw(&self.collateral_move(trader, account, shard), amount, markets);
        self.send(&[ix], &[&trader.keypair]).await
    }

    /// Moves collateral between two of `owner`'s accounts, given as `(address, shard)`.
    pub async fn transfer(
        &mut self,
        owner: &Trader,
        from: (Pubkey, u16),
        to: (Pubkey, u16),
        amount: u64,
        markets: &[u16],
    ) -> Result<(), BanksClientError> {
        let ix = ix::transfer_collateral(owner.key(), from, to, amount, markets);
        self.send(&[ix], &[&owner.keypair]).await
    }

    pub async fn set_limits(
        &mut self,
        trader: &Trader,
        account: Pubkey,
        limits: MatcherLimits,
    ) -> Result<(), BanksClientError> {
        let ix = ix::set_matcher_limits(trader.key(), account, limits);
        self.send(&[ix], &[&trader.keypair]).await
    }

    /// Lists test market `id` and publishes its first price on its built-in feed.
    pub async fn add_market(&mut self, id: u16, name: &str, config: MarketConfig, price: i64, expo: i32) {
        let admin = self.admin.pubkey();
        self.send_admin(&[ix::add_market(admin, id, name, config, true), ix::set_price(admin, id, price, 0, expo)])
            .await
            .expect("add_market");
    }

    pub async fn set_price(
        &mut self,
        market: u16,
        price: i64,
        confidence: u64,
        expo: i32,
    ) -> Result<(), BanksClientError> {
        let ix = ix::set_price(self.admin.pubkey(), market, price, confidence, expo);
        self.send_admin(&[ix]).await
    }

    /// A funded matcher key, registered: it signs and pays for its batches.
    pub async fn register_matcher(&mut self) -> Keypair {
        let matcher = self.keys.keypair();
        self.airdrop(&matcher.pubkey(), 10_000_000_000).await;
        self.send_admin(&[ix::register_matcher(self.admin.pubkey(), matcher.pubkey())])
            .await
            .expect("register_matcher");
        matcher
    }

    /// Creates and fills an address lookup table, then moves one slot on so
    /// that it is active: batches then post as v0 transactions through it.
    pub async fn create_lookup_table(&mut self, addresses: &[Pubkey]) -> AddressLookupTableAccount {
        use solana_address_lookup_table_interface::instruction as alt;
        let payer = self.ctx.payer.pubkey();
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        self.ctx.warp_to_slot(clock.slot + 2).expect("warp");
        let (create, table) = alt::create_lookup_table(payer, payer, clock.slot + 1);
        self.send(&[create], &[]).await.expect("create lookup table");
        for chunk in addresses.chunks(24) {
            let extend = alt::extend_lookup_table(table, payer, Some(payer), chunk.to_vec());
            self.send(&[extend], &[]).await.expect("extend lookup table");
        }
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        self.ctx.warp_to_slot(clock.slot + 1).expect("warp");
        self.ctx.last_blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        AddressLookupTableAccount { key: table, addresses: addresses.to_vec() }
    }

    /// Sends a signed versioned transaction (a batch through a lookup table).
    pub async fn send_versioned(&mut self, tx: VersionedTransaction) -> Result<(), BanksClientError> {
        refuse_panics(self.ctx.banks_client.process_transaction(tx).await)
    }

    /// The bank's latest blockhash.
    pub async fn blockhash(&mut self) -> solana_message::Hash {
        match self.ctx.banks_client.get_latest_blockhash().await {
            Ok(hash) => hash,
            Err(_) => self.ctx.last_blockhash,
        }
    }

    /// Markets as the program's risk checks see them now (oracle price per lot).
    pub async fn risk_markets(&mut self, ids: &[u16]) -> Vec<clearshard_engine::RiskMarket> {
        let quote_decimals = self.exchange().await.quote_decimals;
        let now = self.now().await;
        let mut out = vec![];
        for id in ids {
            let market: Market = self.load(pda::market(*id)).await;
            let feed: PriceFeed = self.load(pda::price_feed(*id)).await;
            out.push(crate::accounts::risk_market(&market, &feed, quote_decimals, now).expect("oracle price"));
        }
        out
    }

    /// Funds the insurance fund with `amount` fresh tokens.
    pub async fn fund_insurance(&mut self, amount: u64) {
        let funder = self.trader(amount).await;
        let ix = ix::deposit_insurance(funder.key(), funder.token_account, amount);
        self.send(&[ix], &[&funder.keypair]).await.expect("deposit_insurance");
    }

    /// The raw bytes of the account at `address`, if it exists.
    pub async fn account_data(&mut self, address: Pubkey) -> Option<Vec<u8>> {
        self.ctx.banks_client.get_account(address).await.expect("rpc").map(|a| a.data)
    }

    /// A copy of the account at `address`, byte for byte, at a new address
    /// owned by `owner`: what an attacker forges to pass for a real account.
    pub async fn forge(&mut self, address: Pubkey, owner: Pubkey) -> Pubkey {
        let data = self.account_data(address).await.expect("account to forge exists");
        let forged = Pubkey::new_unique();
        self.set_raw_account(forged, owner, &data);
        forged
    }

    /// Stores raw account bytes at `address` (for accounts of other programs).
    pub fn set_raw_account(&mut self, address: Pubkey, owner: Pubkey, data: &[u8]) {
        let mut account = solana_account::AccountSharedData::new(1_000_000_000, data.len(), &owner);
        account.set_data_from_slice(data);
        self.ctx.set_account(&address, &account);
    }

    /// Writes a Pyth `PriceUpdateV2` account at `address`, owned by the Pyth
    /// receiver (or by `owner` to test impersonation), with the given message.
    pub fn set_pyth_price(&mut self, address: Pubkey, owner: Pubkey, update: &PythPrice) {
        self.set_raw_account(address, owner, &update.encode());
    }

    /// Moves the bank clock forward (oracle staleness).
    pub async fn advance_clock(&mut self, seconds: i64) {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        clock.unix_timestamp += seconds;
        self.ctx.set_sysvar(&clock);
    }

    pub async fn now(&mut self) -> i64 {
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        clock.unix_timestamp
    }

    pub async fn account_exists(&mut self, address: Pubkey) -> bool {
        self.ctx.banks_client.get_account(address).await.expect("rpc").is_some()
    }

    pub async fn load<T: ZeroCopy + Discriminator>(&mut self, address: Pubkey) -> T {
        let account = self.ctx.banks_client.get_account(address).await.expect("rpc").expect("account exists");
        decode::<T>(&account.data).expect("decode")
    }

    pub async fn margin(&mut self, address: Pubkey) -> MarginAccount {
        self.load(address).await
    }

    /// The margin account at `address`, unless it was closed.
    pub async fn margin_if_open(&mut self, address: Pubkey) -> Option<MarginAccount> {
        let account = self.ctx.banks_client.get_account(address).await.expect("rpc")?;
        decode::<MarginAccount>(&account.data).ok()
    }

    pub async fn shard(&mut self, index: u16) -> Shard {
        self.load(pda::shard(index)).await
    }

    pub async fn exchange(&mut self) -> Exchange {
        self.load(pda::exchange()).await
    }

    pub async fn token_balance(&mut self, address: Pubkey) -> u64 {
        let account = self.ctx.banks_client.get_account(address).await.expect("rpc").expect("token account exists");
        let bytes: [u8; 8] = account.data[64..72].try_into().expect("token amount");
        u64::from_le_bytes(bytes)
    }

    /// Every shard, vault, market and known margin account, read once.
    pub async fn snapshot(&mut self) -> Snapshot {
        let mut snapshot = Snapshot {
            insurance_tokens: self.token_balance(pda::insurance_vault()).await,
            now: self.now().await,
            ..Default::default()
        };
        for index in 0..self.shard_count {
            snapshot.vaults.push(self.token_balance(pda::vault(index)).await);
            snapshot.shards.push(self.shard(index).await);
        }
        for id in 0..self.exchange().await.market_count {
            snapshot.markets.push(self.load::<Market>(pda::market(id)).await);
        }
        for address in self.margin_accounts.clone() {
            if let Some(margin) = self.margin_if_open(address).await {
                snapshot.margins.push((address, margin));
            }
        }
        snapshot
    }

    /// Sums every vault and every known margin account.
    pub async fn totals(&mut self) -> Totals {
        self.snapshot().await.totals()
    }

    /// Tokens in shard `index`'s vault minus what the shard owes outright
    /// (claims, fees, insurance share): positive after cross-shard flows moved
    /// claims out, negative when in.
    pub async fn vault_imbalance(&mut self, index: u16) -> i64 {
        let vault = self.token_balance(pda::vault(index)).await as i64;
        let shard = self.shard(index).await;
        vault - shard.liabilities().expect("liabilities")
    }

    /// Ids of every listed market.
    pub async fn market_ids(&mut self) -> Vec<u16> {
        (0..self.exchange().await.market_count).collect()
    }

    /// Tokens in shard `index`'s vault above (positive) or below (negative)
    /// its reserve: what `rebalance_vaults` may move out, or must bring in.
    pub async fn vault_surplus(&mut self, index: u16) -> i64 {
        let vault = self.token_balance(pda::vault(index)).await as i64;
        let ids = self.market_ids().await;
        let markets = self.risk_markets(&ids).await;
        let reserve = self.shard(index).await.reserve(&markets).expect("reserve");
        vault - reserve as i64
    }

    /// Panics with the totals unless conservation holds.
    pub async fn assert_conserved(&mut self) -> Totals {
        let t = self.totals().await;
        assert!(t.conserved(), "conservation broken: {t:?}");
        t
    }
}
