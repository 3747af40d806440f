//! settle_batch: fills on shards, and each malicious variant refused with its
//! own error and nothing changed.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard::state::PAUSE_SETTLEMENT;
use clearshard_client::{instructions as ix, pda};
use clearshard_engine::{Fill, SequenceStatus, SequenceWindow, SEQUENCE_WINDOW};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Taker buys 10 BTC lots at the oracle from the maker (notional 60 USDC).
fn buy_10() -> Fill {
    fill(0, 1, 0, true, 10, BTC_TICKS)
}

#[tokio::test]
async fn batches_on_two_shards_settle_independently() {
    let mut v = Venue::new(2).await;
    let (a_taker, a_maker) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let (b_taker, b_maker) = (v.account(1, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);

    let fills_a = [fill(0, 1, 0, true, 10, BTC_TICKS + 60), fill(0, 1, 1, false, 20, ETH_TICKS)];
    v.settle(0, &[BTC, ETH], &[&a_taker, &a_maker], &fills_a).await.unwrap();
    v.ex.assert_conserved().await;
    let fills_b = [fill(0, 1, 0, false, 5, BTC_TICKS - 60)];
    v.settle(1, &[BTC], &[&b_taker, &b_maker], &fills_b).await.unwrap();
    v.ex.assert_conserved().await;

    // Shard 0: taker long 10 BTC at 6.006 USDC/lot, short 20 ETH at 3 USDC/lot.
    let taker = v.ex.margin(a_taker.address).await.portfolio;
    assert_eq!(taker.position(BTC).unwrap().base_lots, 10);
    assert_eq!(taker.position(BTC).unwrap().cost_basis, 60_060_000);
    assert_eq!(taker.position(ETH).unwrap().base_lots, -20);
    // cash: -60.06 + 60 USDC; taker fees 5 bps: ceil(30_030) + 30_000.
    assert_eq!(taker.collateral, 1_000_000_000 - 60_060_000 + 60_000_000 - 30_030 - 30_000);
    let maker = v.ex.margin(a_maker.address).await.portfolio;
    assert_eq!(maker.position(BTC).unwrap().base_lots, -10);
    // maker rebate 1 bp: floor(6_006) + 6_000.
    assert_eq!(maker.collateral, 1_000_000_000 + 60_060_000 - 60_000_000 + 6_006 + 6_000);

    let shard0 = v.ex.shard(0).await;
    assert_eq!(shard0.markets[BTC as usize].fills, 1);
    assert_eq!(shard0.markets[ETH as usize].fills, 1);
    assert_eq!(shard0.markets[BTC as usize].open_interest, 10);
    assert_eq!(shard0.markets[ETH as usize].open_interest, 20);
    assert_eq!(shard0.markets[BTC as usize].fees, 30_030 - 6_006);
    assert_eq!(shard0.markets[BTC as usize].last_price, (BTC_TICKS as u64 + 60) * 100);
    let shard1 = v.ex.shard(1).await;
    assert_eq!(shard1.markets[BTC as usize].fills, 1);
    assert_eq!(shard1.markets[BTC as usize].open_interest, 5);
    assert_eq!(v.next_sequence(0).await, 1);
    assert_eq!(v.next_sequence(1).await, 1);
    // Within a shard, a batch only moves fees from collateral to the accumulator.
    for s in 0..2 {
        assert_eq!(v.ex.vault_imbalance(s).await, 0);
    }
}

#[tokio::test]
async fn closing_a_position_realizes_pnl_and_frees_the_slot() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 10, BTC_TICKS)]).await.unwrap();
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, false, 10, BTC_TICKS + 600)]).await.unwrap();
    let taker = v.ex.margin(t.address).await.portfolio;
    assert!(taker.position(BTC).is_none());
    assert_eq!(taker.realized_pnl, 10 * 600 * 100);
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].open_interest, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn replayed_batch_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let batch = v.settle_ix(0, 0, &[BTC], &[&t, &m], &[buy_10()]);
    let matcher = v.matcher.insecure_clone();
    v.ex.send(std::slice::from_ref(&batch), &[&matcher]).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    let r = v.ex.send_fresh(&[batch], &[&matcher]).await;
    assert_error(r, ClearshardError::BatchSequenceReplayed);
    v.assert_unchanged(0, 1, &[&t, &m], &before).await;
}

#[tokio::test]
async fn sequences_land_out_of_order_within_the_window() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let matcher = v.matcher.insecure_clone();
    // Sent together, landing 2, 0, 1: each settles once.
    for sequence in [2, 0, 1] {
        let batch = v.settle_ix(0, sequence, &[BTC], &[&t, &m], &[buy_10()]);
        v.ex.send(&[batch], &[&matcher]).await.unwrap();
    }
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots, 30);
    assert_eq!(v.sequence_window(0).await, SequenceWindow { next: 3, used: 0b111 });
    let before = v.portfolios(&[&t, &m]).await;
    // A replay of any of them, and a sequence a whole window ahead, change nothing.
    for sequence in [0, 1, 2] {
        let batch = v.settle_ix(0, sequence, &[BTC], &[&t, &m], &[buy_10()]);
        assert_error(v.ex.send_fresh(&[batch], &[&matcher]).await, ClearshardError::BatchSequenceReplayed);
    }
    let ahead = v.settle_ix(0, 3 + SEQUENCE_WINDOW, &[BTC], &[&t, &m], &[buy_10()]);
    assert_error(v.ex.send(&[ahead], &[&matcher]).await, ClearshardError::BatchSequenceBeyondWindow);
    v.assert_unchanged(0, 3, &[&t, &m], &before).await;
}

#[tokio::test]
async fn the_window_slides_past_a_hole_which_can_never_settle() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let matcher = v.matcher.insecure_clone();
    // Sequence 0 is never posted (its batch was refused for good): a hole.
    // The highest sequence the window allows lands, then the hole is still open.
    let last = SEQUENCE_WINDOW - 1;
    let batch =
        |v: &Venue, sequence, buys| v.settle_ix(0, sequence, &[BTC], &[&t, &m], &[fill(0, 1, 0, buys, 1, BTC_TICKS)]);
    v.ex.send(&[batch(&v, last, true)], &[&matcher]).await.unwrap();
    assert_eq!(v.sequence_window(0).await.status(0), SequenceStatus::Open);
    // One more above slides the window past it: sequence 0 is too old now.
    v.ex.send(&[batch(&v, last + 1, false)], &[&matcher]).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    assert_error(v.ex.send(&[batch(&v, 0, true)], &[&matcher]).await, ClearshardError::BatchSequenceTooOld);
    // Sequences skipped inside the window still land, out of order.
    v.ex.send(&[batch(&v, 5, true)], &[&matcher]).await.unwrap();
    assert_error(v.ex.send_fresh(&[batch(&v, 5, true)], &[&matcher]).await, ClearshardError::BatchSequenceReplayed);
    assert_eq!(
        v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots,
        before[0].position(BTC).map_or(0, |p| p.base_lots) + 1
    );
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn unregistered_matcher_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    let stranger = Keypair::new();
    let batch = ix::settle_batch(stranger.pubkey(), 0, &plan(0, &[BTC], &[&t, &m], &[buy_10()]));
    assert_error(v.ex.send(&[batch], &[&stranger]).await, ClearshardError::MatcherNotRegistered);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn matcher_record_of_another_signer_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    // A stranger signs but names the registered matcher's record.
    let stranger = Keypair::new();
    let mut batch = ix::settle_batch(stranger.pubkey(), 0, &plan(0, &[BTC], &[&t, &m], &[buy_10()]));
    batch.accounts[1].pubkey = pda::matcher(&v.matcher.pubkey());
    assert_error(v.ex.send(&[batch], &[&stranger]).await, ClearshardError::MatcherNotRegistered);
    // The registered matcher's key without its signature.
    let mut unsigned = v.settle_ix(0, 0, &[BTC], &[&t, &m], &[buy_10()]);
    unsigned.accounts[0].is_signer = false;
    assert_anchor_error(v.ex.send(&[unsigned], &[]).await, ErrorCode::AccountNotSigner);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn revoked_matcher_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let revoke = ix::revoke_matcher(v.ex.admin.pubkey(), v.matcher.pubkey());
    v.ex.send_admin(&[revoke]).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    assert_error(v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await, ClearshardError::MatcherRevoked);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn account_of_another_shard_is_refused() {
    let mut v = Venue::new(2).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    let r = v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn duplicated_account_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    // Index 2 repeats the taker: a matcher could otherwise trade an account with itself.
    let fills = [fill(0, 1, 0, true, 10, BTC_TICKS), fill(2, 1, 0, false, 10, BTC_TICKS)];
    let r = v.settle(0, &[BTC], &[&t, &m, &t], &fills).await;
    assert_error(r, ClearshardError::DuplicateMarginAccount);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn price_outside_band_is_refused_and_names_the_fill() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    // Band is 5%: 63_001 ticks is just outside.
    let fills = [buy_10(), buy_10(), fill(0, 1, 0, true, 1, 63_001)];
    let batch = v.settle_ix(0, 0, &[BTC], &[&t, &m], &fills);
    let matcher = v.matcher.insecure_clone();
    let refused = v.ex.simulate_refused_fill(&[batch], &[&matcher]).await;
    assert_eq!(refused, Some((2, ClearshardError::PriceOutsideBand.into())));
    assert_error(v.settle(0, &[BTC], &[&t, &m], &fills).await, ClearshardError::PriceOutsideBand);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn fills_beyond_owner_limits_are_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let now = v.ex.now().await;
    let tight = clearshard::instructions::MatcherLimits {
        allowed_markets: 1 << BTC,
        max_lots_per_fill: 10,
        max_deviation_bps: 100,
        expiry_unix: now + 600,
        max_position_lots: 15,
        max_adverse_cost: 600_000,
        window_secs: 600,
    };
    v.ex.set_limits(&t.trader, t.address, tight).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    let cases = [
        (vec![fill(0, 1, 0, true, 11, BTC_TICKS)], ClearshardError::QuantityAboveOwnerLimit),
        (vec![fill(0, 1, 0, true, 10, BTC_TICKS + 601)], ClearshardError::PriceBeyondOwnerLimit),
        (vec![fill(0, 1, 1, true, 1, ETH_TICKS)], ClearshardError::MarketNotAllowedByOwner),
        // Each fill within the per-fill size, the two together above the position cap.
        (
            vec![fill(0, 1, 0, true, 10, BTC_TICKS), fill(0, 1, 0, true, 10, BTC_TICKS)],
            ClearshardError::PositionAboveOwnerLimit,
        ),
        // 1% over the oracle on 10 lots: 600_000 adverse plus a 30_300 fee, over the budget.
        (vec![fill(0, 1, 0, true, 10, BTC_TICKS + 600)], ClearshardError::AdverseCostBudgetExceeded),
    ];
    for (f, error) in cases {
        assert_error(v.settle(0, &[BTC, ETH], &[&t, &m], &f).await, error);
    }
    v.ex.advance_clock(601).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, -2).await.unwrap();
    assert_error(v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await, ClearshardError::OwnerLimitsExpired);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn fill_leaving_account_under_margin_is_refused() {
    let mut v = Venue::new(1).await;
    // 100 USDC backs at most 1_000 USDC of notional at 10% initial margin.
    let (t, m) = (v.account(0, 100 * USDC).await, v.account(0, 10_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    let r = v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 170, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::Undercollateralized);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 160, BTC_TICKS)]).await.unwrap();
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn overflowing_quantities_are_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    // A market whose lot is worth 4e18 native units: three lots overflow the notional.
    let config = clearshard::instructions::MarketConfig { tick_size: 1_000_000_000_000, ..btc_market() };
    v.ex.add_market(2, "BIG-PERP", config, 40_000_000_000_000_000, 0).await;
    v.allow_markets(&[&t, &m], 0b111).await;
    let before = v.portfolios(&[&t, &m]).await;
    let r = v.settle(0, &[2], &[&t, &m], &[fill(0, 1, 0, true, 3, 4_000_000)]).await;
    assert_error(r, ClearshardError::MathOverflow);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn stale_or_foreign_oracle_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    // ETH's feed in BTC's oracle slot.
    let mut batch = v.settle_ix(0, 0, &[BTC], &[&t, &m], &[buy_10()]);
    batch.accounts[5].pubkey = pda::price_feed(ETH);
    let matcher = v.matcher.insecure_clone();
    assert_error(v.ex.send(&[batch], &[&matcher]).await, ClearshardError::WrongOracle);
    // A market account that is not a Market (a shard) is refused by type.
    let mut batch = v.settle_ix(0, 0, &[BTC], &[&t, &m], &[buy_10()]);
    batch.accounts[4].pubkey = pda::exchange();
    assert_anchor_error(v.ex.send(&[batch], &[&matcher]).await, ErrorCode::AccountDiscriminatorMismatch);
    // Past max staleness (60 s), the circuit breaker holds settlement.
    v.ex.advance_clock(61).await;
    assert_error(v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await, ClearshardError::StaleOracle);
    // A wide confidence interval holds it too.
    v.ex.set_price(BTC, BTC_PRICE, BTC_PRICE as u64 / 50, -2).await.unwrap();
    v.ex.refresh_blockhash().await;
    assert_error(v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await, ClearshardError::OracleConfidenceTooWide);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, -2).await.unwrap();
    v.ex.refresh_blockhash().await;
    v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await.unwrap();
    assert_eq!(v.next_sequence(0).await, 1);
}

#[tokio::test]
async fn paused_settlement_is_refused() {
    let mut v = Venue::new(2).await;
    let (t, m) = (v.account(1, 1_000 * USDC).await, v.account(1, 1_000 * USDC).await);
    let admin = v.ex.admin.pubkey();
    v.ex.send_admin(&[ix::set_pause(admin, Some(1), PAUSE_SETTLEMENT)]).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    assert_error(v.settle(1, &[BTC], &[&t, &m], &[buy_10()]).await, ClearshardError::SettlementPaused);
    v.assert_unchanged(1, 0, &[&t, &m], &before).await;
    v.ex.send_admin(&[ix::set_pause(admin, Some(1), 0)]).await.unwrap();
    v.ex.refresh_blockhash().await;
    v.settle(1, &[BTC], &[&t, &m], &[buy_10()]).await.unwrap();
    assert_eq!(v.ex.margin(t.address).await.portfolio.position(BTC).unwrap().base_lots, 10);
}

#[tokio::test]
async fn open_interest_cap_is_enforced_per_shard() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let config = clearshard::instructions::MarketConfig { max_open_interest_per_shard: 15, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(v.ex.admin.pubkey(), BTC, config)]).await.unwrap();
    v.settle(0, &[BTC], &[&t, &m], &[buy_10()]).await.unwrap();
    let before = v.portfolios(&[&t, &m]).await;
    let r = v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, true, 6, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::OpenInterestCapExceeded);
    v.assert_unchanged(0, 1, &[&t, &m], &before).await;
    // Reducing is always allowed.
    v.settle(0, &[BTC], &[&t, &m], &[fill(0, 1, 0, false, 4, BTC_TICKS)]).await.unwrap();
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].open_interest, 6);
}

#[tokio::test]
async fn margin_account_of_another_program_is_refused() {
    let mut v = Venue::new(1).await;
    let (t, m) = (v.account(0, 1_000 * USDC).await, v.account(0, 1_000 * USDC).await);
    let before = v.portfolios(&[&t, &m]).await;
    let mut batch = v.settle_ix(0, 0, &[BTC], &[&t, &m], &[buy_10()]);
    batch.accounts[7].pubkey = m.trader.token_account;
    let matcher = v.matcher.insecure_clone();
    assert_anchor_error(v.ex.send(&[batch], &[&matcher]).await, ErrorCode::AccountOwnedByWrongProgram);
    v.assert_unchanged(0, 0, &[&t, &m], &before).await;
}

#[tokio::test]
async fn a_full_batch_posts_as_a_v0_transaction_through_a_lookup_table() {
    use clearshard_client::packing::{batch_transaction, serialized_len, BatchShape, MAX_TX_BYTES};
    let mut v = Venue::new(1).await;
    let maker = v.account(0, 100_000 * USDC).await;
    let mut takers = vec![];
    for _ in 0..15 {
        takers.push(v.account(0, 10_000 * USDC).await);
    }
    // As many fills as the byte limit allows: the takers trade 5-6 times each.
    let mut fills_count = 1;
    while (BatchShape { shards: 1, markets: 1, margin_accounts: 16, fills: fills_count + 1 }).fits() {
        fills_count += 1;
    }
    assert!(fills_count >= 60, "{fills_count}");
    let fills: Vec<Fill> = (0..fills_count).map(|i| fill(1 + (i % 15) as u8, 0, 0, i % 3 != 0, 2, BTC_TICKS)).collect();
    let mut accounts: Vec<&Account> = vec![&maker];
    accounts.extend(takers.iter());
    let settle = v.settle_ix(0, 0, &[BTC], &accounts, &fills);
    let matcher_key = v.matcher.pubkey();
    let addresses = settle.accounts.iter().map(|a| a.pubkey).filter(|k| *k != matcher_key).collect::<Vec<_>>();
    let table = v.ex.create_lookup_table(&addresses).await;
    let shape = BatchShape { shards: 1, markets: 1, margin_accounts: 16, fills: fills_count };
    let tx = batch_transaction(&v.matcher, settle, shape.budget(0), &table, v.ex.blockhash().await).unwrap();
    assert!(serialized_len(&tx) <= MAX_TX_BYTES);
    v.ex.send_versioned(tx).await.unwrap();
    // Taker i buys on two of every three of its fills, 2 lots each.
    let mut maker_net = 0i64;
    for (i, t) in takers.iter().enumerate() {
        let own: Vec<&Fill> = fills.iter().filter(|f| f.taker as usize == i + 1).collect();
        let net: i64 = own.iter().map(|f| f.taker_delta()).sum();
        maker_net -= net;
        let pos = v.ex.margin(t.address).await.portfolio.position(BTC).map_or(0, |p| p.base_lots);
        assert_eq!(pos, net, "taker {i}");
    }
    assert_eq!(v.ex.margin(maker.address).await.portfolio.position(BTC).unwrap().base_lots, maker_net);
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].fills, fills_count as u64);
    v.ex.assert_conserved().await;
}
