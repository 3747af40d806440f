//! The compute units a batch transaction requests (`BatchShape::compute_units`)
//! against what the SBF program meters: every shape tried stays within its
//! request, and the request is no blanket limit (at most 1.6× what it used).

use clearshard_client::bank::ProgramMode;
use clearshard_client::packing::{batch_transaction, BatchShape};
use clearshard_engine::Fill;
use clearshard_tests::*;
use solana_signer::Signer;

/// Settles `fills` among `accounts` on `shard` (or across `shard` and `second`)
/// through a lookup table; returns (units the program consumed, units requested).
async fn metered(
    v: &mut Venue,
    shard: u16,
    second: Option<u16>,
    markets: &[u16],
    accounts: &[&Account],
    fills: &[Fill],
) -> (u64, u64) {
    let sequence = v.next_sequence(shard).await;
    let plan = plan(sequence, markets, accounts, fills);
    let settle = match second {
        None => clearshard_client::instructions::settle_batch(v.matcher.pubkey(), shard, &plan),
        Some(b) => clearshard_client::instructions::settle_cross_batch(v.matcher.pubkey(), shard, b, &plan),
    };
    let matcher_key = v.matcher.pubkey();
    let addresses: Vec<_> = settle.accounts.iter().map(|a| a.pubkey).filter(|k| *k != matcher_key).collect();
    let table = v.ex.create_lookup_table(&addresses).await;
    let shape = BatchShape {
        shards: 1 + usize::from(second.is_some()),
        markets: markets.len(),
        margin_accounts: accounts.len(),
        fills: fills.len(),
    };
    assert!(shape.fits(), "{shape:?}");
    let tx = batch_transaction(&v.matcher, settle, shape.budget(0), &table, v.ex.blockhash().await).unwrap();
    let m = v.ex.execute_metered(tx).await.unwrap();
    let used = *m.program_units(&clearshard::ID).last().unwrap();
    (used, u64::from(shape.compute_units()))
}

/// An hour passes and a funding round runs: every position owes funding at
/// its next touch (the costly case).
async fn accrue_funding(v: &mut Venue) {
    v.ex.advance_clock(3_600).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.ex.set_price(ETH, ETH_PRICE, 0, PRICE_EXPO).await.unwrap();
    for market in [BTC, ETH] {
        v.funding_round(market).await.unwrap();
    }
}

fn assert_within(what: &str, (used, requested): (u64, u64)) {
    eprintln!("{what}: used {used} of {requested} requested");
    assert!(used <= requested, "{what}: used {used} > requested {requested}");
    assert!(requested * 10 <= used * 16, "{what}: requested {requested} is a blanket limit for {used}");
}

#[tokio::test]
async fn batches_request_the_units_they_need() {
    let mut v = Venue::new(2).await;
    if v.ex.mode != ProgramMode::Sbf {
        eprintln!("compute units are metered on the SBF program only (run `make sbf`)");
        return;
    }
    let mut makers = vec![];
    for _ in 0..4 {
        makers.push(v.account(0, 1_000_000 * USDC).await);
    }
    let mut takers = vec![];
    for _ in 0..52 {
        takers.push(v.account(0, 100_000 * USDC).await);
    }
    let mut remote = vec![];
    for _ in 0..12 {
        remote.push(v.account(1, 100_000 * USDC).await);
    }
    // Fills among `m` makers and `t` takers (indices after the makers), both markets.
    let fills = |count: usize, m: usize, t: usize| -> Vec<Fill> {
        (0..count)
            .map(|i| {
                let (slot, ticks) = if i % 2 == 0 { (0, BTC_TICKS) } else { (1, ETH_TICKS) };
                fill((m + i % t) as u8, (i % m) as u8, slot, (i / 2) % 2 == 0, 1 + (i % 3) as u32, ticks)
            })
            .collect()
    };
    let both = [BTC, ETH];

    // One fill between two fresh accounts.
    assert_within("1 fill", metered(&mut v, 0, None, &[BTC], &[&makers[0], &takers[0]], &fills(1, 1, 1)[..1]).await);

    // Every account now holds both markets; funding is owed from here on.
    let sixteen: Vec<&Account> = makers.iter().chain(&takers[..12]).collect();
    metered(&mut v, 0, None, &both, &sixteen, &fills(32, 4, 12)).await;
    accrue_funding(&mut v).await;
    assert_within("32 fills, 16 accounts", metered(&mut v, 0, None, &both, &sixteen, &fills(32, 4, 12)).await);
    accrue_funding(&mut v).await;
    let max = (1..200)
        .take_while(|f| BatchShape { shards: 1, markets: 2, margin_accounts: 16, fills: *f }.fits())
        .last()
        .unwrap();
    assert_within("largest batch", metered(&mut v, 0, None, &both, &sixteen, &fills(max, 4, 12)).await);

    // Every fill a new taker: as many accounts as the locks allow, half of
    // them reducing positions they hold.
    let many: Vec<&Account> = makers[..1].iter().chain(&takers).collect();
    let distinct = (1..200)
        .take_while(|f| BatchShape { shards: 1, markets: 2, margin_accounts: f + 1, fills: *f }.fits())
        .last()
        .unwrap()
        .min(takers.len());
    accrue_funding(&mut v).await;
    assert_within(
        "every fill a new taker",
        metered(&mut v, 0, None, &both, &many[..distinct + 1], &fills(distinct, 1, distinct)).await,
    );

    // Across two shards.
    let cross: Vec<&Account> = makers.iter().chain(&remote).collect();
    metered(&mut v, 0, Some(1), &both, &cross, &fills(24, 4, 12)).await;
    accrue_funding(&mut v).await;
    assert_within("cross-shard, 32 fills", metered(&mut v, 0, Some(1), &both, &cross, &fills(32, 4, 12)).await);
    v.ex.assert_conserved().await;
}
