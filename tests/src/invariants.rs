//! Invariants the stateful tests check after every step, beyond conservation
//! (`Snapshot::totals`): every shard's books equal the sum of its accounts,
//! positions carry their market's indexes once touched, batch sequences
//! only move forward, and an account that asked to exit only shrinks. Each
//! reads one `Snapshot`.

use anchor_lang::prelude::Pubkey;
use clearshard::state::{MAX_MARKETS, MAX_MATCHERS};
use clearshard_client::bank::Snapshot;
use clearshard_engine::{Portfolio, RiskMarket, SequenceStatus, SequenceWindow, SEQUENCE_WINDOW};

/// Each shard's collateral claims, long and short open interest and count of
/// accounts with a loss recorded per market equal those of its margin
/// accounts; each market's settlement gains held, the sum of its accounts'.
pub fn shard_books_match_accounts(s: &Snapshot) -> Result<(), String> {
    let mut claims = vec![0i128; s.shards.len()];
    let mut long = vec![[0i128; MAX_MARKETS as usize]; s.shards.len()];
    let mut short = vec![[0i128; MAX_MARKETS as usize]; s.shards.len()];
    let mut recorded = vec![[0u64; MAX_MARKETS as usize]; s.shards.len()];
    let mut gains = [0u64; MAX_MARKETS as usize];
    for (_, margin) in &s.margins {
        let shard = usize::from(margin.shard);
        claims[shard] += i128::from(margin.portfolio.collateral);
        for (m, loss) in margin.portfolio.liquidation_losses.iter().enumerate() {
            recorded[shard][m] += u64::from(*loss > 0);
            gains[m] += margin.portfolio.settlement_gains[m];
        }
        for p in margin.portfolio.positions.iter().filter(|p| p.is_open()) {
            long[shard][usize::from(p.market_id)] += i128::from(p.base_lots.max(0));
            short[shard][usize::from(p.market_id)] += i128::from(p.base_lots.min(0).unsigned_abs());
        }
    }
    for (index, shard) in s.shards.iter().enumerate() {
        if i128::from(shard.collateral_claims) != claims[index] {
            return Err(format!("shard {index}: claims {} != accounts' {}", shard.collateral_claims, claims[index]));
        }
        for (m, market) in shard.markets.iter().enumerate() {
            let books = (i128::from(market.open_interest), i128::from(market.short_open_interest));
            let accounts = (long[index][m], short[index][m]);
            if books != accounts {
                return Err(format!("shard {index} market {m}: open interest {books:?} != accounts' {accounts:?}"));
            }
            if market.loss_records != recorded[index][m] {
                let counted = market.loss_records;
                return Err(format!(
                    "shard {index} market {m}: {counted} loss records, accounts hold {}",
                    recorded[index][m]
                ));
            }
        }
    }
    for market in &s.markets {
        if market.gains_held != gains[usize::from(market.id)] {
            return Err(format!(
                "market {}: {} gains held, accounts hold {}",
                market.id,
                market.gains_held,
                gains[usize::from(market.id)]
            ));
        }
    }
    Ok(())
}

/// Every open position of `account` settled to its market's current indexes
/// (true right after any instruction that touched the account).
pub fn positions_carry_indexes(s: &Snapshot, account: Pubkey) -> Result<(), String> {
    let Some((_, margin)) = s.margins.iter().find(|(a, _)| *a == account) else { return Ok(()) };
    for p in margin.portfolio.positions.iter().filter(|p| p.is_open()) {
        let market = &s.markets[usize::from(p.market_id)];
        let funding = market.funding.index_at(s.now).map_err(|e| format!("funding index: {e:?}"))?;
        if (p.funding_snapshot, p.loss_snapshot) != (funding, market.cumulative_loss) {
            return Err(format!(
                "{account}: position in market {} has snapshots ({}, {}), the market ({}, {})",
                p.market_id, p.funding_snapshot, p.loss_snapshot, funding, market.cumulative_loss
            ));
        }
    }
    Ok(())
}

/// Every shard's sequence window per matcher.
pub fn sequences(s: &Snapshot) -> Vec<[SequenceWindow; MAX_MATCHERS as usize]> {
    s.shards.iter().map(|shard| shard.sequences).collect()
}

/// Windows only move forward, and a sequence once used stays used: every
/// sequence used before that is still within the window is used after.
pub fn sequences_only_move_forward(
    before: &[[SequenceWindow; MAX_MATCHERS as usize]],
    after: &[[SequenceWindow; MAX_MATCHERS as usize]],
) -> Result<(), String> {
    for (shard, (b, a)) in before.iter().zip(after).enumerate() {
        for (matcher, (b, a)) in b.iter().zip(a).enumerate() {
            let forgotten = (0..SEQUENCE_WINDOW)
                .filter(|i| b.used & (1 << i) != 0)
                .map(|i| b.next - 1 - i)
                .find(|s| a.status(*s) == SequenceStatus::Open);
            if a.next < b.next || forgotten.is_some() {
                return Err(format!("shard {shard}, matcher {matcher}: window went from {b:?} to {a:?}"));
            }
        }
    }
    Ok(())
}

/// Every market's socialized-loss index.
pub fn loss_indexes(s: &Snapshot) -> Vec<i64> {
    s.markets.iter().map(|m| m.cumulative_loss).collect()
}

/// The insurance fund's debt to every shard (`Shard::insurance_debt`).
pub fn insurance_debt(s: &Snapshot) -> u64 {
    s.shards.iter().map(|shard| shard.insurance_debt).sum()
}

/// A loss index rose, or the fund's debt (`debt_before`: at the last check),
/// only while the whole insurance fund was spent: the insurance vault and
/// the fund's share in every shard are empty after it.
pub fn losses_socialized_only_with_an_empty_fund(before: &[i64], debt_before: u64, s: &Snapshot) -> Result<(), String> {
    let rose =
        loss_indexes(s).iter().zip(before).any(|(after, before)| after > before) || insurance_debt(s) > debt_before;
    let held_in_shards: u64 = s.shards.iter().map(|shard| shard.insurance_owed).sum();
    if rose && (s.insurance_tokens > 0 || held_in_shards > 0) {
        return Err(format!(
            "a loss was socialized while the fund held {} in its vault and {held_in_shards} in shards",
            s.insurance_tokens
        ));
    }
    Ok(())
}

/// Every owner can get out: each shard's vault holds at least the equity at
/// the oracle of each of its accounts, counted one by one, so whichever owner
/// withdraws first, the tokens are there; short, in all the shards, by no
/// more than the insurance fund owes them (`Shard::insurance_debt`, repaid by
/// the fund's income first). In all, not shard by shard: while an account
/// was under water its shard's reserve netted its deficit, so rebalancing
/// may have moved the hole to the shard its winners are on (README, the
/// fund's debt). Equity as booked: funding and
/// losses not yet settled into an account are not counted (the reserve does
/// not see them either; `docs/invariants.md` says so). Meaningful once
/// rebalancing has run to its end; `None` while some account is under water
/// (a bankrupt account's deficit is missing until it is resolved).
pub fn vaults_cover_every_owner(s: &Snapshot, markets: &[RiskMarket]) -> Option<Result<(), String>> {
    let mut owed = vec![0i128; s.shards.len()];
    for (_, margin) in &s.margins {
        let equity = margin.portfolio.health(markets).ok()?.equity;
        if equity < 0 {
            return None;
        }
        owed[usize::from(margin.shard)] += equity;
    }
    let debt: i128 = s.shards.iter().map(|shard| i128::from(shard.insurance_debt)).sum();
    let short: i128 = s.vaults.iter().zip(&owed).map(|(vault, owed)| (*owed - i128::from(*vault)).max(0)).sum();
    if short > debt {
        let (index, vault, owed) = s
            .vaults
            .iter()
            .zip(&owed)
            .enumerate()
            .map(|(i, (v, o))| (i, *v, *o))
            .find(|(_, v, o)| i128::from(*v) < *o)?;
        return Some(Err(format!(
            "after rebalancing, vault {index} holds {vault} but its accounts' equity is {owed}: owners are short \
             {short} in all, the fund owes {debt}"
        )));
    }
    Some(Ok(()))
}

/// The accounts whose owners asked to exit, as `s` holds them.
pub fn exiting_accounts(s: &Snapshot) -> Vec<(Pubkey, Portfolio)> {
    s.margins.iter().filter(|(_, m)| m.portfolio.exit_requested_at != 0).map(|(a, m)| (*a, m.portfolio)).collect()
}

/// No position of an account that was exiting in `before` (and still is,
/// under the same request) grew or flipped since.
pub fn exiting_accounts_only_shrink(before: &[(Pubkey, Portfolio)], s: &Snapshot) -> Result<(), String> {
    for (address, was) in before {
        let Some((_, now)) = s.margins.iter().find(|(a, _)| a == address) else { continue };
        if now.portfolio.exit_requested_at != was.exit_requested_at {
            continue;
        }
        for p in now.portfolio.positions.iter().filter(|p| p.base_lots != 0) {
            let lots_before = was.positions.iter().find(|q| q.market_id == p.market_id).map_or(0, |q| q.base_lots);
            let shrank = p.base_lots.unsigned_abs() <= lots_before.unsigned_abs()
                && p.base_lots.signum() == lots_before.signum();
            if !shrank {
                return Err(format!(
                    "exiting account {address} went from {lots_before} to {} lots in market {}",
                    p.base_lots, p.market_id
                ));
            }
        }
    }
    Ok(())
}

/// A liquidation records where the account's loss arose, whatever the order
/// of liquidations: `before` and `after` are the liquidatee around one
/// liquidation in `market`, priced at `markets`. Left at or above
/// maintenance, the account holds no record. Still under it, every earlier
/// record stays, each market's record grows by the funding and socialized
/// loss the account paid there (recomputed here from the indexes), and the
/// liquidated market's by the fee less the PnL realized against cost basis,
/// at least one unit: exactly, so no market's loss lands on another.
pub fn liquidation_records_where_lost(
    before: &Portfolio,
    after: &Portfolio,
    market: u16,
    markets: &[RiskMarket],
) -> Result<(), String> {
    let health = |p: &Portfolio| p.health(markets).map_err(|e| format!("health: {e:?}"));
    let now = after.liquidation_losses;
    if health(after)?.maintenance >= 0 {
        return match now.iter().all(|loss| *loss == 0) {
            true => Ok(()),
            false => Err(format!("a liquidation left the account above maintenance with records {now:?}")),
        };
    }
    let mut expected = before.liquidation_losses.map(i128::from);
    let mut paid = 0i128;
    for p in before.positions.iter().filter(|p| p.is_open()) {
        let m = markets.iter().find(|r| r.id == p.market_id).ok_or("a held market is not priced")?;
        let owed = i128::from(p.base_lots) * i128::from(m.cumulative_funding - p.funding_snapshot)
            + i128::from(p.base_lots.unsigned_abs()) * i128::from(m.cumulative_loss - p.loss_snapshot);
        paid += owed;
        expected[usize::from(p.market_id)] += owed.max(0);
    }
    // A liquidation trades at the oracle: beyond the accruals, the equity it
    // costs is the fee.
    let fee = health(before)?.equity - paid - health(after)?.equity;
    let realized = i128::from(after.realized_pnl) - i128::from(before.realized_pnl);
    expected[usize::from(market)] += (fee - realized).max(1);
    if now.map(i128::from) != expected {
        return Err(format!(
            "liquidating market {market} took the loss records from {:?} to {now:?}, where the losses arose gives \
             {expected:?}",
            before.liquidation_losses
        ));
    }
    Ok(())
}

/// What `socialize_loss` put on each live market's lots (its loss index's
/// rise times the lots open across shards at the call) is at most the loss
/// the bankrupt account had recorded there, `records` taken before the call:
/// no market carries a loss that arose elsewhere.
pub fn socialized_where_recorded(
    indexes_before: &[i64],
    open_lots: &[u64],
    records: &[u64; MAX_MARKETS as usize],
    s: &Snapshot,
) -> Result<(), String> {
    for (m, (after, before)) in loss_indexes(s).iter().zip(indexes_before).enumerate() {
        let carried = i128::from(after - before) * i128::from(open_lots[m]);
        if carried > i128::from(records[m]) {
            return Err(format!(
                "market {m}'s lots carry {carried} of a socialized loss, the account recorded {} there",
                records[m]
            ));
        }
    }
    Ok(())
}

/// Long plus short lots open in each market, over every shard.
pub fn open_lots(s: &Snapshot) -> Vec<u64> {
    let mut lots = vec![0u64; s.markets.len()];
    for shard in &s.shards {
        for (m, slot) in lots.iter_mut().enumerate() {
            *slot += shard.markets[m].open_interest + shard.markets[m].short_open_interest;
        }
    }
    lots
}

/// No token left the vault of a shard whose withdrawals were paused
/// throughout the step (`paused`: at its start and at its end; a pause
/// window reopens only a day after it ended): no route, as the source or
/// the destination of anything, moves value out of it. `vaults`: the vault
/// balances at the step's start.
pub fn paused_vaults_paid_nothing(vaults: &[u64], paused: &[bool], s: &Snapshot) -> Result<(), String> {
    for (index, ((before, after), paused)) in vaults.iter().zip(&s.vaults).zip(paused).enumerate() {
        if *paused && after < before {
            return Err(format!("vault {index} paid out {} while its withdrawals were paused", before - after));
        }
    }
    Ok(())
}
