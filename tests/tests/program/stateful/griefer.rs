//! The stateful suite's griefer: valid instructions with one account
//! swapped for another the program knows, and accounts booked at moments
//! of its choosing.

use super::*;

impl World {
    /// A valid instruction with one account swapped for another the program
    /// knows (never the pair's, whose positions must stay opposite).
    pub(super) async fn swapped_account(&mut self) -> Result<Vec<Pubkey>, String> {
        let traders = self.traders();
        let (a, b) = (*self.rng.pick(&traders), *self.rng.pick(&traders));
        let (aa, ba) = (&self.actors[a].account, &self.actors[b].account);
        let owner = trader(aa);
        let liquidator = trader(&self.actors[self.with_role(Role::Liquidator)[0]].account);
        let (ix, signer) = match self.rng.range(0, 6) {
            0 => (
                ix::liquidate(
                    &ix::LiquidationAccounts {
                        liquidator: liquidator.key(),
                        liqee: (aa.address, aa.shard),
                        liqor: (self.actors[self.with_role(Role::Liquidator)[0]].account.address, 0),
                    },
                    BTC,
                    self.rng.range(1, 30),
                    &MARKETS,
                ),
                Some(liquidator),
            ),
            1 => (ix::rebalance_vaults(aa.shard, ba.shard, &MARKETS), None),
            2 => (ix::resolve_bankruptcy(aa.address, aa.shard), None),
            3 => (ix::socialize_loss(aa.address, aa.shard, &[BTC], SHARDS), None),
            4 => (ix::withdraw(&self.v.ex.collateral_move(&owner, aa.address, aa.shard), USDC, &MARKETS), Some(owner)),
            _ => (
                ix::transfer_collateral(owner.key(), (aa.address, aa.shard), (ba.address, ba.shard), USDC, &MARKETS),
                Some(owner),
            ),
        };
        let mut ix = ix;
        let pool = self.known_addresses();
        let slot = self.rng.range(0, ix.accounts.len() as u64) as usize;
        let programs = [ix::token_program(), clearshard::ID, anchor_lang::system_program::ID];
        if ix.accounts[slot].is_signer || programs.contains(&ix.accounts[slot].pubkey) {
            return Ok(vec![]);
        }
        ix.accounts[slot].pubkey = *self.rng.pick(&pool);
        let signers: Vec<&solana_keypair::Keypair> = signer.iter().map(|t| &t.keypair).collect();
        let r = self.v.ex.send(&[ix], &signers).await;
        self.note("swapped account", format!("slot {slot}"), &r);
        Ok(vec![])
    }

    pub(super) fn known_addresses(&self) -> Vec<Pubkey> {
        let mut pool = vec![pda::exchange(), pda::insurance_vault(), pda::matcher(&self.v.matcher.pubkey())];
        for s in 0..SHARDS {
            pool.extend([pda::shard(s), pda::vault(s)]);
        }
        for m in MARKETS {
            pool.extend([pda::market(m), pda::price_feed(m)]);
        }
        for a in self.actors.iter().filter(|a| a.role != Role::Pair) {
            pool.extend([a.account.address, a.account.trader.token_account]);
        }
        pool
    }

    /// Anyone books an account's funding and loss, at a moment of its choosing.
    pub(super) async fn settle_account(&mut self) -> Result<Vec<Pubkey>, String> {
        let i = self.rng.range(0, self.actors.len() as u64) as usize;
        let (address, shard) = (self.actors[i].account.address, self.actors[i].account.shard);
        let r = self.settle_accruals(address, shard).await;
        self.note("settle_account", format!("account {i}"), &r);
        Ok(if r.is_ok() { vec![address] } else { vec![] })
    }

    /// `settle_account` on `address` with every market it holds.
    pub(super) async fn settle_accruals(&mut self, address: Pubkey, shard: u16) -> Result<(), BanksClientError> {
        let Some(margin) = self.v.ex.margin_if_open(address).await else {
            return Err(BanksClientError::ClientError("closed"));
        };
        let held: Vec<u16> = margin.portfolio.positions.iter().filter(|p| p.is_open()).map(|p| p.market_id).collect();
        self.v.ex.send_fresh(&[ix::settle_account(address, shard, &held)], &[]).await
    }
}
