//! Shapley contributions, sensitivity and sweeps (the analysis commands).

mod common;

use common::{corridor, load_ok};
use corridor::analysis::shapley::{Explanation, explain, explain_with};
use corridor::metrics::{Metric, Partner, Plan, SectorSel, SeriesKey};
use corridor::model::Model;

fn three_regions(events: &str) -> String {
    format!(
        r#"format = 1
[scenario]
name = "t"
base_year = 2024
horizon = 2027
runs = 0
[[region]]
id = "A"
[[region]]
id = "B"
[[region]]
id = "C"
[[sector]]
id = "g"
substitution = 3.0
[[flow]]
from = "A"
to = "A"
sector = "g"
value = 800.0
[[flow]]
from = "B"
to = "A"
sector = "g"
value = 100.0
[[flow]]
from = "C"
to = "A"
sector = "g"
value = 100.0
[[flow]]
from = "A"
to = "B"
sector = "g"
value = 50.0
{events}
"#
    )
}

fn agreement(id: &str, with: &str, cut: f64) -> String {
    format!(
        "[[agreement]]\nid = \"{id}\"\nparties = [\"A\", \"{with}\"]\nstart = 2025\ncost_cut = {cut}\n"
    )
}

/// Contributions to B's share of A's imports in 2027.
fn explain_b_share(text: &str, events_expected: usize) -> Explanation {
    let s = load_ok(text);
    let model = Model::new(&s, s.engine).expect("model");
    assert_eq!(model.events.list.len(), events_expected);
    let plan = Plan::new(&model);
    let key = SeriesKey {
        metric: Metric::ImportShare,
        region: 0,
        partner: Partner::Region(1),
        sector: SectorSel::One(0),
    };
    let series = plan.keys.iter().position(|k| *k == key).expect("series");
    explain(&model, &plan, series, 3, 500, 1).expect("explain")
}

#[test]
fn contributions_add_up_exactly_to_the_total_change() {
    let e = explain_b_share(
        &three_regions(&format!(
            "{}{}",
            agreement("ab", "B", 0.1),
            agreement("ac", "C", 0.05)
        )),
        2,
    );
    assert!(e.exact);
    let sum: f64 = e.contributions.iter().map(|c| c.value).sum();
    assert!(
        (sum - (e.as_written - e.no_events)).abs() < 1e-14,
        "{sum} vs {}",
        e.as_written - e.no_events
    );
    assert_eq!(
        e.no_events, 0.5,
        "B and C supply equal shares without events"
    );
}

/// Records every progress report, and asks to stop after `stop_after` of them.
struct Stopper {
    reports: std::sync::Mutex<Vec<(u64, u64)>>,
    stop_after: usize,
}

impl corridor::ensemble::Progress for Stopper {
    fn advance(&self, done: u64, total: u64) {
        self.reports
            .lock()
            .expect("not poisoned")
            .push((done, total));
    }
    fn cancelled(&self) -> bool {
        self.reports.lock().expect("not poisoned").len() >= self.stop_after
    }
}

#[test]
fn contributions_count_each_path_and_stop_when_asked() {
    let s = load_ok(&three_regions(&format!(
        "{}{}{}",
        agreement("ab", "B", 0.1),
        agreement("ac", "C", 0.05),
        agreement("ab2", "B", 0.02)
    )));
    let model = Model::new(&s, s.engine).expect("model");
    let plan = Plan::new(&model);
    // Three events: no event, every event, then each of the 2^3 coalitions.
    let all = Stopper {
        reports: std::sync::Mutex::default(),
        stop_after: usize::MAX,
    };
    let e = explain_with(&model, &plan, 0, 3, 500, 1, &all).expect("explain");
    assert!(e.exact);
    let reports = all.reports.into_inner().expect("not poisoned");
    let expected: Vec<(u64, u64)> = (1..=10).map(|d| (d, 10)).collect();
    assert_eq!(reports, expected);
    // Asked to stop after four paths: no fifth is simulated.
    let early = Stopper {
        reports: std::sync::Mutex::default(),
        stop_after: 4,
    };
    let stopped = explain_with(&model, &plan, 0, 3, 500, 1, &early);
    assert!(
        matches!(stopped, Err(corridor::model::ModelError::Stopped)),
        "{stopped:?}"
    );
    assert_eq!(early.reports.into_inner().expect("not poisoned").len(), 4);
}

#[test]
fn an_event_that_touches_nothing_contributes_zero() {
    // An agreement between B and C covers no flow that A imports.
    let e = explain_b_share(
        &three_regions(&format!(
            "{}[[agreement]]\nid = \"bc\"\nparties = [\"B\", \"C\"]\nstart = 2025\ncost_cut = 0.2\n",
            agreement("ab", "B", 0.1)
        )),
        2,
    );
    let bc = e.contributions.iter().find(|c| c.event == 1).expect("bc");
    assert_eq!(bc.value, 0.0);
    // By hand: B's share is 100·0.9^(1−3) / (100·0.9^(1−3) + 100) = 100/181.
    let ab = e.contributions.iter().find(|c| c.event == 0).expect("ab");
    assert!(
        (ab.value - (100.0 / 181.0 - 0.5)).abs() < 1e-12,
        "hand value 100/181 − 1/2, got {}",
        ab.value
    );
}

#[test]
fn symmetric_events_share_the_change_equally() {
    let e = explain_b_share(
        &three_regions(&format!(
            "{}{}",
            agreement("ab1", "B", 0.1),
            agreement("ab2", "B", 0.1)
        )),
        2,
    );
    let (a, b) = (e.contributions[0].value, e.contributions[1].value);
    assert!((a - b).abs() < 1e-15 && a > 0.0);
}

#[test]
fn sampled_contributions_above_twelve_events_still_add_up() {
    let events: String = (0..14)
        .map(|k| {
            agreement(
                &format!("e{k}"),
                if k % 2 == 0 { "B" } else { "C" },
                0.01 * f64::from(k + 1),
            )
        })
        .collect();
    let e = explain_b_share(&three_regions(&events), 14);
    assert!(!e.exact);
    let sum: f64 = e.contributions.iter().map(|c| c.value).sum();
    assert!((sum - (e.as_written - e.no_events)).abs() < 1e-12);
    assert!(e.contributions.iter().all(|c| c.std_error.is_finite()));
    // Cuts on A–B raise B's share; cuts on A–C lower it.
    for c in &e.contributions {
        if c.event % 2 == 0 {
            assert!(c.value > 0.0, "{c:?}");
        } else {
            assert!(c.value < 0.0, "{c:?}");
        }
    }
}

#[test]
fn concatenated_shards_equal_the_unsharded_sweep() {
    let common = [
        "sweep",
        "scenarios/pak-rus-mous-2024.toml",
        "--set",
        "agreement.agri-mou.probability=0:1:0.25",
        "--set",
        "agreement.rail-mou.delay=[0,1],[2,4]",
        "--runs",
        "8",
        "--metric",
        "import_share,supplier_hhi",
        "--region",
        "PAK",
        "--sector",
        "agri",
    ];
    let whole = corridor(common);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let mut joined = String::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let mut args = common.to_vec();
        args.extend(["--shard", shard]);
        let out = corridor(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        joined.push_str(&out.stdout);
    }
    assert_eq!(joined, whole.stdout);
    let text = whole.stdout;
    assert!(text.starts_with("# corridor "));
    assert!(text.lines().nth(1).is_some_and(|l| l.contains("sha256 ")));
    // 5 probabilities × 2 delays = 10 grid points, numbered 0..=9.
    assert!(
        text.lines().any(|l| l.starts_with("9,")) && !text.lines().any(|l| l.starts_with("10,"))
    );
}

#[test]
fn latin_hypercube_puts_one_point_in_each_stratum() {
    let out = corridor([
        "sweep",
        "scenarios/tutorial-three-regions.toml",
        "--set",
        "agreement.ab-deal.cost_cut=0:0.2:0.01",
        "--sample",
        "lhs:10",
        "--metric",
        "import_share",
        "--region",
        "A",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    let mut cuts: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("point") && l.contains(",path,"))
        .map(|l| {
            l.split(',')
                .nth(1)
                .expect("cut")
                .parse::<f64>()
                .expect("number")
        })
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    assert_eq!(cuts.len(), 10);
    for (k, c) in cuts.iter().enumerate() {
        let (lo, hi) = (0.02 * k as f64, 0.02 * (k + 1) as f64);
        assert!(
            *c >= lo - 1e-9 && *c <= hi + 1e-9,
            "stratum {k}: {c} not in [{lo}, {hi}]"
        );
    }
}

#[test]
fn sensitivity_ranks_the_parameter_that_matters_first() {
    let out = corridor([
        "sensitivity",
        "scenarios/tutorial-three-regions.toml",
        "--metric",
        "import_share",
        "--region",
        "A",
        "--partner",
        "B",
        "--sector",
        "goods",
        "--pct",
        "10",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    let first = text
        .lines()
        .find(|l| l.contains("sector.") || l.contains("agreement."))
        .expect("a row");
    assert!(
        first.contains("sector.goods.substitution") || first.contains("cost_cut"),
        "{text}"
    );
    // Demand growth cannot move a share on the path: it is listed as having no effect.
    let flat = text
        .lines()
        .find(|l| l.starts_with("No effect on this output:"))
        .expect("no-effect line");
    assert!(flat.contains("sector.goods.growth"), "{flat}");
    assert!(
        !flat.contains("sector.goods.substitution"),
        "σ moves the share: {flat}"
    );
}
