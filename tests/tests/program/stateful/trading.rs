//! The stateful suite's batches: honest traders, the maker, leverage-up
//! fills, the self-dealing pair (through the matcher and with none) and the
//! malicious matcher's replays and sequences out of order.

use super::*;

impl World {
    /// Posts `fills` among the actors `members` (account index = position in
    /// `members`) on their shard, or as a cross batch when they span two.
    pub(super) async fn batch(&mut self, kind: &'static str, members: &[usize], fills: &[Fill]) -> Vec<Pubkey> {
        let accounts: Vec<&Account> = members.iter().map(|i| &self.actors[*i].account).collect();
        let addresses: Vec<Pubkey> = accounts.iter().map(|a| a.address).collect();
        let lo = accounts.iter().map(|a| a.shard).min().unwrap_or(0);
        let hi = accounts.iter().map(|a| a.shard).max().unwrap_or(0);
        let window = self.v.sequence_window(lo).await;
        let (sequence, landing) = pick_sequence(&mut self.rng, &window);
        let plan = plan(sequence, &MARKETS, &accounts, fills);
        let matcher = self.v.matcher.pubkey();
        let ix = if lo == hi {
            ix::settle_batch(matcher, lo, &plan)
        } else {
            ix::settle_cross_batch(matcher, lo, hi, &plan)
        };
        let (risk, now) = (self.v.ex.risk_markets(&MARKETS).await, self.v.ex.now().await);
        let settled = self.send_batch(kind, ix, addresses, lo).await;
        if !settled.is_empty() {
            for f in fills {
                let market = &risk[usize::from(f.market_slot)];
                let price = u64::from(f.price_ticks) * market.params.tick_size;
                self.funding.fill(market.id, now, u64::from(f.quantity_lots), price, market.oracle_price);
            }
        }
        if let Some(landing) = landing {
            let r = if settled.is_empty() { Err(BanksClientError::ClientError("refused")) } else { Ok(()) };
            self.note(landing, format!("sequence {sequence} at {window:?}"), &r);
        }
        settled
    }

    pub(super) async fn send_batch(
        &mut self,
        kind: &'static str,
        ix: Instruction,
        accounts: Vec<Pubkey>,
        shard: u16,
    ) -> Vec<Pubkey> {
        let matcher = self.v.matcher.insecure_clone();
        let r = self.v.ex.send(std::slice::from_ref(&ix), &[&matcher]).await;
        self.note(kind, format!("{} accounts", accounts.len()), &r);
        if r.is_ok() {
            self.last_batch = Some((ix, shard));
            return accounts;
        }
        vec![]
    }

    /// The matcher's batch of random fills among traders on one or two shards.
    pub(super) async fn honest_batch(&mut self) -> Result<Vec<Pubkey>, String> {
        let traders = self.traders();
        let a = self.actors[*self.rng.pick(&traders)].account.shard;
        let b = if self.rng.chance(25) { self.actors[*self.rng.pick(&traders)].account.shard } else { a };
        let pool: Vec<usize> =
            traders.iter().copied().filter(|i| [a, b].contains(&self.actors[*i].account.shard)).collect();
        if pool.len() < 2 {
            return Ok(vec![]);
        }
        let mut members: Vec<usize> = vec![];
        let mut fills = vec![];
        for _ in 0..self.rng.range(1, 6) {
            let taker = *self.rng.pick(&pool);
            let maker = *self.rng.pick(&pool);
            if taker == maker {
                continue;
            }
            let slot = self.rng.range(0, 2) as usize;
            let ticks = self.oracle_ticks(slot) as i64 * (1_000 + self.rng.range(0, 121) as i64 - 60) / 1_000;
            let index = |members: &mut Vec<usize>, i: usize| {
                members.iter().position(|m| *m == i).unwrap_or_else(|| {
                    members.push(i);
                    members.len() - 1
                }) as u8
            };
            let (t, m) = (index(&mut members, taker), index(&mut members, maker));
            fills.push(fill(t, m, slot as u8, self.rng.chance(50), self.rng.range(1, 60) as u32, ticks as u32));
        }
        if fills.is_empty() {
            return Ok(vec![]);
        }
        if self.rng.chance(10) {
            // A bystander no fill touches.
            if let Some(extra) = pool.iter().find(|i| !members.contains(i)) {
                members.push(*extra);
            }
        }
        Ok(self.batch("honest batch", &members, &fills).await)
    }

    /// The matcher takes an account to (almost) full leverage at the oracle:
    /// a trader against a maker account, or one of the pair against the
    /// other, so that price moves make liquidations and bankruptcies.
    pub(super) async fn leverage_up(&mut self) -> Result<Vec<Pubkey>, String> {
        let (taker, maker) = if self.rng.chance(70) {
            (*self.rng.pick(&self.with_role(Role::Honest)), *self.rng.pick(&self.with_role(Role::Maker)))
        } else {
            let pair = self.with_role(Role::Pair);
            (pair[self.rng.range(0, 2) as usize], pair[self.rng.range(2, 4) as usize])
        };
        let slot = self.rng.range(0, 2) as usize;
        let risk = self.v.ex.risk_markets(&MARKETS).await;
        let mut portfolio = self.v.ex.margin(self.actors[taker].account.address).await.portfolio;
        if portfolio.settle_funding(&risk[..]).is_err() {
            return Ok(vec![]);
        }
        let Ok(health) = portfolio.health(&risk[..]) else { return Ok(vec![]) };
        // Initial margin (10%) and taker fee (0.05%) per lot, with a little room.
        let per_lot = i128::from(risk[slot].oracle_price) * 1_006 / 10_000;
        let lots = (health.initial * 99 / 100 / per_lot.max(1)).clamp(0, 200_000) as u32;
        if lots == 0 {
            return Ok(vec![]);
        }
        let f = fill(0, 1, slot as u8, self.rng.chance(50), lots, self.oracle_ticks(slot));
        Ok(self.batch("leverage up", &[taker, maker], &[f]).await)
    }

    /// The self-dealing pair trades with itself at the oracle.
    pub(super) async fn pair_batch(&mut self) -> Result<Vec<Pubkey>, String> {
        let pair = self.with_role(Role::Pair);
        let x = pair[self.rng.range(0, 2) as usize];
        let y = pair[self.rng.range(2, 4) as usize];
        let slot = self.rng.range(0, 2) as usize;
        let f = fill(0, 1, slot as u8, self.rng.chance(50), self.rng.range(1, 80) as u32, self.oracle_ticks(slot));
        Ok(self.batch("pair batch", &[x, y], &[f]).await)
    }

    /// The pair's owners sign a trade with no matcher (`settle_owner_trade`)
    /// at a price up to 6% from the oracle (the band's edge and just past
    /// it), or one owner washes between its two accounts. Off the book: the
    /// funding reference never sees it, so a round that counted it would fail.
    pub(super) async fn owner_trade(&mut self) -> Result<Vec<Pubkey>, String> {
        let pair = self.with_role(Role::Pair);
        let (mut x, y) = match self.rng.range(0, 3) {
            0 => (pair[0], pair[1]),
            _ => (pair[self.rng.range(0, 2) as usize], pair[self.rng.range(2, 4) as usize]),
        };
        let cut = self.rng.chance(30);
        if cut && y != pair[1] {
            // The weaker of the first owner's accounts gives.
            let risk = self.v.ex.risk_markets(&MARKETS).await;
            let mut weakest = i128::MAX;
            for i in [pair[0], pair[1]] {
                let health = self.v.ex.margin(self.actors[i].account.address).await.portfolio.health(&risk[..]);
                if let Some(h) = health.ok().filter(|h| h.initial < weakest) {
                    (weakest, x) = (h.initial, i);
                }
            }
        }
        let mut slot = self.rng.range(0, 2) as usize;
        let mut ticks = self.oracle_ticks(slot) as i64 * (1_000 + self.rng.range(0, 121) as i64 - 60) / 1_000;
        let (mut buys, mut lots) = (self.rng.chance(50), self.rng.range(1, 80) as u32);
        if cut {
            // The taker cuts its position at the band's far edge: value to its friend.
            let portfolio = self.v.ex.margin(self.actors[x].account.address).await.portfolio;
            if let Some(p) = portfolio.positions.iter().find(|p| p.is_open()) {
                slot = MARKETS.iter().position(|m| *m == p.market_id).unwrap_or(0);
                buys = p.base_lots < 0;
                lots = p.base_lots.unsigned_abs().clamp(1, 20) as u32;
                ticks = self.oracle_ticks(slot) as i64 * if buys { 1_049 } else { 951 } / 1_000;
            }
        }
        let (taker, maker) = (&self.actors[x].account, &self.actors[y].account);
        let r = self.v.owner_trade(taker, maker, MARKETS[slot], buys, lots, ticks as u32).await;
        let touched = vec![taker.address, maker.address];
        self.note("owner trade", format!("{lots} lots at {ticks} ticks"), &r);
        if r.is_err() {
            return Ok(vec![]);
        }
        // A side that traded worse than the oracle handed value over: it
        // must be left at initial margin, as a withdrawal would.
        let oracle = i64::from(self.oracle_ticks(slot));
        let giver = match (ticks.cmp(&oracle), buys) {
            (std::cmp::Ordering::Equal, _) => None,
            (std::cmp::Ordering::Greater, true) | (std::cmp::Ordering::Less, false) => Some(touched[0]),
            _ => Some(touched[1]),
        };
        if let Some(giver) = giver {
            let risk = self.v.ex.risk_markets(&MARKETS).await;
            let health = self.v.ex.margin(giver).await.portfolio.health(&risk[..]).map_err(|e| format!("{e:?}"))?;
            if health.initial < 0 {
                return Err(format!(
                    "an owner trade at {ticks} (oracle {oracle}) left giver {giver} below initial margin: {health:?}"
                ));
            }
        }
        if self.rng.chance(30) {
            // The positions carry the indexes of the trade's moment, checked
            // then: the clock is about to move on, into an epoch whose rate
            // they have not paid yet.
            let snapshot = self.v.ex.snapshot().await;
            for address in &touched {
                positions_carry_indexes(&snapshot, *address)?;
            }
            // The epoch ends soon after, so a round is likely to read it.
            let now = self.v.ex.now().await;
            let seconds = (epoch_of(now) + 1) * FUNDING_PERIOD_SECS + self.rng.range(1, 60) as i64 - now;
            self.v.ex.advance_clock(seconds).await;
            self.log.push(format!("clock +{seconds}s, into the next epoch"));
            self.publish_prices().await?;
            return Ok(vec![]);
        }
        Ok(touched)
    }

    /// The last accepted batch again, and the same batch with a sequence a
    /// whole window ahead or below the window.
    pub(super) async fn replay(&mut self) -> Result<Vec<Pubkey>, String> {
        let Some((last, shard)) = self.last_batch.clone() else { return Ok(vec![]) };
        let matcher = self.v.matcher.insecure_clone();
        let r = self.v.ex.send_fresh(std::slice::from_ref(&last), &[&matcher]).await;
        self.note("replayed batch", String::new(), &r);
        // A paused shard refuses before it looks at the sequence (a cross
        // batch, on a withdrawal or deposit pause of either shard too).
        let paused =
            [ClearshardError::SettlementPaused, ClearshardError::WithdrawalsPaused, ClearshardError::DepositsPaused];
        let refused_as = |r: &Result<(), BanksClientError>, expected: ClearshardError| {
            r.as_ref()
                .err()
                .and_then(error_code)
                .is_some_and(|c| c == u32::from(expected) || paused.map(u32::from).contains(&c))
        };
        if r.is_ok() {
            return Err("a replayed batch was accepted".into());
        }
        if !refused_as(&r, ClearshardError::BatchSequenceReplayed) {
            return Err(format!("a replay was refused with {r:?}, not BatchSequenceReplayed"));
        }
        // The same batch a whole window ahead, and (once the window has moved
        // that far) below it.
        let window = self.v.sequence_window(shard).await;
        let mut probes = vec![(window.next + SEQUENCE_WINDOW, ClearshardError::BatchSequenceBeyondWindow)];
        if let Some(old) = window.next.checked_sub(SEQUENCE_WINDOW + 1) {
            probes.push((old, ClearshardError::BatchSequenceTooOld));
        }
        for (sequence, expected) in probes {
            let mut probe = last.clone();
            probe.data[1..9].copy_from_slice(&sequence.to_le_bytes());
            let r = self.v.ex.send(&[probe], &[&matcher]).await;
            self.note("sequence outside the window", String::new(), &r);
            if r.is_ok() {
                return Err("a batch outside the window was accepted".into());
            }
            if !refused_as(&r, expected) {
                return Err(format!("sequence {sequence} at {window:?} was refused with {r:?}, not {expected:?}"));
            }
        }
        Ok(vec![])
    }
}

/// A batch's sequence: mostly the next one; now and then one further
/// ahead (leaving holes, as refused batches do) or an open hole below the
/// top (a batch landing out of order, within the window).
pub(super) fn pick_sequence(rng: &mut Rng, window: &SequenceWindow) -> (u64, Option<&'static str>) {
    let holes: Vec<u64> = (window.next.saturating_sub(SEQUENCE_WINDOW)..window.next)
        .filter(|s| window.status(*s) == SequenceStatus::Open)
        .collect();
    match rng.range(0, 100) {
        0..=11 => (window.next + rng.range(1, 8), Some("sequence ahead")),
        12..=35 if !holes.is_empty() => (*rng.pick(&holes), Some("sequence into a hole")),
        _ => (window.next, None),
    }
}
