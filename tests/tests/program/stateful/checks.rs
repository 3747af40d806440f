//! The stateful suite's checks: every invariant after every step, and at
//! the end of a case that every owner can leave.

use super::*;

impl World {
    /// The end of a case: the admin lifts every pause and publishes the
    /// prices again (a live venue); a keeper books every account's funding
    /// and loss, then rebalances from the vault most above its reserve to the
    /// one most below until nothing moves, at most once per pair of shards.
    /// Then every owner's equity must sit in its shard's vault: no
    /// configuration of positions may freeze an owner's exit.
    pub(super) async fn every_owner_can_leave(&mut self) -> Result<(), String> {
        for shard in 0..SHARDS {
            self.set_pause(Some(shard), 0).await?;
        }
        self.set_pause(None, 0).await?;
        for (slot, start) in [BTC_PRICE, ETH_PRICE].iter().enumerate() {
            let r = self.v.ex.set_price(MARKETS[slot], start * self.prices[slot] / 1_000, 0, PRICE_EXPO).await;
            r.map_err(|e| format!("set_price: {e:?}"))?;
        }
        for i in 0..self.actors.len() {
            let (address, shard) = (self.actors[i].account.address, self.actors[i].account.shard);
            let nothing_owed: u32 = ClearshardError::NothingToSettle.into();
            match self.settle_accruals(address, shard).await {
                Ok(()) | Err(BanksClientError::ClientError("closed")) => {}
                Err(e) if error_code(&e) == Some(nothing_owed) => {}
                Err(e) => return Err(format!("settle_account {i} refused: {e:?}")),
            }
        }
        self.keeper_rebalances().await?;
        let snapshot = self.v.ex.snapshot().await;
        let risk = self.v.ex.risk_markets(&MARKETS).await;
        let checked = vaults_cover_every_owner(&snapshot, &risk);
        self.tally.entry("every owner can leave").or_default().0 += 1;
        if checked.is_some() {
            self.tally.entry("every owner can leave").or_default().1 += 1;
        }
        checked.unwrap_or(Ok(()))
    }

    /// Conservation and every shard's and market's books, after `step`.
    pub(super) async fn check_books(&mut self, step: &str) -> Result<(), String> {
        let snapshot = self.v.ex.snapshot().await;
        let totals = snapshot.totals();
        if !totals.conserved() {
            return Err(format!("conservation broken after {step}: {totals:?}"));
        }
        shard_books_match_accounts(&snapshot).map_err(|e| format!("after {step}: {e}"))
    }

    /// A keeper rebalances from the vault most above its reserve to the one
    /// most below until nothing moves, at most once per pair of shards.
    pub(super) async fn keeper_rebalances(&mut self) -> Result<(), String> {
        for _ in 0..SHARDS * SHARDS {
            let mut surplus = vec![];
            for shard in 0..SHARDS {
                surplus.push((self.v.ex.vault_surplus(shard).await, shard));
            }
            let (Some(most), Some(least)) = (surplus.iter().max(), surplus.iter().min()) else { break };
            if most.0 <= 0 || least.0 >= 0 {
                break;
            }
            let r = self.v.ex.send_fresh(&[ix::rebalance_vaults(most.1, least.1, &MARKETS)], &[]).await;
            r.map_err(|e| format!("rebalance {} -> {} refused at {surplus:?}: {e:?}", most.1, least.1))?;
        }
        Ok(())
    }

    /// The pair's tokens, in wallets and in accounts at the oracle (pending
    /// funding and loss included), less what covered their bankruptcies.
    pub(super) async fn pair_value(&mut self, snapshot: &Snapshot) -> i128 {
        let risk = self.v.ex.risk_markets(&MARKETS).await;
        let mut value = -self.pair_covered;
        let mut wallets = vec![];
        for i in self.with_role(Role::Pair) {
            let account = &self.actors[i].account;
            let (address, wallet) = (account.address, account.trader.token_account);
            let Some((_, margin)) = snapshot.margins.iter().find(|(a, _)| *a == address) else { continue };
            let mut portfolio = margin.portfolio;
            portfolio.settle_funding(&risk[..]).expect("settle");
            // A settlement gain counts at face: the most it can pay.
            let held = i128::from(portfolio.settlement_gains_total().expect("gains"));
            value += portfolio.health(&risk[..]).expect("health").equity + held;
            if !wallets.contains(&wallet) {
                wallets.push(wallet);
                value += i128::from(self.v.ex.token_balance(wallet).await);
            }
        }
        value
    }

    /// Checks every invariant; returns the sequences, for the next step.
    pub(super) async fn check(
        &mut self,
        touched: &[Pubkey],
        sequences_before: &[[SequenceWindow; 16]],
    ) -> Result<Vec<[SequenceWindow; 16]>, String> {
        let snapshot = self.v.ex.snapshot().await;
        let totals = snapshot.totals();
        if !totals.conserved() {
            return Err(format!("conservation broken: {totals:?}"));
        }
        shard_books_match_accounts(&snapshot)?;
        let now = sequences(&snapshot);
        sequences_only_move_forward(sequences_before, &now)?;
        for address in touched {
            positions_carry_indexes(&snapshot, *address)?;
        }
        self.funding.check(&snapshot.markets)?;
        losses_socialized_only_with_an_empty_fund(&self.loss_indexes, self.fund_debt, &snapshot)?;
        (self.loss_indexes, self.fund_debt) = (loss_indexes(&snapshot), insurance_debt(&snapshot));
        let paused: Vec<bool> =
            (0..SHARDS).map(|i| self.pauses.live(i, snapshot.now) & PAUSE_WITHDRAWALS != 0).collect();
        let throughout: Vec<bool> =
            paused.iter().zip(&self.withdrawals_paused).map(|(now, was)| *now && *was).collect();
        paused_vaults_paid_nothing(&self.vaults, &throughout, &snapshot)?;
        (self.vaults, self.withdrawals_paused) = (snapshot.vaults.clone(), paused);
        exiting_accounts_only_shrink(&self.exiting, &snapshot)?;
        self.exiting = exiting_accounts(&snapshot);
        let value = self.pair_value(&snapshot).await;
        if value > self.pair_minted {
            return Err(format!("no free lunch: the pair holds {value}, put in {}", self.pair_minted));
        }
        Ok(now)
    }
}
