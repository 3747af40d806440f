//! Router and packing: batches fit real serialized v0 transactions, fills land
//! on the taker's shard, and waves never write the same account twice.

use anchor_lang::prelude::Pubkey;
use clearshard_client::instructions::settle_batch;
use clearshard_client::packing::{batch_transaction, lookup_table, serialized_len, BatchShape, MAX_TX_BYTES};
use clearshard_client::router::{schedule, AccountRef, BatchTarget, Router, Trade};
use clearshard_client::{instructions as ix, pda};
use solana_keypair::Keypair;
use solana_message::Hash;
use solana_signer::Signer;
use std::collections::BTreeMap;

/// Serializes the real signed transaction of `shape` (fills between
/// `shape.margin_accounts` accounts) and returns its length.
fn real_len(shape: BatchShape) -> usize {
    let matcher = Keypair::new();
    let accounts: Vec<Pubkey> = (0..shape.margin_accounts).map(|_| Pubkey::new_unique()).collect();
    let fills = (0..shape.fills)
        .flat_map(|i| {
            let taker = (i % shape.margin_accounts) as u8;
            let maker = ((i + 1) % shape.margin_accounts) as u8;
            clearshard_engine::Fill { taker, maker, market_slot: 0, taker_buys: true, quantity_lots: 1, price_ticks: 1 }
                .encode()
        })
        .collect();
    let plan = ix::BatchPlan { sequence: 7, markets: (0..shape.markets as u16).collect(), accounts, fills };
    let settle = if shape.shards == 1 {
        settle_batch(matcher.pubkey(), 3, &plan)
    } else {
        ix::settle_cross_batch(matcher.pubkey(), 3, 4, &plan)
    };
    let table = lookup_table(
        Pubkey::new_unique(),
        settle.accounts.iter().map(|m| m.pubkey).filter(|k| *k != matcher.pubkey()).collect(),
    );
    let tx = batch_transaction(&matcher, settle, shape.budget(0), &table, Hash::default()).unwrap();
    serialized_len(&tx)
}

#[test]
fn size_model_matches_real_serialization() {
    for (shards, markets, margin_accounts, fills) in
        [(1, 1, 2, 1), (1, 2, 10, 40), (2, 1, 30, 70), (1, 8, 55, 60), (1, 1, 2, 120)]
    {
        let shape = BatchShape { shards, markets, margin_accounts, fills };
        assert_eq!(shape.tx_len(), real_len(shape), "{shape:?}");
    }
}

/// The most fills that fit one transaction with `accounts` margin accounts and one market.
fn max_fills(accounts: usize) -> usize {
    let mut fills = 1;
    while (BatchShape { shards: 1, markets: 1, margin_accounts: accounts, fills: fills + 1 }).fits() {
        fills += 1;
    }
    assert!(real_len(BatchShape { shards: 1, markets: 1, margin_accounts: accounts, fills }) <= MAX_TX_BYTES);
    assert!(
        real_len(BatchShape { shards: 1, markets: 1, margin_accounts: accounts, fills: fills + 1 }) > MAX_TX_BYTES
            || accounts + 9 > 64
    );
    fills
}

#[test]
fn one_transaction_carries_over_sixty_fills() {
    // A maker against 15 takers who trade more than once: bytes are the limit.
    assert!(max_fills(16) >= 60, "{}", max_fills(16));
    // Two accounts: the byte bound of the encoding.
    assert!(max_fills(2) >= 80, "{}", max_fills(2));
}

fn maker_book(shards: u16) -> Vec<Vec<(u16, Pubkey)>> {
    // Maker 0 quotes on every shard; maker 1 only on shard 0.
    vec![(0..shards).map(|s| (s, Pubkey::new_unique())).collect(), vec![(0, Pubkey::new_unique())]]
}

fn trade(taker: AccountRef, maker: usize) -> Trade {
    Trade { taker, maker, market: 0, taker_buys: true, lots: 1, ticks: 60_000 }
}

#[test]
fn fills_settle_on_the_takers_shard_and_cross_only_when_needed() {
    let book = maker_book(4);
    let mut router = Router::new(book.clone(), BTreeMap::from([(2, 5)]));
    let taker = AccountRef { address: Pubkey::new_unique(), shard: 2 };
    router.route(&trade(taker, 0)).unwrap();
    router.route(&trade(taker, 1)).unwrap();
    let batches = router.finish();
    assert_eq!(batches.len(), 2);
    let single = batches.iter().find(|b| b.target == BatchTarget::Shard(2)).unwrap();
    assert_eq!(single.plan.accounts, vec![taker.address, book[0][2].1]);
    assert_eq!(single.plan.sequence, 5);
    let cross = batches.iter().find(|b| b.target == BatchTarget::Cross(0, 2)).unwrap();
    assert_eq!(cross.plan.accounts, vec![taker.address, book[1][0].1]);
    assert_eq!(cross.plan.sequence, 0);
}

#[test]
fn batches_are_packed_to_the_limits_and_sequenced() {
    let book = maker_book(2);
    let mut router = Router::new(book, BTreeMap::new());
    let takers: Vec<AccountRef> =
        (0..200).map(|i| AccountRef { address: Pubkey::new_unique(), shard: i % 2 }).collect();
    for i in 0..2_000 {
        router.route(&trade(takers[(i * 7) % 200], 0)).unwrap();
    }
    let batches = router.finish();
    let fills: usize = batches.iter().map(|b| b.shape.fills).sum();
    assert_eq!(fills, 2_000);
    for b in &batches {
        assert!(b.shape.fits(), "{:?}", b.shape);
        assert!(real_len(b.shape) <= MAX_TX_BYTES);
    }
    for shard in 0..2u16 {
        let seqs: Vec<u64> =
            batches.iter().filter(|b| b.target == BatchTarget::Shard(shard)).map(|b| b.plan.sequence).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn waves_never_share_a_written_account() {
    let book = maker_book(4);
    let mut router = Router::new(book, BTreeMap::new());
    for i in 0..600u16 {
        let taker = AccountRef { address: pda::margin_account(&Pubkey::new_unique(), i % 4, 0), shard: i % 4 };
        router.route(&trade(taker, (i % 5 == 0) as usize)).unwrap();
    }
    let batches = router.finish();
    let waves = schedule(&batches);
    assert_eq!(waves.iter().map(Vec::len).sum::<usize>(), batches.len());
    for wave in &waves {
        let mut written = std::collections::BTreeSet::new();
        for i in wave {
            for shard in batches[*i].target.shards() {
                assert!(written.insert(pda::shard(shard)), "two batches of one wave write shard {shard}");
            }
            for a in &batches[*i].plan.accounts {
                assert!(written.insert(*a), "two batches of one wave write {a}");
            }
        }
    }
    // Four shards settle side by side: the first wave holds a batch per shard.
    assert!(waves[0].len() >= 4, "{waves:?}");
}

#[test]
fn batches_carry_every_market_their_accounts_hold() {
    let book = maker_book(1);
    let mut router = Router::new(book, BTreeMap::new());
    let a = AccountRef { address: Pubkey::new_unique(), shard: 0 };
    let b = AccountRef { address: Pubkey::new_unique(), shard: 0 };
    router.hold(b.address, &[5]);
    router.route(&trade(a, 0)).unwrap();
    router.route(&Trade { market: 1, ..trade(a, 0) }).unwrap();
    let first = router.finish();
    assert_eq!(first[0].plan.markets, vec![0, 1]);
    // In a later batch, an account that traded market 0 and 1 brings both.
    let mut router = Router::new(maker_book(1), BTreeMap::new());
    router.hold(a.address, &[0, 1]);
    router.hold(b.address, &[5]);
    router.route(&Trade { market: 2, ..trade(a, 0) }).unwrap();
    router.route(&Trade { market: 2, ..trade(b, 0) }).unwrap();
    let batches = router.finish();
    assert_eq!(batches.len(), 1);
    let mut markets = batches[0].plan.markets.clone();
    markets.sort();
    assert_eq!(markets, vec![0, 1, 2, 5]);
    assert_eq!(batches[0].shape.markets, 4);
}
