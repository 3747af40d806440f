//! The adversarial matrix: the cells other test files do not already cover,
//! one instruction at a time. Each attack must be refused with its exact
//! error code and leave every account of the venue byte for byte unchanged.
//! Forged accounts are byte-for-byte copies of real ones owned by another
//! program: the attack of an outsider who writes whatever data it likes.

use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use clearshard::errors::ClearshardError;
use clearshard::instructions::MatcherLimits;
use clearshard::state::OracleKind;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

enum Refusal {
    Program(ClearshardError),
    Anchor(ErrorCode),
}

/// A venue with every kind of account in it: healthy, liquidatable and
/// bankrupt margin accounts on two shards, an insurance fund, two markets.
struct Scene {
    v: Venue,
    a: Account,
    b: Account,
    c: Account,
    /// Below maintenance margin, not yet liquidated.
    shaky: Account,
    /// Liquidated under water: no positions, negative collateral.
    bankrupt: Account,
    liqor: Account,
    intruder: Keypair,
}

impl Scene {
    async fn new() -> Scene {
        let mut v = Venue::new(2).await;
        v.ex.fund_insurance(USDC).await;
        let a = v.account(0, 1_000 * USDC).await;
        let b = v.account(0, 100_000 * USDC).await;
        let c = v.account(1, 1_000 * USDC).await;
        let shaky = v.account(0, 130 * USDC).await;
        let bankrupt = v.account(0, 61 * USDC).await;
        let liqor = v.account(1, 50_000 * USDC).await;
        let fills = [
            fill(0, 1, 0, true, 10, BTC_TICKS),
            fill(2, 1, 0, true, 100, BTC_TICKS),
            fill(3, 1, 0, true, 100, BTC_TICKS),
        ];
        v.settle(0, &[BTC], &[&a, &b, &shaky, &bankrupt], &fills).await.unwrap();
        v.ex.set_price(BTC, BTC_PRICE * 80 / 100, 0, PRICE_EXPO).await.unwrap();
        v.liquidate(&liqor, &bankrupt, BTC, 100, &[BTC]).await.unwrap();
        assert!(v.ex.margin(bankrupt.address).await.portfolio.collateral < 0);
        let intruder = Keypair::new();
        v.ex.airdrop(&intruder.pubkey(), 1_000_000_000).await;
        Scene { v, a, b, c, shaky, bankrupt, liqor, intruder }
    }

    fn known(&self) -> Vec<Pubkey> {
        let mut all = vec![pda::exchange(), pda::insurance_vault(), pda::matcher(&self.v.matcher.pubkey())];
        for s in 0..2 {
            all.extend([pda::shard(s), pda::vault(s)]);
        }
        for m in [BTC, ETH] {
            all.extend([pda::market(m), pda::price_feed(m)]);
        }
        for acc in [&self.a, &self.b, &self.c, &self.shaky, &self.bankrupt, &self.liqor] {
            all.extend([acc.address, acc.trader.token_account]);
        }
        all
    }

    async fn state(&mut self) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![];
        for address in self.known() {
            out.push(self.v.ex.account_data(address).await);
        }
        out
    }

    /// Sends `ix` signed by `signers`; asserts the refusal and that nothing changed.
    async fn refused(&mut self, cell: &str, ix: Instruction, signers: &[&Keypair], expected: Refusal) {
        let before = self.state().await;
        let result: Result<(), BanksClientError> = self.v.ex.send_fresh(&[ix], signers).await;
        let code: u32 = match expected {
            Refusal::Program(e) => e.into(),
            Refusal::Anchor(e) => e.into(),
        };
        match &result {
            Ok(()) => panic!("{cell}: accepted, expected error {code}"),
            Err(e) => assert_eq!(clearshard_client::bank::error_code(e), Some(code), "{cell}: {e:?}"),
        }
        assert!(self.state().await == before, "{cell}: a refused instruction changed an account");
        self.v.ex.assert_conserved().await;
    }

    async fn forged(&mut self, address: Pubkey) -> Pubkey {
        self.v.ex.forge(address, anchor_lang::system_program::ID).await
    }

    fn liquidation(&self, liqee: &Account) -> Instruction {
        let accounts = ix::LiquidationAccounts {
            liquidator: self.liqor.trader.key(),
            liqee: (liqee.address, liqee.shard),
            liqor: (self.liqor.address, self.liqor.shard),
        };
        ix::liquidate(&accounts, BTC, 1, &[BTC])
    }
}

use Refusal::{Anchor, Program};

fn with(mut ix: Instruction, slot: usize, key: Pubkey) -> Instruction {
    ix.accounts[slot].pubkey = key;
    ix
}

fn unsigned(mut ix: Instruction, slot: usize) -> Instruction {
    ix.accounts[slot].is_signer = false;
    ix
}

#[tokio::test]
async fn admin_instructions() {
    let mut s = Scene::new().await;
    let admin = s.v.ex.admin.insecure_clone();
    let a = admin.pubkey();
    let mint = s.v.ex.mint;
    let forged_exchange = s.forged(pda::exchange()).await;
    let cases: Vec<(&str, Instruction)> = vec![
        ("add_shard", ix::add_shard(a, mint, 2)),
        ("add_market", ix::add_market(a, 2, "SOL-PERP", btc_market(), true)),
        ("propose_admin", ix::propose_admin(a, s.intruder.pubkey())),
        ("cancel_market_change", ix::cancel_market_change(a, BTC)),
        ("delist_market", ix::delist_market(a, BTC)),
        ("update_market", ix::update_market(a, BTC, btc_market())),
        ("set_market_oracle", ix::set_market_oracle(a, BTC, OracleKind::Builtin, pda::price_feed(BTC), [0; 32])),
        ("set_price", ix::set_price(a, BTC, 1, 0, 0)),
        ("set_pause", ix::set_pause(a, None, clearshard::state::PAUSE_ALL)),
        ("register_matcher", ix::register_matcher(a, s.intruder.pubkey())),
        ("revoke_matcher", ix::revoke_matcher(a, s.v.matcher.pubkey())),
    ];
    for (name, case) in cases {
        // Wrong signer: the admin's slot unsigned (the intruder pays).
        s.refused(
            &format!("{name}: unsigned admin"),
            unsigned(case.clone(), 0),
            &[],
            Anchor(ErrorCode::AccountNotSigner),
        )
        .await;
        // Wrong owner program: the exchange forged, naming whoever signs as admin.
        s.refused(
            &format!("{name}: forged exchange"),
            with(case.clone(), 1, forged_exchange),
            &[&admin],
            Anchor(ErrorCode::AccountOwnedByWrongProgram),
        )
        .await;
    }
    // Overflow and invalid values.
    let r = ix::update_market(
        a,
        BTC,
        clearshard::instructions::MarketConfig { initial_margin_bps: u16::MAX, ..btc_market() },
    );
    s.refused("update_market: ratio above 100%", r, &[&admin], Program(ClearshardError::InvalidMarketParams)).await;
    s.refused(
        "set_price: negative",
        ix::set_price(a, BTC, -1, 0, -2),
        &[&admin],
        Program(ClearshardError::InvalidOraclePrice),
    )
    .await;
    s.refused(
        "set_price: exponent",
        ix::set_price(a, BTC, 1, 0, i32::MIN),
        &[&admin],
        Program(ClearshardError::InvalidOraclePrice),
    )
    .await;
    // A forged market or price feed (copies owned by another program).
    let forged_market = s.forged(pda::market(BTC)).await;
    s.refused(
        "update_market: forged market",
        with(ix::update_market(a, BTC, btc_market()), 2, forged_market),
        &[&admin],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let forged_feed = s.forged(pda::price_feed(BTC)).await;
    s.refused(
        "set_price: forged feed",
        with(ix::set_price(a, BTC, 1, 0, 0), 2, forged_feed),
        &[&admin],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    // initialize_exchange runs once: a second one finds the exchange in use.
    let again = ix::initialize_exchange(s.intruder.pubkey(), mint, s.v.ex.treasury, 0, true);
    let intruder = s.intruder.insecure_clone();
    let before = s.state().await;
    assert!(s.v.ex.send(&[again], &[&intruder]).await.is_err());
    assert!(s.state().await == before);
}

#[tokio::test]
async fn owner_instructions() {
    let mut s = Scene::new().await;
    let (owner, address) = (s.a.trader.keypair.insecure_clone(), s.a.address);
    let m = s.v.ex.collateral_move(&s.a.trader, address, 0);
    let now = s.v.ex.now().await;
    let limits = open_limits(now);
    let forged_margin = s.forged(address).await;
    let forged_shard = s.forged(pda::shard(0)).await;

    // deposit / withdraw: forged margin account and shard, the vault as the
    // owner's token account (a duplicated writable account), unsigned owner.
    for (name, case) in [("deposit", ix::deposit(&m, USDC)), ("withdraw", ix::withdraw(&m, USDC, &[BTC]))] {
        s.refused(
            &format!("{name}: forged margin account"),
            with(case.clone(), 4, forged_margin),
            &[&owner],
            Anchor(ErrorCode::AccountOwnedByWrongProgram),
        )
        .await;
        s.refused(
            &format!("{name}: forged shard"),
            with(case.clone(), 2, forged_shard),
            &[&owner],
            Anchor(ErrorCode::AccountOwnedByWrongProgram),
        )
        .await;
        s.refused(
            &format!("{name}: vault as own token account"),
            with(case.clone(), 5, pda::vault(0)),
            &[&owner],
            Anchor(ErrorCode::ConstraintDuplicateMutableAccount),
        )
        .await;
        s.refused(&format!("{name}: unsigned owner"), unsigned(case, 0), &[], Anchor(ErrorCode::AccountNotSigner))
            .await;
    }
    // Withdrawing into anyone's token account but the owner's: a vault (a
    // donation the accounting could not see) or another trader's wallet.
    for destination in [pda::vault(1), pda::insurance_vault(), s.b.trader.token_account] {
        let r = with(ix::withdraw(&m, USDC, &[BTC]), 5, destination);
        s.refused(
            "withdraw: into another's token account",
            r,
            &[&owner],
            Program(ClearshardError::TokenAccountOfAnotherOwner),
        )
        .await;
    }
    // set_matcher_limits: another owner, forged account, invalid values.
    let intruder = s.intruder.insecure_clone();
    let theirs = ix::set_matcher_limits(intruder.pubkey(), address, limits);
    s.refused("set_matcher_limits: not the owner", theirs, &[&intruder], Program(ClearshardError::NotOwner)).await;
    let mut forged = ix::set_matcher_limits(owner.pubkey(), address, limits);
    forged.accounts[1].pubkey = forged_margin;
    s.refused("set_matcher_limits: forged account", forged, &[&owner], Anchor(ErrorCode::AccountOwnedByWrongProgram))
        .await;
    for bad in [MatcherLimits { window_secs: 0, ..limits }, MatcherLimits { max_deviation_bps: 10_001, ..limits }] {
        let r = ix::set_matcher_limits(owner.pubkey(), address, bad);
        s.refused("set_matcher_limits: invalid", r, &[&owner], Program(ClearshardError::InvalidLimits)).await;
    }
    // request_exit: another owner, forged account, unsigned, no change.
    let theirs = ix::request_exit(intruder.pubkey(), address, true);
    s.refused("request_exit: not the owner", theirs, &[&intruder], Program(ClearshardError::NotOwner)).await;
    let exit = ix::request_exit(owner.pubkey(), address, true);
    s.refused(
        "request_exit: forged account",
        with(exit.clone(), 1, forged_margin),
        &[&owner],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    s.refused("request_exit: unsigned", unsigned(exit, 0), &[], Anchor(ErrorCode::AccountNotSigner)).await;
    let cancel = ix::request_exit(owner.pubkey(), address, false);
    s.refused("request_exit: nothing to withdraw", cancel, &[&owner], Program(ClearshardError::ExitRequestUnchanged))
        .await;
    // transfer_collateral: forged source, overflow, unsigned.
    let other = s.v.ex.create_margin_account(&s.a.trader, 1, 0).await.unwrap();
    let transfer = ix::transfer_collateral(owner.pubkey(), (address, 0), (other, 1), USDC, &[BTC]);
    s.refused(
        "transfer: forged source",
        with(transfer.clone(), 2, forged_margin),
        &[&owner],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    s.refused("transfer: unsigned", unsigned(transfer, 0), &[], Anchor(ErrorCode::AccountNotSigner)).await;
    let huge = ix::transfer_collateral(owner.pubkey(), (address, 0), (other, 1), u64::MAX, &[BTC]);
    s.refused("transfer: overflow", huge, &[&owner], Program(ClearshardError::MathOverflow)).await;
    // close_margin_account: another owner, another shard, forged.
    let close = ix::close_margin_account(intruder.pubkey(), other, 1);
    s.refused("close: not the owner", close, &[&intruder], Program(ClearshardError::NotOwner)).await;
    let close = ix::close_margin_account(owner.pubkey(), other, 0);
    s.refused("close: another shard", close, &[&owner], Program(ClearshardError::MarginAccountOfAnotherShard)).await;
    let close = with(ix::close_margin_account(owner.pubkey(), other, 1), 2, forged_margin);
    s.refused("close: forged", close, &[&owner], Anchor(ErrorCode::AccountOwnedByWrongProgram)).await;
    // A transfer out of an account with positions needs a fresh oracle.
    s.v.ex.advance_clock(61).await;
    let stale = ix::transfer_collateral(owner.pubkey(), (address, 0), (other, 1), USDC, &[BTC]);
    s.refused("transfer: stale oracle", stale, &[&owner], Program(ClearshardError::StaleOracle)).await;
    // create_margin_account: a shard that is not the PDA of its index.
    let create = with(ix::create_margin_account(owner.pubkey(), 0, 7), 2, pda::shard(1));
    s.refused("create: another shard", create, &[&owner], Anchor(ErrorCode::ConstraintSeeds)).await;
}

#[tokio::test]
async fn matcher_instructions() {
    let mut s = Scene::new().await;
    let matcher = s.v.matcher.insecure_clone();
    let sequence = s.v.next_sequence(0).await;
    let batch = s.v.settle_ix(0, sequence, &[BTC], &[&s.a, &s.b], &[fill(0, 1, 0, false, 1, BTC_TICKS * 8 / 10)]);
    s.refused("settle_batch: unsigned matcher", unsigned(batch.clone(), 0), &[], Anchor(ErrorCode::AccountNotSigner))
        .await;
    // A forged matcher record naming the intruder as authority.
    let intruder = s.intruder.insecure_clone();
    let forged_matcher = s.forged(pda::matcher(&matcher.pubkey())).await;
    let mut data = s.v.ex.account_data(forged_matcher).await.unwrap();
    data[8..40].copy_from_slice(intruder.pubkey().as_ref());
    s.v.ex.set_raw_account(forged_matcher, anchor_lang::system_program::ID, &data);
    let mut forged = with(batch.clone(), 1, forged_matcher);
    forged.accounts[0].pubkey = intruder.pubkey();
    s.refused("settle_batch: forged matcher", forged, &[&intruder], Program(ClearshardError::MatcherNotRegistered))
        .await;
    let forged_shard = s.forged(pda::shard(0)).await;
    s.refused(
        "settle_batch: forged shard",
        with(batch.clone(), 3, forged_shard),
        &[&matcher],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let forged_margin = s.forged(s.a.address).await;
    s.refused(
        "settle_batch: forged margin account",
        with(batch.clone(), 6, forged_margin),
        &[&matcher],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let forged_market = s.forged(pda::market(BTC)).await;
    s.refused(
        "settle_batch: forged market",
        with(batch, 4, forged_market),
        &[&matcher],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    // Cross batches: replayed, out of order, paused second shard, overflow.
    let sequence = s.v.next_sequence(0).await;
    let cross = ix::settle_cross_batch(
        matcher.pubkey(),
        0,
        1,
        &plan(sequence, &[BTC], &[&s.a, &s.c], &[fill(0, 1, 0, true, 1, BTC_TICKS * 8 / 10)]),
    );
    s.v.ex.send(std::slice::from_ref(&cross), &[&matcher]).await.unwrap();
    s.refused(
        "settle_cross_batch: replayed",
        cross.clone(),
        &[&matcher],
        Program(ClearshardError::BatchSequenceReplayed),
    )
    .await;
    let ahead = ix::settle_cross_batch(
        matcher.pubkey(),
        0,
        1,
        &plan(
            sequence + 1 + clearshard_engine::SEQUENCE_WINDOW,
            &[BTC],
            &[&s.a, &s.c],
            &[fill(0, 1, 0, true, 1, BTC_TICKS * 8 / 10)],
        ),
    );
    s.refused(
        "settle_cross_batch: beyond the window",
        ahead,
        &[&matcher],
        Program(ClearshardError::BatchSequenceBeyondWindow),
    )
    .await;
    s.v.pause(Some(1), clearshard::state::PAUSE_SETTLEMENT).await;
    let next = ix::settle_cross_batch(
        matcher.pubkey(),
        0,
        1,
        &plan(sequence + 1, &[BTC], &[&s.a, &s.c], &[fill(0, 1, 0, true, 1, BTC_TICKS * 8 / 10)]),
    );
    s.refused("settle_cross_batch: second shard paused", next, &[&matcher], Program(ClearshardError::SettlementPaused))
        .await;
    s.v.pause(Some(1), 0).await;
    let cross_next = plan(sequence + 1, &[BTC], &[&s.a, &s.c], &[fill(0, 1, 0, true, 1, BTC_TICKS * 8 / 10)]);
    let unsigned_cross = unsigned(ix::settle_cross_batch(matcher.pubkey(), 0, 1, &cross_next), 0);
    s.refused("settle_cross_batch: unsigned matcher", unsigned_cross, &[], Anchor(ErrorCode::AccountNotSigner)).await;
    let unregistered = ix::settle_cross_batch(intruder.pubkey(), 0, 1, &cross_next);
    s.refused(
        "settle_cross_batch: unregistered matcher",
        unregistered,
        &[&intruder],
        Program(ClearshardError::MatcherNotRegistered),
    )
    .await;
    let huge = ix::settle_cross_batch(
        matcher.pubkey(),
        0,
        1,
        &plan(sequence + 1, &[BTC], &[&s.a, &s.c], &[fill(0, 1, 0, true, u32::MAX, BTC_TICKS * 8 / 10)]),
    );
    s.refused(
        "settle_cross_batch: size above limits",
        huge,
        &[&matcher],
        Program(ClearshardError::QuantityAboveOwnerLimit),
    )
    .await;
}

#[tokio::test]
async fn owner_trade_instruction() {
    let mut s = Scene::new().await;
    let (a, b, c) =
        (s.a.trader.keypair.insecure_clone(), s.b.trader.keypair.insecure_clone(), s.c.trader.keypair.insecure_clone());
    let ticks = BTC_TICKS * 8 / 10;
    let trade = |taker: &Account, maker: &Account| {
        ix::settle_owner_trade(&taker.side(), &maker.side(), &[BTC], owner_trade(true, 1, ticks))
    };
    let (same_shard, cross) = (trade(&s.a, &s.b), trade(&s.a, &s.c));
    s.refused(
        "settle_owner_trade: unsigned taker",
        unsigned(same_shard.clone(), 0),
        &[&b],
        Anchor(ErrorCode::AccountNotSigner),
    )
    .await;
    let forged_exchange = s.forged(pda::exchange()).await;
    let forged_shard = s.forged(pda::shard(0)).await;
    let forged_far_shard = s.forged(pda::shard(1)).await;
    let forged_market = s.forged(pda::market(BTC)).await;
    let forged_margin = s.forged(s.b.address).await;
    for (cell, slot, forged) in [
        ("forged exchange", 2, forged_exchange),
        ("forged shard", 3, forged_shard),
        ("forged market", 5, forged_market),
        ("forged margin account", 8, forged_margin),
    ] {
        let ix = with(same_shard.clone(), slot, forged);
        s.refused(&format!("settle_owner_trade: {cell}"), ix, &[&a, &b], Anchor(ErrorCode::AccountOwnedByWrongProgram))
            .await;
    }
    let ix = with(cross.clone(), 4, forged_far_shard);
    s.refused("settle_owner_trade: forged maker shard", ix, &[&a, &c], Anchor(ErrorCode::AccountOwnedByWrongProgram))
        .await;
    let ix = with(same_shard.clone(), 6, pda::price_feed(ETH));
    s.refused("settle_owner_trade: another market's feed", ix, &[&a, &b], Program(ClearshardError::WrongOracle)).await;
    // The intruder signs as the maker of b's account.
    let intruder = s.intruder.insecure_clone();
    let mut ix = same_shard.clone();
    ix.accounts[1].pubkey = intruder.pubkey();
    s.refused("settle_owner_trade: maker not the owner", ix, &[&a, &intruder], Program(ClearshardError::NotOwner))
        .await;
    // Below maintenance, and under water: no new exposure with a willing friend either.
    let shaky = s.shaky.trader.keypair.insecure_clone();
    let ix = trade(&s.shaky, &s.b);
    s.refused(
        "settle_owner_trade: adds to an unhealthy account",
        ix,
        &[&shaky, &b],
        Program(ClearshardError::Undercollateralized),
    )
    .await;
    let bankrupt = s.bankrupt.trader.keypair.insecure_clone();
    let ix = trade(&s.bankrupt, &s.b);
    s.refused(
        "settle_owner_trade: a bankrupt account",
        ix,
        &[&bankrupt, &b],
        Program(ClearshardError::Undercollateralized),
    )
    .await;
    s.v.pause(Some(1), clearshard::state::PAUSE_SETTLEMENT).await;
    s.refused("settle_owner_trade: maker's shard paused", cross, &[&a, &c], Program(ClearshardError::SettlementPaused))
        .await;
}

#[tokio::test]
async fn permissionless_instructions() {
    let mut s = Scene::new().await;
    let liqor = s.liqor.trader.keypair.insecure_clone();
    // liquidate: a forged liquidatee (a copy of an unhealthy account), forged shards, overflow.
    let forged_liqee = s.forged(s.shaky.address).await;
    let liquidation = s.liquidation(&s.shaky);
    s.refused(
        "liquidate: forged liquidatee",
        with(liquidation.clone(), 2, forged_liqee),
        &[&liqor],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let forged_shard = s.forged(pda::shard(0)).await;
    s.refused(
        "liquidate: forged shard",
        with(liquidation.clone(), 4, forged_shard),
        &[&liqor],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let mut huge = liquidation.clone();
    huge.data[10..18].copy_from_slice(&u64::MAX.to_le_bytes());
    s.refused("liquidate: overflow", huge, &[&liqor], Program(ClearshardError::LiquidationExceedsAllowed)).await;
    s.refused(
        "liquidate: duplicated market",
        {
            let mut d = liquidation.clone();
            let extra = d.accounts[d.accounts.len() - 2..].to_vec();
            d.accounts.extend(extra);
            d
        },
        &[&liqor],
        Program(ClearshardError::DuplicateMarket),
    )
    .await;

    // resolve_bankruptcy: another shard, foreign vaults, forged account.
    let resolve = ix::resolve_bankruptcy(s.bankrupt.address, 0);
    let other = with(with(resolve.clone(), 2, pda::shard(1)), 3, pda::vault(1));
    s.refused("resolve: another shard", other, &[], Program(ClearshardError::MarginAccountOfAnotherShard)).await;
    s.refused(
        "resolve: foreign vault",
        with(resolve.clone(), 3, pda::vault(1)),
        &[],
        Program(ClearshardError::VaultOfAnotherShard),
    )
    .await;
    s.refused(
        "resolve: foreign insurance vault",
        with(resolve.clone(), 4, s.a.trader.token_account),
        &[],
        Program(ClearshardError::WrongInsuranceVault),
    )
    .await;
    let forged_bankrupt = s.forged(s.bankrupt.address).await;
    s.refused(
        "resolve: forged account",
        with(resolve, 1, forged_bankrupt),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;

    // socialize_loss: a forged shard with no open interest, a repeated shard.
    let socialize = ix::socialize_loss(s.bankrupt.address, 0, &[BTC], 2);
    let n = socialize.accounts.len();
    let forged_shard_1 = s.forged(pda::shard(1)).await;
    s.refused(
        "socialize: forged shard",
        with(socialize.clone(), n - 1, forged_shard_1),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    s.refused(
        "socialize: shard repeated",
        with(socialize.clone(), n - 1, pda::shard(0)),
        &[],
        Program(ClearshardError::ShardsIncomplete),
    )
    .await;
    let forged_market = s.forged(pda::market(BTC)).await;
    s.refused(
        "socialize: forged market",
        with(socialize, n - 3, forged_market),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;

    // update_funding: a forged shard (funding sums of the caller's choosing).
    let funding = ix::update_funding(BTC, &[0, 1]);
    let forged_shard_0 = s.forged(pda::shard(0)).await;
    s.refused(
        "update_funding: forged shard",
        with(funding.clone(), 2, forged_shard_0),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    s.refused(
        "update_funding: forged market",
        with(funding, 1, forged_market),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;

    // rebalance_vaults: a forged shard claiming a shortfall.
    let rebalance = ix::rebalance_vaults(1, 0, &[BTC]);
    s.refused(
        "rebalance: forged shard",
        with(rebalance, 2, forged_shard),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;

    // deposit_insurance: another mint, a foreign insurance vault, unsigned funder.
    let funder = s.a.trader.keypair.insecure_clone();
    let donation = ix::deposit_insurance(funder.pubkey(), s.a.trader.token_account, 1);
    s.refused(
        "deposit_insurance: foreign vault",
        with(donation.clone(), 3, pda::vault(0)),
        &[&funder],
        Program(ClearshardError::WrongInsuranceVault),
    )
    .await;
    s.refused("deposit_insurance: unsigned", unsigned(donation, 0), &[], Anchor(ErrorCode::AccountNotSigner)).await;
    let nothing = ix::deposit_insurance(funder.pubkey(), s.a.trader.token_account, 0);
    s.refused("deposit_insurance: zero", nothing, &[&funder], Program(ClearshardError::ZeroAmount)).await;
    let foreign_mint = s.v.ex.create_mint().await;
    let foreign = s.v.ex.token_account(foreign_mint, &funder.pubkey(), 5).await;
    let wrong_mint = ix::deposit_insurance(funder.pubkey(), foreign, 1);
    s.refused("deposit_insurance: another mint", wrong_mint, &[&funder], Program(ClearshardError::WrongMint)).await;

    // wind_down_market: a live market, a forged shard (a silence of the
    // caller's making), a forged market; close_at_settlement: a live market,
    // a forged market (a settlement price of the caller's choosing), a
    // forged account or shard.
    let wind_down = ix::wind_down_market(BTC, pda::price_feed(BTC), &[0, 1], None);
    s.refused("wind_down: live market", wind_down.clone(), &[], Program(ClearshardError::MarketStillLive)).await;
    for (cell, index, forged) in
        [("wind_down: forged shard", 4, forged_shard_1), ("wind_down: forged market", 1, forged_market)]
    {
        s.refused(cell, with(wind_down.clone(), index, forged), &[], Anchor(ErrorCode::AccountOwnedByWrongProgram))
            .await;
    }
    // An exit of the caller's making: a forged account that asked to exit
    // long ago, or a real one that never asked.
    let unserved = ix::wind_down_market(BTC, pda::price_feed(BTC), &[0, 1], Some(s.a.address));
    s.refused("wind_down: exit never requested", unserved.clone(), &[], Program(ClearshardError::NoExitRequested))
        .await;
    let forged_exit = s.forged(s.a.address).await;
    s.refused(
        "wind_down: forged exit",
        with(unserved, 3, forged_exit),
        &[],
        Anchor(ErrorCode::AccountOwnedByWrongProgram),
    )
    .await;
    let close = ix::close_at_settlement(s.a.address, 0, BTC);
    s.refused("close_at_settlement: live market", close.clone(), &[], Program(ClearshardError::MarketNotWoundDown))
        .await;
    let forged_account = s.forged(s.a.address).await;
    for (cell, index, forged) in [
        ("close_at_settlement: forged market", 1, forged_market),
        ("close_at_settlement: forged account", 2, forged_account),
        ("close_at_settlement: forged shard", 3, forged_shard_0),
    ] {
        s.refused(cell, with(close.clone(), index, forged), &[], Anchor(ErrorCode::AccountOwnedByWrongProgram)).await;
    }

    // The settlement pool: finality of or a claim on a live market, a loss
    // record the account does not hold, and a forged market, account or
    // shard (a pool, a gain or a count of the caller's making; a forged
    // shard read by finality: `settlement_pool.rs`).
    let finalize = ix::finalize_wind_down(BTC, &[0, 1]);
    s.refused("finalize: live market", finalize.clone(), &[], Program(ClearshardError::MarketNotWoundDown)).await;
    let claim = ix::claim_settlement_gain(s.a.address, 0, BTC);
    s.refused("claim: live market", claim.clone(), &[], Program(ClearshardError::WindDownNotFinal)).await;
    let clear = ix::clear_loss_record(s.a.address, 0, &[BTC]);
    s.refused("clear_loss_record: no record", clear.clone(), &[], Program(ClearshardError::NoLossRecorded)).await;
    for (cell, ix, index, forged) in [
        ("finalize: forged market", &finalize, 1, forged_market),
        ("claim: forged market", &claim, 1, forged_market),
        ("claim: forged account", &claim, 2, forged_account),
        ("claim: forged shard", &claim, 3, forged_shard_0),
        ("clear_loss_record: forged account", &clear, 1, forged_account),
        ("clear_loss_record: forged shard", &clear, 2, forged_shard_0),
    ] {
        s.refused(cell, with(ix.clone(), index, forged), &[], Anchor(ErrorCode::AccountOwnedByWrongProgram)).await;
    }
}
