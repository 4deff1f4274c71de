//! The desktop app driven through `egui_kittest`, by label and role, as a student would.
#![cfg(feature = "gui")]

mod app_common;

use std::path::PathBuf;

use app_common::{TUTORIAL, click_save, pointer_button, settle, text_of, tutorial_copy};
use corridor::app::{Action, CorridorApp};
use corridor::scenario::params::{ParamValue, Target};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

const FLAGSHIP: &str = "bundled/pak-rus-mous-2024.toml";

fn app_harness(files: Vec<PathBuf>) -> Harness<'static, CorridorApp> {
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(move |_cc| CorridorApp::new_for_test(files));
    settle(&mut harness);
    harness
}

/// The headline of the first column ("PAK imports from RUS, all sectors, 2030: …").
fn headline(harness: &Harness<'static, CorridorApp>, contains: &str) -> String {
    text_of(&harness.get_by_label_contains(contains))
}

fn cost_cut_target(app: &CorridorApp) -> Target {
    let doc = app.selected_doc().expect("a selected scenario");
    let scenario = doc.scenario.as_ref().expect("a valid scenario");
    Target::Agreement {
        id: scenario.agreements[0].id.clone(),
        field: "cost_cut".into(),
    }
}

#[test]
fn moving_a_probability_slider_changes_the_displayed_median() {
    let mut harness = app_harness(vec![PathBuf::from(FLAGSHIP)]);
    let before = headline(&harness, "PAK imports from RUS");
    assert!(before.contains("median of 1000 runs"), "{before}");

    let slider = harness
        .get_all_by_role_and_label(Role::Slider, "Probability")
        .next()
        .expect("a probability slider");
    slider.set_value_accesskit(1.0);
    settle(&mut harness);

    let after = headline(&harness, "PAK imports from RUS");
    assert_ne!(
        before, after,
        "the median should move when the agri MoU becomes certain"
    );
    let doc = harness.state().selected_doc().expect("the flagship");
    assert!(doc.is_dirty(), "an edit marks the scenario dirty");
}

/// Opens the bundled scenario `title` from the library and selects it.
fn select_bundled(harness: &mut Harness<'static, CorridorApp>, title: &str) {
    harness.get_by_label(title).click();
    harness.run_ok();
}

/// Ticks the comparison box of the open scenario `title` and waits for its column.
fn add_to_comparison(harness: &mut Harness<'static, CorridorApp>, title: &str) {
    harness
        .get_by_role_and_label(Role::CheckBox, &format!("Compare {title}"))
        .click();
    settle(harness);
}

#[test]
fn a_second_bundled_scenario_joins_the_comparison() {
    let mut harness = app_harness(vec![PathBuf::from(FLAGSHIP)]);
    select_bundled(&mut harness, "Pakistan–Russia MoUs, all on schedule");
    assert_eq!(
        harness.state().selected_doc().map(|d| d.title()),
        Some("Pakistan–Russia MoUs, all on schedule".to_string())
    );
    add_to_comparison(&mut harness, "Pakistan–Russia MoUs, all on schedule");
    assert_eq!(harness.state().columns.len(), 2);
    let headlines: Vec<_> = harness
        .query_all_by_label_contains("PAK imports from RUS")
        .collect();
    assert_eq!(headlines.len(), 2, "each column shows its own headline");
}

#[test]
fn every_column_shows_the_partner_of_the_first_column() {
    // The baseline has no agreements, so on its own its default partner would be its
    // largest supplier (ROW), not the flagship's MoU partner (RUS).
    let mut harness = app_harness(vec![PathBuf::from(FLAGSHIP)]);
    select_bundled(&mut harness, "Pakistan and partners: baseline 2024");
    add_to_comparison(&mut harness, "Pakistan and partners: baseline 2024");
    assert_eq!(harness.state().columns.len(), 2);
    let headlines: Vec<String> = harness
        .query_all_by_label_contains("PAK imports from")
        .map(|n| text_of(&n))
        .collect();
    assert_eq!(headlines.len(), 2, "{headlines:?}");
    for h in &headlines {
        assert!(h.starts_with("PAK imports from RUS"), "{headlines:?}");
    }
}

#[test]
fn the_same_scenario_runs_side_by_side_in_pe_and_ge() {
    let mut harness = app_harness(vec![PathBuf::from(FLAGSHIP)]);
    harness.get_by_label("Add to comparison").click();
    settle(&mut harness);
    let engines: Vec<_> = harness
        .state()
        .columns
        .iter()
        .map(|c| c.spec.engine)
        .collect();
    assert_eq!(
        engines,
        [
            corridor::scenario::EngineKind::Pe,
            corridor::scenario::EngineKind::Ge
        ]
    );
    harness.get_by_label("GE welfare").click();
    settle(&mut harness);
    assert!(
        harness.query_by_label_contains("GE converged").is_some(),
        "the GE column shows its convergence"
    );
}

#[test]
fn a_broken_file_shows_its_error_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = tutorial_copy(dir.path());
    let text = std::fs::read_to_string(&path)
        .expect("read")
        .replace("substitution = 3.0", "substitutoin = 3.0");
    std::fs::write(&path, text).expect("write");
    let harness = app_harness(vec![path]);
    let error = harness
        .get_all_by_label_contains("substitutoin")
        .next()
        .expect("the error is shown");
    let label = text_of(&error);
    assert!(label.contains("tutorial.toml:"), "{label}");
    assert!(label.contains("error"), "{label}");
}

#[test]
fn saving_keeps_the_comments_of_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = tutorial_copy(dir.path());
    let original = std::fs::read_to_string(&path).expect("read");
    let mut harness = app_harness(vec![path.clone()]);
    harness
        .get_all_by_role_and_label(Role::Slider, "Cost cut")
        .next()
        .expect("cost cut slider")
        .set_value_accesskit(0.25);
    harness.run_ok();
    click_save(&mut harness);

    let saved = std::fs::read_to_string(&path).expect("read");
    assert_ne!(saved, original);
    assert!(saved.contains("cost_cut = 0.25"), "{saved}");
    for line in original.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(saved.contains(line), "comment lost: {line}");
    }
    assert!(!harness.state().selected_doc().expect("doc").is_dirty());
}

#[test]
fn undo_restores_the_value_and_redo_brings_it_back() {
    let mut harness = app_harness(vec![PathBuf::from(TUTORIAL)]);
    let target = cost_cut_target(harness.state());
    let original = harness
        .state()
        .selected_doc()
        .and_then(|d| d.value(&target));
    harness
        .get_all_by_role_and_label(Role::Slider, "Cost cut")
        .next()
        .expect("cost cut slider")
        .set_value_accesskit(0.3);
    harness.run_ok();
    assert_eq!(
        harness
            .state()
            .selected_doc()
            .and_then(|d| d.value(&target)),
        Some(ParamValue::Real(0.3))
    );

    harness.get_by_label("Undo").click();
    harness.run_ok();
    assert_eq!(
        harness
            .state()
            .selected_doc()
            .and_then(|d| d.value(&target)),
        original
    );

    harness.get_by_label("Redo").click();
    harness.run_ok();
    assert_eq!(
        harness
            .state()
            .selected_doc()
            .and_then(|d| d.value(&target)),
        Some(ParamValue::Real(0.3))
    );
}

#[test]
fn one_drag_of_several_steps_is_one_undo_step() {
    let mut harness = app_harness(vec![PathBuf::from(TUTORIAL)]);
    let target = cost_cut_target(harness.state());
    let original = harness
        .state()
        .selected_doc()
        .and_then(|d| d.value(&target));
    let path = PathBuf::from(TUTORIAL);
    // A drag sends many values while the pointer is down; the undo point comes at release.
    pointer_button(&harness, true);
    for v in [0.11, 0.12, 0.13, 0.14] {
        harness.state_mut().push(Action::SetParam {
            path: path.clone(),
            target: target.clone(),
            value: ParamValue::Real(v),
        });
        harness.step();
    }
    pointer_button(&harness, false);
    harness.run_ok();
    harness.get_by_label("Undo").click();
    harness.run_ok();
    assert_eq!(
        harness
            .state()
            .selected_doc()
            .and_then(|d| d.value(&target)),
        original
    );
}

#[test]
fn csv_export_writes_the_long_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("results.csv");
    let mut harness = app_harness(vec![PathBuf::from(TUTORIAL)]);
    harness.state_mut().test_save_path = Some(out.clone());
    harness
        .state_mut()
        .push(Action::Command(corridor::app::Command::ExportCsv));
    harness.run_ok();
    let text = std::fs::read_to_string(&out).expect("csv written");
    assert!(
        text.starts_with("scenario,year,metric,region,partner,sector,stat,value\n"),
        "{}",
        &text[..80]
    );
    assert!(text.contains("tutorial-three-regions,2027,flow,B,A,goods,path,"));
}

/// A value with more decimals than a slider shows is displayed, not rewritten: opening a
/// file never edits it, and hovering or drawing the slider keeps the value exact.
#[test]
fn values_finer_than_a_slider_shows_are_left_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = tutorial_copy(dir.path());
    let text = std::fs::read_to_string(&path).expect("read");
    let text = text.replacen("probability = 1.0 ", "probability = 0.947", 1);
    assert!(text.contains("probability = 0.947"));
    std::fs::write(&path, &text).expect("write");

    let mut harness = app_harness(vec![path.clone()]);
    for _ in 0..5 {
        harness.run_ok();
    }
    let doc = harness.state().selected_doc().expect("doc");
    assert!(!doc.is_dirty(), "opening a file must not edit it");
    let scenario = doc.scenario.as_ref().expect("valid");
    let target = Target::Agreement {
        id: scenario.agreements[0].id.clone(),
        field: "probability".into(),
    };
    assert_eq!(scenario.get_param(&target).map(|v| v.as_f64()), Some(0.947));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}
