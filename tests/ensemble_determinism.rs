//! Monte Carlo (SPEC §6): results depend on (file, seed, runs) alone, percentiles are
//! type 7 (h = (n − 1) p), and the summaries agree with what the events allow.

mod common;

use corridor::ensemble::{self, Outcome, summary};
use corridor::metrics::Plan;
use corridor::model::Model;
use corridor::scenario::{EngineKind, Scenario};

use common::{assert_close, corridor, key, load_ok};

const MOU: &str = "scenarios/pak-rus-mous-2024.toml";

fn run_csv(extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["run", MOU, "--runs", "40"];
    args.extend_from_slice(extra);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(&args)
        .current_dir(common::root())
        .output()
        .expect("corridor runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn same_seed_same_bytes_any_thread_count() {
    let one = run_csv(&["--seed", "7", "--threads", "1"]);
    let two = run_csv(&["--seed", "7", "--threads", "2"]);
    let again = run_csv(&["--seed", "7"]);
    assert!(one.len() > 1000, "a real report");
    assert!(one == two, "--threads 1 and --threads 2 differ");
    assert!(one == again, "a third run differs");
    // The statistics are in the output, not only the path.
    let text = String::from_utf8_lossy(&one);
    assert!(text.contains(",p95,"));
}

#[test]
fn different_seed_gives_different_output() {
    let a = run_csv(&["--seed", "7", "--threads", "2"]);
    let b = run_csv(&["--seed", "8", "--threads", "2"]);
    assert!(a != b);
    // …but only the Monte Carlo rows differ: the path does not depend on the seed.
    let path_rows = |bytes: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| l.contains(",path,"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(path_rows(&a), path_rows(&b));
}

#[test]
fn percentiles_of_one_to_ten_are_type_7() {
    // n = 10, h = 9p: p5 h = 0.45 → 1 + 0.45·(2 − 1) = 1.45; p25 h = 2.25 → 3.25;
    // p50 h = 4.5 → 5.5; p75 h = 6.75 → 7.75; p95 h = 8.55 → 9.55. Mean 55/10 = 5.5.
    let values = [7.0, 3.0, 10.0, 1.0, 9.0, 2.0, 8.0, 5.0, 4.0, 6.0];
    let s = summary(&values);
    let expected = [5.5, 1.45, 3.25, 5.5, 7.75, 9.55];
    for (got, want) in s.iter().zip(expected) {
        assert_close(*got, want, 1e-12);
    }
}

#[test]
fn percentiles_with_ties_and_negatives() {
    // Sorted: −1, 3, 3, 7 (n = 4, h = 3p). p5 h = 0.15 → −1 + 0.15·4 = −0.4;
    // p25 h = 0.75 → −1 + 0.75·4 = 2; p50 h = 1.5 → 3; p75 h = 2.25 → 3 + 0.25·4 = 4;
    // p95 h = 2.85 → 3 + 0.85·4 = 6.4. Mean 12/4 = 3.
    let values = [3.0, 7.0, -1.0, 3.0];
    let s = summary(&values);
    for (got, want) in s.iter().zip([3.0, -0.4, 2.0, 3.0, 4.0, 6.4]) {
        assert_close(*got, want, 1e-12);
    }
    // Two values 0 and 10: h = p, so each percentile is 10p.
    let s = summary(&[10.0, 0.0]);
    for (got, want) in s.iter().zip([5.0, 0.5, 2.5, 5.0, 7.5, 9.5]) {
        assert_close(*got, want, 1e-12);
    }
    // One value: every statistic is that value.
    assert_eq!(summary(&[4.25]), [4.25; 6]);
    // No values: no statistic.
    assert!(summary(&[]).iter().all(|v| v.is_nan()));
}

fn two_region(agreement: &str, volatility: f64) -> Scenario {
    load_ok(&format!(
        r#"format = 1
[scenario]
name = "mc"
base_year = 2024
horizon = 2028
runs = 64
seed = 11
[[region]]
id = "A"
[[region]]
id = "B"
[[region]]
id = "C"
[[sector]]
id = "goods"
substitution = 4.0
volatility = {volatility:?}
[[flow]]
from = "B"
to = "A"
sector = "goods"
value = 300
[[flow]]
from = "C"
to = "A"
sector = "goods"
value = 100
[[flow]]
from = "A"
to = "A"
sector = "goods"
value = 600
[[agreement]]
id = "ab"
parties = ["A", "B"]
start = 2025
{agreement}
"#
    ))
}

fn run(s: &Scenario, budget: usize) -> Outcome {
    let model = Model::new(s, EngineKind::Pe).expect("model");
    let plan = Plan::new(&model);
    let options = ensemble::Options {
        runs: s.runs,
        seed: s.seed,
        memory_budget: budget,
        only: None,
    };
    ensemble::run(&model, &plan, &options, &ensemble::Silent).expect("ensemble")
}

fn stats_bits(o: &Outcome) -> Vec<u64> {
    o.stats
        .as_ref()
        .expect("runs > 0")
        .iter()
        .flat_map(|v| v.iter().map(|x| x.to_bits()))
        .collect()
}

#[test]
fn probability_zero_event_never_acts_in_any_run() {
    // No demand noise: every run must show the data in every year, while the path
    // (which ignores the probability) shows the cut.
    let s = two_region("cost_cut = 0.3\nprobability = 0.0\ndelay = [0, 2]", 0.0);
    let o = run(&s, ensemble::DEFAULT_MEMORY_BUDGET);
    let i = o
        .series_index(&key(&s, "flow", "B", Some("A"), "goods"))
        .expect("series");
    assert!(o.path_of(i)[1] > 300.0, "the path applies the agreement");
    for stat in 0..6 {
        let v = o.stat_of(stat, i).expect("stats");
        assert!(v.iter().all(|x| *x == 300.0), "stat {stat}: {v:?}");
    }
    // With demand noise: identical, bit for bit, to an agreement that cuts nothing.
    let never = run(
        &two_region("cost_cut = 0.3\nprobability = 0.0\ndelay = [0, 2]", 0.1),
        ensemble::DEFAULT_MEMORY_BUDGET,
    );
    let nothing = run(
        &two_region("cost_cut = 0.0\nprobability = 0.0\ndelay = [0, 2]", 0.1),
        ensemble::DEFAULT_MEMORY_BUDGET,
    );
    assert_eq!(stats_bits(&never), stats_bits(&nothing));
}

#[test]
fn certain_undelayed_event_without_noise_gives_stats_equal_to_the_path() {
    let s = two_region(
        "cost_cut = 0.3\nprobability = 1.0\ndelay = [0, 0]\nramp_years = 2",
        0.0,
    );
    let o = run(&s, ensemble::DEFAULT_MEMORY_BUDGET);
    for (i, k) in o.keys.iter().enumerate() {
        let path = o.path_of(i);
        for stat in 1..6 {
            let v = o.stat_of(stat, i).expect("stats");
            for (a, b) in v.iter().zip(path) {
                assert_eq!(a.to_bits(), b.to_bits(), "{k:?} stat {stat}");
            }
        }
        // The mean of 64 equal values is that value up to rounding of the sum.
        for (a, b) in o.stat_of(0, i).expect("mean").iter().zip(path) {
            assert_close(*a, *b, 1e-13);
        }
    }
}

#[test]
fn tiny_memory_budget_chunks_give_the_same_results_as_one_chunk() {
    let s = two_region("cost_cut = 0.3\nprobability = 0.5\ndelay = [0, 2]", 0.1);
    let whole = run(&s, usize::MAX / 2);
    let chunked = run(&s, 1);
    assert_eq!(whole.keys, chunked.keys);
    assert_eq!(stats_bits(&whole), stats_bits(&chunked));
    // The bundled scenario too, with a budget that splits it into several chunks.
    let mou = corridor::scenario::load(&common::root().join(MOU))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("bundled loads");
    let mut mou = mou;
    mou.runs = 16;
    let whole = run(&mou, usize::MAX / 2);
    let chunked = run(&mou, 16 * mou.year_count() * 8 * 37);
    assert_eq!(stats_bits(&whole), stats_bits(&chunked));
}

#[test]
fn thread_pools_of_one_and_two_give_identical_library_results() {
    let s = two_region("cost_cut = 0.3\nprobability = 0.5\ndelay = [0, 3]", 0.1);
    let in_pool = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool")
            .install(|| run(&s, ensemble::DEFAULT_MEMORY_BUDGET))
    };
    assert_eq!(stats_bits(&in_pool(1)), stats_bits(&in_pool(2)));
}

#[test]
fn cli_stat_rows_only_when_runs_are_positive() {
    let with = corridor([
        "run",
        MOU,
        "--runs",
        "3",
        "--metric",
        "supplier_hhi",
        "--region",
        "PAK",
    ]);
    assert_eq!(with.code, 0, "{}", with.stderr);
    let without = corridor([
        "run",
        MOU,
        "--runs",
        "0",
        "--metric",
        "supplier_hhi",
        "--region",
        "PAK",
    ]);
    assert_eq!(without.code, 0, "{}", without.stderr);
    let stats = |csv: &str| {
        csv.lines()
            .skip(1)
            .filter(|l| !l.contains(",path,"))
            .count()
    };
    assert!(stats(&with.stdout) > 0);
    assert_eq!(stats(&without.stdout), 0);
}

/// A cancel is seen between years, not only between runs: one run of a scenario at the
/// format's limits takes seconds.
#[test]
fn a_stop_request_ends_a_run_before_the_next_year() {
    use std::cell::Cell;

    let text =
        std::fs::read_to_string(common::root().join("scenarios/tutorial-three-regions.toml"))
            .expect("tutorial");
    let s = common::load_ok(&text);
    for engine in [EngineKind::Pe, EngineKind::Ge] {
        let model = Model::new(&s, engine).expect("model");
        let draw = corridor::model::Draw::as_written(&model.events);
        let years_seen = Cell::new(0usize);
        let asked = Cell::new(0usize);
        // Allow three years, then ask to stop.
        let stop = || {
            asked.set(asked.get() + 1);
            asked.get() > 3
        };
        let result =
            model.simulate_until(&draw, &mut |_| years_seen.set(years_seen.get() + 1), &stop);
        assert!(
            matches!(result, Err(corridor::model::ModelError::Stopped)),
            "{engine:?}: {result:?}"
        );
        assert_eq!(years_seen.get(), 3, "{engine:?}");
        assert!(s.year_count() > 3);
    }
}

/// Type-7 percentiles and the mean computed directly: sort, then interpolate.
fn direct_summary(values: &[f64]) -> [f64; 6] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    #[allow(clippy::cast_precision_loss)]
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut out = [mean; 6];
    for (slot, p) in out[1..].iter_mut().zip([0.05, 0.25, 0.5, 0.75, 0.95]) {
        #[allow(clippy::cast_precision_loss)]
        let h = (n - 1) as f64 * p;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        #[allow(clippy::cast_precision_loss)]
        let frac = h - lo as f64;
        *slot = sorted[lo] + frac * (sorted[hi] - sorted[lo]);
    }
    out
}

#[test]
fn summaries_equal_a_direct_computation_from_every_runs_values() {
    // 37 runs and a selection of 45 series: neither fills the blocks in which run values
    // are held, and a small budget splits the series into several groups.
    let mut s = corridor::scenario::load(&common::root().join(MOU))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("bundled loads");
    s.runs = 37;
    let model = Model::new(&s, EngineKind::Pe).expect("model");
    let plan = Plan::new(&model);
    let only: Vec<usize> = (0..plan.keys.len()).step_by(53).collect();
    assert_eq!(only.len(), 46);
    let years = s.year_count();
    for budget in [usize::MAX / 2, 37 * years * 8 * 7] {
        let options = ensemble::Options {
            runs: s.runs,
            seed: s.seed,
            memory_budget: budget,
            only: Some(only.clone()),
        };
        let outcome = ensemble::run(&model, &plan, &options, &ensemble::Silent).expect("runs");
        // Every run simulated here, one at a time.
        let mut values = vec![Vec::new(); only.len() * years];
        let mut year_values = vec![f64::NAN; plan.keys.len()];
        let mut scratch = corridor::metrics::Scratch::default();
        for m in 0..u64::from(s.runs) {
            let draw = corridor::model::Draw::monte_carlo(&s, &model.events, s.seed, m);
            model
                .simulate(&draw, &mut |state| {
                    plan.evaluate(&model, state, &mut scratch, &mut year_values, None);
                    for (c, &k) in only.iter().enumerate() {
                        let v = year_values[k];
                        if !v.is_nan() {
                            values[c * years + state.t].push(v);
                        }
                    }
                })
                .expect("simulates");
        }
        let stats = outcome.stats.as_ref().expect("runs > 0");
        for (cell, column) in values.iter().enumerate() {
            let want = if column.is_empty() {
                [f64::NAN; 6]
            } else {
                direct_summary(column)
            };
            for (k, w) in want.iter().enumerate() {
                let got = stats[k][cell];
                assert!(
                    got.to_bits() == w.to_bits() || (got - w).abs() <= 1e-12 * w.abs(),
                    "budget {budget}, cell {cell} ({:?}), stat {k}: {got} vs {w}",
                    outcome.keys[cell / years]
                );
            }
        }
    }
}
