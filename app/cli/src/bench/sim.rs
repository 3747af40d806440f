//! `clearshard bench sim`: every design on the same flow, side by side —
//! sustained fills per second, the binding limit, and queueing delay over a
//! range of offered loads — written to `sim.json` and drawn as SVG.

use clearshard_client::sim::{self, Binding, ChainConfig, CostModel, Design, Flow, RunConfig, RunReport};
use plotters::prelude::*;
use serde_json::{json, Map, Value};
use std::path::Path;

pub const SHARD_COUNTS: [u16; 7] = [1, 2, 4, 8, 16, 32, 64];
const WINDOWS: [usize; 2] = [1, 64];
/// Offered loads of the delay curves, as shares of each design's capacity.
const LOADS: [f64; 8] = [0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0, 1.1];

fn designs() -> Vec<Design> {
    let mut out: Vec<Design> = WINDOWS.iter().map(|w| Design::unsharded(*w)).collect();
    for window in WINDOWS {
        for liquidity_shards in [false, true] {
            for shards in SHARD_COUNTS {
                out.push(Design { shards, liquidity_shards, window, global_account: false });
            }
        }
    }
    out
}

/// Well above what any design carries: the venue's share of the block spent
/// on one-fill transactions' marginal cost.
fn overload(chain: &ChainConfig, cost: &CostModel) -> f64 {
    let venue_cu_per_sec = chain.block_cu as f64 * (1.0 - chain.other_traffic_share) / (chain.slot_ms / 1_000.0);
    1.2 * venue_cu_per_sec / (cost.per_fill + cost.per_account)
}

fn binding_name(b: Binding) -> &'static str {
    match b {
        Binding::Block => "block",
        Binding::Account => "account",
        Binding::Threads => "threads",
        Binding::InFlightWindow => "in-flight window",
        Binding::OfferedLoad => "none (offered load carried)",
    }
}

pub fn run(chain: &ChainConfig, results: &Path, out: &Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(results).map_err(|e| format!("{}: {e} (run `make bench`)", results.display()))?;
    let measured: Map<String, Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let cost = CostModel::from_results(&measured)?;
    let flow = Flow::default();
    let offered = overload(chain, &cost);

    println!("| design | fills/s | binding limit | block share used | fills/tx | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    let mut capacity: Vec<RunReport> = vec![];
    for design in designs() {
        let r = sim::run(chain, &cost, &flow, &design, &RunConfig::at(offered));
        println!(
            "| {} | {:.0} | {} | {:.1}% | {:.1} | {:.0} | {:.0} |",
            design.name(),
            r.fills_per_sec,
            binding_name(r.binding),
            100.0 * r.block_share_used,
            r.fills_per_transaction,
            r.p50_delay_ms,
            r.p99_delay_ms
        );
        capacity.push(r);
    }
    let find = |d: Design| capacity.iter().find(|r| r.design == d).cloned().ok_or("design not run");
    let unsharded = find(Design::unsharded(64))?;
    let sixteen = find(Design { shards: 16, liquidity_shards: true, window: 64, global_account: false })?;
    let ratio = sixteen.fills_per_sec / unsharded.fills_per_sec.max(1.0);
    let venue_cu_per_sec = chain.block_cu as f64 * (1.0 - chain.other_traffic_share) / (chain.slot_ms / 1_000.0);
    let account_bound = chain.account_cu as f64 / (chain.slot_ms / 1_000.0) / cost.per_fill;

    // Delay against offered load for the designs that tell the story.
    let curves: Vec<Design> = vec![
        Design::unsharded(64),
        Design { shards: 16, liquidity_shards: false, window: 64, global_account: false },
        Design { shards: 16, liquidity_shards: true, window: 1, global_account: false },
        Design { shards: 16, liquidity_shards: true, window: 64, global_account: false },
        Design { shards: 64, liquidity_shards: true, window: 64, global_account: false },
    ];
    let mut delay_curves = vec![];
    println!("\n| design | offered fills/s | carried | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for design in &curves {
        let cap = find(*design)?.fills_per_sec.max(1.0);
        let points: Vec<RunReport> =
            LOADS.iter().map(|share| sim::run(chain, &cost, &flow, design, &RunConfig::at(share * cap))).collect();
        for p in &points {
            println!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} |",
                design.name(),
                p.offered_fills_per_sec,
                p.fills_per_sec,
                p.p50_delay_ms,
                p.p99_delay_ms
            );
        }
        delay_curves.push((*design, points));
    }

    // The one-core timing target: 16 shards, one simulated minute.
    let started = std::time::Instant::now();
    let mut minute = RunConfig::at(sixteen.fills_per_sec);
    (minute.warmup_secs, minute.measure_secs) = (0.0, 60.0);
    sim::run(chain, &cost, &flow, &sixteen.design, &minute);
    let minute_secs = started.elapsed().as_secs_f64();

    println!(
        "\n16 shards with liquidity shards carry {:.0} fills/s, {ratio:.1}x the unsharded design's {:.0} \
         (which stays under the per-account bound of {account_bound:.0}); they use {:.1}% of the venue's block share. \
         16 shards x 1 simulated minute: {minute_secs:.2} s.",
        sixteen.fills_per_sec,
        unsharded.fills_per_sec,
        100.0 * sixteen.block_share_used
    );
    let dir = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    plot_throughput(&dir.join("sim_throughput.svg"), &capacity)?;
    plot_delay(&dir.join("sim_delay.svg"), &delay_curves)?;
    let json = json!({
        "chain": chain,
        "flow": flow,
        "cost_model": cost,
        "offered_for_capacity_fills_per_sec": offered,
        "venue_cu_per_sec": venue_cu_per_sec,
        "per_account_bound_fills_per_sec": account_bound,
        "capacity": capacity,
        "delay_curves": delay_curves.iter().map(|(d, p)| json!({"design": d, "points": p})).collect::<Vec<_>>(),
        "throughput_ratio_16_vs_unsharded": ratio,
        "block_share_used_16": sixteen.block_share_used,
        "seconds_16_shards_one_simulated_minute": minute_secs,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {}, {}/sim_throughput.svg, {}/sim_delay.svg", out.display(), dir.display(), dir.display());
    Ok(())
}

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

const COLORS: [RGBColor; 6] = [RED, BLUE, GREEN, MAGENTA, BLACK, CYAN];

/// Sustained fills per second against the shard count, one line per design family.
fn plot_throughput(path: &Path, capacity: &[RunReport]) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let top = capacity.iter().map(|r| r.fills_per_sec).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("Sustained fills per second by shard count", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..64f64).log_scale(), 0f64..top)
        .map_err(err)?;
    chart.configure_mesh().x_desc("shards").y_desc("fills / s").draw().map_err(err)?;
    let mut color = COLORS.iter();
    for window in WINDOWS {
        for liquidity_shards in [false, true] {
            let c = *color.next().unwrap_or(&BLACK);
            let points: Vec<(f64, f64)> = capacity
                .iter()
                .filter(|r| {
                    !r.design.global_account
                        && r.design.window == window
                        && r.design.liquidity_shards == liquidity_shards
                })
                .map(|r| (f64::from(r.design.shards), r.fills_per_sec))
                .collect();
            let ls = if liquidity_shards { "with" } else { "without" };
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(format!("{ls} liquidity shards, W={window}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(err)?;
        }
    }
    for r in capacity.iter().filter(|r| r.design.global_account && r.design.window == 64) {
        let c = *color.next().unwrap_or(&BLACK);
        chart
            .draw_series(LineSeries::new(vec![(1.0, r.fills_per_sec), (64.0, r.fills_per_sec)], c.stroke_width(1)))
            .map_err(err)?
            .label("unsharded, W=64")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(1)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
    root.present().map_err(err)
}

/// p99 queueing delay against offered load.
fn plot_delay(path: &Path, curves: &[(Design, Vec<RunReport>)]) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let right = curves.iter().flat_map(|(_, p)| p.iter().map(|r| r.offered_fills_per_sec)).fold(1.0, f64::max) * 1.05;
    let top = curves.iter().flat_map(|(_, p)| p.iter().map(|r| r.p99_delay_ms)).fold(1.0, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption("p99 delay from fill to block against offered load", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((100f64..right).log_scale(), (100f64..top).log_scale())
        .map_err(err)?;
    chart.configure_mesh().x_desc("offered fills / s").y_desc("p99 delay, ms").draw().map_err(err)?;
    for ((design, points), c) in curves.iter().zip(COLORS.iter().cycle()) {
        let c = *c;
        let line: Vec<(f64, f64)> =
            points.iter().map(|r| (r.offered_fills_per_sec, r.p99_delay_ms.max(100.0))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(design.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(line.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
