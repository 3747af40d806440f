//! `settle_owner_trade`: two owners sign one fill between their accounts, on
//! one shard or two, with no matcher at all. Limits, margin, caps and pauses
//! apply as to a batch; the trade is off the book, so funding never sees it.
//! The third review's fixes: across shards it is held by either shard's
//! withdrawal or deposit pause, a side trading worse than the oracle stays at
//! initial margin, and a signed trade lapses.

use anchor_lang::error::ErrorCode;
use clearshard::errors::ClearshardError;
use clearshard::instructions::{MatcherLimits, OwnerTrade};
use clearshard::state::{Market, PAUSE_DEPOSITS, PAUSE_SETTLEMENT, PAUSE_WITHDRAWALS};
use clearshard_client::{instructions as ix, pda};
use clearshard_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

async fn collateral(v: &mut Venue, account: &Account) -> i64 {
    v.ex.margin(account.address).await.portfolio.collateral
}

async fn btc_lots(v: &mut Venue, account: &Account) -> i64 {
    v.ex.margin(account.address).await.portfolio.position(BTC).map_or(0, |p| p.base_lots)
}

#[tokio::test]
async fn two_owners_open_and_close_across_shards_with_no_matcher_registered() {
    let mut v = Venue::without_matcher(2).await;
    assert!(!v.ex.account_exists(pda::matcher(&v.matcher.pubkey())).await);
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(1, 1_000 * USDC).await;

    // 100 BTC lots at 6 USDC: 600 USDC, a 0.30 taker fee and a 0.06 rebate.
    v.owner_trade(&taker, &maker, BTC, true, 100, BTC_TICKS).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!((btc_lots(&mut v, &taker).await, btc_lots(&mut v, &maker).await), (100, -100));
    assert_eq!(collateral(&mut v, &taker).await, (400 * USDC - 300_000) as i64);
    assert_eq!(collateral(&mut v, &maker).await, (1_600 * USDC + 60_000) as i64);
    let (s0, s1) = (v.ex.shard(0).await.markets[BTC as usize], v.ex.shard(1).await.markets[BTC as usize]);
    assert_eq!((s0.open_interest, s0.short_open_interest, s1.open_interest, s1.short_open_interest), (100, 0, 0, 100));
    // Fees land on the taker's shard; the fill statistics funding reads do not move.
    assert_eq!((s0.fees, s1.fees), (240_000, 0));
    assert_eq!((s0.fills, s0.funding.current.volume_lots, s1.funding.current.volume_lots), (0, 0, 0));

    // BTC up 5%; the taker sells back to the same maker: 30 USDC of gain.
    v.set_btc(105).await;
    v.owner_trade(&taker, &maker, BTC, false, 100, 63_000).await.unwrap();
    v.ex.assert_conserved().await;
    let (taker_after, maker_after) = (collateral(&mut v, &taker).await, collateral(&mut v, &maker).await);
    assert_eq!(taker_after, (1_030 * USDC - 300_000 - 315_000) as i64);
    assert_eq!(maker_after, (970 * USDC + 60_000 + 63_000) as i64);
    assert_eq!((btc_lots(&mut v, &taker).await, btc_lots(&mut v, &maker).await), (0, 0));
    let (s0, s1) = (v.ex.shard(0).await.markets[BTC as usize], v.ex.shard(1).await.markets[BTC as usize]);
    assert_eq!((s0.open_interest, s1.short_open_interest, s0.fees), (0, 0, 240_000 + 252_000));

    // Anyone rebalances; both owners take everything out; the vaults keep the fees.
    v.ex.send(&[ix::rebalance_vaults(1, 0, &[BTC])], &[]).await.unwrap();
    v.ex.assert_conserved().await;
    for (account, amount) in [(&taker, taker_after), (&maker, maker_after)] {
        v.ex.withdraw(&account.trader, account.address, account.shard, amount as u64, &[]).await.unwrap();
        v.ex.assert_conserved().await;
        assert_eq!(v.ex.token_balance(account.trader.token_account).await, amount as u64);
    }
    let vaults = v.ex.token_balance(pda::vault(0)).await + v.ex.token_balance(pda::vault(1)).await;
    assert_eq!(vaults, 240_000 + 252_000);
}

#[tokio::test]
async fn an_owner_trade_without_both_owners_their_limits_or_their_margin_changes_nothing() {
    let mut v = Venue::without_matcher(2).await;
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(0, 1_000 * USDC).await;
    let far = v.account(1, 1_000 * USDC).await;
    let poor = v.account(0, 10 * USDC).await;
    let everyone = [&taker, &maker, &far, &poor];
    let before = v.portfolios(&everyone).await;
    let buy = |taker: ix::TradeSide, maker: ix::TradeSide| {
        ix::settle_owner_trade(&taker, &maker, &[BTC], owner_trade(true, 10, BTC_TICKS))
    };
    let (t, m) = (&taker.trader.keypair, &maker.trader.keypair);

    // The maker did not sign.
    let mut unsigned = buy(taker.side(), maker.side());
    unsigned.accounts[1].is_signer = false;
    assert_anchor_error(v.ex.send(&[unsigned], &[t]).await, ErrorCode::AccountNotSigner);
    // A stranger signs for the maker's account; the taker's owner signs for both.
    let stranger = Keypair::new();
    let forged = ix::TradeSide { owner: stranger.pubkey(), ..maker.side() };
    assert_error(v.ex.send(&[buy(taker.side(), forged)], &[t, &stranger]).await, ClearshardError::NotOwner);
    let forged = ix::TradeSide { owner: taker.trader.key(), ..maker.side() };
    assert_error(v.ex.send(&[buy(taker.side(), forged)], &[t]).await, ClearshardError::NotOwner);
    // One account on both sides.
    assert_error(v.ex.send(&[buy(taker.side(), taker.side())], &[t]).await, ClearshardError::DuplicateMarginAccount);

    // Shards: the maker's must be named when it differs, and only then.
    let unnamed = ix::TradeSide { shard: 0, ..far.side() };
    let r = v.ex.send(&[buy(taker.side(), unnamed)], &[t, &far.trader.keypair]).await;
    assert_error(r, ClearshardError::MarginAccountOfAnotherShard);
    let needless = ix::TradeSide { shard: 1, ..maker.side() };
    assert_error(
        v.ex.send(&[buy(taker.side(), needless)], &[t, m]).await,
        ClearshardError::MarginAccountOfAnotherShard,
    );
    let mut twice = buy(taker.side(), far.side());
    twice.accounts[4].pubkey = pda::shard(0);
    assert_error(v.ex.send(&[twice], &[t, &far.trader.keypair]).await, ClearshardError::SameAccount);
    // Exactly one market pair and the two accounts.
    let mut short = buy(taker.side(), maker.side());
    short.accounts.pop();
    assert_error(v.ex.send(&[short], &[t, m]).await, ClearshardError::OwnerTradeAccounts);

    // The fill itself: the band, margin, and each owner's own limits.
    let r = v.owner_trade(&taker, &maker, BTC, true, 10, BTC_TICKS * 11 / 10).await;
    assert_error(r, ClearshardError::PriceOutsideBand);
    assert_error(v.owner_trade(&poor, &maker, BTC, true, 100, BTC_TICKS).await, ClearshardError::Undercollateralized);
    v.allow_markets(&[&taker], 0b10).await;
    assert_error(
        v.owner_trade(&taker, &maker, BTC, true, 10, BTC_TICKS).await,
        ClearshardError::MarketNotAllowedByOwner,
    );
    v.allow_markets(&[&taker], 0b11).await;
    let now = v.ex.now().await;
    let small = MatcherLimits { max_lots_per_fill: 5, ..open_limits(now) };
    v.ex.set_limits(&maker.trader, maker.address, small).await.unwrap();
    assert_error(
        v.owner_trade(&taker, &maker, BTC, true, 10, BTC_TICKS).await,
        ClearshardError::QuantityAboveOwnerLimit,
    );
    let no_budget = MatcherLimits { max_adverse_cost: 0, ..open_limits(now) };
    v.ex.set_limits(&maker.trader, maker.address, no_budget).await.unwrap();
    let r = v.owner_trade(&taker, &maker, BTC, true, 10, BTC_TICKS - 1).await;
    assert_error(r, ClearshardError::AdverseCostBudgetExceeded);
    v.ex.set_limits(&maker.trader, maker.address, open_limits(now)).await.unwrap();

    // A settlement pause on either shard holds owner trades too.
    v.pause(Some(1), PAUSE_SETTLEMENT).await;
    let r = v.owner_trade(&taker, &far, BTC, true, 10, BTC_TICKS).await;
    assert_error(r, ClearshardError::SettlementPaused);
    assert_eq!(v.portfolios(&everyone).await.iter().map(|p| p.positions).collect::<Vec<_>>(), {
        before.iter().map(|p| p.positions).collect::<Vec<_>>()
    });
    assert_eq!(
        v.portfolios(&everyone).await.iter().map(|p| p.collateral).collect::<Vec<_>>(),
        before.iter().map(|p| p.collateral).collect::<Vec<_>>()
    );
    v.ex.assert_conserved().await;

    // What every refusal lacked, given: the same trade settles.
    v.owner_trade(&taker, &maker, BTC, true, 10, BTC_TICKS).await.unwrap();
    assert_eq!((btc_lots(&mut v, &taker).await, btc_lots(&mut v, &maker).await), (10, -10));
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_wash_owner_trade_at_the_band_edge_leaves_the_funding_rate_to_the_book() {
    let mut v = Venue::new(2).await;
    v.to_epoch(1, 0).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    // The book: 100 lots 60 ticks above the oracle (+6,000 native per lot).
    let long = v.account(0, 1_000 * USDC).await;
    let short = v.account(0, 1_000 * USDC).await;
    v.settle(0, &[BTC], &[&long, &short], &[fill(0, 1, 0, true, 100, BTC_TICKS + 60)]).await.unwrap();
    // One owner's two accounts wash 1,000 lots at the band's edge.
    let owner = v.ex.trader(20_000 * USDC).await;
    let one = v.account_of(owner.clone(), 0, 10_000 * USDC).await;
    let other = v.account_of(owner, 1, 10_000 * USDC).await;
    v.owner_trade(&one, &other, BTC, true, 1_000, BTC_TICKS * 105 / 100).await.unwrap();
    v.ex.assert_conserved().await;
    assert_eq!(v.ex.shard(0).await.markets[BTC as usize].funding.current.volume_lots, 100);

    v.to_epoch(1, 10).await;
    v.ex.set_price(BTC, BTC_PRICE, 0, PRICE_EXPO).await.unwrap();
    v.funding_round(BTC).await.unwrap();
    assert_eq!(v.ex.load::<Market>(pda::market(BTC)).await.funding.next_rate, 6_000);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_cross_shard_trade_is_held_by_either_shards_withdrawal_or_deposit_pause() {
    let mut v = Venue::new(2).await;
    let here = v.account(0, 1_000 * USDC).await;
    let friend = v.account(0, 1_000 * USDC).await;
    let there = v.account(1, 1_000 * USDC).await;
    // Across shards a price away from the oracle moves claims between vaults:
    // out of a shard whose withdrawals are paused, into one whose deposits are.
    v.pause(Some(0), PAUSE_WITHDRAWALS).await;
    let r = v.owner_trade(&here, &there, BTC, true, 10, BTC_TICKS * 105 / 100).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
    let r = v.settle_cross(0, 1, &[BTC], &[&here, &there], &[fill(0, 1, 0, true, 10, BTC_TICKS)]).await;
    assert_error(r, ClearshardError::WithdrawalsPaused);
    // Within the paused shard value stays in its vault: trading goes on.
    v.owner_trade(&here, &friend, BTC, true, 10, BTC_TICKS).await.unwrap();
    v.ex.assert_conserved().await;
    v.pause(Some(1), PAUSE_DEPOSITS).await;
    v.pause(Some(0), 0).await;
    let r = v.owner_trade(&here, &there, BTC, true, 10, BTC_TICKS).await;
    assert_error(r, ClearshardError::DepositsPaused);
    assert_eq!(v.ex.margin(there.address).await.portfolio.position(BTC), None);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_side_trading_worse_than_the_oracle_must_stay_at_initial_margin() {
    let mut v = Venue::new(1).await;
    // 100 lots long on 61 USDC; BTC down 2%: below initial, above maintenance.
    let (long, _) = v.leveraged_long(0, 61 * USDC).await;
    let friend = v.account(0, 1_000 * USDC).await;
    v.set_btc(98).await;
    let oracle_ticks = BTC_TICKS * 98 / 100;
    let risk = v.ex.risk_markets(&[BTC]).await;
    let health = v.ex.margin(long.address).await.portfolio.health(&risk[..]).unwrap();
    assert!(health.initial < 0 && health.maintenance > 0, "{health:?}");
    let before = v.portfolios(&[&long, &friend]).await;

    // Selling to a friend below the oracle hands it value: a withdrawal the
    // account's margin does not allow. A matcher's fill there would pass the
    // settlement rule; an owner trade's price is the owners' own choice.
    for ticks in [oracle_ticks * 95 / 100, oracle_ticks - 1] {
        let r = v.owner_trade(&long, &friend, BTC, false, 10, ticks).await;
        assert_error(r, ClearshardError::BreaksInitialMargin);
    }
    assert_eq!(v.portfolios(&[&long, &friend]).await, before);
    // At the oracle it reduces, still below initial margin, as a batch may.
    v.owner_trade(&long, &friend, BTC, false, 10, oracle_ticks).await.unwrap();
    let risk = v.ex.risk_markets(&[BTC]).await;
    let after = v.ex.margin(long.address).await.portfolio;
    assert_eq!(after.position(BTC).unwrap().base_lots, 90);
    assert!(after.health(&risk[..]).unwrap().initial < 0);
    v.ex.assert_conserved().await;
}

#[tokio::test]
async fn a_signed_trade_lapses_at_its_expiry_and_carries_every_market_held() {
    let mut v = Venue::new(1).await;
    let taker = v.account(0, 1_000 * USDC).await;
    let maker = v.account(0, 1_000 * USDC).await;
    let signers = [&taker.trader.keypair, &maker.trader.keypair];
    let now = v.ex.now().await;
    let trade = |expires_at| OwnerTrade { expires_at, ..owner_trade(true, 10, BTC_TICKS) };
    let late = ix::settle_owner_trade(&taker.side(), &maker.side(), &[BTC], trade(now - 1));
    assert_error(v.ex.send(&[late], &signers).await, ClearshardError::OwnerTradeExpired);
    let due = ix::settle_owner_trade(&taker.side(), &maker.side(), &[BTC], trade(now));
    v.ex.send(&[due], &signers).await.unwrap();
    v.ex.assert_conserved().await;

    // Holding BTC, an ETH trade must carry BTC too, and may name its market by slot.
    let eth = OwnerTrade { price_ticks: ETH_TICKS, ..owner_trade(true, 10, ETH_TICKS) };
    let r = v.ex.send(&[ix::settle_owner_trade(&taker.side(), &maker.side(), &[ETH], eth)], &signers).await;
    assert_error(r, ClearshardError::MissingMarket);
    let beyond = OwnerTrade { market_slot: 2, ..eth };
    let r = v.ex.send(&[ix::settle_owner_trade(&taker.side(), &maker.side(), &[BTC, ETH], beyond)], &signers).await;
    assert_error(r, ClearshardError::OwnerTradeAccounts);
    let second = OwnerTrade { market_slot: 1, ..eth };
    v.ex.send_fresh(&[ix::settle_owner_trade(&taker.side(), &maker.side(), &[BTC, ETH], second)], &signers)
        .await
        .unwrap();
    assert_eq!(v.ex.margin(taker.address).await.portfolio.position(ETH).unwrap().base_lots, 10);
    v.ex.assert_conserved().await;
}
