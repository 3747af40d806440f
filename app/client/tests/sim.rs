//! The capacity simulator checked against queueing theory and its own bounds.

use clearshard_client::rng::Rng;
use clearshard_client::sim::*;

fn cost() -> CostModel {
    CostModel { base: 8_000.0, per_fill: 1_070.0, per_account: 750.0, per_market: 1_100.0, per_extra_shard: 900.0 }
}

fn design(shards: u16, liquidity_shards: bool, window: usize) -> Design {
    Design { shards, liquidity_shards, window, global_account: false }
}

/// One account's transactions under Poisson arrivals, each taking the same
/// time: an M/D/1 queue, whose mean wait is ρ·D / (2(1 − ρ)).
#[test]
fn one_account_under_poisson_arrivals_waits_as_m_d_1() {
    let chain = ChainConfig::default();
    let speed = chain.block_cu as f64 / (chain.slot_ms / 1_000.0) / chain.threads as f64;
    let cu = 250_000u64;
    let service = cu as f64 / speed;
    for rho in [0.3, 0.6, 0.8] {
        let mut leader = Leader::new(&chain);
        let mut rng = Rng::new(11);
        let (mut t, mut waited, n) = (0.0, 0.0, 400_000);
        for _ in 0..n {
            t += rng.exponential(service / rho);
            let executed = leader.execute(&Transaction { compute_units: cu, writes: &[7] }, t);
            waited += executed.start - t;
            leader.forget_before(t);
        }
        let mean = waited / n as f64;
        let theory = rho * service / (2.0 * (1.0 - rho));
        assert!((mean - theory).abs() <= 0.05 * theory, "ρ {rho}: mean wait {mean}, M/D/1 {theory}");
    }
}

/// However much is offered, no run uses more than the venue's share of the
/// block, nor gives one account more than its limit per block.
#[test]
fn throughput_stays_within_the_block_and_account_bounds() {
    let flow = Flow::default();
    for chain in
        [ChainConfig::default(), ChainConfig { account_cu: 12_000_000, block_cu: 48_000_000, ..Default::default() }]
    {
        for d in [Design::unsharded(64), design(4, false, 64), design(16, true, 64), design(64, true, 64)] {
            let mut run_config = RunConfig::at(150_000.0);
            run_config.measure_secs = 6.0;
            let r = run(&chain, &cost(), &flow, &d, &run_config);
            for (limit, share) in r.utilization {
                if limit != Binding::Threads {
                    assert!(share <= 1.0 + 1e-9, "{}: {limit:?} at {share}", d.name());
                }
            }
            assert!(r.block_share_used <= 1.0 + 1e-9, "{}: block share {}", d.name(), r.block_share_used);
            let venue_cu_per_sec =
                chain.block_cu as f64 * (1.0 - chain.other_traffic_share) / (chain.slot_ms / 1_000.0);
            let cheapest_fill = cost().per_fill;
            assert!(r.fills_per_sec <= venue_cu_per_sec / cheapest_fill, "{}: {}", d.name(), r.fills_per_sec);
        }
    }
}

/// With a window of one batch, a shard waits for each batch's confirmation
/// before sending the next: at most one batch per round trip.
#[test]
fn a_window_of_one_settles_at_most_one_batch_per_round_trip() {
    let chain = ChainConfig::default();
    let mut run_config = RunConfig::at(50_000.0);
    run_config.measure_secs = 10.0;
    for shards in [1, 4] {
        let r = run(&chain, &cost(), &Flow::default(), &design(shards, true, 1), &run_config);
        let round_trip = (chain.send_ms + chain.confirm_ms) / 1_000.0;
        let per_shard = r.transactions_per_sec / f64::from(shards);
        assert!(per_shard <= 1.0 / round_trip, "{shards} shards: {per_shard} batches/s per shard");
        assert!(per_shard >= 0.5 / round_trip, "{shards} shards: only {per_shard} batches/s per shard");
        assert_eq!(r.binding, Binding::InFlightWindow);
        // A window of 64 on the same flow carries many times more.
        let wide = run(&chain, &cost(), &Flow::default(), &design(shards, true, 64), &run_config);
        assert!(wide.fills_per_sec > 10.0 * r.fills_per_sec, "{} vs {}", wide.fills_per_sec, r.fills_per_sec);
    }
}
