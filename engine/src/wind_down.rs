//! A wound-down market's settlement pool. Positions close at one price; a
//! loser pays its loss in full, a winner's gain is held (see
//! `Portfolio::close_at_price`). The deficits that arose in the market are
//! covered from the gains held, and once the market is final (every
//! position closed, no deficit of its still to come) each gain is paid its
//! share of what is left. Every input is fixed before the first payment, so
//! no order of closes, socializations or claims moves money between owners.

use crate::EngineError;

/// What a held gain of `face` is paid once the market is final: its share of
/// `pool` (the gains held less the deficits covered) among `faces` (every
/// gain still held at finality), rounded down; the rounding stays in the
/// market's book. Never more than `face`.
pub fn gain_payout(face: u64, pool: u64, faces: u64) -> Result<u64, EngineError> {
    if face > faces {
        return Err(EngineError::Overflow);
    }
    let paid = u128::from(face).checked_mul(u128::from(pool.min(faces))).ok_or(EngineError::Overflow)?;
    u64::try_from(paid.checked_div(u128::from(faces)).unwrap_or(0)).map_err(|_| EngineError::Overflow)
}
