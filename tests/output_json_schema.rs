//! `corridor run --format json` follows the schema documented in docs/output.md.

mod common;

use common::corridor;
use serde_json::Value;

fn run_json(args: &[&str]) -> Value {
    let mut all = vec!["run", "--format", "json"];
    all.extend(args);
    let out = corridor(all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("stdout is one JSON document")
}

fn numbers_or_null(v: &Value, len: usize, what: &str) {
    let a = v.as_array().unwrap_or_else(|| panic!("{what} is an array"));
    assert_eq!(a.len(), len, "{what} has one entry per year");
    for x in a {
        assert!(
            x.is_null() || x.as_f64().is_some_and(f64::is_finite),
            "{what}: {x} is a finite number or null"
        );
    }
}

/// Checks one document against the schema of docs/output.md; returns the series count.
fn check_schema(doc: &Value, expect_stats: bool) -> usize {
    let obj = doc.as_object().expect("top level is an object");
    assert!(obj["corridor_version"].is_string());
    let scenarios = obj["scenarios"].as_array().expect("scenarios is an array");
    let mut count = 0;
    for s in scenarios {
        for key in ["corridor_version", "scenario", "name", "file", "unit"] {
            assert!(s[key].is_string(), "{key} is a string");
        }
        assert!(matches!(s["engine"].as_str(), Some("pe" | "ge")));
        assert!(s["runs"].is_u64() && s["seed"].is_u64());
        let years = s["years"].as_array().expect("years");
        assert!(years.iter().all(Value::is_i64));
        let allowed = [
            "metric",
            "region",
            "partner",
            "sector",
            "path",
            "top_partner",
            "mean",
            "p5",
            "p25",
            "p50",
            "p75",
            "p95",
        ];
        for series in s["series"].as_array().expect("series") {
            let so = series.as_object().expect("series is an object");
            for k in so.keys() {
                assert!(allowed.contains(&k.as_str()), "unexpected field {k}");
            }
            assert!(
                series["metric"].is_string()
                    && series["region"].is_string()
                    && series["sector"].is_string()
            );
            assert!(series["partner"].is_string() || series["partner"].is_null());
            numbers_or_null(&series["path"], years.len(), "path");
            for stat in ["mean", "p5", "p25", "p50", "p75", "p95"] {
                if expect_stats {
                    numbers_or_null(&series[stat], years.len(), stat);
                } else {
                    assert!(series.get(stat).is_none(), "{stat} only with runs > 0");
                }
            }
            if series["metric"] == "top_supplier_share" {
                let tops = series["top_partner"]
                    .as_array()
                    .expect("top_partner for top_supplier_share");
                assert!(tops.iter().all(|t| t.is_string() || t.is_null()));
                assert!(series["partner"].is_null());
            } else {
                assert!(series.get("top_partner").is_none());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn json_output_follows_the_documented_schema_with_runs() {
    let doc = run_json(&["scenarios/tutorial-three-regions.toml", "--runs", "20"]);
    assert!(check_schema(&doc, true) > 10);
}

#[test]
fn json_output_follows_the_documented_schema_path_only_and_several_files() {
    let doc = run_json(&[
        "scenarios/tutorial-three-regions.toml",
        "scenarios/pak-rus-mous-2024.toml",
        "--runs",
        "0",
    ]);
    assert_eq!(doc["scenarios"].as_array().map(Vec::len), Some(2));
    check_schema(&doc, false);
}

#[test]
fn json_ge_output_carries_welfare_series() {
    let doc = run_json(&[
        "scenarios/eu-enlargement-2000.toml",
        "--metric",
        "welfare",
        "--region",
        "MLT",
    ]);
    check_schema(&doc, false);
    let s = &doc["scenarios"][0];
    assert_eq!(s["engine"], "ge");
    let w = &s["series"][0]["path"];
    // Published ge_gravity welfare of Malta (SPEC §4): 1.0153491 within 2e-7.
    assert!((w[1].as_f64().expect("number") - 1.015_349_1).abs() < 2e-7);
    assert_eq!(w[0].as_f64(), Some(1.0));
}
