//! Runs whose results cannot fit in memory are refused up front, with exit code 2 and a
//! message saying what to change, instead of growing until the machine runs out.

mod common;

use std::fmt::Write as _;

use common::corridor_in;

/// A valid scenario with `regions` regions trading in every direction in `sectors`
/// sectors, over `years` years, with `runs` Monte Carlo runs.
fn dense(dir: &std::path::Path, regions: usize, sectors: usize, years: i32, runs: u64) {
    let mut toml = format!(
        "format = 1\n[scenario]\nname = \"dense\"\nbase_year = 2000\nhorizon = {}\nruns = {runs}\n\n\
         [data]\nflows = \"flows.csv\"\n\n",
        2000 + years
    );
    for r in 0..regions {
        writeln!(toml, "[[region]]\nid = \"R{r}\"\n").expect("write");
    }
    for k in 0..sectors {
        writeln!(toml, "[[sector]]\nid = \"s{k}\"\nsubstitution = 4.0\n").expect("write");
    }
    let mut csv = String::from("from,to,sector,value\n");
    for k in 0..sectors {
        for i in 0..regions {
            for j in 0..regions {
                writeln!(csv, "R{i},R{j},s{k},{}", 1 + (i * 7 + j * 3 + k) % 50).expect("write");
            }
        }
    }
    std::fs::write(dir.join("dense.toml"), toml).expect("write the scenario");
    std::fs::write(dir.join("flows.csv"), csv).expect("write the flows");
}

#[test]
fn a_run_whose_results_exceed_memory_is_refused_with_what_to_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 300 regions × 2 sectors, every pair: 180,000 flows; with import shares and the
    // all-sector series that is over 500,000 series × 201 years = 100 million values,
    // 2.4 GB for the path alone.
    dense(dir.path(), 300, 2, 200, 0);
    let out = corridor_in(dir.path(), ["run", "dense.toml", "--out", "all.csv"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("dense.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("201 years"), "{}", out.stderr);
    assert!(out.stderr.contains("--metric"), "{}", out.stderr);
    assert!(
        !dir.path().join("all.csv").exists(),
        "nothing is written for a refused run"
    );

    // The same scenario restricted to one metric runs: 300 regions × 3 sector choices.
    let out = corridor_in(
        dir.path(),
        [
            "run",
            "dense.toml",
            "--metric",
            "supplier_hhi",
            "--out",
            "hhi.csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.path().join("hhi.csv")).expect("output");
    // One header, then path rows: 300 importers × (2 sectors + all) × 201 years.
    assert_eq!(text.lines().count(), 1 + 300 * 3 * 201);
}

#[test]
fn too_many_runs_for_one_series_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 1,000,000 runs × 201 years of one series is 1.6 GB of values to sort at once.
    dense(dir.path(), 2, 1, 200, 1_000_000);
    let out = corridor_in(dir.path(), ["run", "dense.toml", "--out", "o.csv"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("fewer runs"), "{}", out.stderr);
    assert!(out.stderr.contains("1000000 runs"), "{}", out.stderr);
}

/// The tutorial with demand growing by `growth` a year over 200 years.
fn tutorial_growing(dir: &std::path::Path, growth: &str) {
    let text =
        std::fs::read_to_string(common::root().join("scenarios/tutorial-three-regions.toml"))
            .expect("read the tutorial");
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("growth = ") {
                format!("growth = {growth}")
            } else if l.starts_with("horizon = ") {
                "horizon = 2224".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(dir.join("grow.toml"), text.join("\n")).expect("write");
}

#[test]
fn numbers_beyond_f64_are_an_input_problem_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 51^200 ≈ 1e341: past the largest f64 (1.8e308) well before 2224.
    tutorial_growing(dir.path(), "50.0");
    let out = corridor_in(
        dir.path(),
        ["run", "grow.toml", "--runs", "0", "--out", "o.csv"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("grow.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("too extreme"), "{}", out.stderr);
    assert!(!dir.path().join("o.csv").exists());
}

#[test]
fn huge_values_are_shown_in_scientific_notation_in_tables() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A's domestic flow of 800 grows 6-fold a year: 800 × 6^200 ≈ 3.4e158 in 2224 (the
    // A–B agreement moves shares by percents, not by orders of magnitude).
    tutorial_growing(dir.path(), "5.0");
    let out = corridor_in(
        dir.path(),
        [
            "run",
            "grow.toml",
            "--metric",
            "flow",
            "--region",
            "A",
            "--format",
            "table",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains(" A ") && l.split_whitespace().filter(|w| *w == "A").count() == 2)
        .unwrap_or_else(|| panic!("no A→A row:\n{}", out.stdout));
    assert!(row.contains("e158"), "{row}");
    assert!(row.contains("800.0"), "{row}");
    assert!(!row.contains(",000,000,000,000,000,"), "{row}");
}
