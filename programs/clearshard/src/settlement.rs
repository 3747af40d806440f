//! What settle_batch, settle_cross_batch and settle_owner_trade share:
//! checking who authorizes the fills, loading markets and margin accounts,
//! running the engine, and booking the flows into the shard(s).

use crate::cu_trace::checkpoint;
use crate::errors::ClearshardError;
use crate::events::BatchSettled;
use crate::risk::{load_margin_mut, load_markets_with_status, market_bit, require_no_settlement_close_pending};
use crate::state::{Exchange, MarginAccount, Matcher, Shard, PAUSE_SETTLEMENT};
use anchor_lang::prelude::*;
use clearshard_engine::batch::{BatchMarket, OpenInterest};
use clearshard_engine::{settle_fills, Fill, Portfolio, FILL_LEN, MAX_BATCH_ACCOUNTS};
use std::cell::RefMut;

/// Return data of a refused batch: the fill index (`u16` LE) and the error code (`u32` LE).
pub fn refused_fill_data(fill: u16, error: ClearshardError) -> [u8; 6] {
    let code: u32 = error.into();
    let (f, c) = (fill.to_le_bytes(), code.to_le_bytes());
    [f[0], f[1], c[0], c[1], c[2], c[3]]
}

/// Sets the transaction's return data. Off-chain `solana_cpi::set_return_data`
/// is a no-op, so the native build routes it to the runtime's syscall stubs:
/// integrators testing natively see what an SBF build returns.
fn set_return_data(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(data);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(data);
}

/// Fills as posted: how many `(market, oracle)` pairs lead the remaining
/// accounts, and the encoded fills.
pub struct Batch<'a, 'info> {
    pub market_count: u8,
    pub fills: &'a [u8],
    pub remaining: &'info [AccountInfo<'info>],
}

/// Who authorizes fills: a registered matcher with its next sequence on the
/// first shard, or the owners of the two accounts of one trade, both signing
/// (taker's first), without a matcher.
#[derive(Clone, Copy)]
pub enum Authority<'a> {
    Matcher { matcher: &'a Matcher, sequence: u64 },
    Owners([Pubkey; 2]),
}

/// What settled: the totals the events report.
pub struct Settled {
    pub fills: u32,
    pub fees: i64,
    pub volume_lots: u64,
}

impl Settled {
    /// The event of a matcher's batch on `shards`.
    pub fn batch_event(&self, matcher: &Matcher, sequence: u64, shards: &[&mut Shard]) -> BatchSettled {
        BatchSettled {
            shard: shards.first().map_or(u16::MAX, |s| s.index),
            second_shard: shards.get(1).map_or(u16::MAX, |s| s.index),
            matcher: matcher.index,
            sequence,
            fills: self.fills,
            fees: self.fees,
            volume_lots: self.volume_lots,
        }
    }
}

/// The registered, active matcher behind `authority`.
pub fn active_matcher<'info>(matcher: &'info AccountInfo<'info>, authority: &Pubkey) -> Result<Matcher> {
    let loaded = AccountLoader::<Matcher>::try_from(matcher)
        .and_then(|l| l.load().map(|m| *m))
        .map_err(|_| error!(ClearshardError::MatcherNotRegistered))?;
    require_keys_eq!(loaded.authority, *authority, ClearshardError::MatcherNotRegistered);
    loaded.require_active()?;
    Ok(loaded)
}

/// Settles `batch` on `shards` (one, or two across shards; the first holds a
/// matcher's sequence). Every margin account must belong to one of them.
pub fn settle<'info>(
    program_id: &Pubkey,
    exchange: &Exchange,
    authority: Authority<'_>,
    shards: &mut [&mut Shard],
    batch: Batch<'_, 'info>,
) -> Result<Settled> {
    let now = Clock::get()?.unix_timestamp;
    for shard in shards.iter() {
        exchange.require_open(shard, PAUSE_SETTLEMENT, ClearshardError::SettlementPaused, now)?;
    }
    // Across shards a fill moves claims between the vaults, either way.
    if let [a, b] = shards {
        exchange.require_value_may_move(a, b, now)?;
        exchange.require_value_may_move(b, a, now)?;
    }
    if let Authority::Matcher { matcher, sequence } = authority {
        shards[0].take_sequence(matcher.index, sequence)?;
        matcher.require_past_timelock(now)?;
    }

    let pairs = usize::from(batch.market_count).saturating_mul(2);
    let (market_infos, margin_infos) =
        batch.remaining.split_at_checked(pairs).ok_or(ClearshardError::MalformedBatch)?;
    require!(margin_infos.len() <= MAX_BATCH_ACCOUNTS, ClearshardError::MalformedBatch);
    let markets: Vec<BatchMarket> = load_markets_with_status(market_infos, exchange.quote_decimals, now)?
        .into_iter()
        .map(|(risk, wound_down)| {
            let open_interest =
                |s: Option<&&mut Shard>| s.map_or(OpenInterest::default(), |s| s.open_interest(risk.id));
            let market = BatchMarket::new(risk, [open_interest(shards.first()), open_interest(shards.get(1))]);
            BatchMarket { wound_down, ..market }
        })
        .collect();
    checkpoint();

    let mut groups = Vec::with_capacity(margin_infos.len());
    let mut margins = Vec::with_capacity(margin_infos.len());
    for info in margin_infos {
        let margin = load_margin_mut(info, program_id)?;
        let group =
            shards.iter().position(|s| s.index == margin.shard).ok_or(ClearshardError::MarginAccountOfAnotherShard)?;
        groups.push(u8::try_from(group).map_err(|_| error!(ClearshardError::MalformedBatch))?);
        margins.push(margin);
    }
    if let Authority::Owners(owners) = authority {
        require_owners(&owners, &margins, &groups, shards.len())?;
    }
    let mut portfolios: Vec<&mut Portfolio> = margins.iter_mut().map(|m| &mut m.portfolio).collect();
    checkpoint();
    let flows = settle_fills(&markets, &mut portfolios, &groups, batch.fills, now).map_err(|e| {
        // The error code names the cause; the log and the return data name the
        // fill, so a matcher can simulate, drop that fill and post again.
        msg!("fill {} refused: {:?}", e.fill, e.cause);
        set_return_data(&refused_fill_data(e.fill, ClearshardError::from(e.cause)));
        error!(ClearshardError::from(e.cause))
    })?;
    if let Authority::Owners(_) = authority {
        require_initial_margin_for_gifts(&markets, &portfolios, batch.fills)?;
    }
    // A batch lists a wound-down market only for an account that still
    // holds it: no fill may lean on that position's gain (it trades none).
    let wound_down = markets.iter().filter(|m| m.wound_down).fold(0, |set, m| set | market_bit(m.risk.id));
    if wound_down != 0 {
        for portfolio in &portfolios {
            require_no_settlement_close_pending(portfolio, wound_down)?;
        }
    }
    checkpoint();

    let mut fees = 0i64;
    let mut volume_lots = 0u64;
    for ((shard, delta), market_flows) in shards.iter_mut().zip(flows.collateral_delta).zip(&flows.markets) {
        shard.add_claims(delta)?;
        for (market, flow) in markets.iter().zip(market_flows) {
            let flow = match authority {
                Authority::Matcher { .. } => *flow,
                Authority::Owners(_) => flow.off_book(),
            };
            shard.apply_flow(market.risk.id, &flow, (market.risk.oracle_price, market.cost_oracle), now)?;
            fees = fees.checked_add(flow.fees).ok_or(ClearshardError::MathOverflow)?;
            volume_lots = volume_lots.wrapping_add(flow.volume_lots);
        }
    }
    checkpoint();
    Ok(Settled { fills: flows.fills(), fees, volume_lots })
}

/// An owner trade's price is the owners' to choose: a side that trades worse
/// than the oracle hands value over off the book, which is a withdrawal, so
/// it must stay at initial margin (the settlement rule's "not worse" branch,
/// which lets a matcher's fill reduce an account below it, does not apply).
fn require_initial_margin_for_gifts(
    markets: &[BatchMarket],
    portfolios: &[&mut Portfolio],
    fills: &[u8],
) -> Result<()> {
    let [bytes] = fills.as_chunks::<FILL_LEN>().0 else { return err!(ClearshardError::MalformedBatch) };
    let fill = Fill::decode(bytes);
    let market = markets.get(usize::from(fill.market_slot)).ok_or(ClearshardError::MarketIndexOutOfRange)?;
    let price = market.risk.params.price_per_lot(fill.price_ticks).map_err(ClearshardError::from)?;
    let oracle = market.risk.oracle_price;
    let worse_for_taker = if fill.taker_buys { price > oracle } else { price < oracle };
    let giver = match (worse_for_taker, price == oracle) {
        (_, true) => return Ok(()),
        (true, false) => fill.taker,
        (false, false) => fill.maker,
    };
    let account = portfolios.get(usize::from(giver)).ok_or(ClearshardError::AccountIndexOutOfRange)?;
    let health = account.health(markets).map_err(ClearshardError::from)?;
    require!(health.initial >= 0, ClearshardError::BreaksInitialMargin);
    Ok(())
}

/// An owner trade's two accounts are the signers' own, the taker's on the
/// first shard and the maker's on the last: no shard is locked for nothing.
fn require_owners(owners: &[Pubkey; 2], margins: &[RefMut<MarginAccount>], groups: &[u8], shards: usize) -> Result<()> {
    require!(margins.len() == 2, ClearshardError::OwnerTradeAccounts);
    for (owner, margin) in owners.iter().zip(margins) {
        require_keys_eq!(margin.owner, *owner, ClearshardError::NotOwner);
    }
    let last = u8::try_from(shards.saturating_sub(1)).map_err(|_| error!(ClearshardError::MalformedBatch))?;
    require!(groups == [0, last], ClearshardError::MarginAccountOfAnotherShard);
    Ok(())
}
