//! Checked arithmetic shaped for SBF. The VM has native 64-bit multiply and
//! unsigned divide but no 128-bit product: `u64::checked_mul` (and any
//! overflow-checked `*`) lowers to a call of the 128-bit multiply routine,
//! `u128` division to a long software loop. These helpers take a native fast
//! path when both factors fit in 32 bits, the common case for lots, ticks and
//! per-lot prices, and the wide path only when a value is really that large.

use crate::EngineError;

/// Both factors below 2^32: the product fits in 64 bits.
#[inline(always)]
fn narrow(a: u64, b: u64) -> bool {
    (a | b) >> 32 == 0
}

/// `a × b`, or `Overflow`.
#[inline(always)]
pub fn mul(a: u64, b: u64) -> Result<u64, EngineError> {
    if narrow(a, b) {
        return Ok(a.wrapping_mul(b));
    }
    a.checked_mul(b).ok_or(EngineError::Overflow)
}

/// `a × b / c`, rounded down, for `b <= c` (a share of `a`); `c > 0`.
#[inline(always)]
pub fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    if narrow(a, b) {
        a.wrapping_mul(b).checked_div(c).unwrap_or(0)
    } else {
        let wide = u128::from(a).wrapping_mul(u128::from(b)).checked_div(u128::from(c)).unwrap_or(0);
        u64::try_from(wide).unwrap_or(u64::MAX)
    }
}

/// `a × b <= c × d` without overflow.
#[inline(always)]
pub fn product_le(a: u64, b: u64, c: u64, d: u64) -> bool {
    match (mul(a, b), mul(c, d)) {
        (Ok(left), Ok(right)) => left <= right,
        _ => u128::from(a).wrapping_mul(u128::from(b)) <= u128::from(c).wrapping_mul(u128::from(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_detects_overflow_exactly() {
        assert_eq!(mul(u64::MAX, 1), Ok(u64::MAX));
        assert_eq!(mul(1 << 32, 1 << 32), Err(EngineError::Overflow));
        assert_eq!(mul((1 << 32) - 1, (1 << 32) + 1), Ok(u64::MAX));
        assert_eq!(mul(0, u64::MAX), Ok(0));
        assert_eq!(mul(u64::MAX, 0), Ok(0));
    }

    #[test]
    fn mul_div_matches_wide_math() {
        assert_eq!(mul_div(u64::MAX, 3, 4), (u64::MAX as u128 * 3 / 4) as u64);
        assert_eq!(mul_div(1_000, 4, 10), 400);
        assert_eq!(mul_div(7, 0, 3), 0);
    }

    #[test]
    fn product_le_handles_wide_products() {
        assert!(product_le(u64::MAX, 2, u64::MAX, 3));
        assert!(!product_le(u64::MAX, 3, u64::MAX, 2));
        assert!(product_le(10, 10, 100, 1));
    }
}
