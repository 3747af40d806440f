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
/// books positions and fees, never the fill statistics funding reads.
/// Remaining accounts: the market and its oracle, the taker's margin
/// account, the maker's.
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

pub fn handler<'info>(
    ctx: Context<'info, SettleOwnerTrade<'info>>,
    taker_buys: bool,
    quantity_lots: u32,
    price_ticks: u32,
) -> Result<()> {
    let Context { accounts, remaining_accounts, program_id, .. } = ctx;
    let accounts: &'info _ = accounts;
    let [market, _oracle, taker_account, maker_account] = remaining_accounts else {
        return err!(ClearshardError::OwnerTradeAccounts);
    };
    let fill = Fill { taker: 0, maker: 1, market_slot: 0, taker_buys, quantity_lots, price_ticks }.encode();
    let batch = Batch { market_count: 1, fills: &fill, remaining: remaining_accounts };
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
        taker_buys,
        quantity_lots,
        price_ticks,
        fees: settled.fees,
    });
    Ok(())
}
