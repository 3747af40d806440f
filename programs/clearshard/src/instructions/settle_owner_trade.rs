use crate::errors::ClearshardError;
use crate::events::OwnerTradeSettled;
use crate::settlement::{self, Authority, Batch};
use crate::state::{seeds, Exchange, Shard};
use anchor_lang::prelude::*;
use clearshard_engine::Fill;

/// One fill between two margin accounts, signed by both owners: an owner's
/// way out against any willing counterparty while no matcher serves. Limits,
/// margin, caps and pauses apply as to a batch; no matcher sequence or budget
/// other than each owner's own limits is involved. It is off the book: it
/// books positions and fees, never the fill statistics funding reads. A side
/// that trades worse than the oracle must stay at initial margin, and the
/// signed trade lapses at `expires_at`, so whoever holds it cannot keep it as
/// an option. Remaining accounts: a `(market, oracle)` pair for the market
/// traded (slot `market_slot`) and every other market either account holds,
/// then the taker's margin account and the maker's.
#[derive(Accounts)]
pub struct SettleOwnerTrade<'info> {
    /// Owner of the taker's margin account.
    pub taker: Signer<'info>,
    /// Owner of the maker's margin account.
    pub maker: Signer<'info>,
    #[account(address = seeds::EXCHANGE_ADDRESS)]
    pub exchange: AccountLoader<'info, Exchange>,
    #[account(mut)]
    pub taker_shard: AccountLoader<'info, Shard>,
    /// The maker's shard, when it is not the taker's.
    #[account(mut)]
    pub maker_shard: Option<AccountLoader<'info, Shard>>,
}

/// The trade both owners sign.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerTrade {
    /// Which of the `(market, oracle)` pairs is traded.
    pub market_slot: u8,
    pub taker_buys: bool,
    pub quantity_lots: u32,
    pub price_ticks: u32,
    /// Unix time after which the signed trade is refused.
    pub expires_at: i64,
}

pub fn handler<'info>(ctx: Context<'info, SettleOwnerTrade<'info>>, trade: OwnerTrade) -> Result<()> {
    let Context { accounts, remaining_accounts, program_id, .. } = ctx;
    let accounts: &'info _ = accounts;
    require!(Clock::get()?.unix_timestamp <= trade.expires_at, ClearshardError::OwnerTradeExpired);
    let wrong = || error!(ClearshardError::OwnerTradeAccounts);
    let (pairs, margins) =
        remaining_accounts.split_at_checked(remaining_accounts.len().saturating_sub(2)).ok_or_else(wrong)?;
    let [taker_account, maker_account] = margins else { return Err(wrong()) };
    require!(!pairs.is_empty() && pairs.len().is_multiple_of(2), ClearshardError::OwnerTradeAccounts);
    let market = pairs.get(usize::from(trade.market_slot).saturating_mul(2)).ok_or_else(wrong)?;
    let market_count = u8::try_from(pairs.len() / 2).map_err(|_| wrong())?;
    let fill = Fill {
        taker: 0,
        maker: 1,
        market_slot: trade.market_slot,
        taker_buys: trade.taker_buys,
        quantity_lots: trade.quantity_lots,
        price_ticks: trade.price_ticks,
    }
    .encode();
    let batch = Batch { market_count, fills: &fill, remaining: remaining_accounts };
    let authority = Authority::Owners([accounts.taker.key(), accounts.maker.key()]);
    let exchange = *accounts.exchange.load()?;
    let mut taker_shard = accounts.taker_shard.load_mut()?;
    let settled = match &accounts.maker_shard {
        None => settlement::settle(program_id, &exchange, authority, &mut [&mut *taker_shard], batch)?,
        Some(maker_shard) => {
            require_keys_neq!(maker_shard.key(), accounts.taker_shard.key(), ClearshardError::SameAccount);
            let mut maker_shard = maker_shard.load_mut()?;
            settlement::settle(program_id, &exchange, authority, &mut [&mut *taker_shard, &mut *maker_shard], batch)?
        }
    };
    emit!(OwnerTradeSettled {
        market: market.key(),
        taker_account: taker_account.key(),
        maker_account: maker_account.key(),
        taker_buys: trade.taker_buys,
        quantity_lots: trade.quantity_lots,
        price_ticks: trade.price_ticks,
        fees: settled.fees,
    });
    Ok(())
}
