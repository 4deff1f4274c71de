//! Every input that ever made a fuzz target crash, hang or time out, replayed through the
//! same harness the fuzz targets use (`tests/fuzz_harness`). Inputs live in
//! `tests/fuzz_regressions/<target>/`, named as the fuzzer wrote them.
//!
//! Found so far (all reported as timeouts, none as crashes): files with thousands of
//! problems (a scenario with a whole CSV pasted into it) took seconds to load because
//! every problem's snippet was rendered from the whole file; the renderer is now given
//! only the lines a problem points at. The `set_editor` and `extreme` inputs take well
//! under a second on their own and timed out only while the machine was busy; they are
//! kept all the same.

mod common;
mod fuzz_harness;

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use corridor::scenario::load_str;
use fuzz_harness::extreme::Extreme;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read a regression input");
            (p, bytes)
        })
        .collect()
}

#[test]
fn load_scenario_inputs_load_and_render() {
    let cases = inputs("load_scenario");
    assert!(!cases.is_empty(), "no regression inputs for load_scenario");
    for (path, data) in cases {
        let loaded = fuzz_harness::load_scenario_and_csv(&data);
        // The kept input is a scenario with a CSV pasted into its TOML: thousands of
        // problems, each with a location.
        assert!(loaded.diagnostics.has_errors(), "{}", path.display());
        for d in &loaded.diagnostics.items {
            if let Some((_, line, col)) = d.position(&loaded.sources) {
                assert!(line >= 1 && col >= 1, "{}", path.display());
            }
        }
    }
}

#[test]
fn extends_chain_inputs_load() {
    for (_, data) in inputs("extends_chain") {
        let _ = fuzz_harness::load_chain(&data);
    }
}

#[test]
fn engines_inputs_run() {
    for (_, data) in inputs("engines") {
        fuzz_harness::run_engines(&data);
    }
}

#[test]
fn set_editor_inputs_apply() {
    let cases = inputs("set_editor");
    assert!(!cases.is_empty(), "no regression inputs for set_editor");
    for (_, data) in cases {
        fuzz_harness::set_on_bundled(&data);
    }
}

#[test]
fn extreme_inputs_give_finite_outputs() {
    for (path, data) in inputs("extreme") {
        let case = Extreme::arbitrary(&mut Unstructured::new(&data))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(s) = load_str(Path::new("extreme.toml"), &case.text).scenario {
            let _ = fuzz_harness::check_engines(&s, 3);
        }
    }
}

/// The renderer now sees only a window of the file: line numbers, the source lines and
/// the carets must still be those of the whole file, for a problem and a related span
/// more than a thousand lines apart.
#[test]
fn a_problem_far_down_a_file_renders_with_its_own_line_numbers() {
    let tutorial =
        std::fs::read_to_string(common::root().join("scenarios/tutorial-three-regions.toml"))
            .expect("read the tutorial");
    let lines: Vec<&str> = tutorial.lines().collect();
    let first_b = lines
        .iter()
        .position(|l| l.trim_start().starts_with("id = \"B\""))
        .expect("the tutorial defines region B")
        + 1;
    let after_regions = lines
        .iter()
        .rposition(|l| l.starts_with("name = \"Region C\""))
        .expect("region C")
        + 1;
    let mut text: Vec<String> = lines[..after_regions]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    text.extend((0..1200).map(|i| format!("# padding {i}")));
    text.push("[[region]]".into());
    let again = text.len() + 1;
    text.push("id = \"B\"".into());
    text.push("name = \"Again\"".into());
    text.extend(lines[after_regions..].iter().map(|s| (*s).to_owned()));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dup.toml"), text.join("\n")).expect("write");

    let out = common::corridor_in(dir.path(), ["check", "dup.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let err = &out.stderr;
    assert!(err.contains(&format!("dup.toml:{again}:6")), "{err}");
    let source_line = |n: usize| {
        err.lines()
            .any(|l| l.trim_start().starts_with(&format!("{n} | id = \"B\"")))
    };
    assert!(source_line(first_b), "line {first_b} missing:\n{err}");
    assert!(source_line(again), "line {again} missing:\n{err}");
    assert!(err.contains("first defined here"), "{err}");
    assert!(err.contains("defined again here"), "{err}");
}
