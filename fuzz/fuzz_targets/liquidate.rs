//! Any liquidation: no panic, no unchecked overflow, and an accepted one
//! moves the position at the oracle, creates no money (the collateral lost is
//! the insurance share plus accruals settled), improves the liquidatee, and
//! leaves both sides at the market's indexes — a fresh position included.
#![no_main]

use arbitrary::Unstructured;
use clearshard_engine::liquidation::{liquidatable_lots, liquidate};
use clearshard_engine::RiskMarket;
use clearshard_fuzz::{accruals_owed, market, net_base, portfolio, snapshots_current};
use libfuzzer_sys::fuzz_target;

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let markets: Vec<_> = (0..u.int_in_range(1..=2u16)?).map(|id| market(u, id)).collect::<Result<_, _>>()?;
    let mut liqee = portfolio(u, &markets, 0)?;
    let mut liqor = portfolio(u, &markets, 0)?;
    let market_id = u.int_in_range(0..=markets.len() as u16)?;
    // The circuit breaker holds back initial margin only: how much may be
    // liquidated is the same without it.
    let calm: Vec<RiskMarket> = markets.iter().map(|m| RiskMarket { reference_price: m.oracle_price, ..*m }).collect();
    assert_eq!(
        liquidatable_lots(&liqee, &markets, market_id),
        liquidatable_lots(&liqee, &calm, market_id),
        "the breaker moved a liquidation"
    );
    let lots = match liquidatable_lots(&liqee, &markets, market_id) {
        Ok(allowed) if u.ratio(3, 4)? => allowed.saturating_sub(u.int_in_range(0..=2)?).max(1),
        _ => u.arbitrary()?,
    };
    let before = [liqee, liqor];
    let Ok(out) = liquidate(&mut liqee, &mut liqor, &markets, market_id, lots) else { return Ok(()) };

    let accruals: i128 = before.iter().map(|p| accruals_owed(p, &markets).expect("accepted: markets present")).sum();
    let change = i128::from(liqee.collateral) + i128::from(liqor.collateral)
        - i128::from(before[0].collateral)
        - i128::from(before[1].collateral);
    assert_eq!(change + i128::from(out.insurance) + accruals, 0, "money created or destroyed");
    assert_eq!(out.reward + out.insurance, out.fee);
    assert!(out.fee >= 0 && out.insurance >= 0 && out.reward >= 0);
    assert_eq!(net_base(&[liqee, liqor], market_id), net_base(&before, market_id));
    assert!(out.maintenance_after > out.maintenance_before);
    assert!(liqor.health(&markets[..]).expect("health").initial >= 0);
    assert!(snapshots_current(&liqee, &markets) && snapshots_current(&liqor, &markets), "stale snapshot");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
