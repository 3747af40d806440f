//! The stateful suite's market events and keepers: price moves and stale
//! oracles, funding rounds at random moments, liquidations, bankruptcies
//! and rebalances.

use super::*;

impl World {
    /// A market moves; now and then the clock runs, sometimes past
    /// the oracles' staleness.
    pub(super) async fn price_move(&mut self) -> Result<Vec<Pubkey>, String> {
        if self.rng.chance(30) {
            // Now and then half a funding epoch, so rounds set rates and
            // positions pay them; prices are then published afresh.
            let seconds = match self.rng.range(0, 20) {
                0..=2 => 61,
                3 => FUNDING_PERIOD_SECS / 2,
                _ => self.rng.range(1, 30) as i64,
            };
            self.v.ex.advance_clock(seconds).await;
            self.log.push(format!("clock +{seconds}s"));
            if seconds == 61 {
                return Ok(vec![]);
            }
        }
        let slot = self.rng.range(0, 2) as usize;
        // Mostly up to 10%, now and then a gap of up to 20%.
        let size = if self.rng.chance(20) { 200 } else { 100 };
        self.prices[slot] =
            (self.prices[slot] + self.rng.range(0, 2 * size + 1) as i64 - size as i64).clamp(500, 1_500);
        self.publish_prices().await?;
        Ok(vec![])
    }

    pub(super) async fn publish_prices(&mut self) -> Result<(), String> {
        for (slot, start) in [BTC_PRICE, ETH_PRICE].iter().enumerate() {
            let r = self.v.ex.set_price(MARKETS[slot], start * self.prices[slot] / 1_000, 0, PRICE_EXPO).await;
            r.map_err(|e| format!("set_price: {e:?}"))?;
        }
        self.log.push(format!("prices {:?}", self.prices));
        Ok(())
    }

    /// A page of the funding round: the right one, or one a griefer chose.
    pub(super) async fn funding(&mut self) -> Result<Vec<Pubkey>, String> {
        let market = MARKETS[self.rng.range(0, 2) as usize];
        let round = self.v.ex.load::<Market>(pda::market(market)).await.funding;
        // A round reads the epoch that just ended; one left from before starts over.
        let next = if round.round_epoch == epoch_of(self.v.ex.now().await) - 1 { round.next_shard } else { 0 };
        let end = self.rng.range(u64::from(next) + 1, u64::from(SHARDS) + 1) as u16;
        let mut shards: Vec<u16> = (next..end).collect();
        let steered = self.rng.chance(25);
        if steered {
            match self.rng.range(0, 3) {
                0 => shards.push(*shards.last().unwrap_or(&0)),
                1 => shards.reverse(),
                _ => shards = vec![self.rng.range(0, u64::from(SHARDS)) as u16],
            }
        }
        let r = self.v.ex.send(&[ix::update_funding(market, &shards)], &[]).await;
        let kind = if steered { "funding (chosen shards)" } else { "funding" };
        self.note(kind, format!("market {market} shards {shards:?}"), &r);
        Ok(vec![])
    }

    /// The liquidator on a trader, or one of the pair on the other, sized by
    /// the engine's own math (now and then one lot too many, or a piece of
    /// it). Like a bot, it mostly goes for an account the math says is
    /// liquidatable, and it chooses the order of markets: it often takes a
    /// piece of one, then goes for another where the account is under water
    /// too. Every liquidation's loss records must be where the loss arose.
    pub(super) async fn liquidation(&mut self) -> Result<Vec<Pubkey>, String> {
        let risk = self.v.ex.risk_markets(&MARKETS).await;
        let pair = self.with_role(Role::Pair);
        let (mut candidates, mut elsewhere) = (vec![], vec![]);
        for i in self.traders().into_iter().chain(pair.iter().copied()) {
            let portfolio = self.v.ex.margin(self.actors[i].account.address).await.portfolio;
            for market in MARKETS {
                if let Ok(lots) = liquidatable_lots(&portfolio, &risk, market) {
                    candidates.push((i, market, lots));
                    // A loss already recorded in another market: the order
                    // of markets is the liquidator's choice (round two, F2).
                    let others = portfolio.loss_markets().any(|(m, _)| m != market);
                    if others {
                        elsewhere.push((i, market, lots));
                    }
                }
            }
        }
        let (liqee, market, allowed) = match (candidates.is_empty() || self.rng.chance(20), elsewhere.is_empty()) {
            (false, false) if self.rng.chance(60) => *self.rng.pick(&elsewhere),
            (false, _) => *self.rng.pick(&candidates),
            (true, _) => {
                (self.rng.range(0, self.actors.len() as u64) as usize, MARKETS[self.rng.range(0, 2) as usize], 0)
            }
        };
        let liqor = match self.actors[liqee].role {
            // The pair liquidates only each other, so that its positions stay opposite.
            Role::Pair => *pair
                .iter()
                .find(|j| self.actors[**j].account.trader.key() != self.actors[liqee].account.trader.key())
                .ok_or("pair")?,
            _ => self.with_role(Role::Liquidator)[0],
        };
        let lots = match allowed {
            0 => self.rng.range(1, 50),
            // A piece: the account stays under water, and the liquidator
            // picks the market of the next.
            n if self.rng.chance(30) => self.rng.range(1, n + 1),
            n if self.rng.chance(90) => n,
            n => n + 1,
        };
        let before = self.v.ex.margin(self.actors[liqee].account.address).await.portfolio;
        let (a, b) = (&self.actors[liqee].account, &self.actors[liqor].account);
        let r = self.v.liquidate(b, a, market, lots, &MARKETS).await;
        let touched = vec![a.address, b.address];
        self.note("liquidate", format!("{lots} lots of market {market}"), &r);
        if r.is_ok() {
            let after = self.v.ex.margin(touched[0]).await.portfolio;
            let risk = self.v.ex.risk_markets(&MARKETS).await;
            liquidation_records_where_lost(&before, &after, market, &risk)?;
            // Now and then the admin pauses withdrawals on the shard that
            // just booked the fund's share of the fee: a rebalance naming it
            // must not pay that out (round two, F8).
            if self.rng.chance(30) {
                self.set_pause(Some(self.actors[liqee].account.shard), PAUSE_WITHDRAWALS).await?;
            }
            // A keeper covers a bankruptcy as soon as it arises, so that
            // losses are often socialized while the fund's shares sit in
            // other shards (round two, F5).
            if !after.has_open_positions() && after.collateral < 0 && self.rng.chance(50) {
                // A bot sweeps the crash first: every other liquidatable
                // account, whose fees leave the fund's share on its shard.
                let risk = self.v.ex.risk_markets(&MARKETS).await;
                let bot = self.with_role(Role::Liquidator)[0];
                for i in self.traders().into_iter().filter(|i| *i != liqee) {
                    let portfolio = self.v.ex.margin(self.actors[i].account.address).await.portfolio;
                    for market in MARKETS {
                        if let Ok(lots) = liquidatable_lots(&portfolio, &risk, market) {
                            let (a, b) = (&self.actors[i].account, &self.actors[bot].account);
                            let r = self.v.liquidate(b, a, market, lots, &MARKETS).await;
                            self.note("liquidate (sweep)", format!("{lots} lots of market {market}"), &r);
                        }
                    }
                }
                let arose: Vec<u16> = after.loss_markets().map(|(m, _)| m).collect();
                self.cover(liqee, true, &arose).await?;
                // A loss index may have moved since the two were touched.
                return Ok(vec![]);
            }
        }
        Ok(if r.is_ok() { touched } else { vec![] })
    }

    /// Anyone resolves or socializes any account's deficit, on any market.
    pub(super) async fn bankruptcy(&mut self) -> Result<Vec<Pubkey>, String> {
        let mut bankrupt = vec![];
        for (i, actor) in self.actors.iter().enumerate() {
            let portfolio = self.v.ex.margin(actor.account.address).await.portfolio;
            if !portfolio.has_open_positions() && portfolio.collateral < 0 {
                bankrupt.push(i);
            }
        }
        let i = match bankrupt.is_empty() || self.rng.chance(20) {
            false => *self.rng.pick(&bankrupt),
            true => self.rng.range(0, self.actors.len() as u64) as usize,
        };
        let address = self.actors[i].account.address;
        // Mostly the markets where the loss arose; now and then a griefer's pick.
        let arose: Vec<u16> = self.v.ex.margin(address).await.portfolio.loss_markets().map(|(m, _)| m).collect();
        let markets = if self.rng.chance(75) { arose } else { vec![MARKETS[self.rng.range(0, 2) as usize]] };
        let socialize = self.rng.chance(50);
        self.cover(i, socialize, &markets).await?;
        Ok(vec![])
    }

    /// `resolve_bankruptcy`, or `socialize_loss` naming `markets`, on actor
    /// `i`; a socialization must land only where the account recorded its
    /// losses.
    async fn cover(&mut self, i: usize, socialize: bool, markets: &[u16]) -> Result<(), String> {
        let (address, shard) = (self.actors[i].account.address, self.actors[i].account.shard);
        let before = self.v.ex.margin(address).await.portfolio;
        let (kind, ix) = match socialize {
            false => ("resolve_bankruptcy", ix::resolve_bankruptcy(address, shard)),
            true => ("socialize_loss", ix::socialize_loss(address, shard, markets, SHARDS)),
        };
        let snapshot = self.v.ex.snapshot().await;
        let (indexes, lots) = (loss_indexes(&snapshot), open_lots(&snapshot));
        let r = self.v.ex.send(&[ix], &[]).await;
        self.note(kind, format!("account {i}"), &r);
        if r.is_ok() {
            socialized_where_recorded(&indexes, &lots, &before.liquidation_losses, &self.v.ex.snapshot().await)?;
        }
        if r.is_ok() && self.actors[i].role == Role::Pair {
            let after = self.v.ex.margin(address).await.portfolio.collateral;
            self.pair_covered += i128::from(after - before.collateral);
        }
        Ok(())
    }

    /// Anyone rebalances any pair of vaults; no vault may end below its
    /// reserve unless it already was, nor above it by what it received.
    pub(super) async fn rebalance(&mut self) -> Result<Vec<Pubkey>, String> {
        let (mut from, mut to) =
            (self.rng.range(0, u64::from(SHARDS)) as u16, self.rng.range(0, u64::from(SHARDS)) as u16);
        if self.rng.chance(70) {
            // A keeper: from the vault most above its reserve to the one most below.
            let mut surplus = vec![];
            for shard in 0..SHARDS {
                surplus.push((self.v.ex.vault_surplus(shard).await, shard));
            }
            from = surplus.iter().max().map_or(from, |s| s.1);
            to = surplus.iter().min().map_or(to, |s| s.1);
        }
        // Now and then into a shard whose withdrawals are paused: its vault
        // must pay nothing out, not even the insurance fund (round two, F8).
        let now = self.v.ex.now().await;
        let paused: Vec<u16> = (0..SHARDS).filter(|i| self.pauses.live(*i, now) & PAUSE_WITHDRAWALS != 0).collect();
        if !paused.is_empty() && self.rng.chance(40) {
            to = *self.rng.pick(&paused);
        }
        let kind = match paused.contains(&to) {
            true if self.v.ex.snapshot().await.shards[usize::from(to)].insurance_owed > 0 => {
                "rebalance into a paused shard the fund holds a share of"
            }
            _ => "rebalance_vaults",
        };
        let markets: &[u16] = if self.rng.chance(85) { &MARKETS } else { &MARKETS[..1] };
        let before = (self.v.ex.vault_surplus(from).await, self.v.ex.vault_surplus(to).await);
        let r = self.v.ex.send(&[ix::rebalance_vaults(from, to, markets)], &[]).await;
        self.note(kind, format!("{from} -> {to} with {markets:?}"), &r);
        if r.is_ok() {
            let after = (self.v.ex.vault_surplus(from).await, self.v.ex.vault_surplus(to).await);
            if after.0 < before.0.min(0) {
                return Err(format!("rebalance took vault {from} below its reserve: {before:?} -> {after:?}"));
            }
            if after.1 > before.1.max(0) {
                return Err(format!("rebalance overfilled vault {to}: {before:?} -> {after:?}"));
            }
        }
        Ok(vec![])
    }
}
