//! What `corridor run` and `compare` write (SPEC §7): the long CSV, JSON, tables, and
//! the help of each command. Expected numbers are those of the tutorial scenario worked
//! by hand in its comments: A's import share from B is 0.5 in 2024 and 100/181 from 2025.

mod common;

use std::collections::HashSet;

use common::{assert_close, corridor, corridor_in, parse_rows, row_value};

const TUTORIAL: &str = "scenarios/tutorial-three-regions.toml";
const MOU: &str = "scenarios/pak-rus-mous-2024.toml";
const HEADER: &str = "scenario,year,metric,region,partner,sector,stat,value";

#[test]
fn csv_header_is_exactly_the_spec_header() {
    let out = corridor(["run", TUTORIAL]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().next(), Some(HEADER));
    assert_eq!(
        out.stdout.lines().filter(|l| *l == HEADER).count(),
        1,
        "one header line"
    );
}

#[test]
fn csv_has_the_hand_computed_values_of_the_tutorial() {
    let out = corridor(["run", TUTORIAL]);
    let rows = parse_rows(&out.stdout);
    assert!(rows.iter().all(|r| r.scenario == "tutorial-three-regions"));
    assert_eq!(
        row_value(&rows, 2024, "import_share", "A", "B", "goods", "path"),
        Some(0.5)
    );
    let share = row_value(&rows, 2025, "import_share", "A", "B", "goods", "path").expect("row");
    assert_close(share, 100.0 / 181.0, 1e-12);
    // Unit ε: A's spending stays 1000, so its imports are 1000 − 800/1.0235.
    let d = 0.8 + 0.1 / 0.81 + 0.1;
    let imports = row_value(&rows, 2027, "imports", "A", "", "goods", "path").expect("row");
    assert_close(imports, 1000.0 * (0.1 / 0.81 + 0.1) / d, 1e-12);
    // `partner` is empty where the metric has none; `sector` is an id or `all`.
    assert!(
        rows.iter()
            .any(|r| r.metric == "imports" && r.partner.is_empty() && r.sector == "all")
    );
}

#[test]
fn path_rows_are_always_written_and_stat_rows_only_with_runs() {
    let zero = parse_rows(&corridor(["run", MOU, "--runs", "0", "--region", "PAK"]).stdout);
    assert!(!zero.is_empty());
    assert!(zero.iter().all(|r| r.stat == "path"));
    let with = parse_rows(&corridor(["run", MOU, "--runs", "5", "--region", "PAK"]).stdout);
    let stats: HashSet<&str> = with.iter().map(|r| r.stat.as_str()).collect();
    assert_eq!(
        stats,
        HashSet::from(["path", "mean", "p5", "p25", "p50", "p75", "p95"])
    );
    // Every (series, year) with a statistic also has its path row.
    let id = |r: &common::Row| {
        (
            r.year,
            r.metric.clone(),
            r.region.clone(),
            r.partner.clone(),
            r.sector.clone(),
        )
    };
    let paths: HashSet<_> = with.iter().filter(|r| r.stat == "path").map(id).collect();
    for r in with.iter().filter(|r| r.stat != "path") {
        assert!(paths.contains(&id(r)), "no path row for {r:?}");
    }
    // The path rows do not depend on the runs.
    let path_only: Vec<_> = with.iter().filter(|r| r.stat == "path").cloned().collect();
    assert_eq!(path_only, zero);
}

#[test]
fn csv_values_round_trip_f64_and_match_json() {
    let csv_out = corridor(["run", MOU, "--runs", "0", "--region", "PAK"]);
    let json_out = corridor([
        "run", MOU, "--runs", "0", "--region", "PAK", "--format", "json",
    ]);
    assert_eq!(json_out.code, 0, "{}", json_out.stderr);
    for line in csv_out.stdout.lines().skip(1) {
        let text = line.rsplit(',').next().expect("value");
        let v: f64 = text.parse().expect("a number");
        // Shortest text that reads back as the same f64.
        assert_eq!(v.to_string(), text, "{line}");
    }
    let doc: serde_json::Value = serde_json::from_str(&json_out.stdout).expect("JSON");
    let scenario = &doc["scenarios"][0];
    let years: Vec<i64> = scenario["years"]
        .as_array()
        .expect("years")
        .iter()
        .map(|y| y.as_i64().expect("year"))
        .collect();
    let rows = parse_rows(&csv_out.stdout);
    let mut compared = 0;
    for series in scenario["series"].as_array().expect("series") {
        let metric = series["metric"].as_str().expect("metric");
        if metric == "top_supplier_share" {
            continue;
        }
        let partner = series["partner"].as_str().unwrap_or("");
        let region = series["region"].as_str().expect("region");
        let sector = series["sector"].as_str().expect("sector");
        for (t, v) in series["path"].as_array().expect("path").iter().enumerate() {
            let year = i32::try_from(years[t]).expect("year");
            let csv_value = row_value(&rows, year, metric, region, partner, sector, "path");
            match v.as_f64() {
                // serde_json's default float parser is not correctly rounded (it can be one
                // unit in the last place off), so the two are compared to within 2 ulp.
                Some(x) => {
                    let c = csv_value.unwrap_or_else(|| {
                        panic!("no CSV row for {metric} {region} {partner} {sector} {year}")
                    });
                    assert!(
                        c.to_bits().abs_diff(x.to_bits()) <= 2,
                        "{metric} {region} {partner} {sector} {year}: {c} vs {x}"
                    );
                }
                None => assert_eq!(csv_value, None),
            }
            compared += 1;
        }
    }
    assert!(compared > 100, "compared {compared} values");
}

#[test]
fn json_parses_and_has_every_series() {
    let out = corridor(["run", TUTORIAL, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let s = &doc["scenarios"][0];
    assert_eq!(s["scenario"], "tutorial-three-regions");
    assert_eq!(s["years"], serde_json::json!([2024, 2025, 2026, 2027]));
    let series = s["series"].as_array().expect("series");
    let share = series
        .iter()
        .find(|x| {
            x["metric"] == "import_share"
                && x["region"] == "A"
                && x["partner"] == "B"
                && x["sector"] == "goods"
        })
        .expect("import_share A B");
    let path: Vec<f64> = share["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert_eq!(path.len(), 4);
    assert_eq!(path[0], 0.5);
    assert_close(path[3], 100.0 / 181.0, 1e-12);
    // One JSON series per CSV series.
    let csv_series: HashSet<_> = parse_rows(&corridor(["run", TUTORIAL]).stdout)
        .into_iter()
        .map(|r| (r.metric, r.region, r.partner, r.sector))
        .filter(|k| k.0 != "top_supplier_share")
        .collect();
    let json_series = series
        .iter()
        .filter(|x| x["metric"] != "top_supplier_share")
        .count();
    assert_eq!(json_series, csv_series.len());
}

#[test]
fn table_is_readable_with_the_base_year_and_the_chosen_year() {
    let out = corridor([
        "run", TUTORIAL, "--format", "table", "--region", "A", "--year", "2025",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let t = &out.stdout;
    assert!(t.contains("Tutorial: three regions"), "{t}");
    for column in ["metric", "region", "partner", "sector", "2024", "2025"] {
        assert!(t.contains(column), "no column {column}:\n{t}");
    }
    // import_share of A from B: 0.5 then 100/181 = 0.5525.
    let line = t
        .lines()
        .find(|l| l.contains("import_share") && l.contains(" B ") && l.contains("goods"))
        .expect("row");
    assert!(line.contains("0.5000") && line.contains("0.5525"), "{line}");
    // A --year outside the scenario is refused.
    assert_eq!(
        corridor(["run", TUTORIAL, "--format", "table", "--year", "2030"]).code,
        2
    );
}

#[test]
fn compare_prints_each_scenarios_difference_to_the_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(common::root().join(TUTORIAL)).expect("tutorial");
    let no_deal = text.replacen("cost_cut = 0.1 ", "cost_cut = 0.0 ", 1);
    assert_ne!(no_deal, text);
    std::fs::write(dir.path().join("no-deal.toml"), no_deal).expect("write");
    std::fs::write(dir.path().join("deal.toml"), text).expect("write");
    let out = corridor_in(
        dir.path(),
        [
            "compare",
            "no-deal.toml",
            "deal.toml",
            "--metric",
            "import_share",
            "--region",
            "A",
            "--partner",
            "B",
            "--year",
            "2025",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{}", out.stdout))
            .to_string()
    };
    // First: 0.5, the reference (difference +0). Second: 100/181 = 0.552486,
    // Δ = +0.052486 and Δ% = 0.052486 / 0.5 = +10.50 %.
    assert!(line("no-deal").contains("0.5000"), "{}", out.stdout);
    let deal = line("│ deal");
    assert!(
        deal.contains("0.5525") && deal.contains("+0.0525") && deal.contains("+10.50%"),
        "{deal}"
    );
    assert!(out.stdout.contains("import_share"));
}

#[test]
fn out_writes_the_same_bytes_as_stdout_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.csv");
    let to_file = corridor([
        "run".as_ref(),
        MOU.as_ref(),
        "--runs".as_ref(),
        "200".as_ref(),
        "--out".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(to_file.code, 0, "{}", to_file.stderr);
    assert!(to_file.stdout.is_empty(), "stdout must be empty with --out");
    let written = std::fs::read_to_string(&path).expect("report written");
    let to_stdout = corridor(["run", MOU, "--runs", "200"]);
    assert_eq!(written, to_stdout.stdout);
    // Only CSV: the header, then rows of eight fields; no progress text or carriage returns.
    assert!(!written.contains('\r'));
    assert!(written.starts_with(HEADER));
    assert!(
        written.lines().all(|l| l.split(',').count() == 8),
        "every line is a CSV row"
    );
    // No temporary file is left next to the report.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("report.csv")]);
}

#[test]
fn help_of_each_command_mentions_its_options() {
    let cases: [(&str, &[&str]); 5] = [
        ("check", &["FILES"]),
        (
            "run",
            &[
                "--runs",
                "--seed",
                "--engine",
                "--format",
                "--out",
                "--metric",
                "--region",
                "--sector",
                "--threads",
                "--year",
            ],
        ),
        (
            "compare",
            &[
                "--metric",
                "--region",
                "--partner",
                "--sector",
                "--year",
                "--runs",
                "--seed",
            ],
        ),
        ("set", &["PATH=VALUE", "FILE"]),
        ("gui", &["FILES"]),
    ];
    for (command, options) in cases {
        let out = corridor([command, "--help"]);
        assert_eq!(out.code, 0, "{command} --help");
        for o in options {
            assert!(
                out.stdout.contains(o),
                "`{command} --help` does not mention {o}:\n{}",
                out.stdout
            );
        }
    }
    let top = corridor(["--help"]);
    for command in ["check", "run", "compare", "set"] {
        assert!(top.stdout.contains(command));
    }
}
