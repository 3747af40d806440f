use super::wound_down_position::*;
use crate::errors::ClearshardError;
use crate::events::SettlementClaimPaid;
use anchor_lang::prelude::*;

/// Permissionless: pays what a final wound-down market's pool owes an
/// account: its settlement gain and its registered deficit share, each at
/// the rate fixed at finality (`Market::make_final`), so the same whoever
/// claims first. A gain goes to the insurance fund first as far as the
/// account pledged it (its debt covered while it held the gain); a
/// recovery goes towards the account's debt.
#[derive(Accounts)]
pub struct ClaimSettlementGain<'info> {
    pub position: WoundDownPosition<'info>,
}

pub fn handler(ctx: Context<ClaimSettlementGain>) -> Result<()> {
    let accounts = &ctx.accounts.position;
    let mut shard = accounts.open_shard()?;
    let mut market = accounts.market.load_mut()?;
    require!(market.is_final(), ClearshardError::WindDownNotFinal);
    let mut margin = accounts.margin_account.load_mut()?;
    let (gain, recovery) = margin.portfolio.take_settlement_claims(market.id).map_err(ClearshardError::from)?;
    require!(gain > 0 || recovery > 0, ClearshardError::NoSettlementClaim);
    let (gain_paid, recovery_paid) = market.pay_claims(gain, recovery)?;
    let to_fund =
        margin.portfolio.book_settlement_payout(gain, gain_paid, recovery_paid).map_err(ClearshardError::from)?;
    let credited = gain_paid.saturating_sub(to_fund).saturating_add(recovery_paid);
    shard.add_claims(i64::try_from(credited).map_err(|_| error!(ClearshardError::MathOverflow))?)?;
    shard.owe_insurance(to_fund)?;
    emit!(SettlementClaimPaid {
        account: accounts.margin_account.key(),
        market: market.id,
        gain,
        gain_paid,
        recovery,
        recovery_paid,
        to_insurance: to_fund,
    });
    Ok(())
}
