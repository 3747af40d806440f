use super::bankrupt_account::*;
use crate::errors::ClearshardError;
use crate::events::{DeficitRegistered, InsuranceDebtIncurred, LossSocialized};
use crate::state::{Market, Shard, MAX_MARKETS};
use anchor_lang::prelude::*;
use clearshard_engine::liquidation::{bankruptcy_deficit, loss_shares, socialized_loss_per_lot, LossCarrier};

/// Permissionless: covers a bankrupt account from the whole insurance fund
/// first — its share held in the account's shard, the insurance vault, then
/// its share held in every other shard (those tokens stay in their vaults and
/// rebalancing brings them over, like any claim that moved) — so a donation
/// never blocks this and no loss is socialized while the fund holds anything.
/// What remains is split over the markets where it arose, in proportion to
/// the losses the account's liquidations realized in each
/// (`Portfolio::loss_markets`: the same whatever the order of liquidations),
/// and each share is spread over every open lot of its market (longs and
/// shorts alike, pro rata) through the market's loss index, which positions
/// settle lazily like funding. A wound-down market's share is registered
/// against its settlement pool instead (the gains its positions closed
/// with) and paid once the market is final, at the one rate every share
/// there gets, so that it falls on the same winners whatever the order of
/// closes and socializations. The account is made whole of the rest now;
/// what others covered while it held gains is pledged from those gains to
/// the insurance fund. Every market where a loss arose is weighed, and none
/// carries more than the loss recorded there (`loss_shares`): the share of
/// a live market with no lot open, and what exceeds the losses (funding,
/// fees), become the insurance fund's debt to the account's shard
/// (`Shard::insurance_debt`), repaid by the fund's income first, so that
/// no market's holders pay for what arose elsewhere or for being open at
/// the moment of the call. Remaining
/// accounts: those markets, writable, in ascending id, then every shard,
/// writable, in index order (`MAX_SHARDS` is sized so that all always fit).
#[derive(Accounts)]
pub struct SocializeLoss<'info> {
    pub bankrupt: BankruptAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, SocializeLoss<'info>>) -> Result<()> {
    let Context { accounts, remaining_accounts, .. } = ctx;
    let accounts: &'info _ = accounts;
    let bankrupt = &accounts.bankrupt;
    bankrupt.validate()?;
    let portfolio = bankrupt.account.load()?.portfolio;
    bankruptcy_deficit(&portfolio).map_err(ClearshardError::from)?;
    // Where the deficit arose: those markets, and no other, in ascending id.
    let mut arose = [(0u16, 0u64); MAX_MARKETS as usize];
    let mut market_count = 0usize;
    for (slot, loss) in arose.iter_mut().zip(portfolio.loss_markets()) {
        *slot = loss;
        market_count = market_count.saturating_add(1);
    }
    let (market_infos, shard_infos) =
        remaining_accounts.split_at_checked(market_count).ok_or(ClearshardError::LossOfAnotherMarket)?;
    // A wound-down market carries its share through its pool until final
    // (no share can arise after: finality waits for every loss record).
    let mut wound_down = [false; MAX_MARKETS as usize];
    for ((info, (id, _)), ended) in market_infos.iter().zip(&arose).zip(wound_down.iter_mut()) {
        let market = AccountLoader::<Market>::try_from(info)?;
        let market = market.load()?;
        require!(market.id == *id, ClearshardError::LossOfAnotherMarket);
        require!(!market.is_final(), ClearshardError::WindDownFinal);
        *ended = market.is_wound_down();
    }

    let cover = bankrupt.cover_from_insurance()?;
    let mut remaining = cover.deficit.saturating_sub(cover.covered);
    if remaining == 0 {
        return Ok(());
    }
    let exchange = *bankrupt.exchange.load()?;
    require!(shard_infos.len() == usize::from(exchange.shard_count), ClearshardError::ShardsIncomplete);
    let own_shard = bankrupt.shard.key();
    let now = Clock::get()?.unix_timestamp;
    let mut open_lots = [0u64; MAX_MARKETS as usize];
    let mut from_other_shards: u64 = 0;
    let markets = &arose[..market_count];
    for (index, info) in shard_infos.iter().enumerate() {
        let loader = AccountLoader::<Shard>::try_from(info)?;
        let shard_index = if info.key() == own_shard {
            add_open_lots(&*loader.load()?, markets, &mut open_lots)?
        } else {
            // Value crosses from here to the account's shard: the fund's
            // share of fees held here covers the loss first, then every lot
            // here bears its part.
            exchange.require_value_may_move(&*loader.load()?, &*bankrupt.shard.load()?, now)?;
            let mut shard = loader.load_mut()?;
            let taken = shard.take_insurance(remaining);
            remaining = remaining.saturating_sub(taken);
            from_other_shards = from_other_shards.saturating_add(taken);
            add_open_lots(&shard, markets, &mut open_lots)?
        };
        require!(usize::from(shard_index) == index, ClearshardError::ShardsIncomplete);
    }

    let to_i64 = |n: u64| i64::try_from(n).map_err(|_| error!(ClearshardError::MathOverflow));
    let mut registered: u64 = 0;
    if remaining > 0 {
        let mut weights = [(0u64, LossCarrier::Nobody); MAX_MARKETS as usize];
        for (((w, (_, loss)), lots), ended) in weights.iter_mut().zip(&arose).zip(&open_lots).zip(&wound_down) {
            let carrier = match (*ended, *lots > 0) {
                (true, _) => LossCarrier::Pool,
                (false, true) => LossCarrier::OpenLots,
                (false, false) => LossCarrier::Nobody,
            };
            *w = (*loss, carrier);
        }
        let (shares, mut debt) = loss_shares(remaining, &weights[..market_count]).map_err(ClearshardError::from)?;
        let mut shard = bankrupt.shard.load_mut()?;
        let mut account = bankrupt.account.load_mut()?;
        for (i, info) in market_infos.iter().enumerate() {
            let (share, lots, id) = (shares[i], open_lots[i], arose[i].0);
            if share == 0 {
                continue;
            }
            let loader = AccountLoader::<Market>::try_from(info)?;
            let mut market = loader.load_mut()?;
            if wound_down[i] {
                // Registered now, paid once final, at the rate every share
                // of this market gets: no order of socializations or closes
                // changes what any gain or deficit is paid.
                market.register_deficit(share)?;
                account.portfolio.register_recovery(id, share).map_err(ClearshardError::from)?;
                registered = registered.saturating_add(share);
                emit!(DeficitRegistered { account: bankrupt.account.key(), market: id, deficit: share });
                continue;
            }
            // Rounded down per lot: the lots never pay more than the share.
            let (per_lot, rest) = socialized_loss_per_lot(share, lots).map_err(ClearshardError::from)?;
            market.socialize(per_lot)?;
            debt = debt.checked_add(rest).ok_or(ClearshardError::MathOverflow)?;
            emit!(LossSocialized {
                account: bankrupt.account.key(),
                market: id,
                insurance_from_other_shards: from_other_shards,
                deficit: share.saturating_sub(rest),
                per_lot,
                open_lots: lots
            });
        }
        if debt > 0 {
            // No market can carry it: the fund owes it to this shard, and
            // its next income repays it before it covers anything else here.
            shard.owe_from_insurance(debt)?;
            emit!(InsuranceDebtIncurred {
                account: bankrupt.account.key(),
                shard: shard.index,
                amount: debt,
                shard_debt: shard.insurance_debt
            });
        }
    }
    let covered = remaining.saturating_sub(registered).saturating_add(from_other_shards);
    let mut account = bankrupt.account.load_mut()?;
    account.portfolio.credit(to_i64(covered)?).map_err(ClearshardError::from)?;
    // What a pool carries is covered by others too: a gain the account
    // holds pays it back once paid, so the account ends the same whether
    // its gain or its socialization comes first.
    let carried = covered.checked_add(registered).ok_or(ClearshardError::MathOverflow)?;
    account.portfolio.pledge_gains(carried).map_err(ClearshardError::from)?;
    let losses_before = account.portfolio.liquidation_losses;
    account.portfolio.clear_liquidation_losses();
    let mut shard = bankrupt.shard.load_mut()?;
    shard.count_loss_records(&losses_before, &account.portfolio.liquidation_losses)?;
    shard.add_claims(to_i64(covered)?)?;
    Ok(())
}

/// Adds `shard`'s long and short lots in each of `markets` to `open_lots`;
/// returns the shard's index.
fn add_open_lots(shard: &Shard, markets: &[(u16, u64)], open_lots: &mut [u64]) -> Result<u16> {
    for (lots, (id, _)) in open_lots.iter_mut().zip(markets) {
        let oi = shard.open_interest(*id);
        *lots = lots.checked_add(oi.long).and_then(|n| n.checked_add(oi.short)).ok_or(ClearshardError::MathOverflow)?;
    }
    Ok(shard.index)
}
