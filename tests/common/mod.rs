//! Helpers shared by the integration tests: running the binary, loading scenarios from
//! text, and reading series out of an outcome or a CSV report.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use corridor::ensemble::{self, Outcome};
use corridor::metrics::{Metric, Partner, Plan, SectorSel, SeriesKey};
use corridor::model::Model;
use corridor::scenario::{EngineKind, Scenario, load_str};

/// The crate root: the binary runs from here so that relative paths in messages are short.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the `corridor` binary produced.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `corridor` with `args` from the crate root. Never a terminal, so no progress bar.
pub fn corridor<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    corridor_in(&root(), args)
}

/// Runs `corridor` with `args` from `dir`.
pub fn corridor_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the corridor binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Loads a scenario from text, failing the test with the rendered problems if it is invalid.
pub fn load_ok(text: &str) -> Scenario {
    let loaded = load_str(Path::new("hand.toml"), text);
    match loaded.into_result() {
        Ok((s, _, _)) => s,
        Err((d, sources)) => panic!("scenario should be valid:\n{}", d.render(&sources, false)),
    }
}

/// The as-written path of every series (no Monte Carlo runs).
pub fn path_outcome(s: &Scenario) -> Outcome {
    outcome(s, 0, 0)
}

/// The path and, with `runs > 0`, the ensemble summaries, in the PE engine.
pub fn outcome(s: &Scenario, runs: u32, seed: u64) -> Outcome {
    let model = Model::new(s, EngineKind::Pe).expect("model builds");
    let plan = Plan::new(&model);
    let options = ensemble::Options {
        runs,
        seed,
        memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
        only: None,
    };
    ensemble::run(&model, &plan, &options, &ensemble::Silent).expect("ensemble runs")
}

/// The key of a series named by ids, as they appear in reports.
pub fn key(
    s: &Scenario,
    metric: &str,
    region: &str,
    partner: Option<&str>,
    sector: &str,
) -> SeriesKey {
    let metric = Metric::parse(metric).unwrap_or_else(|| panic!("no metric {metric}"));
    let region = s
        .region_index(region)
        .unwrap_or_else(|| panic!("no region {region}"));
    let partner = match (metric, partner) {
        (Metric::TopSupplierShare, _) => Partner::Top,
        (Metric::BlocImportShare | Metric::BlocTradeShare, Some(b)) => {
            Partner::Bloc(s.bloc_index(b).unwrap_or_else(|| panic!("no bloc {b}")))
        }
        (_, Some(p)) => {
            Partner::Region(s.region_index(p).unwrap_or_else(|| panic!("no region {p}")))
        }
        (_, None) => Partner::None,
    };
    let sector = if sector == "all" {
        SectorSel::All
    } else {
        SectorSel::One(
            s.sector_index(sector)
                .unwrap_or_else(|| panic!("no sector {sector}")),
        )
    };
    SeriesKey {
        metric,
        region,
        partner,
        sector,
    }
}

/// The path of a series over the years, or `None` if the series does not exist.
pub fn path_series(
    o: &Outcome,
    s: &Scenario,
    metric: &str,
    region: &str,
    partner: Option<&str>,
    sector: &str,
) -> Option<Vec<f64>> {
    let k = key(s, metric, region, partner, sector);
    o.series_index(&k).map(|i| o.path_of(i).to_vec())
}

/// The path value of a series in one year; panics if the series does not exist.
pub fn path_value(
    o: &Outcome,
    s: &Scenario,
    metric: &str,
    region: &str,
    partner: Option<&str>,
    sector: &str,
    year: i32,
) -> f64 {
    let series = path_series(o, s, metric, region, partner, sector)
        .unwrap_or_else(|| panic!("no series {metric} {region} {partner:?} {sector}"));
    let t = o
        .years
        .iter()
        .position(|y| *y == year)
        .expect("year in range");
    series[t]
}

/// Asserts |a − b| <= tol · max(1, |b|).
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: f64) {
    let scale = expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol * scale,
        "expected {expected}, got {actual} (difference {})",
        actual - expected
    );
}

/// One row of the CSV report.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub scenario: String,
    pub year: i32,
    pub metric: String,
    pub region: String,
    pub partner: String,
    pub sector: String,
    pub stat: String,
    pub value: f64,
}

/// Parses a CSV report (header checked by the caller).
pub fn parse_rows(csv_text: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed CSV row");
            Row {
                scenario: r[0].to_string(),
                year: r[1].parse().expect("year is an integer"),
                metric: r[2].to_string(),
                region: r[3].to_string(),
                partner: r[4].to_string(),
                sector: r[5].to_string(),
                stat: r[6].to_string(),
                value: r[7].parse().expect("value is a number"),
            }
        })
        .collect()
}

/// The value of the row matching all the given columns.
pub fn row_value(
    rows: &[Row],
    year: i32,
    metric: &str,
    region: &str,
    partner: &str,
    sector: &str,
    stat: &str,
) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.year == year
                && r.metric == metric
                && r.region == region
                && r.partner == partner
                && r.sector == sector
                && r.stat == stat
        })
        .map(|r| r.value)
}

/// Copies a bundled scenario (and the data folder it may read) into `dir`.
pub fn copy_bundled(dir: &Path, names: &[&str]) {
    let src = root().join("scenarios");
    for n in names {
        std::fs::copy(src.join(n), dir.join(n)).expect("copy bundled scenario");
    }
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create data dir");
    for entry in std::fs::read_dir(src.join("data")).expect("bundled data folder") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), data.join(entry.file_name())).expect("copy data file");
    }
}

/// The tutorial scenario with `runs` runs and 2,000 lines of comment, so that writing it
/// takes long enough to be killed in the middle (the crash-safety tests).
pub fn big_scenario(runs: u32) -> String {
    let tutorial = include_str!("../../scenarios/tutorial-three-regions.toml");
    let mut text = tutorial.replace("runs = 0 ", &format!("runs = {runs} "));
    assert_ne!(text, tutorial.replace("runs = 0 ", "runs = 9 "));
    for i in 0..2000 {
        text.push_str(&format!(
            "# padding line {i:05}: a long comment so the file is large and its write takes time\n"
        ));
    }
    text
}

/// The temporary files an atomic write of `scenario.toml` in `dir` left there.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the folder lists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".scenario.toml.") && n.ends_with(".tmp"))
        .collect()
}
