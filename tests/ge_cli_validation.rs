//! The published ge_gravity results for the EU enlargement (SPEC §4), reproduced through
//! the `corridor` command line on the bundled scenario.

mod common;

use common::{Row, corridor, corridor_in, parse_rows, row_value};

/// Path rows of `corridor run` on the bundled EU enlargement scenario.
fn run_csv(args: &[&str]) -> Vec<Row> {
    let mut all = vec![
        "run",
        "scenarios/eu-enlargement-2000.toml",
        "--format",
        "csv",
    ];
    all.extend(args);
    let out = corridor(all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    parse_rows(&out.stdout)
}

/// The path value of one row; the test fails if it is missing.
fn path(rows: &[Row], year: i32, metric: &str, region: &str, partner: &str, sector: &str) -> f64 {
    row_value(rows, year, metric, region, partner, sector, "path")
        .unwrap_or_else(|| panic!("no {metric} row for {region} {partner} in {year}"))
}

#[test]
fn eu_enlargement_welfare_matches_published_ge_gravity_results() {
    let rows = run_csv(&["--metric", "welfare"]);
    let published = [
        ("MLT", 1.015_349_1),
        ("HUN", 1.014_042_9),
        ("POL", 1.006_803_6),
        ("DEU", 1.000_724_9),
        ("AUS", 0.999_993_8),
        ("RUS", 0.999_797_8),
        ("USA", 0.999_998_0),
    ];
    for (region, expected) in published {
        let got = path(&rows, 2001, "welfare", region, "", "all");
        assert!(
            (got - expected).abs() < 2e-7,
            "{region}: {got} vs published {expected}"
        );
        let base = path(&rows, 2000, "welfare", region, "", "all");
        assert_eq!(base, 1.0, "the base year is the data");
    }
}

#[test]
fn eu_enlargement_flow_deu_svk_matches_published_result() {
    let rows = run_csv(&["--metric", "flow", "--region", "DEU", "--sector", "goods"]);
    let before = path(&rows, 2000, "flow", "DEU", "SVK", "goods");
    let after = path(&rows, 2001, "flow", "DEU", "SVK", "goods");
    assert_eq!(before, 2723.951486, "base-year flow is the data, exactly");
    assert!(
        (after / 3269.1997 - 1.0).abs() < 5e-7,
        "DEU→SVK {after} vs published 3269.1997"
    );
}

#[test]
fn ge_engine_can_be_chosen_per_run_and_refuses_unready_scenarios() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-domestic.toml");
    std::fs::write(
        &path,
        "format = 1\n[scenario]\nname = \"x\"\nbase_year = 2020\nhorizon = 2021\nruns = 0\n\
         [[region]]\nid = \"A\"\n[[region]]\nid = \"B\"\n[[sector]]\nid = \"g\"\nsubstitution = 5.0\n\
         [[flow]]\nfrom = \"A\"\nto = \"B\"\nsector = \"g\"\nvalue = 1.0\n",
    )
    .expect("write");
    let out = corridor_in(dir.path(), ["run", "--engine", "ge", "no-domestic.toml"]);
    assert_eq!(out.code, 2);
    let err = out.stderr;
    assert!(
        err.contains("A→A") && err.contains("B→B"),
        "names the missing domestic flows: {err}"
    );
    let pe = corridor_in(dir.path(), ["run", "--engine", "pe", "no-domestic.toml"]);
    assert_eq!(pe.code, 0, "{}", pe.stderr);
}
