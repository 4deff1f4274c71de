//! The broken-file corpus: every file in `tests/broken/` is invalid in one known way.
//! `corridor check` must exit 2 and point at the exact `file:line:column` of the problem
//! (SPEC §1: "Every error names the file, line and column, says what is wrong and what
//! would be right"), with a key phrase of the message.
//!
//! Positions are where the offending text is in the file: the value for a bad value, the
//! key for an unknown key, the `[[flow]]` header of a duplicate flow, the `extends` value
//! that closes a cycle, the cell of a bad CSV value. For an unterminated string it is the
//! end of the line, where the closing quote is missing.

mod common;

use std::collections::BTreeSet;

use common::{corridor, root};

struct Case {
    /// The file checked, in `tests/broken/`.
    file: &'static str,
    /// The file the problem is in, if not the checked file itself.
    at: Option<&'static str>,
    line: usize,
    col: usize,
    /// A phrase the message must contain.
    says: &'static str,
}

const SAME: Option<&str> = None;

const CASES: &[Case] = &[
    Case {
        file: "no-regions.toml",
        at: SAME,
        line: 17,
        col: 8,
        says: "no region is defined: add a [[region]] entry",
    },
    Case {
        file: "syntax-unclosed-string.toml",
        at: SAME,
        line: 5,
        col: 27,
        says: "invalid TOML",
    },
    Case {
        file: "syntax-missing-equals.toml",
        at: SAME,
        line: 6,
        col: 11,
        says: "invalid TOML",
    },
    Case {
        file: "syntax-unclosed-header.toml",
        at: SAME,
        line: 14,
        col: 1,
        says: "invalid TOML",
    },
    Case {
        file: "syntax-duplicate-key.toml",
        at: SAME,
        line: 10,
        col: 1,
        says: "invalid TOML",
    },
    Case {
        file: "wrong-type-base-year.toml",
        at: SAME,
        line: 6,
        col: 13,
        says: "expected an integer",
    },
    Case {
        file: "wrong-type-substitution.toml",
        at: SAME,
        line: 26,
        col: 16,
        says: "expected a number",
    },
    Case {
        file: "wrong-type-parties.toml",
        at: SAME,
        line: 49,
        col: 11,
        says: "list of strings",
    },
    Case {
        file: "wrong-type-enabled.toml",
        at: SAME,
        line: 55,
        col: 11,
        says: "true or false",
    },
    Case {
        file: "wrong-type-horizon-float.toml",
        at: SAME,
        line: 7,
        col: 11,
        says: "without a decimal point",
    },
    Case {
        file: "unknown-key-scenario.toml",
        at: SAME,
        line: 10,
        col: 1,
        says: "did you mean `description`",
    },
    Case {
        file: "unknown-key-agreement.toml",
        at: SAME,
        line: 53,
        col: 1,
        says: "did you mean `probability`",
    },
    Case {
        file: "unknown-key-top-level.toml",
        at: SAME,
        line: 3,
        col: 1,
        says: "did you mean `extends`",
    },
    Case {
        file: "unknown-key-sector.toml",
        at: SAME,
        line: 27,
        col: 1,
        says: "did you mean `volatility`",
    },
    Case {
        file: "unknown-region-in-parties.toml",
        at: SAME,
        line: 49,
        col: 19,
        says: "did you mean `RUS`",
    },
    Case {
        file: "unknown-sector-in-flow.toml",
        at: SAME,
        line: 38,
        col: 10,
        says: "did you mean `agri`",
    },
    Case {
        file: "unknown-sector-in-agreement.toml",
        at: SAME,
        line: 50,
        col: 12,
        says: "did you mean `agri`",
    },
    Case {
        file: "unknown-bloc-in-shock.toml",
        at: SAME,
        line: 58,
        col: 9,
        says: "did you mean `partners`",
    },
    Case {
        file: "unknown-region-in-bloc.toml",
        at: SAME,
        line: 22,
        col: 19,
        says: "did you mean `CHN`",
    },
    Case {
        file: "unknown-region-in-growth.toml",
        at: SAME,
        line: 66,
        col: 10,
        says: "did you mean `PAK`",
    },
    Case {
        file: "probability-above-one.toml",
        at: SAME,
        line: 53,
        col: 15,
        says: "[0, 1]",
    },
    Case {
        file: "cost-cut-one.toml",
        at: SAME,
        line: 52,
        col: 12,
        says: "[0, 1)",
    },
    Case {
        file: "negative-flow.toml",
        at: SAME,
        line: 39,
        col: 9,
        says: ">= 0",
    },
    Case {
        file: "volatility-two.toml",
        at: SAME,
        line: 27,
        col: 14,
        says: "[0, 1]",
    },
    Case {
        file: "substitution-zero.toml",
        at: SAME,
        line: 26,
        col: 16,
        says: "> 0",
    },
    Case {
        file: "horizon-equals-base-year.toml",
        at: SAME,
        line: 7,
        col: 11,
        says: "1..=200",
    },
    Case {
        file: "horizon-201-years.toml",
        at: SAME,
        line: 7,
        col: 11,
        says: "1..=200",
    },
    Case {
        file: "start-at-base-year.toml",
        at: SAME,
        line: 51,
        col: 9,
        says: "after base_year",
    },
    Case {
        file: "delay-reversed.toml",
        at: SAME,
        line: 54,
        col: 9,
        says: "min <= max",
    },
    Case {
        file: "delay-max-51.toml",
        at: SAME,
        line: 54,
        col: 9,
        says: "<= 50",
    },
    Case {
        file: "runs-two-million.toml",
        at: SAME,
        line: 8,
        col: 8,
        says: "1000000",
    },
    Case {
        file: "cost-cut-inf.toml",
        at: SAME,
        line: 52,
        col: 12,
        says: "finite",
    },
    Case {
        file: "flow-nan.toml",
        at: SAME,
        line: 45,
        col: 9,
        says: "finite",
    },
    Case {
        file: "parties-and-between.toml",
        at: SAME,
        line: 50,
        col: 11,
        says: "both `parties` and `between`",
    },
    Case {
        file: "cost-cut-and-partial-effect.toml",
        at: SAME,
        line: 53,
        col: 18,
        says: "both `cost_cut` and `partial_effect`",
    },
    Case {
        file: "partial-effect-sigma-one.toml",
        at: SAME,
        line: 52,
        col: 18,
        says: "needs σ > 1",
    },
    Case {
        file: "duplicate-region-id.toml",
        at: SAME,
        line: 18,
        col: 6,
        says: "duplicate region id",
    },
    Case {
        file: "duplicate-agreement-id.toml",
        at: SAME,
        line: 57,
        col: 6,
        says: "duplicate agreement id",
    },
    Case {
        file: "duplicate-flow.toml",
        at: SAME,
        line: 47,
        col: 1,
        says: "duplicate flow",
    },
    Case {
        file: "duplicate-flow-csv-and-inline.toml",
        at: SAME,
        line: 32,
        col: 1,
        says: "duplicate flow",
    },
    Case {
        file: "extends-cycle-a.toml",
        at: Some("parts/cycle-b.toml"),
        line: 2,
        col: 11,
        says: "cycle",
    },
    Case {
        file: "extends-missing-parent.toml",
        at: SAME,
        line: 3,
        col: 11,
        says: "cannot read",
    },
    Case {
        file: "extends-too-deep.toml",
        at: Some("parts/deep/16.toml"),
        line: 3,
        col: 11,
        says: "limit of 16",
    },
    Case {
        file: "csv-missing.toml",
        at: SAME,
        line: 12,
        col: 9,
        says: "cannot read",
    },
    Case {
        file: "csv-missing-header-column.toml",
        at: Some("parts/flows-no-value-column.csv"),
        line: 1,
        col: 1,
        says: "from,to,sector,value",
    },
    Case {
        file: "csv-non-numeric.toml",
        at: Some("parts/flows-non-numeric.csv"),
        line: 3,
        col: 14,
        says: "not a number",
    },
    Case {
        file: "csv-wrong-field-count.toml",
        at: Some("parts/flows-wrong-field-count.csv"),
        line: 3,
        col: 1,
        says: "5 fields",
    },
    Case {
        file: "csv-unknown-region.toml",
        at: Some("parts/flows-unknown-region.csv"),
        line: 4,
        col: 5,
        says: "did you mean `RUS`",
    },
    Case {
        file: "binary-garbage.toml",
        at: SAME,
        line: 1,
        col: 1,
        says: "not UTF-8",
    },
    Case {
        file: "non-utf8.toml",
        at: SAME,
        line: 5,
        col: 12,
        says: "not UTF-8",
    },
    Case {
        file: "empty.toml",
        at: SAME,
        line: 1,
        col: 1,
        says: "empty",
    },
    Case {
        file: "missing-scenario-table.toml",
        at: SAME,
        line: 1,
        col: 1,
        says: "missing the [scenario] table",
    },
    Case {
        file: "missing-format.toml",
        at: SAME,
        line: 1,
        col: 1,
        says: "missing `format`",
    },
    Case {
        file: "format-two.toml",
        at: SAME,
        line: 2,
        col: 10,
        says: "format",
    },
    Case {
        file: "ge-without-domestic-flows.toml",
        at: SAME,
        line: 10,
        col: 10,
        says: "domestic flow",
    },
    Case {
        file: "bloc-id-is-region-id.toml",
        at: SAME,
        line: 21,
        col: 6,
        says: "also a region id",
    },
    Case {
        file: "sector-id-all.toml",
        at: SAME,
        line: 25,
        col: 6,
        says: "reserved",
    },
    Case {
        file: "invalid-id-characters.toml",
        at: SAME,
        line: 21,
        col: 6,
        says: "invalid region id",
    },
    Case {
        file: "shock-end-before-start.toml",
        at: SAME,
        line: 62,
        col: 7,
        says: "before `start`",
    },
    Case {
        file: "seed-negative.toml",
        at: SAME,
        line: 9,
        col: 8,
        says: "non-negative",
    },
    Case {
        file: "missing-substitution.toml",
        at: SAME,
        line: 24,
        col: 1,
        says: "missing `substitution`",
    },
    Case {
        file: "three-errors.toml",
        at: SAME,
        line: 27,
        col: 14,
        says: "3 problems",
    },
];

fn check(file: &str) -> common::Output {
    corridor(["check", &format!("tests/broken/{file}")])
}

#[test]
fn every_broken_file_exits_2_at_the_exact_line_and_column() {
    let mut failures = Vec::new();
    for case in CASES {
        let out = check(case.file);
        let at = case.at.unwrap_or(case.file);
        let pointer = format!(" --> tests/broken/{at}:{}:{}", case.line, case.col);
        if out.code != 2 {
            failures.push(format!(
                "{}: exit code {} (expected 2)\n{}",
                case.file, out.code, out.stderr
            ));
        } else if !out.stderr.contains(&pointer) {
            failures.push(format!(
                "{}: stderr lacks `{pointer}`\n{}",
                case.file, out.stderr
            ));
        } else if !out.stderr.contains(case.says) {
            failures.push(format!(
                "{}: stderr lacks the phrase `{}`\n{}",
                case.file, case.says, out.stderr
            ));
        }
        if !out.stdout.is_empty() && out.stdout.contains("ok:") {
            failures.push(format!(
                "{}: stdout claims the file is ok:\n{}",
                case.file, out.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_has_at_least_35_files_and_every_file_has_an_expectation() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("tests/broken"))
        .expect("corpus folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "files in tests/broken/ and the table must match"
    );
    assert!(listed.len() >= 35, "only {} broken files", listed.len());
}

#[test]
fn a_file_with_three_errors_reports_all_three_in_one_run() {
    let out = check("three-errors.toml");
    assert_eq!(out.code, 2, "{}", out.stderr);
    // volatility = 2 (sector), value = -300.0 (flow), probability = 1.5 (agreement).
    for (line, col, phrase) in [
        (27, 14, "volatility"),
        (39, 9, "value"),
        (53, 15, "probability"),
    ] {
        let pointer = format!(" --> tests/broken/three-errors.toml:{line}:{col}");
        assert!(
            out.stderr.contains(&pointer),
            "missing `{pointer}`:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(phrase),
            "missing `{phrase}`:\n{}",
            out.stderr
        );
    }
    assert_eq!(
        out.stderr.matches(" --> ").count(),
        3,
        "exactly three problems:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("has 3 problems"), "{}", out.stderr);
}

#[test]
fn binary_garbage_written_by_the_test_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("garbage.toml");
    let bytes: Vec<u8> = (0..=255u8).rev().cycle().take(2000).collect();
    std::fs::write(&path, bytes).expect("write garbage");
    let out = corridor(["check".as_ref(), path.as_os_str()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The first byte, 0xFF, is never valid UTF-8.
    assert!(
        out.stderr.contains(&format!(" --> {}:1:1", path.display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
}

#[test]
fn a_warning_only_file_exits_0_and_prints_the_warnings() {
    let out = corridor(["check", "tests/broken/warnings/warning-only.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ok:"), "{}", out.stdout);
    // Agreement chn-rus: CHN and RUS do not trade with each other in the base year.
    assert!(
        out.stderr
            .contains(" --> tests/broken/warnings/warning-only.toml:70:6"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("agreement `chn-rus` covers no pair with base-year trade"),
        "{}",
        out.stderr
    );
    // Region IND has no flows at all.
    assert!(
        out.stderr
            .contains(" --> tests/broken/warnings/warning-only.toml:22:6"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("region `IND` has no flows"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

#[test]
fn an_extends_chain_of_exactly_16_is_within_the_limit() {
    // parts/deep/01.toml extends 02 … 17: 16 links, the most allowed.
    let out = check("parts/deep/01.toml");
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn the_cycle_message_names_the_chain() {
    let out = check("extends-cycle-a.toml");
    assert!(
        out.stderr
            .contains("extends-cycle-a.toml → cycle-b.toml → extends-cycle-a.toml"),
        "{}",
        out.stderr
    );
}
