use super::wound_down_position::*;
use crate::errors::ClearshardError;
use crate::events::SettlementGainPaid;
use anchor_lang::prelude::*;
use clearshard_engine::wind_down::gain_payout;

/// Permissionless: pays an account's settlement gain in a wound-down market
/// into its collateral. Once the market is final, the whole gain at the
/// rate fixed then (`wind_down::gain_payout`: the same for every gain,
/// whoever claims first). Before that, only towards the account's own debt,
/// at face: an account with no position and negative collateral pays what
/// it owes from its gain before anyone covers it (a bankruptcy waits for
/// this), so that its gain never sits beside a debt others paid.
#[derive(Accounts)]
pub struct ClaimSettlementGain<'info> {
    pub position: WoundDownPosition<'info>,
}

pub fn handler(ctx: Context<ClaimSettlementGain>) -> Result<()> {
    let accounts = &ctx.accounts.position;
    let mut shard = accounts.open_shard()?;
    let mut market = accounts.market.load_mut()?;
    let mut margin = accounts.margin_account.load_mut()?;
    let held = margin.portfolio.settlement_gain(market.id);
    require!(held > 0, ClearshardError::NoSettlementGain);
    let (face, paid) = if market.is_final() {
        (held, gain_payout(held, market.payout_pool, market.payout_faces).map_err(ClearshardError::from)?)
    } else {
        let portfolio = &margin.portfolio;
        let in_debt = !portfolio.has_open_positions() && portfolio.collateral < 0;
        require!(in_debt, ClearshardError::WindDownNotFinal);
        let owed = held.min(portfolio.collateral.unsigned_abs());
        let paid = owed.min(market.gain_pool);
        // A pool too short for this has been drained by the market's
        // deficits: what is left of any gain there is worth nothing.
        (if paid < owed { held } else { owed }, paid)
    };
    market.pay_from_pool(paid, face)?;
    margin.portfolio.pay_settlement_gain(market.id, face, paid).map_err(ClearshardError::from)?;
    shard.add_claims(i64::try_from(paid).map_err(|_| error!(ClearshardError::MathOverflow))?)?;
    emit!(SettlementGainPaid {
        account: accounts.margin_account.key(),
        market: market.id,
        face,
        paid,
        towards_debt: !market.is_final(),
    });
    Ok(())
}
