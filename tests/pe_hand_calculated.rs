//! The PE engine (SPEC §2–§3) against cases worked on paper.
//!
//! Three regions A, B, C and one sector. Base-year flows (exporter → importer):
//!
//!   market A:  A→A 600 (domestic), B→A 300, C→A 100     E_A(0) = 1000
//!   market B:  A→B 200, C→B 200                          E_B(0) = 400
//!   market C:  A→C 50,  B→C 50                           E_C(0) = 100
//!
//! so w0 in market A is 0.6 (A), 0.3 (B), 0.1 (C). Unless a test says otherwise σ = 3
//! (1 − σ = −2), ε = 0.5, g = 0, v = 0, base year 2024.

mod common;

use corridor::metrics::Plan;
use corridor::model::{Draw, Model};
use corridor::scenario::{EngineKind, Scenario};

use common::{assert_close, corridor_in, load_ok, parse_rows, path_outcome, path_value, row_value};

const TOL: f64 = 1e-12;

fn scenario(sigma: f64, eps: f64, horizon: i32, extra: &str) -> String {
    format!(
        r#"format = 1
[scenario]
name = "hand"
base_year = 2024
horizon = {horizon}
runs = 0

[[region]]
id = "A"
[[region]]
id = "B"
[[region]]
id = "C"

[[sector]]
id = "goods"
substitution = {sigma:?}
demand_elasticity = {eps:?}

[[flow]]
from = "A"
to = "A"
sector = "goods"
value = 600
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
to = "B"
sector = "goods"
value = 200
[[flow]]
from = "C"
to = "B"
sector = "goods"
value = 200
[[flow]]
from = "A"
to = "C"
sector = "goods"
value = 50
[[flow]]
from = "B"
to = "C"
sector = "goods"
value = 50

{extra}
"#
    )
}

const AB_CUT_20: &str = r#"
[[agreement]]
id = "ab"
parties = ["A", "B"]
start = 2025
cost_cut = 0.2
"#;

/// Flows of the as-written path per year, read straight from the engine: `flows[t][(from, to)]`.
fn path_flows(s: &Scenario) -> Vec<Vec<((String, String), f64)>> {
    let model = Model::new(s, EngineKind::Pe).expect("model");
    let draw = Draw::as_written(&model.events);
    simulate(&model, &draw)
}

fn simulate(model: &Model, draw: &Draw) -> Vec<Vec<((String, String), f64)>> {
    let s = &model.scenario;
    let mut years = Vec::new();
    model
        .simulate(draw, &mut |state| {
            let row = model
                .structure
                .entries
                .iter()
                .zip(state.flows)
                .map(|(e, x)| {
                    (
                        (s.regions[e.from].id.clone(), s.regions[e.to].id.clone()),
                        *x,
                    )
                })
                .collect();
            years.push(row);
        })
        .expect("simulate");
    years
}

fn flow(year_row: &[((String, String), f64)], from: &str, to: &str) -> f64 {
    year_row
        .iter()
        .find(|((f, t), _)| f == from && t == to)
        .map(|(_, x)| *x)
        .unwrap_or_else(|| panic!("no flow {from}→{to}"))
}

#[test]
fn cost_cut_moves_shares_price_and_expenditure_as_worked_by_hand() {
    let s = load_ok(&scenario(3.0, 0.5, 2027, AB_CUT_20));
    let flows = path_flows(&s);
    // Market A in 2025: φ_BA = 1 − 0.2 = 0.8, φ^(1−σ) = 0.8^(−2) = 1.5625.
    //   D = 0.6 + 0.3·1.5625 + 0.1 = 1.16875
    //   w_AA = 0.6/1.16875 = 0.51337, w_BA = 0.46875/1.16875 = 0.40107, w_CA = 0.1/1.16875 = 0.08556
    //   P = D^(1/(1−σ)) = 1.16875^(−1/2) = 0.92499
    //   E = 1000 · P^(1−ε) = 1000 · 1.16875^(−1/4) = 961.766
    let d = 0.6 + 0.3 / 0.64 + 0.1;
    assert_close(d, 1.16875, TOL);
    let e = 1000.0 * 1.16875_f64.powf(-0.25);
    assert_eq!(flows.len(), 4, "2024 to 2027");
    for y in &flows[1..] {
        assert_close(flow(y, "A", "A"), 0.6 / 1.16875 * e, TOL); // 493.74
        assert_close(flow(y, "B", "A"), 0.46875 / 1.16875 * e, TOL); // 385.735
        assert_close(flow(y, "C", "A"), 0.1 / 1.16875 * e, TOL); // 82.290
        // Shares sum to one: the three flows add up to E.
        assert_close(
            flow(y, "A", "A") + flow(y, "B", "A") + flow(y, "C", "A"),
            e,
            TOL,
        );
        // Market B: φ_AB = 0.8 on half the market. D_B = 0.5·1.5625 + 0.5 = 1.28125,
        // E_B = 400 · 1.28125^(−1/4) = 375.969; X_AB = (0.78125/1.28125) · E_B = 229.249.
        let e_b = 400.0 * 1.28125_f64.powf(-0.25);
        assert_close(flow(y, "A", "B"), 0.78125 / 1.28125 * e_b, TOL);
        assert_close(flow(y, "C", "B"), 0.5 / 1.28125 * e_b, TOL);
        // Market C is not covered: A→C and B→C stay at the data.
        assert_eq!(flow(y, "A", "C"), 50.0);
        assert_eq!(flow(y, "B", "C"), 50.0);
    }
}

#[test]
fn creation_and_diversion_follow_spec_section_3() {
    let s = load_ok(&scenario(3.0, 0.5, 2026, AB_CUT_20));
    let o = path_outcome(&s);
    let d: f64 = 1.16875;
    let e = 1000.0 * d.powf(-0.25);
    // M_A = X_BA + X_CA = (0.46875 + 0.1)/D · E = 468.025; M⁰_A = 400 · L = 400.
    // creation_A = 468.025 − 400 = 68.025.
    assert_close(
        path_value(&o, &s, "creation", "A", None, "goods", 2025),
        0.56875 / d * e - 400.0,
        TOL,
    );
    // Only C loses share among A's foreign suppliers: w_CA − w0 = 0.1/D − 0.1 < 0,
    // so diversion_A = (0.1 − 0.1/D) · E = 13.886. B gains share and adds nothing.
    assert_close(
        path_value(&o, &s, "diversion", "A", None, "goods", 2025),
        (0.1 - 0.1 / d) * e,
        TOL,
    );
    // In the base year nothing has changed yet.
    assert_eq!(
        path_value(&o, &s, "creation", "A", None, "goods", 2024),
        0.0
    );
    assert_eq!(
        path_value(&o, &s, "diversion", "A", None, "goods", 2024),
        0.0
    );
    // Market C is not covered: no creation, no diversion.
    assert_eq!(
        path_value(&o, &s, "creation", "C", None, "goods", 2025),
        0.0
    );
    assert_eq!(
        path_value(&o, &s, "diversion", "C", None, "goods", 2025),
        0.0
    );
}

#[test]
fn ramp_of_two_years_gives_half_then_full_effect() {
    let ramp = AB_CUT_20.replace("cost_cut = 0.2", "cost_cut = 0.2\nramp_years = 2");
    let s = load_ok(&scenario(3.0, 0.5, 2027, &ramp));
    let flows = path_flows(&s);
    // 2025: ρ = (2025 − 2025 + 1)/2 = 1/2, φ_BA = 1 − 0.5·0.2 = 0.9, 0.9^(−2) = 1/0.81.
    //   D = 0.6 + 0.3/0.81 + 0.1 = 1.070370; X_BA = (0.3/0.81)/D · 1000 · D^(−1/4) = 340.188
    let d1: f64 = 0.6 + 0.3 / 0.81 + 0.1;
    assert_close(
        flow(&flows[1], "B", "A"),
        0.3 / 0.81 / d1 * 1000.0 * d1.powf(-0.25),
        TOL,
    );
    // 2026 and 2027: ρ = min(1, 2/2) = 1, the full cut φ = 0.8 (D = 1.16875).
    let d2: f64 = 1.16875;
    for t in [2, 3] {
        assert_close(
            flow(&flows[t], "B", "A"),
            0.46875 / d2 * 1000.0 * d2.powf(-0.25),
            TOL,
        );
    }
}

#[test]
fn path_uses_the_minimum_delay_and_a_draw_can_move_the_start() {
    let delayed = AB_CUT_20.replace("cost_cut = 0.2", "cost_cut = 0.2\ndelay = [1, 3]");
    let s = load_ok(&scenario(3.0, 0.5, 2028, &delayed));
    let full = 0.46875 / 1.16875 * 1000.0 * 1.16875_f64.powf(-0.25);
    // Path: δ = min = 1, so the agreement acts from 2026.
    let flows = path_flows(&s);
    assert_eq!(flow(&flows[1], "B", "A"), 300.0);
    assert_close(flow(&flows[2], "B", "A"), full, TOL);
    // A hand-made draw with δ = 3: it acts from 2028 only.
    let model = Model::new(&s, EngineKind::Pe).expect("model");
    let late = Draw {
        implemented: vec![true],
        delay: vec![3],
        noise: Vec::new(),
    };
    let flows = simulate(&model, &late);
    for (t, year) in flows.iter().enumerate().take(4).skip(1) {
        assert_eq!(flow(year, "B", "A"), 300.0, "year index {t}");
    }
    assert_close(flow(&flows[4], "B", "A"), full, TOL);
    // A draw in which it is not implemented leaves every year at the data.
    let never = Draw {
        implemented: vec![false],
        delay: vec![1],
        noise: Vec::new(),
    };
    for year in simulate(&model, &never) {
        assert_eq!(flow(&year, "B", "A"), 300.0);
        assert_eq!(flow(&year, "A", "A"), 600.0);
    }
}

#[test]
fn a_shock_ends_after_its_end_year_and_the_delay_moves_the_end() {
    let shock = r#"
[[shock]]
id = "c-friction"
from = ["C"]
to = ["A"]
start = 2025
end = 2026
cost_increase = 0.25
delay = [1, 1]
"#;
    let s = load_ok(&scenario(3.0, 0.5, 2029, shock));
    let flows = path_flows(&s);
    // δ = 1: in force 2026..=2027 (start and end both move by one year).
    // φ_CA = 1.25, 1.25^(−2) = 0.64; D = 0.6 + 0.3 + 0.1·0.64 = 0.964;
    // X_CA = 0.064/0.964 · 1000 · 0.964^(−1/4) = 67.001
    let d: f64 = 0.964;
    let shocked = 0.064 / d * 1000.0 * d.powf(-0.25);
    let by_year: Vec<f64> = flows.iter().map(|y| flow(y, "C", "A")).collect();
    assert_eq!(by_year[0], 100.0); // 2024: data
    assert_eq!(by_year[1], 100.0); // 2025: before the delayed start
    assert_close(by_year[2], shocked, TOL); // 2026
    assert_close(by_year[3], shocked, TOL); // 2027 = end + δ, still in force
    assert_eq!(by_year[4], 100.0); // 2028: over
    assert_eq!(by_year[5], 100.0); // 2029
}

#[test]
fn partial_effect_uses_kappa_exp_minus_beta_over_sigma_minus_one() {
    let pe = AB_CUT_20.replace("cost_cut = 0.2", "partial_effect = 0.4");
    let s = load_ok(&scenario(3.0, 0.5, 2025, &pe));
    let flows = path_flows(&s);
    // κ = exp(−0.4/(3 − 1)) = exp(−0.2), so φ^(1−σ) = exp(−0.2)^(−2) = exp(0.4) = 1.49182:
    // at constant prices B's trade rises by exp(β).
    // D = 0.6 + 0.3·e^0.4 + 0.1 = 1.147547; X_BA = 0.3 e^0.4 / D · 1000 · D^(−1/4) = 376.813
    let w = 0.3 * 0.4_f64.exp();
    let d = 0.6 + w + 0.1;
    assert_close(
        flow(&flows[1], "B", "A"),
        w / d * 1000.0 * d.powf(-0.25),
        TOL,
    );
    // Relative to C, whose cost did not change, B's flow grows by exactly exp(β).
    let ratio = (flow(&flows[1], "B", "A") / flow(&flows[1], "C", "A")) / (300.0 / 100.0);
    assert_close(ratio, 0.4_f64.exp(), TOL);
}

#[test]
fn sigma_one_keeps_shares_and_prices_with_a_geometric_mean() {
    // σ = 1, ε = 0: w = w0; P = Π φ^w0 = 0.8^0.3 (only B's cost changes, w0_BA = 0.3);
    // E = 1000 · P^(1−0) = 1000 · 0.8^0.3 = 935.248; X_BA = 0.3 · E = 280.575.
    let s = load_ok(&scenario(1.0, 0.0, 2025, AB_CUT_20));
    let flows = path_flows(&s);
    let e = 1000.0 * 0.8_f64.powf(0.3);
    assert_close(flow(&flows[1], "A", "A"), 0.6 * e, TOL);
    assert_close(flow(&flows[1], "B", "A"), 0.3 * e, TOL);
    assert_close(flow(&flows[1], "C", "A"), 0.1 * e, TOL);
}

#[test]
fn unit_demand_elasticity_keeps_expenditure_fixed() {
    // ε = 1: E = E0 · P^0 = 1000 whatever the price index.
    let s = load_ok(&scenario(3.0, 1.0, 2025, AB_CUT_20));
    let flows = path_flows(&s);
    let total: f64 = ["A", "B", "C"]
        .iter()
        .map(|i| flow(&flows[1], i, "A"))
        .sum();
    assert_close(total, 1000.0, TOL);
    assert_close(flow(&flows[1], "B", "A"), 0.46875 / 1.16875 * 1000.0, TOL);
}

#[test]
fn growth_override_for_a_sector_wins_over_star_which_wins_over_the_sector() {
    // Two sectors with g = 0.02; A has "*" = 0.05 and goods = 0.10; B has "*" = 0.05.
    // No events, so X(t) = V · (1 + g_js)^t for the importer's g.
    let text = r#"format = 1
[scenario]
name = "growth"
base_year = 2024
horizon = 2027
[[region]]
id = "A"
[[region]]
id = "B"
[[region]]
id = "C"
[[sector]]
id = "goods"
substitution = 3.0
growth = 0.02
[[sector]]
id = "energy"
substitution = 3.0
growth = 0.02
[[growth]]
region = "A"
sector = "*"
rate = 0.05
[[growth]]
region = "A"
sector = "goods"
rate = 0.10
[[growth]]
region = "B"
sector = "*"
rate = 0.05
[[flow]]
from = "B"
to = "A"
sector = "goods"
value = 100
[[flow]]
from = "B"
to = "A"
sector = "energy"
value = 100
[[flow]]
from = "A"
to = "B"
sector = "goods"
value = 100
[[flow]]
from = "A"
to = "C"
sector = "goods"
value = 100
"#;
    let s = load_ok(text);
    let o = path_outcome(&s);
    let at = |exporter: &str, importer: &str, sector: &str| {
        path_value(&o, &s, "flow", exporter, Some(importer), sector, 2027)
    };
    assert_close(at("B", "A", "goods"), 100.0 * 1.10_f64.powi(3), TOL); // specific override
    assert_close(at("B", "A", "energy"), 100.0 * 1.05_f64.powi(3), TOL); // "*" override
    assert_close(at("A", "B", "goods"), 100.0 * 1.05_f64.powi(3), TOL); // B's "*"
    assert_close(at("A", "C", "goods"), 100.0 * 1.02_f64.powi(3), TOL); // sector growth
    // And the file order of the overrides does not matter: specific still wins.
    let swapped = text.replacen(
        "sector = \"*\"\nrate = 0.05\n[[growth]]\nregion = \"A\"\nsector = \"goods\"\nrate = 0.10",
        "sector = \"goods\"\nrate = 0.10\n[[growth]]\nregion = \"A\"\nsector = \"*\"\nrate = 0.05",
        1,
    );
    assert_ne!(swapped, text);
    let s2 = load_ok(&swapped);
    let o2 = path_outcome(&s2);
    assert_close(
        path_value(&o2, &s2, "flow", "B", Some("A"), "goods", 2027),
        100.0 * 1.10_f64.powi(3),
        TOL,
    );
}

#[test]
fn demand_noise_enters_as_exp_of_z_minus_half_v_squared() {
    // v = 0.1 and a hand-made draw whose standard normals are all 1: z = 0.1 in every
    // year, so L(t) = (exp(0.1 − 0.005))^t with g = 0; no events.
    let text = scenario(3.0, 0.5, 2026, "").replace(
        "demand_elasticity = 0.5",
        "demand_elasticity = 0.5\nvolatility = 0.1",
    );
    let s = load_ok(&text);
    let model = Model::new(&s, EngineKind::Pe).expect("model");
    let cells = s.regions.len() * s.sectors.len();
    let draw = Draw {
        implemented: Vec::new(),
        delay: Vec::new(),
        noise: vec![1.0; 2 * cells],
    };
    let flows = simulate(&model, &draw);
    let l1 = (0.1_f64 - 0.005).exp();
    assert_close(flow(&flows[1], "B", "A"), 300.0 * l1, TOL);
    assert_close(flow(&flows[2], "B", "A"), 300.0 * l1 * l1, TOL);
    assert_eq!(flow(&flows[0], "B", "A"), 300.0);
}

#[test]
fn metrics_plan_reads_the_same_flows_as_the_engine() {
    let s = load_ok(&scenario(3.0, 0.5, 2025, AB_CUT_20));
    let model = Model::new(&s, EngineKind::Pe).expect("model");
    let plan = Plan::new(&model);
    let (path, _) = corridor::ensemble::as_written_path(&model, &plan).expect("path");
    let years = s.year_count();
    let key = common::key(&s, "flow", "B", Some("A"), "goods");
    let i = plan
        .keys
        .iter()
        .position(|k| *k == key)
        .expect("flow series");
    assert_eq!(path[i * years], 300.0);
    assert_close(
        path[i * years + 1],
        0.46875 / 1.16875 * 1000.0 * 1.16875_f64.powf(-0.25),
        TOL,
    );
}

#[test]
fn cli_csv_reports_the_hand_computed_flow_and_import_share() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("hand.toml"),
        scenario(3.0, 0.5, 2025, AB_CUT_20),
    )
    .expect("write");
    let out = corridor_in(dir.path(), ["run", "hand.toml", "--runs", "0"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_rows(&out.stdout);
    let d: f64 = 1.16875;
    let e = 1000.0 * d.powf(-0.25);
    let x_ba = row_value(&rows, 2025, "flow", "B", "A", "goods", "path").expect("flow row");
    assert_close(x_ba, 0.46875 / d * e, TOL);
    // import_share of A from B: 0.46875 / (0.46875 + 0.1) = 0.824176 (it was 300/400 = 0.75).
    let share =
        row_value(&rows, 2025, "import_share", "A", "B", "goods", "path").expect("share row");
    assert_close(share, 0.46875 / 0.56875, TOL);
    assert_eq!(
        row_value(&rows, 2024, "import_share", "A", "B", "goods", "path"),
        Some(0.75)
    );
}
