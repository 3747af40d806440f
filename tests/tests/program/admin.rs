//! Admin instructions: shards, markets, prices, matchers, pauses; only the
//! admin may call them, and bad parameters are refused.

use anchor_lang::prelude::Pubkey;
use clearshard::errors::ClearshardError;
use clearshard::instructions::MarketConfig;
use clearshard::state::{Market, Matcher, PriceFeed, MAX_SHARDS};
use clearshard_client::bank::TestExchange;
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn the_most_shards_accepted_each_with_its_own_vault() {
    let mut ex = TestExchange::start(MAX_SHARDS).await;
    assert_eq!(ex.exchange().await.shard_count, MAX_SHARDS);
    for index in [0u16, 31, MAX_SHARDS - 1] {
        let shard = ex.shard(index).await;
        assert_eq!(shard.index, index);
        assert_eq!(shard.vault, pda::vault(index));
        assert_eq!(ex.token_balance(pda::vault(index)).await, 0);
    }
    // The next index only: skipping one is refused.
    let skip = ix::add_shard(ex.admin.pubkey(), ex.mint, MAX_SHARDS + 1);
    assert_error(ex.send_admin(&[skip]).await, ClearshardError::ShardIndexNotNext);
    ex.assert_conserved().await;
}

#[tokio::test]
async fn only_the_admin_administers() {
    let mut v = Venue::new(1).await;
    let intruder = Keypair::new();
    v.ex.airdrop(&intruder.pubkey(), 1_000_000_000).await;
    let me = intruder.pubkey();
    let mint = v.ex.mint;
    let cases = [
        ix::add_shard(me, mint, 1),
        ix::add_market(me, 2, "SOL-PERP", btc_market(), true),
        ix::propose_admin(me, me),
        ix::update_market(me, BTC, btc_market()),
        ix::delist_market(me, BTC),
        ix::set_price(me, BTC, 1, 0, 0),
        ix::set_pause(me, None, clearshard::state::PAUSE_ALL),
        ix::register_matcher(me, me),
        ix::revoke_matcher(me, v.matcher.pubkey()),
    ];
    for case in cases {
        assert_error(v.ex.send(&[case], &[&intruder]).await, ClearshardError::NotAdmin);
    }
    assert_eq!(v.ex.exchange().await.pause_flags, 0);
    assert_eq!(v.ex.load::<Matcher>(pda::matcher(&v.matcher.pubkey())).await.active, 1);
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.delist_due, 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn markets_are_listed_in_order_with_valid_parameters() {
    let mut v = Venue::new(1).await;
    let market = v.ex.load::<Market>(pda::market(BTC)).await;
    assert_eq!(market.oracle, pda::price_feed(BTC));
    assert_eq!(&market.name[..8], b"BTC-PERP");
    assert_eq!(market.params.initial_margin_bps, 1_000);
    let admin = v.ex.admin.pubkey();
    let skip = ix::add_market(admin, 5, "X", btc_market(), true);
    assert_error(v.ex.send_admin(&[skip]).await, ClearshardError::MarketIdNotNext);
    let bad: [MarketConfig; 4] = [
        MarketConfig { maintenance_margin_bps: 1_000, ..btc_market() },
        MarketConfig { tick_size: 0, ..btc_market() },
        MarketConfig { maker_fee_bps: -6, ..btc_market() },
        MarketConfig { band_bps: 0, ..btc_market() },
    ];
    for config in bad {
        assert_error(
            v.ex.send_admin(&[ix::add_market(admin, 2, "SOL-PERP", config, true)]).await,
            ClearshardError::InvalidMarketParams,
        );
        assert_error(
            v.ex.send_admin(&[ix::update_market(admin, BTC, config)]).await,
            ClearshardError::InvalidMarketParams,
        );
    }
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.params.maintenance_margin_bps, 500);
    // A test market may time out after a minute; a production market not
    // under an hour, and neither never.
    let minute = MarketConfig { liveness_timeout_mins: 1, ..btc_market() };
    v.ex.send_admin(&[ix::update_market(admin, BTC, minute)]).await.unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.params.liveness_timeout_mins, 1);
    let never = MarketConfig { liveness_timeout_mins: 0, ..btc_market() };
    let r = v.ex.send_admin(&[ix::update_market(admin, BTC, never)]).await;
    assert_error(r, ClearshardError::InvalidMarketParams);
    let r = v.ex.send_admin(&[ix::add_market(admin, 2, "SOL-PERP", minute, false)]).await;
    assert_error(r, ClearshardError::InvalidMarketParams);
    let hour = MarketConfig { liveness_timeout_mins: 60, ..btc_market() };
    v.ex.send_admin(&[ix::add_market(admin, 2, "SOL-PERP", hour, false)]).await.unwrap();
}

#[tokio::test]
async fn prices_are_stamped_and_checked() {
    let mut v = Venue::new(1).await;
    v.ex.advance_clock(5).await;
    v.ex.set_price(BTC, 6_100_000, 1_000, -2).await.unwrap();
    let feed = v.ex.load::<PriceFeed>(pda::price_feed(BTC)).await;
    assert_eq!((feed.price, feed.confidence, feed.expo), (6_100_000, 1_000, -2));
    assert_eq!(feed.publish_time, v.ex.now().await);
    assert_error(v.ex.set_price(BTC, 0, 0, -2).await, ClearshardError::InvalidOraclePrice);
    assert_error(v.ex.set_price(BTC, 1, 0, 40).await, ClearshardError::InvalidOraclePrice);
}

#[tokio::test]
async fn matchers_register_once_and_can_be_revoked() {
    let mut v = Venue::new(1).await;
    let second = v.ex.register_matcher().await;
    let record = v.ex.load::<Matcher>(pda::matcher(&second.pubkey())).await;
    assert_eq!((record.index, record.active, record.authority), (1, 1, second.pubkey()));
    assert_eq!(v.ex.exchange().await.matcher_count, 2);
    v.ex.send_admin(&[ix::revoke_matcher(v.ex.admin.pubkey(), second.pubkey())]).await.unwrap();
    assert_eq!(v.ex.load::<Matcher>(pda::matcher(&second.pubkey())).await.active, 0);
}

#[test]
fn batch_discriminators_are_one_byte_and_unambiguous() {
    use anchor_lang::Discriminator;
    use clearshard::instruction as i;
    let short = [clearshard::SETTLE_BATCH_DISCRIMINATOR, clearshard::SETTLE_CROSS_BATCH_DISCRIMINATOR];
    assert_eq!(i::SettleBatch::DISCRIMINATOR, &short[..1]);
    assert_eq!(i::SettleCrossBatch::DISCRIMINATOR, &short[1..]);
    let others: [&[u8]; 19] = [
        i::Liquidate::DISCRIMINATOR,
        i::ResolveBankruptcy::DISCRIMINATOR,
        i::DepositInsurance::DISCRIMINATOR,
        i::SetMarketOracle::DISCRIMINATOR,
        i::InitializeExchange::DISCRIMINATOR,
        i::AddShard::DISCRIMINATOR,
        i::AddMarket::DISCRIMINATOR,
        i::UpdateMarket::DISCRIMINATOR,
        i::SetPrice::DISCRIMINATOR,
        i::SetPause::DISCRIMINATOR,
        i::RegisterMatcher::DISCRIMINATOR,
        i::RevokeMatcher::DISCRIMINATOR,
        i::CreateMarginAccount::DISCRIMINATOR,
        i::Deposit::DISCRIMINATOR,
        i::Withdraw::DISCRIMINATOR,
        i::SetMatcherLimits::DISCRIMINATOR,
        i::TransferCollateral::DISCRIMINATOR,
        i::CloseMarginAccount::DISCRIMINATOR,
        i::RebalanceVaults::DISCRIMINATOR,
    ];
    for d in &others {
        assert_eq!(d.len(), 8);
        assert!(!short.contains(&d[0]), "an 8-byte discriminator starts with a batch byte: {d:?}");
    }
}

/// The admin hands over in two steps: a proposal by the admin, then the
/// successor's own signature. Until it accepts, the old admin rules; a
/// proposal can be withdrawn; nobody else can accept.
#[tokio::test]
async fn the_admin_hands_over_in_two_steps() {
    let mut v = Venue::new(1).await;
    let old = v.ex.admin.insecure_clone();
    let new = Keypair::new();
    let intruder = Keypair::new();
    for k in [&new, &intruder] {
        v.ex.airdrop(&k.pubkey(), 1_000_000_000).await;
    }
    // Nothing proposed: nobody can accept.
    assert_error(v.ex.send(&[ix::accept_admin(new.pubkey())], &[&new]).await, ClearshardError::NotProposedAdmin);
    v.ex.send_admin(&[ix::propose_admin(old.pubkey(), new.pubkey())]).await.unwrap();
    assert_eq!(v.ex.exchange().await.pending_admin, new.pubkey());
    let r = v.ex.send(&[ix::accept_admin(intruder.pubkey())], &[&intruder]).await;
    assert_error(r, ClearshardError::NotProposedAdmin);
    // Withdrawn, then proposed again.
    v.ex.send_admin(&[ix::propose_admin(old.pubkey(), Pubkey::default())]).await.unwrap();
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::accept_admin(new.pubkey())], &[&new]).await, ClearshardError::NotProposedAdmin);
    v.ex.refresh_blockhash().await;
    v.ex.send_admin(&[ix::propose_admin(old.pubkey(), new.pubkey())]).await.unwrap();
    // The old admin still rules until the successor accepts.
    v.ex.send_admin(&[ix::set_pause(old.pubkey(), None, 0)]).await.unwrap();
    assert_eq!(v.ex.exchange().await.admin, old.pubkey());
    v.ex.send(&[ix::accept_admin(new.pubkey())], &[&new]).await.unwrap();
    let exchange = v.ex.exchange().await;
    assert_eq!((exchange.admin, exchange.pending_admin), (new.pubkey(), Pubkey::default()));
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send_admin(&[ix::set_pause(old.pubkey(), None, 0)]).await, ClearshardError::NotAdmin);
    v.ex.send(&[ix::set_pause(new.pubkey(), None, 0)], &[&new]).await.unwrap();
    v.ex.refresh_blockhash().await;
    assert_error(v.ex.send(&[ix::accept_admin(new.pubkey())], &[&new]).await, ClearshardError::NotProposedAdmin);
    v.ex.assert_conserved().await;
}
