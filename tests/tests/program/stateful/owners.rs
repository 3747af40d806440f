//! The stateful suite's owners: collateral in and out and between their
//! accounts, their limits, their exit requests.

use super::*;

impl World {
    /// An owner deposits, withdraws, moves collateral between its accounts, or
    /// donates to the insurance fund.
    pub(super) async fn collateral(&mut self) -> Result<Vec<Pubkey>, String> {
        let i = self.rng.range(0, self.actors.len() as u64) as usize;
        let account = &self.actors[i].account;
        let owner = trader(account);
        let (address, shard) = (account.address, account.shard);
        let collateral = self.v.ex.margin(address).await.portfolio.collateral.max(0) as u64;
        match self.rng.range(0, 4) {
            3 => {
                // A donation to the insurance fund: it must block nothing.
                let ix = ix::deposit_insurance(owner.key(), owner.token_account, self.rng.range(0, 3));
                let r = self.v.ex.send(&[ix], &[&owner.keypair]).await;
                self.note("deposit_insurance", format!("from {i}"), &r);
                Ok(vec![])
            }
            0 => {
                let wallet = self.v.ex.token_balance(owner.token_account).await;
                let amount = self.rng.range(1, wallet.max(1) + 1);
                let r = self.v.ex.deposit(&owner, address, shard, amount).await;
                self.note("deposit", format!("{amount} to {i}"), &r);
                Ok(vec![])
            }
            1 => {
                let amount = self.rng.range(1, collateral * 6 / 5 + 2);
                let r = self.v.ex.withdraw(&owner, address, shard, amount, &MARKETS).await;
                self.note("withdraw", format!("{amount} from {i}"), &r);
                Ok(if r.is_ok() { vec![address] } else { vec![] })
            }
            _ => {
                let own: Vec<usize> = (0..self.actors.len())
                    .filter(|j| *j != i && self.actors[*j].account.trader.key() == owner.key())
                    .collect();
                let Some(j) = own.first().copied() else { return Ok(vec![]) };
                let to = (self.actors[j].account.address, self.actors[j].account.shard);
                let amount = self.rng.range(1, collateral * 6 / 5 + 2);
                let r = self.v.ex.transfer(&owner, (address, shard), to, amount, &MARKETS).await;
                self.note("transfer_collateral", format!("{amount} from {i} to {j}"), &r);
                // The source settles its positions; the destination is only credited, like a deposit.
                Ok(if r.is_ok() { vec![address] } else { vec![] })
            }
        }
    }

    /// An honest owner tightens or loosens its limits, budget included.
    pub(super) async fn limits(&mut self) -> Result<Vec<Pubkey>, String> {
        if self.rng.chance(30) {
            return self.toggle_exit().await;
        }
        let i = *self.rng.pick(&self.traders());
        let now = self.v.ex.now().await;
        let limits = MatcherLimits {
            max_lots_per_fill: self.rng.range(1, 80),
            max_position_lots: self.rng.range(1, 500),
            max_adverse_cost: self.rng.range(0, 10) * USDC,
            window_secs: self.rng.range(1, 600) as u32,
            ..open_limits(now)
        };
        let account = &self.actors[i].account;
        let (owner, address) = (trader(account), account.address);
        let r = self.v.ex.set_limits(&owner, address, limits).await;
        self.note("set_matcher_limits", format!("account {i}"), &r);
        Ok(vec![])
    }

    /// An honest owner asks to exit, or withdraws its request: from then on
    /// the matcher's random batches may only shrink the account.
    pub(super) async fn toggle_exit(&mut self) -> Result<Vec<Pubkey>, String> {
        let i = *self.rng.pick(&self.with_role(Role::Honest));
        let account = &self.actors[i].account;
        let (owner, address) = (trader(account), account.address);
        let requested = !self.v.ex.margin(address).await.portfolio.is_exiting();
        let r = self.v.ex.send_fresh(&[ix::request_exit(owner.key(), address, requested)], &[&owner.keypair]).await;
        self.note("request_exit", format!("account {i}, requested: {requested}"), &r);
        r.map_err(|e| format!("account {i}'s owner could not set its exit request to {requested}: {e:?}"))?;
        // A request books nothing: its positions keep the indexes of their
        // last booking (seed 1592598146 counted it as one).
        Ok(vec![])
    }
}
