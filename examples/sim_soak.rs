//! The simulation soak: many seeds of the deterministic cluster simulation at full size (1,000
//! nodes, 8 Deployments, faults every 10–60 s), each checked against every invariant after every
//! step.
//!
//! `cargo run --release --example sim_soak -- --seeds 40 --minutes 30` (defaults: 20 seeds of
//! 10 simulated minutes, from seed 1000). Seeds run on every core, one simulation per thread.
//! A failing seed is printed with the command that replays it. Last line: one JSON object.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use orch_tests::sim::{SimConfig, SimReport, Simulation};

/// Options of the soak.
#[derive(Parser)]
struct Args {
    /// How many seeds.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// The first seed (the others follow it).
    #[arg(long, default_value_t = 1000)]
    first: u64,
    /// Simulated minutes per seed.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Nodes per simulation.
    #[arg(long, default_value_t = 1000)]
    nodes: usize,
    /// Print a progress line every this many simulated seconds (0: none), to see where a slow
    /// seed spends its time.
    #[arg(long, default_value_t = 0)]
    progress: u64,
}

/// Runs one seed, printing progress every `every` simulated seconds when it is not zero.
fn run_seed(mut sim: Simulation, seed: u64, total: Duration, every: u64) -> SimReport {
    if every == 0 {
        return sim.run();
    }
    let (t, mut done) = (Instant::now(), Duration::ZERO);
    while done < total {
        let chunk = Duration::from_secs(every).min(total - done);
        sim.run_for(chunk);
        done += chunk;
        let r = sim.report();
        let unbound = sim.view().pods.values().filter(|p| p.spec.node_name.is_none()).count();
        eprintln!(
            "seed {seed} at {:>5} s: {:>6.1} s wall, {} steps (busiest {} polls), {} store events, pods {} ({} ready, {unbound} unbound)",
            done.as_secs(),
            t.elapsed().as_secs_f64(),
            r.steps,
            r.busiest_step_polls,
            r.events,
            r.pods.0,
            r.pods.1,
        );
        if !r.passed() {
            break;
        }
    }
    sim.report()
}

fn main() {
    let args = Args::parse();
    let started = Instant::now();
    let next = Mutex::new(args.first);
    let reports: Mutex<Vec<SimReport>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let end = args.first + args.seeds;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        if *n >= end {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let total = Duration::from_secs(args.minutes * 60);
                    let config = SimConfig::new(seed).nodes(args.nodes).duration(total);
                    let t = Instant::now();
                    let report = match Simulation::new(config) {
                        Ok(sim) => run_seed(sim, seed, total, args.progress),
                        Err(e) => {
                            eprintln!("seed {seed}: the simulation did not start: {e}");
                            std::process::exit(2);
                        }
                    };
                    print!("{report}");
                    println!("  ({:.1} s of wall time)", t.elapsed().as_secs_f64());
                    reports.lock().unwrap_or_else(|e| e.into_inner()).push(report);
                }
            });
        }
    });
    let reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &reports {
        for (k, v) in &r.faults {
            *faults.entry(k).or_default() += v;
        }
    }
    let failed: Vec<&SimReport> = reports.iter().filter(|r| !r.passed()).collect();
    for r in &failed {
        println!("FAILED seed {}: replay with {}", r.seed, r.replay());
    }
    let simulated: f64 = reports.iter().map(|r| r.simulated.as_secs_f64()).sum();
    let json = serde_json::json!({
        "bench": "sim_soak",
        "seeds": reports.len(),
        "nodes": args.nodes,
        "simulated_hours": (simulated / 3600.0 * 100.0).round() / 100.0,
        "steps": reports.iter().map(|r| r.steps).sum::<u64>(),
        "busiest_step_polls": reports.iter().map(|r| r.busiest_step_polls).max().unwrap_or(0),
        "store_events": reports.iter().map(|r| r.events).sum::<u64>(),
        "faults": faults.values().sum::<u64>(),
        "faults_by_kind": faults,
        "violations": reports.iter().map(|r| r.violations_total).sum::<usize>(),
        "failed_seeds": failed.iter().map(|r| r.seed).collect::<Vec<_>>(),
        "wall_seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("{json}");
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
