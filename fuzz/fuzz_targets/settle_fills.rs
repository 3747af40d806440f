//! Any batch on any accounts: no panic, no unchecked overflow, and an
//! accepted batch creates no money (collateral moves only by fees and
//! accruals, exactly as the flows report), keeps every market's net position,
//! and leaves every position at its market's indexes.
#![no_main]

use arbitrary::Unstructured;
use clearshard_engine::batch::{BatchMarket, OpenInterest};
use clearshard_engine::{settle_fills, Portfolio, FILL_LEN};
use clearshard_fuzz::{accruals_owed, market, net_base, portfolio, snapshots_current};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_000_000;

fn run(u: &mut Unstructured) -> arbitrary::Result<()> {
    let risk: Vec<_> = (0..u.int_in_range(1..=3u16)?).map(|id| market(u, id)).collect::<Result<_, _>>()?;
    let markets: Vec<BatchMarket> =
        risk.iter().map(|m| BatchMarket::new(*m, [OpenInterest::default(), OpenInterest::default()])).collect();
    let count = u.int_in_range(2..=6usize)?;
    let mut portfolios: Vec<Portfolio> = (0..count).map(|_| portfolio(u, &risk, NOW)).collect::<Result<_, _>>()?;
    let groups: Vec<u8> = (0..count).map(|_| u.int_in_range(0..=1)).collect::<Result<_, _>>()?;
    let fill_count = u.int_in_range(1..=12usize)?;
    let mut fills = Vec::with_capacity(fill_count * FILL_LEN);
    for _ in 0..fill_count {
        let slot = u.choose_index(markets.len())? as u8;
        let oracle_ticks = markets[slot as usize].risk.oracle_price / markets[slot as usize].risk.params.tick_size;
        let ticks = if u.ratio(1, 8)? {
            u.arbitrary::<u32>()?
        } else {
            let spread = i128::from(u.int_in_range(-300..=300i16)?);
            let ticks = i128::from(oracle_ticks) + i128::from(oracle_ticks) * spread / 10_000;
            u32::try_from(ticks).unwrap_or(1)
        };
        let lots: u32 = if u.ratio(1, 8)? { u.arbitrary()? } else { u.int_in_range(1..=1_000)? };
        fills.extend_from_slice(&[
            u.int_in_range(0..=count as u8)?,
            u.int_in_range(0..=count as u8)?,
            slot | if u.arbitrary()? { 0x80 } else { 0 },
        ]);
        fills.extend_from_slice(&lots.to_le_bytes());
        fills.extend_from_slice(&ticks.to_le_bytes());
    }
    let before = portfolios.clone();
    let mut refs: Vec<&mut Portfolio> = portfolios.iter_mut().collect();
    let Ok(flows) = settle_fills(&markets, &mut refs, &groups, &fills, NOW) else { return Ok(()) };

    let accruals: i128 = before.iter().map(|p| accruals_owed(p, &risk).expect("accepted: markets present")).sum();
    let fees: i128 = flows.markets.iter().flatten().map(|f| i128::from(f.fees)).sum();
    let change: i128 =
        portfolios.iter().zip(&before).map(|(a, b)| i128::from(a.collateral) - i128::from(b.collateral)).sum();
    assert_eq!(change + fees + accruals, 0, "money created or destroyed");
    assert!(fees >= 0, "net fees are never a payout");
    for g in 0..2 {
        let group_change: i128 = portfolios
            .iter()
            .zip(&before)
            .zip(&groups)
            .filter(|(_, group)| usize::from(**group) == g)
            .map(|((a, b), _)| i128::from(a.collateral) - i128::from(b.collateral))
            .sum();
        assert_eq!(group_change, i128::from(flows.collateral_delta[g]), "flows misreport group {g}");
    }
    for m in &risk {
        assert_eq!(net_base(&portfolios, m.id), net_base(&before, m.id), "net position of market {} moved", m.id);
    }
    for p in &portfolios {
        assert!(snapshots_current(p, &risk), "a position kept a stale snapshot");
        assert!(p.cost_window.spent <= p.limits.max_adverse_cost);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
