//! What each fuzz target does with its input, shared by the `cargo fuzz` targets in
//! `fuzz/` and by the regression tests in `tests/fuzz_regressions.rs`, so a crash found by
//! the fuzzer is replayed by exactly the same code.
//!
//! An input is one or more files separated by a line `%%%%`. Files are served from memory
//! through a [`FileSource`], so `extends` and `[data] flows` resolve to fuzzed contents.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use corridor::ensemble::{self, Outcome};
use corridor::metrics::{Metric, Plan};
use corridor::model::{Model, ModelError};
use corridor::scenario::bundled::{self, Bundled};
use corridor::scenario::edit::{self, Assignment};
use corridor::scenario::{EngineKind, FileSource, Loaded, Scenario, load_from};

pub mod extreme;

/// The line that separates the files of one input.
pub const SEPARATOR: &[u8] = b"\n%%%%\n";

/// The folder the in-memory files live in; it does not exist on disk.
pub const DIR: &str = "/corridor-fuzz";

/// Splits an input into its files.
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

/// Files held in memory; a path not held is "not found", or `fallback` if set.
#[derive(Default)]
pub struct MemFiles {
    pub files: HashMap<PathBuf, Vec<u8>>,
    pub fallback: Option<Vec<u8>>,
}

impl MemFiles {
    fn get(&self, path: &Path) -> std::io::Result<&[u8]> {
        self.files
            .get(path)
            .or(self.fallback.as_ref())
            .map(Vec::as_slice)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

impl FileSource for MemFiles {
    fn size(&self, path: &Path) -> std::io::Result<u64> {
        self.get(path).map(|b| b.len() as u64)
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.get(path).map(<[u8]>::to_vec)
    }
}

/// Loads the first file as a scenario; every other path it names (its CSV, its parent)
/// reads as the second file. Returns what the loader returned.
pub fn load_scenario_and_csv(data: &[u8]) -> Loaded {
    let parts = split(data);
    let main = Path::new(DIR).join("main.toml");
    let mut files = MemFiles::default();
    files.files.insert(main.clone(), parts[0].to_vec());
    files.fallback = parts.get(1).map(|p| p.to_vec());
    let loaded = load_from(&main, None, &files);
    check_loaded(&loaded);
    loaded
}

/// The file names of the `extends` target, in input order.
pub const CHAIN_FILES: [&str; 5] = ["a.toml", "b.toml", "c.toml", "d.toml", "flows.csv"];

/// Loads `a.toml`, where the input's files are `a.toml`, `b.toml`, `c.toml`, `d.toml` and
/// `flows.csv` in that order, so they can extend each other in any shape (chains, cycles,
/// a file extending itself, a missing parent).
pub fn load_chain(data: &[u8]) -> Loaded {
    let mut files = MemFiles::default();
    for (name, part) in CHAIN_FILES.iter().zip(split(data)) {
        files.files.insert(Path::new(DIR).join(name), part.to_vec());
    }
    let loaded = load_from(&Path::new(DIR).join(CHAIN_FILES[0]), None, &files);
    check_loaded(&loaded);
    loaded
}

/// What holds for any load: a scenario only without errors, and every diagnostic renders.
fn check_loaded(loaded: &Loaded) {
    if loaded.scenario.is_some() {
        assert!(
            !loaded.diagnostics.has_errors(),
            "a scenario despite errors"
        );
    }
    let rendered = loaded.diagnostics.render(&loaded.sources, false);
    if loaded.diagnostics.has_errors() {
        assert!(!rendered.is_empty(), "errors that render as nothing");
    }
    for d in &loaded.diagnostics.items {
        let _ = d.position(&loaded.sources);
        let _ = d.headline(&loaded.sources);
    }
}

/// Applies fuzzed `PATH=VALUE` lines (all files after the first byte's choice of bundled
/// scenario) to a bundled scenario, as `corridor set` does, without touching the disk.
pub fn set_on_bundled(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let paths = bundled::scenario_paths();
    let path = &paths[usize::from(choice) % paths.len()];
    let text = bundled::contents(path).expect("a bundled scenario has contents");
    let loaded = load_from(path, None, &Bundled);
    let Some(scenario) = loaded.scenario else {
        panic!("bundled scenario {} is invalid", path.display());
    };
    let text_lines = String::from_utf8_lossy(rest);
    let mut edits = Vec::new();
    for line in text_lines.lines() {
        if let Ok(a) = Assignment::parse(line) {
            edits.push(a);
        }
    }
    let Ok(edited) = edit::apply(path, text, &scenario, &edits) else {
        return;
    };
    if edits.is_empty() {
        assert_eq!(edited.scenario_text, text, "no edit changed the text");
    }
    // Validate what would be written, the edited CSV included.
    let mut files = MemFiles::default();
    if let Some((csv_path, csv_text)) = &edited.csv {
        files
            .files
            .insert(csv_path.clone(), csv_text.as_bytes().to_vec());
    }
    let overlay = Overlay {
        first: files,
        then: &Bundled,
    };
    let check = load_from(path, Some(&edited.scenario_text), &overlay);
    check_loaded(&check);
    let Some(new) = check.scenario else {
        return;
    };
    // The last assignment to each path is the value that must read back.
    let mut last: HashMap<String, &Assignment> = HashMap::new();
    for e in &edits {
        last.insert(e.target.to_string(), e);
    }
    for e in last.values() {
        if matches!(e.target, corridor::scenario::params::Target::Flow { .. }) {
            continue;
        }
        let got = new.get_param(&e.target).map(|v| v.as_f64());
        assert_eq!(
            got,
            Some(e.value.as_f64()),
            "{} did not read back after the edit",
            e.target
        );
    }
}

/// Files from `first`, else from `then`.
struct Overlay<'a> {
    first: MemFiles,
    then: &'a dyn FileSource,
}

impl FileSource for Overlay<'_> {
    fn size(&self, path: &Path) -> std::io::Result<u64> {
        self.first.size(path).or_else(|_| self.then.size(path))
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.first.read(path).or_else(|_| self.then.read(path))
    }
}

/// Largest simulation the engine target runs for one input (entries × years × runs), so
/// that one input cannot take the fuzzer's whole time budget.
pub const ENGINE_WORK_LIMIT: usize = 2_000_000;

/// Runs the engines on the scenario of the input if it validates: the PE path, a few
/// Monte Carlo runs, and the GE path when the scenario can run in GE.
pub fn run_engines(data: &[u8]) {
    let loaded = load_scenario_and_csv(data);
    if let Some(s) = loaded.scenario {
        let _ = check_engines(&s, 3);
    }
}

/// What [`check_engines`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCheck {
    /// The PE path and runs completed with every output in range.
    pub pe_ran: bool,
    /// PE refused with an overflow message.
    pub pe_overflow: bool,
    pub ge_ran: bool,
    /// Too big for the fuzzing budget: not run.
    pub skipped: bool,
}

/// Runs PE (path and `runs` Monte Carlo runs) and, where possible, the GE path, and checks
/// every output with [`check_outcome`]. An engine may refuse with a message (PE: numbers
/// out of range; GE: no convergence), never panic or report infinities.
pub fn check_engines(s: &Scenario, runs: u32) -> EngineCheck {
    let mut seen = EngineCheck::default();
    let entries = s.flows.len().max(1);
    if entries * s.year_count() * (runs as usize + 1) > ENGINE_WORK_LIMIT {
        seen.skipped = true;
        return seen;
    }
    match simulate(s, EngineKind::Pe, runs) {
        Ok(outcome) => {
            check_outcome(s, &outcome);
            seen.pe_ran = true;
        }
        Err(ModelError::Overflow(why)) => {
            assert!(why.contains("exceeds"), "unclear overflow message: {why}");
            seen.pe_overflow = true;
        }
        Err(e) => panic!("the PE engine failed: {e}"),
    }
    if s.ge_problems().is_empty() {
        match simulate(s, EngineKind::Ge, 0) {
            Ok(outcome) => {
                check_outcome(s, &outcome);
                seen.ge_ran = true;
            }
            // Not converging is reported as an error, which is allowed.
            Err(ModelError::Ge(_) | ModelError::Overflow(_)) => {}
            Err(e) => panic!("GE refused a GE-ready scenario: {e}"),
        }
    }
    seen
}

/// The path and `runs` Monte Carlo runs of every series.
pub fn simulate(s: &Scenario, engine: EngineKind, runs: u32) -> Result<Outcome, ModelError> {
    let model = Model::new(s, engine)?;
    let plan = Plan::new(&model);
    let options = ensemble::Options {
        runs,
        seed: s.seed,
        memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
        only: None,
    };
    ensemble::run(&model, &plan, &options, &ensemble::Silent).map_err(|e| match e {
        ensemble::EnsembleError::Model(m) => m,
        ensemble::EnsembleError::Cancelled => unreachable!("never cancelled"),
        e @ ensemble::EnsembleError::TooLarge { .. } => {
            unreachable!("ENGINE_WORK_LIMIT keeps results small: {e}")
        }
    })
}

/// Every output is a finite number or NaN (no value); flows, imports and exports always
/// have a value on the path, and so does every GE output.
pub fn check_outcome(s: &Scenario, o: &Outcome) {
    for (i, key) in o.keys.iter().enumerate() {
        let name = || {
            format!(
                "{} {} {} {}",
                key.metric.name(),
                key.region_id(s),
                key.partner_id(s),
                key.sector_id(s)
            )
        };
        let always = matches!(
            key.metric,
            Metric::Flow
                | Metric::Imports
                | Metric::Exports
                | Metric::Welfare
                | Metric::Wage
                | Metric::RealWage
                | Metric::PriceIndex
        );
        for (t, &v) in o.path_of(i).iter().enumerate() {
            assert!(
                !v.is_infinite(),
                "path of {} is {v} in {}",
                name(),
                o.years[t]
            );
            assert!(
                !(always && v.is_nan()),
                "path of {} has no value in {}",
                name(),
                o.years[t]
            );
        }
        for stat in 0..ensemble::STATS.len() {
            if let Some(values) = o.stat_of(stat, i) {
                for (t, &v) in values.iter().enumerate() {
                    assert!(
                        !v.is_infinite(),
                        "{} of {} is {v} in {}",
                        ensemble::STATS[stat],
                        name(),
                        o.years[t]
                    );
                }
            }
        }
    }
}
