//! Exit codes of SPEC §7: 0 success, 2 invalid input or usage, 1 any other failure.

mod common;

use common::corridor;

const TUTORIAL: &str = "scenarios/tutorial-three-regions.toml";

#[test]
fn valid_file_exits_0() {
    let out = corridor(["check", TUTORIAL]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ok:"));
    assert_eq!(corridor(["run", TUTORIAL]).code, 0);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["run", TUTORIAL, "--bogus"],
        vec!["check"],
        vec!["no-such-command"],
        vec!["run", TUTORIAL, "--format", "xml"],
        vec!["run", TUTORIAL, "--runs", "many"],
        vec!["compare", TUTORIAL],
        vec!["set", TUTORIAL],
    ] {
        let out = corridor(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.is_empty(), "{args:?} says why");
        assert!(out.stdout.is_empty(), "{args:?} writes nothing to stdout");
    }
}

#[test]
fn unknown_metric_region_or_sector_exit_2_with_a_suggestion() {
    let out = corridor(["run", TUTORIAL, "--metric", "suplier_hhi"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `supplier_hhi`"),
        "{}",
        out.stderr
    );
    let out = corridor([
        "compare",
        TUTORIAL,
        "--metric",
        "flow",
        "--partner",
        "B",
        "--region",
        "a",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `A`"), "{}", out.stderr);
    let out = corridor(["run", TUTORIAL, "--sector", "good"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `goods`"),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_file_exits_2_for_every_command() {
    let broken = "tests/broken/probability-above-one.toml";
    for args in [
        vec!["check", broken],
        vec!["run", broken],
        vec!["compare", broken, "--metric", "imports"],
        vec!["set", broken, "scenario.runs=5"],
    ] {
        let out = corridor(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // A missing file is invalid input too.
    assert_eq!(corridor(["run", "tests/broken/no-such-file.toml"]).code, 2);
}

#[test]
fn check_of_several_files_exits_2_if_any_is_invalid_and_reports_each() {
    let out = corridor(["check", TUTORIAL, "tests/broken/negative-flow.toml"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.contains("tutorial-three-regions.toml"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("negative-flow.toml"), "{}", out.stderr);
}

#[test]
fn unwritable_out_dir_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("no-such-folder").join("out.csv");
    let out = corridor([
        "run".as_ref(),
        TUTORIAL.as_ref(),
        "--out".as_ref(),
        out_path.as_os_str(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
    assert!(!out_path.exists());
}
