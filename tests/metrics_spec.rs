//! Every metric of SPEC §5 on a small hand-made case.
//!
//! Base-year flows (exporter → importer), bloc `east` = {B, C}:
//!
//!   goods:   A→A 50, B→A 30, C→A 10, A→B 20, E→E 100
//!   energy:  B→A 20, D→A 40, C→B 5
//!
//! In 2025 an A–C agreement cuts goods costs by half (σ = 5 in goods), so that C
//! overtakes B as A's top goods supplier. The base year 2024 is the data.

mod common;

use corridor::metrics::Metric;

use common::{
    assert_close, corridor_in, key, load_ok, parse_rows, path_outcome, path_series, path_value,
};

const TEXT: &str = r#"format = 1
flow = [
  { from = "A", to = "A", sector = "goods", value = 50 },
  { from = "B", to = "A", sector = "goods", value = 30 },
  { from = "C", to = "A", sector = "goods", value = 10 },
  { from = "A", to = "B", sector = "goods", value = 20 },
  { from = "E", to = "E", sector = "goods", value = 100 },
  { from = "B", to = "A", sector = "energy", value = 20 },
  { from = "D", to = "A", sector = "energy", value = 40 },
  { from = "C", to = "B", sector = "energy", value = 5 },
]
[scenario]
name = "metrics"
base_year = 2024
horizon = 2025
runs = 0
[[region]]
id = "A"
[[region]]
id = "B"
[[region]]
id = "C"
[[region]]
id = "D"
[[region]]
id = "E"
[[bloc]]
id = "east"
members = ["B", "C"]
[[sector]]
id = "goods"
substitution = 5.0
[[sector]]
id = "energy"
substitution = 2.0
[[agreement]]
id = "ac"
parties = ["A", "C"]
sectors = ["goods"]
start = 2025
cost_cut = 0.5
"#;

const TOL: f64 = 1e-12;

fn base(metric: &str, region: &str, partner: Option<&str>, sector: &str) -> f64 {
    let s = load_ok(TEXT);
    let o = path_outcome(&s);
    path_value(&o, &s, metric, region, partner, sector, 2024)
}

#[test]
fn flow_is_exporter_to_importer_per_sector_and_summed_for_all() {
    assert_eq!(base("flow", "B", Some("A"), "goods"), 30.0);
    assert_eq!(base("flow", "B", Some("A"), "energy"), 20.0);
    assert_eq!(base("flow", "B", Some("A"), "all"), 50.0);
    assert_eq!(base("flow", "A", Some("A"), "goods"), 50.0);
}

#[test]
fn imports_and_exports_count_foreign_partners_only() {
    assert_eq!(base("imports", "A", None, "goods"), 40.0); // 30 + 10, not the domestic 50
    assert_eq!(base("imports", "A", None, "energy"), 60.0); // 20 + 40
    assert_eq!(base("imports", "A", None, "all"), 100.0);
    assert_eq!(base("exports", "C", None, "all"), 15.0); // 10 to A + 5 to B
    assert_eq!(base("exports", "A", None, "goods"), 20.0); // to B; A→A is not an export
    // E only buys at home: its imports are zero.
    assert_eq!(base("imports", "E", None, "goods"), 0.0);
}

#[test]
fn supplier_hhi_and_effective_suppliers() {
    // goods: (30/40)² + (10/40)² = 0.5625 + 0.0625 = 0.625 → 1.6 suppliers
    assert_close(base("supplier_hhi", "A", None, "goods"), 0.625, TOL);
    assert_close(base("effective_suppliers", "A", None, "goods"), 1.6, TOL);
    // energy: (20/60)² + (40/60)² = 5/9 → 1.8
    assert_close(base("supplier_hhi", "A", None, "energy"), 5.0 / 9.0, TOL);
    assert_close(base("effective_suppliers", "A", None, "energy"), 1.8, TOL);
    // all: B 50, C 10, D 40 of 100: 0.25 + 0.01 + 0.16 = 0.42
    assert_close(base("supplier_hhi", "A", None, "all"), 0.42, TOL);
    assert_close(
        base("effective_suppliers", "A", None, "all"),
        1.0 / 0.42,
        TOL,
    );
}

#[test]
fn top_supplier_share_names_the_top_partner_each_year() {
    let s = load_ok(TEXT);
    let o = path_outcome(&s);
    let series = |sector: &str| {
        o.series_index(&key(&s, "top_supplier_share", "A", None, sector))
            .expect("series")
    };
    let (goods, energy, all) = (series("goods"), series("energy"), series("all"));
    let id = |r: Option<usize>| r.map(|r| s.regions[r].id.as_str());
    // 2024 goods: B with 30/40 = 0.75; energy: D with 40/60; all: B with 50/100.
    assert_close(o.path_of(goods)[0], 0.75, TOL);
    assert_eq!(id(o.path_top[goods * 2]), Some("B"));
    assert_close(o.path_of(energy)[0], 2.0 / 3.0, TOL);
    assert_eq!(id(o.path_top[energy * 2]), Some("D"));
    assert_close(o.path_of(all)[0], 0.5, TOL);
    assert_eq!(id(o.path_top[all * 2]), Some("B"));
    // 2025: φ_CA = 0.5, 0.5^(1−5) = 16, so C's weight 10·16 = 160 beats B's 30:
    // C's share of A's goods imports is 160 / 190.
    assert_close(o.path_of(goods)[1], 160.0 / 190.0, TOL);
    assert_eq!(id(o.path_top[goods * 2 + 1]), Some("C"));
}

#[test]
fn import_share_is_the_partners_part_of_imports() {
    assert_close(base("import_share", "A", Some("C"), "goods"), 0.25, TOL);
    assert_close(
        base("import_share", "A", Some("D"), "energy"),
        2.0 / 3.0,
        TOL,
    );
    assert_close(base("import_share", "A", Some("D"), "all"), 0.4, TOL);
    // No share for the domestic "partner".
    let s = load_ok(TEXT);
    let o = path_outcome(&s);
    assert!(path_series(&o, &s, "import_share", "A", Some("A"), "goods").is_none());
}

#[test]
fn market_hhi_and_effective_markets() {
    // C sells 10 to A (goods) and 5 to B (energy): all sectors (2/3)² + (1/3)² = 5/9.
    assert_close(base("market_hhi", "C", None, "all"), 5.0 / 9.0, TOL);
    assert_close(base("effective_markets", "C", None, "all"), 1.8, TOL);
    assert_close(base("market_hhi", "C", None, "goods"), 1.0, TOL);
}

#[test]
fn trade_hhi_uses_exports_plus_imports_over_all_sectors() {
    // A's partners: B 20 + 50 = 70, C 10, D 40; total 120.
    // HHI = (70² + 10² + 40²) / 120² = 6600 / 14400
    assert_close(base("trade_hhi", "A", None, "all"), 6600.0 / 14400.0, TOL);
}

#[test]
fn bloc_import_share_and_bloc_trade_share() {
    // east = {B, C}. A's goods imports are all from east; energy 20 of 60; all 60 of 100.
    assert_close(
        base("bloc_import_share", "A", Some("east"), "goods"),
        1.0,
        TOL,
    );
    assert_close(
        base("bloc_import_share", "A", Some("east"), "energy"),
        1.0 / 3.0,
        TOL,
    );
    assert_close(
        base("bloc_import_share", "A", Some("east"), "all"),
        0.6,
        TOL,
    );
    // A trades 80 of its 120 with east.
    assert_close(
        base("bloc_trade_share", "A", Some("east"), "all"),
        80.0 / 120.0,
        TOL,
    );
    // B, a member, counts only its trade with the other members: C→B 5 of 70 + 5 = 75.
    assert_close(
        base("bloc_trade_share", "B", Some("east"), "all"),
        5.0 / 75.0,
        TOL,
    );
}

#[test]
fn self_sufficiency_is_domestic_over_absorption_only_with_a_domestic_flow() {
    assert_close(
        base("self_sufficiency", "A", None, "goods"),
        50.0 / 90.0,
        TOL,
    );
    assert_close(
        base("self_sufficiency", "A", None, "all"),
        50.0 / 150.0,
        TOL,
    );
    assert_close(base("self_sufficiency", "E", None, "goods"), 1.0, TOL);
    let s = load_ok(TEXT);
    let o = path_outcome(&s);
    // A has no domestic energy flow, B none at all: no value.
    assert!(path_series(&o, &s, "self_sufficiency", "A", None, "energy").is_none());
    assert!(path_series(&o, &s, "self_sufficiency", "B", None, "all").is_none());
}

#[test]
fn empty_denominator_gives_no_series() {
    let s = load_ok(TEXT);
    let o = path_outcome(&s);
    let has = |metric: &str, region: &str, sector: &str| {
        path_series(&o, &s, metric, region, None, sector).is_some()
    };
    // E imports nothing: no supplier concentration, no top supplier, no trade partners.
    for m in ["supplier_hhi", "effective_suppliers", "top_supplier_share"] {
        assert!(!has(m, "E", "goods"), "{m} of E");
    }
    assert!(!has("trade_hhi", "E", "all"));
    // D exports only: no import-side metric for D.
    assert!(!has("supplier_hhi", "D", "all"));
    // A exports no energy: no market concentration in energy.
    assert!(!has("market_hhi", "A", "energy"));
    assert!(!has("effective_markets", "A", "energy"));
    // Every series that exists has a value in every year (no NaN left in a kept series).
    for (i, k) in o.keys.iter().enumerate() {
        if k.metric != Metric::Creation && k.metric != Metric::Diversion {
            assert!(o.path_of(i).iter().all(|v| v.is_finite()), "{k:?}");
        }
    }
}

#[test]
fn empty_denominator_writes_no_csv_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("metrics.toml"), TEXT).expect("write");
    let out = corridor_in(dir.path(), ["run", "metrics.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = parse_rows(&out.stdout);
    assert!(!rows.is_empty());
    let none = |metric: &str, region: &str| {
        !rows
            .iter()
            .any(|r| r.metric == metric && r.region == region)
    };
    assert!(none("supplier_hhi", "E"));
    assert!(none("self_sufficiency", "B"));
    assert!(none("trade_hhi", "E"));
    assert!(
        rows.iter().all(|r| r.value.is_finite()),
        "no NaN or inf values are written"
    );
    // The top supplier's id is in the partner column, and changes in 2025.
    let top = |year: i32| {
        rows.iter()
            .find(|r| {
                r.year == year
                    && r.metric == "top_supplier_share"
                    && r.region == "A"
                    && r.sector == "goods"
            })
            .map(|r| r.partner.clone())
    };
    assert_eq!(top(2024).as_deref(), Some("B"));
    assert_eq!(top(2025).as_deref(), Some("C"));
}
