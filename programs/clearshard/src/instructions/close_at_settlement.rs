use super::wound_down_position::*;
use crate::errors::ClearshardError;
use crate::events::ClosedAtSettlement;
use anchor_lang::prelude::*;

/// Permissionless: closes one account's whole position in a wound-down
/// market at the settlement price, with no fee, against the market's
/// wind-down book (which nets to zero once every position is closed).
/// Funding (frozen at the wind-down) and socialized loss settle first,
/// through the one booking primitive. A loss is paid at once; a gain is held
/// in the market's settlement pool (`Portfolio::close_at_price`) and paid
/// once the market is final (`claim_settlement_gain`), after the deficits
/// that arose there. The price is fixed, so the outcome is the same whoever
/// calls, in whatever order; an account left with negative collateral goes
/// through `resolve_bankruptcy` and `socialize_loss`.
#[derive(Accounts)]
pub struct CloseAtSettlement<'info> {
    pub position: WoundDownPosition<'info>,
}

pub fn handler(ctx: Context<CloseAtSettlement>) -> Result<()> {
    let accounts = &ctx.accounts.position;
    let now = Clock::get()?.unix_timestamp;
    let mut market = accounts.market.load_mut()?;
    require!(market.is_wound_down(), ClearshardError::MarketNotWoundDown);
    let mut shard = accounts.open_shard()?;
    let risk = market.risk(market.settlement_price, market.settlement_price, now)?;

    let mut margin = accounts.margin_account.load_mut()?;
    let (losses_before, gain_before) =
        (margin.portfolio.liquidation_losses, margin.portfolio.settlement_gain(market.id));
    let booking = margin.portfolio.close_at_price(&risk).map_err(ClearshardError::from)?;
    let change = booking.position;
    let held = margin.portfolio.settlement_gain(market.id).saturating_sub(gain_before);
    let cash = booking.collateral_change.checked_add(change.accruals).ok_or(ClearshardError::MathOverflow)?;
    market.book_close(change.base_before, cash, held)?;
    shard.add_claims(booking.collateral_change)?;
    shard.book_position_change(market.id, &change)?;
    shard.count_loss_records(&losses_before, &margin.portfolio.liquidation_losses)?;
    emit!(ClosedAtSettlement {
        account: accounts.margin_account.key(),
        market: market.id,
        lots: change.base_before,
        price: market.settlement_price,
        realized: change.realized,
        accruals: change.accruals,
        gain_held: held,
    });
    Ok(())
}
