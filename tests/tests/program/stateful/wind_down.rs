//! The stateful suite's exit without a matcher: the matcher goes silent at
//! a random step, the markets wind down, anyone closes every position in
//! random order, and owners leave; a griefer keeps trying to wind a live
//! market down and to close positions in live markets.

use super::*;
use clearshard::state::FEED_DEATH_SECS;
use clearshard_engine::liquidation::bankruptcy_deficit;
use clearshard_engine::market::DEFAULT_LIVENESS_TIMEOUT_MINS;
use clearshard_engine::portfolio::MAX_MARKETS;
use clearshard_engine::wind_down::gain_payout;
use clearshard_engine::Portfolio;

const TIMEOUT: i64 = DEFAULT_LIVENESS_TIMEOUT_MINS as i64 * 60;

impl World {
    /// When the last matcher's batch, listing or pause kept `market` live,
    /// as `wind_down_market` must count it.
    fn silent_since(snapshot: &Snapshot, exchange: &clearshard::state::Exchange, market: u16) -> i64 {
        let stamps = snapshot.shards.iter().map(|s| s.markets[usize::from(market)].last_batch_at);
        let listed = snapshot.markets[usize::from(market)].listed_from;
        stamps.fold(listed.max(exchange.pause.ends_at()), i64::max)
    }

    /// What `wind_down_market` must say of `address` named as an exit left
    /// unserved in `market`: `None` if the account is closed.
    fn unserved_exit_rule(
        snapshot: &Snapshot,
        exchange: &clearshard::state::Exchange,
        market: u16,
        address: Pubkey,
        now: i64,
    ) -> Option<Result<(), ClearshardError>> {
        let (_, margin) = snapshot.margins.iter().find(|(a, _)| *a == address)?;
        let portfolio = &margin.portfolio;
        // Only a pause that held settlement back restarts the exit's clock.
        let since = snapshot.markets[usize::from(market)].listed_from.max(exchange.pause.settlement_ends_at());
        let elsewhere = portfolio.positions.iter().any(|p| p.base_lots != 0 && p.market_id != market);
        Some(match () {
            _ if portfolio.exit_requested_at == 0 => Err(ClearshardError::NoExitRequested),
            _ if portfolio.position(market).is_none_or(|p| p.base_lots == 0) => Err(ClearshardError::ExitServed),
            _ if elsewhere => Err(ClearshardError::ExitHoldsOtherMarkets),
            _ if now - portfolio.exit_requested_at.max(since) < TIMEOUT => Err(ClearshardError::ExitRequestNotDue),
            _ => Ok(()),
        })
    }

    /// A griefer winds a market down early (every shard, or a subset or
    /// order of its choosing) and closes an account in a market that may be
    /// live: each outcome must be the one the rules give.
    pub(super) async fn griefer_wind_down(&mut self) -> Result<Vec<Pubkey>, String> {
        let market = MARKETS[self.rng.range(0, 2) as usize];
        let (snapshot, exchange, now) = (self.v.ex.snapshot().await, self.v.ex.exchange().await, self.v.ex.now().await);
        let wound_down = snapshot.markets[usize::from(market)].is_wound_down();
        let live = now - Self::silent_since(&snapshot, &exchange, market) < TIMEOUT;
        let mut shards: Vec<u16> = (0..SHARDS).collect();
        let chosen = self.rng.chance(30);
        if chosen {
            if self.rng.chance(50) {
                shards.swap(0, self.rng.range(1, u64::from(SHARDS)) as usize);
            } else {
                shards.truncate(self.rng.range(0, u64::from(SHARDS)) as usize);
            }
        }
        // Now and then it names an account as an exit left unserved.
        let named = (!chosen && self.rng.chance(30)).then(|| self.rng.range(0, self.actors.len() as u64) as usize);
        let unserved = named.map(|i| self.actors[i].account.address);
        let exit_rule = unserved.map(|address| Self::unserved_exit_rule(&snapshot, &exchange, market, address, now));
        let r = self
            .v
            .ex
            .send_fresh(&[ix::wind_down_market(market, pda::price_feed(market), &shards, unserved)], &[])
            .await;
        self.note("griefer wind_down", format!("market {market}, shards {shards:?}, exit of {named:?}"), &r);
        let code = r.as_ref().err().and_then(error_code);
        let expected = |e: ClearshardError| code == Some(u32::from(e));
        let due_exit = exit_rule == Some(Some(Ok(())));
        match exit_rule {
            _ if wound_down => {}
            // A closed account is refused by Anchor before the rule.
            Some(None) if r.is_ok() => return Err(format!("a closed account {named:?} wound market {market} down")),
            Some(Some(Err(e))) if !expected(e) => {
                return Err(format!("the exit of account {named:?} in market {market}: {r:?}, the rule says {e:?}"))
            }
            _ => {}
        }
        match () {
            _ if wound_down && !expected(ClearshardError::MarketWoundDown) => {
                return Err(format!("a second wind-down of market {market}: {r:?}"))
            }
            _ if r.is_ok() && ((live && !due_exit) || chosen) => {
                return Err(format!("market {market} wound down while live ({live}) or with shards {shards:?}"))
            }
            _ if !wound_down && !chosen && named.is_none() && live && !expected(ClearshardError::MarketStillLive) => {
                return Err(format!("a live market {market} was refused with {r:?}, not MarketStillLive"))
            }
            _ => {}
        }

        let i = self.rng.range(0, self.actors.len() as u64) as usize;
        let account = &self.actors[i].account;
        let (address, shard) = (account.address, account.shard);
        let holds = self.v.ex.margin_if_open(address).await.is_some_and(|m| m.portfolio.position(market).is_some());
        let wound_down = self.v.ex.load::<Market>(pda::market(market)).await.is_wound_down();
        let r = self.v.ex.send_fresh(&[ix::close_at_settlement(address, shard, market)], &[]).await;
        self.note("griefer close", format!("account {i}, market {market}"), &r);
        let code = r.as_ref().err().and_then(error_code);
        if !wound_down && code != Some(u32::from(ClearshardError::MarketNotWoundDown)) {
            return Err(format!("closing account {i} in live market {market}: {r:?}"));
        }
        if wound_down && !holds && r.is_ok() {
            return Err(format!("account {i} closed with no position in market {market}"));
        }
        Ok(if r.is_ok() { vec![address] } else { vec![] })
    }

    /// The matcher goes silent: the admin lifts its pauses, the clock runs
    /// past the timeout (the feeds now and then die with it), anyone winds
    /// every market down, and anyone closes every position in random order,
    /// with conservation checked after each close.
    pub(super) async fn matcher_goes_silent(&mut self) -> Result<Vec<Pubkey>, String> {
        for shard in 0..SHARDS {
            self.set_pause(Some(shard), 0).await?;
        }
        self.set_pause(None, 0).await?;
        // Now and then the feeds die with the matcher: the fallback price
        // needs a week without an accepted trade.
        let dead_feed = self.rng.chance(30);
        let wait = TIMEOUT + self.rng.range(1, 3_600) as i64 + if dead_feed { FEED_DEATH_SECS } else { 0 };
        self.v.ex.advance_clock(wait).await;
        self.log.push(format!("the matcher falls silent: clock +{wait}s, feeds dead: {dead_feed}"));
        let mut feeds_live = !dead_feed;
        if feeds_live {
            self.publish_prices().await?;
        }
        // Armed by anyone, completed a timeout later.
        for completing in [false, true] {
            if completing {
                self.v.ex.advance_clock(TIMEOUT).await;
                if feeds_live {
                    self.publish_prices().await?;
                }
            }
            for market in MARKETS {
                // The griefer may have wound it down, or armed it early enough
                // that the first call completes.
                if self.v.ex.load::<Market>(pda::market(market)).await.is_wound_down() {
                    continue;
                }
                let mut r = self.v.wind_down(market).await;
                self.note("wind_down_market", format!("market {market}, completing: {completing}"), &r);
                let snapshot = self.v.ex.snapshot().await;
                let never_priced = snapshot.shards.iter().all(|s| s.markets[usize::from(market)].last_oracle_at == 0);
                let stale = r.as_ref().err().and_then(error_code) == Some(u32::from(ClearshardError::StaleOracle));
                if !completing && !feeds_live && never_priced && stale {
                    // No trade ever accepted a price: the market waits for its feed.
                    feeds_live = true;
                    self.publish_prices().await?;
                    r = self.v.wind_down(market).await;
                    self.note("wind_down_market", format!("market {market}, feed back"), &r);
                }
                r.map_err(|e| format!("silent market {market} was not wound down (completing: {completing}): {e:?}"))?;
            }
        }
        for market in MARKETS {
            if !self.v.ex.load::<Market>(pda::market(market)).await.is_wound_down() {
                return Err(format!("market {market} armed and completed but not wound down"));
            }
        }
        let mut open = vec![];
        for (i, actor) in self.actors.iter().enumerate() {
            let Some(margin) = self.v.ex.margin_if_open(actor.account.address).await else { continue };
            open.extend(MARKETS.iter().filter(|m| margin.portfolio.position(**m).is_some()).map(|m| (i, *m)));
        }
        let mut touched = vec![];
        while !open.is_empty() {
            let (i, market) = open.swap_remove(self.rng.range(0, open.len() as u64) as usize);
            let account = &self.actors[i].account;
            let (address, shard) = (account.address, account.shard);
            let before = self.v.ex.margin(address).await.portfolio;
            let r = self.v.ex.send_fresh(&[ix::close_at_settlement(address, shard, market)], &[]).await;
            self.note("close_at_settlement", format!("account {i}, market {market}"), &r);
            r.map_err(|e| format!("closing account {i} in wound-down market {market}: {e:?}"))?;
            touched.push(address);
            let price = self.v.ex.load::<Market>(pda::market(market)).await.settlement_price;
            let after = self.v.ex.margin(address).await.portfolio;
            Self::check_close_records(&before, &after, market, price).map_err(|e| format!("account {i}: {e}"))?;
            let totals = self.v.ex.snapshot().await.totals();
            if !totals.conserved() {
                return Err(format!("conservation broken after closing account {i}: {totals:?}"));
            }
        }
        let snapshot = self.v.ex.snapshot().await;
        for market in MARKETS {
            let m = &snapshot.markets[usize::from(market)];
            let oi = snapshot.shards.iter().map(|s| s.open_interest(market)).any(|oi| oi.long != 0 || oi.short != 0);
            // What the book keeps is the settlement pool: the gains held
            // (nothing is paid out of it before the market is final).
            if (m.wind_down_lots, m.wind_down_cash) != (0, m.gains_held as i64) || m.is_final() || oi {
                return Err(format!("market {market} closed out but its book or open interest is not the pool"));
            }
        }
        Ok(touched)
    }

    /// What a close at `price` must book, whatever the order of closes: its
    /// PnL against cost basis, a gain held and a loss recorded in full,
    /// every record forgotten once the account is flat and solvent.
    fn check_close_records(before: &Portfolio, after: &Portfolio, market: u16, price: u64) -> Result<(), String> {
        let position = before.position(market).ok_or("closed a position it did not hold")?;
        let pnl = i128::from(position.base_lots) * i128::from(price) - i128::from(position.cost_basis);
        let mut records = before.liquidation_losses;
        records[usize::from(market)] += u64::try_from((-pnl).max(0)).map_err(|e| e.to_string())?;
        if !after.has_open_positions() && after.collateral >= 0 {
            records = [0; MAX_MARKETS];
        }
        let held = after.settlement_gain(market) - before.settlement_gain(market);
        if after.liquidation_losses != records || i128::from(held) != pnl.max(0) {
            return Err(format!(
                "closing market {market} at {price} (PnL {pnl}) recorded {:?} and held {held}; the rule says {records:?} and {}",
                after.liquidation_losses,
                pnl.max(0)
            ));
        }
        Ok(())
    }

    /// After a wind-down and every close, anyone resolves what is left:
    /// each bankrupt account is covered (its deficit where it arose in a
    /// wound-down market registered against that pool), each loss record
    /// left is cleared; every market is made final, and every gain and
    /// recovery is paid at the rates fixed then. Then each owner not left
    /// in debt withdraws its whole collateral (once the keeper rebalanced).
    /// A deficit no market can carry is the insurance fund's debt to the
    /// shard, repaid by the fund's income first: until then owners may fall
    /// short, by no more in all than those debts (and any account's debt
    /// left), and take what their shard's vault holds beyond the venue's
    /// fees and the fund's share.
    pub(super) async fn every_owner_withdraws_everything(&mut self) -> Result<(), String> {
        self.settle_the_pools().await?;
        self.keeper_rebalances().await?;
        let snapshot = self.v.ex.snapshot().await;
        let debts: i128 =
            snapshot.margins.iter().map(|(_, m)| i128::from(m.portfolio.collateral.min(0)).abs()).sum::<i128>()
                + snapshot.shards.iter().map(|s| i128::from(s.insurance_debt)).sum::<i128>();
        let mut short: i128 = 0;
        for i in 0..self.actors.len() {
            let account = &self.actors[i].account;
            let Some(margin) = self.v.ex.margin_if_open(account.address).await else { continue };
            let Ok(amount) = u64::try_from(margin.portfolio.collateral) else { continue };
            if amount == 0 {
                continue;
            }
            let (trader, address, shard) = (trader(account), account.address, account.shard);
            let r = self.v.ex.withdraw(&trader, address, shard, amount, &[]).await;
            self.note("withdraw everything", format!("account {i}: {amount}"), &r);
            let shortfall: u32 = ClearshardError::VaultShortfall.into();
            match r {
                Ok(()) => {}
                Err(e) if debts > 0 && error_code(&e) == Some(shortfall) => {
                    let state = self.v.ex.shard(shard).await;
                    let venue_share = state.fees().unwrap_or(0).max(0) as u64 + state.insurance_owed;
                    let held = self.v.ex.token_balance(pda::vault(shard)).await.saturating_sub(venue_share);
                    let take = held.min(amount);
                    if take > 0 {
                        let r = self.v.ex.withdraw(&trader, address, shard, take, &[]).await;
                        self.note("withdraw what is there", format!("account {i}: {take} of {amount}"), &r);
                        r.map_err(|e| format!("account {i} could not withdraw the {take} its vault holds: {e:?}"))?;
                    }
                    short += i128::from(amount - take);
                }
                Err(e) => {
                    return Err(format!("account {i} could not withdraw its {amount} after the wind-down: {e:?}"))
                }
            }
        }
        self.tally.entry("owners short by the fund's debt").or_default().0 += 1;
        if short > 0 {
            self.tally.entry("owners short by the fund's debt").or_default().1 += 1;
        }
        if short > debts {
            return Err(format!("owners fell {short} short after the wind-down, beyond the {debts} left in debt"));
        }
        Ok(())
    }

    async fn settle_the_pools(&mut self) -> Result<(), String> {
        for i in 0..self.actors.len() {
            let (address, shard) = (self.actors[i].account.address, self.actors[i].account.shard);
            let Some(margin) = self.v.ex.margin_if_open(address).await else { continue };
            let p = margin.portfolio;
            let arose: Vec<u16> = p.loss_markets().map(|(m, _)| m).collect();
            if arose.is_empty() {
                continue;
            }
            let (kind, ix) = match bankruptcy_deficit(&p) {
                Ok(_) => ("socialize_loss", ix::socialize_loss(address, shard, &arose, SHARDS)),
                Err(_) => ("clear_loss_record", ix::clear_loss_record(address, shard, &[])),
            };
            let r = self.v.ex.send_fresh(&[ix], &[]).await;
            self.note(kind, format!("account {i} after the wind-down"), &r);
            r.map_err(|e| format!("{kind} of account {i} after every close: {e:?}"))?;
            self.check_books(kind).await?;
        }
        for market in MARKETS {
            let r = self.v.finalize_wind_down(market).await;
            self.note("finalize_wind_down", format!("market {market}"), &r);
            r.map_err(|e| format!("market {market} not final once resolved: {e:?}"))?;
        }
        for i in 0..self.actors.len() {
            let (address, shard) = (self.actors[i].account.address, self.actors[i].account.shard);
            for market in MARKETS {
                let Some(margin) = self.v.ex.margin_if_open(address).await else { continue };
                let p = margin.portfolio;
                let (gain, recovery) = (p.settlement_gain(market), p.settlement_recovery(market));
                if gain == 0 && recovery == 0 {
                    continue;
                }
                let m = self.v.ex.load::<Market>(pda::market(market)).await;
                let r = self.v.ex.send_fresh(&[ix::claim_settlement_gain(address, shard, market)], &[]).await;
                self.note("claim_settlement_gain", format!("account {i}, market {market}: {gain} + {recovery}"), &r);
                r.map_err(|e| format!("account {i} could not claim in final market {market}: {e:?}"))?;
                let paid = self.v.ex.margin(address).await.portfolio.collateral - p.collateral;
                let rule = |face, pool, faces| gain_payout(face, pool, faces).map_err(|e| format!("{e:?}"));
                let gain_paid = rule(gain, m.payout_pool, m.payout_faces)?;
                let to_fund = gain_paid.min(p.pledged_to_fund);
                let expected = gain_paid - to_fund + rule(recovery, m.recovery_pool, m.recovery_faces)?;
                if paid != expected as i64 {
                    return Err(format!("account {i} was paid {paid} in market {market}, the rule says {expected}"));
                }
                self.check_books("claim_settlement_gain").await?;
            }
        }
        Ok(())
    }
}
