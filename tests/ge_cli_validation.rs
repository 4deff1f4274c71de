//! The published ge_gravity results for the EU enlargement (SPEC §4), reproduced through
//! the `corridor` command line on the bundled scenario.

use std::collections::HashMap;
use std::process::Command;

fn run_csv(args: &[&str]) -> HashMap<(String, String, String, String), f64> {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args([
            "run",
            "scenarios/eu-enlargement-2000.toml",
            "--format",
            "csv",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("corridor runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut rows = HashMap::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        assert_eq!(c.len(), 8, "{line}");
        if c[6] == "path" {
            rows.insert(
                (c[1].into(), c[2].into(), c[3].into(), c[4].into()),
                c[7].parse().expect("number"),
            );
        }
    }
    rows
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
        let got = rows[&(
            "2001".into(),
            "welfare".into(),
            region.into(),
            String::new(),
        )];
        assert!(
            (got - expected).abs() < 2e-7,
            "{region}: {got} vs published {expected}"
        );
        let base = rows[&(
            "2000".into(),
            "welfare".into(),
            region.into(),
            String::new(),
        )];
        assert_eq!(base, 1.0, "the base year is the data");
    }
}

#[test]
fn eu_enlargement_flow_deu_svk_matches_published_result() {
    let rows = run_csv(&["--metric", "flow", "--region", "DEU", "--sector", "goods"]);
    let before = rows[&("2000".into(), "flow".into(), "DEU".into(), "SVK".into())];
    let after = rows[&("2001".into(), "flow".into(), "DEU".into(), "SVK".into())];
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
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["run", "--engine", "ge"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("A→A") && err.contains("B→B"),
        "names the missing domestic flows: {err}"
    );
    let pe = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["run", "--engine", "pe"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(
        pe.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pe.stderr)
    );
}
