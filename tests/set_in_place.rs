//! `corridor set` (SPEC §7): changes only the values named, keeps comments, key order and
//! layout, validates first and writes nothing if the result is invalid, replaces files
//! atomically, and in a file that extends another adds an override entry to the child only.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use corridor::scenario::{CostEffect, load};

use common::{copy_bundled, corridor_in, root};

const TUTORIAL: &str = "tutorial-three-regions.toml";

fn tutorial_in(dir: &Path) -> String {
    let text = std::fs::read_to_string(root().join("scenarios").join(TUTORIAL)).expect("tutorial");
    std::fs::write(dir.join(TUTORIAL), &text).expect("write");
    text
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).expect("read")
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

fn set(dir: &Path, file: &str, assignments: &[&str]) -> common::Output {
    let mut args = vec!["set", file];
    args.extend_from_slice(assignments);
    corridor_in(dir, args)
}

#[test]
fn comments_and_key_order_survive_and_only_the_value_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = tutorial_in(dir.path());
    let out = set(dir.path(), TUTORIAL, &["agreement.ab-deal.cost_cut=0.2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = before.replacen("cost_cut = 0.1 ", "cost_cut = 0.2 ", 1);
    assert_ne!(expected, before);
    assert_eq!(read(dir.path().join(TUTORIAL)), expected);
    let s = load(&dir.path().join(TUTORIAL))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("still valid");
    assert_eq!(s.agreements[0].effect, CostEffect::CostCut(0.2));
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from([TUTORIAL.to_string()]),
        "no temporary file left"
    );
}

#[test]
fn several_values_at_once_including_a_delay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = tutorial_in(dir.path());
    let out = set(
        dir.path(),
        TUTORIAL,
        &[
            "agreement.ab-deal.probability=0.5",
            "agreement.ab-deal.delay=[1,3]",
            "scenario.runs=250",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = before
        .replacen("probability = 1.0 ", "probability = 0.5 ", 1)
        .replacen("delay = [0, 0] ", "delay = [1, 3] ", 1)
        .replacen("runs = 0 ", "runs = 250 ", 1);
    assert_eq!(read(dir.path().join(TUTORIAL)), expected);
    let s = load(&dir.path().join(TUTORIAL))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("valid");
    assert_eq!(s.agreements[0].delay, (1, 3));
    assert_eq!(s.agreements[0].probability, 0.5);
    assert_eq!(s.runs, 250);
}

#[test]
fn invalid_values_exit_2_and_leave_the_file_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = tutorial_in(dir.path());
    for assignment in [
        "agreement.ab-deal.probability=1.5",
        "agreement.ab-deal.cost_cut=1.0",
        "agreement.ab-deal.cost_cut=abc",
        "agreement.ab-deal.delay=[3,1]",
        "agreement.ab-deal.delay=[0,51]",
        "sector.goods.volatility=2",
        "sector.goods.substitution=0",
        "flow.B.A.goods=-5",
        "agreement.ab-deal.start=2024",
        "scenario.runs=2000000",
        "agreement.ab-deal.probability",
    ] {
        let out = set(dir.path(), TUTORIAL, &[assignment]);
        assert_eq!(out.code, 2, "{assignment}: {}", out.stderr);
        assert_eq!(
            read(dir.path().join(TUTORIAL)),
            before,
            "{assignment} changed the file"
        );
    }
    // One bad assignment among good ones: nothing at all is written.
    let out = set(
        dir.path(),
        TUTORIAL,
        &[
            "agreement.ab-deal.cost_cut=0.2",
            "agreement.ab-deal.probability=2",
        ],
    );
    assert_eq!(out.code, 2);
    assert_eq!(read(dir.path().join(TUTORIAL)), before);
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from([TUTORIAL.to_string()]),
        "no temporary file left"
    );
}

#[test]
fn unknown_ids_exit_2_with_did_you_mean() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = tutorial_in(dir.path());
    for (assignment, hint) in [
        ("agreement.ab-dea.cost_cut=0.2", "did you mean `ab-deal`"),
        ("sector.good.growth=0.01", "did you mean `goods`"),
        ("flow.B.AA.goods=5", "did you mean `A`"),
        ("agreement.ab-deal.cost_cutt=0.2", "did you mean `cost_cut`"),
    ] {
        let out = set(dir.path(), TUTORIAL, &[assignment]);
        assert_eq!(out.code, 2, "{assignment}");
        assert!(out.stderr.contains(hint), "{assignment}: {}", out.stderr);
    }
    assert_eq!(read(dir.path().join(TUTORIAL)), before);
}

#[test]
fn in_a_child_file_a_new_value_becomes_an_override_and_the_parent_is_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = "pak-rus-mous-2024.toml";
    let parent = "pak-rus-baseline.toml";
    copy_bundled(dir.path(), &[child, parent]);
    let parent_before = read(dir.path().join(parent));
    let csv_before = read(dir.path().join("data/baseline-flows-2024.csv"));
    let child_before = read(dir.path().join(child));
    assert!(
        !child_before.contains("[[sector]]"),
        "the child does not set any sector"
    );

    let out = set(
        dir.path(),
        child,
        &[
            "sector.agri.substitution=6.5",
            "agreement.agri-mou.probability=0.8",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(dir.path().join(parent)),
        parent_before,
        "the parent is never touched"
    );
    assert_eq!(
        read(dir.path().join("data/baseline-flows-2024.csv")),
        csv_before
    );
    let child_after = read(dir.path().join(child));
    // The child's own agreement is edited in place; the sector is a new override entry at the end.
    assert!(
        child_after.starts_with(&child_before.replacen(
            "probability = 0.55",
            "probability = 0.8",
            1
        )),
        "{child_after}"
    );
    let added = &child_after[child_before.len()..];
    assert!(
        added.contains("[[sector]]")
            && added.contains("id = \"agri\"")
            && added.contains("substitution = 6.5"),
        "{added}"
    );

    let s = load(&dir.path().join(child))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("valid");
    let agri = &s.sectors[s.sector_index("agri").expect("agri")];
    assert_eq!(agri.substitution, 6.5);
    assert_eq!(
        agri.name, "Agriculture & food",
        "other fields still come from the parent"
    );
    let mou = s
        .agreements
        .iter()
        .find(|a| a.id == "agri-mou")
        .expect("agri-mou");
    assert_eq!(mou.probability, 0.8);
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from([child.to_string(), parent.to_string(), "data".to_string()])
    );
}

#[test]
fn in_a_child_file_a_parent_flow_becomes_a_flow_override() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = "pak-rus-mous-2024.toml";
    let parent = "pak-rus-baseline.toml";
    copy_bundled(dir.path(), &[child, parent]);
    let parent_before = read(dir.path().join(parent));
    let out = set(dir.path(), child, &["flow.RUS.PAK.agri=700"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(dir.path().join(parent)), parent_before);
    assert!(read(dir.path().join(child)).contains("[[flow]]"));
    let s = load(&dir.path().join(child))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("valid");
    let (rus, pak, agri) = (
        s.region_index("RUS").expect("RUS"),
        s.region_index("PAK").expect("PAK"),
        s.sector_index("agri").expect("agri"),
    );
    let matching: Vec<f64> = s
        .flows
        .iter()
        .filter(|f| f.from == rus && f.to == pak && f.sector == agri)
        .map(|f| f.value)
        .collect();
    assert_eq!(matching, vec![700.0]);
}

const WITH_CSV: &str = r#"# A scenario whose flows live in its own CSV.
format = 1

[scenario]
name = "csv flows"
base_year = 2024
horizon = 2026

[data]
flows = "flows.csv"   # from,to,sector,value,note

[[region]]
id = "PAK"
[[region]]
id = "RUS"

[[sector]]
id = "agri"
substitution = 4.0
"#;

const CSV: &str = "from,to,sector,value,note\nRUS,PAK,agri,500,wheat\nPAK,RUS,agri,80,\"rice, kinnow\"\nPAK,PAK,agri,900,\n";

#[test]
fn a_flow_held_in_the_files_own_csv_is_edited_in_the_csv() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("s.toml"), WITH_CSV).expect("write");
    std::fs::write(dir.path().join("flows.csv"), CSV).expect("write");
    let out = set(dir.path(), "s.toml", &["flow.RUS.PAK.agri=650.5"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        read(dir.path().join("s.toml")),
        WITH_CSV,
        "the TOML is unchanged"
    );
    assert_eq!(
        read(dir.path().join("flows.csv")),
        CSV.replacen("RUS,PAK,agri,500,", "RUS,PAK,agri,650.5,", 1)
    );
    let s = load(&dir.path().join("s.toml"))
        .into_result()
        .map(|(s, _, _)| s)
        .expect("valid");
    let values: Vec<f64> = s.flows.iter().map(|f| f.value).collect();
    assert_eq!(values, vec![650.5, 80.0, 900.0]);
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from(["s.toml".to_string(), "flows.csv".to_string()])
    );
}

#[test]
fn an_invalid_value_for_a_csv_flow_leaves_the_csv_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("s.toml"), WITH_CSV).expect("write");
    std::fs::write(dir.path().join("flows.csv"), CSV).expect("write");
    let out = set(dir.path(), "s.toml", &["flow.RUS.PAK.agri=-5"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(read(dir.path().join("flows.csv")), CSV);
    assert_eq!(read(dir.path().join("s.toml")), WITH_CSV);
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from(["s.toml".to_string(), "flows.csv".to_string()])
    );
}
