//! The app and the files it edits: unsaved edits survive a crash, a file changed on disk
//! is offered for reload (never silently overwritten), closing asks about unsaved edits,
//! a file that disappears keeps its edits, and the plots export as PNG.
#![cfg(feature = "gui")]

mod app_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app_common::{TUTORIAL, click_save, tutorial_copy};
use corridor::app::{Action, Command, CorridorApp};
use corridor::scenario::params::{ParamValue, Target};
use egui::accesskit::Role;
use egui::{ViewportCommand, ViewportEvent, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// The app over `files`, with file watching and recovery files in `data_dir`.
fn app_in(files: Vec<PathBuf>, data_dir: &Path) -> Harness<'static, CorridorApp> {
    let data_dir = data_dir.to_path_buf();
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(move |cc| {
            CorridorApp::new_for_test_with_data_dir(files, &data_dir, &cc.egui_ctx)
        });
    harness.run_ok();
    harness
}

/// Runs frames until `done` holds, for at most ten seconds (the file watcher and the
/// recovery writer work on their own threads).
fn run_until(
    harness: &mut Harness<'static, CorridorApp>,
    what: &str,
    mut done: impl FnMut(&Harness<'static, CorridorApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(harness) {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_ok();
}

fn recovery_files(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir.join("recovery"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

fn cost_cut(app: &CorridorApp) -> (Target, Option<ParamValue>) {
    let doc = app.selected_doc().expect("a selected scenario");
    let scenario = doc.scenario.as_ref().expect("a valid scenario");
    let target = Target::Agreement {
        id: scenario.agreements[0].id.clone(),
        field: "cost_cut".into(),
    };
    let value = doc.value(&target);
    (target, value)
}

fn drag_cost_cut_to(harness: &mut Harness<'static, CorridorApp>, value: f64) {
    harness
        .get_all_by_role_and_label(Role::Slider, "Cost cut")
        .next()
        .expect("cost cut slider")
        .set_value_accesskit(value);
    harness.run_ok();
}

fn is_dirty(harness: &Harness<'static, CorridorApp>) -> bool {
    harness
        .state()
        .selected_doc()
        .is_some_and(corridor::app::OpenScenario::is_dirty)
}

/// Edits the tutorial copy and lets the app die without saving, once the recovery file
/// is written. Returns the file and its text on disk.
fn crash_with_unsaved_edit(dir: &Path, data: &Path) -> (PathBuf, String) {
    let file = tutorial_copy(dir);
    let on_disk = std::fs::read_to_string(&file).expect("read");
    let mut harness = app_in(vec![file.clone()], data);
    drag_cost_cut_to(&mut harness, 0.35);
    run_until(&mut harness, "the recovery file", |_| {
        !recovery_files(data).is_empty()
    });
    drop(harness);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        on_disk,
        "nothing was saved"
    );
    (file, on_disk)
}

#[test]
fn unsaved_edits_come_back_after_a_crash_when_restored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("data dir");
    let (file, _) = crash_with_unsaved_edit(dir.path(), data.path());
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .all(|e| e.file_name() == "tutorial.toml"),
        "the recovery file is not kept next to the scenario"
    );

    let mut harness = app_in(vec![file], data.path());
    assert!(harness.query_by_label("Restore unsaved edits?").is_some());
    let (_, before) = cost_cut(harness.state());
    assert_eq!(before, Some(ParamValue::Real(0.1)), "the file as saved");
    harness.get_by_label("Restore").click();
    harness.run_ok();

    assert!(harness.query_by_label("Restore unsaved edits?").is_none());
    let (_, after) = cost_cut(harness.state());
    assert_eq!(after, Some(ParamValue::Real(0.35)));
    assert!(is_dirty(&harness), "restored edits are unsaved");
}

#[test]
fn discarded_recovery_is_removed_and_not_offered_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("data dir");
    let (file, _) = crash_with_unsaved_edit(dir.path(), data.path());

    let mut harness = app_in(vec![file.clone()], data.path());
    harness.get_by_label("Discard").click();
    harness.run_ok();
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.1)));
    assert!(!is_dirty(&harness));
    drop(harness);
    assert_eq!(recovery_files(data.path()), Vec::<PathBuf>::new());

    let harness = app_in(vec![file], data.path());
    assert!(harness.query_by_label("Restore unsaved edits?").is_none());
}

#[test]
fn saving_removes_the_recovery_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("data dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file.clone()], data.path());
    drag_cost_cut_to(&mut harness, 0.2);
    run_until(&mut harness, "the recovery file", |_| {
        !recovery_files(data.path()).is_empty()
    });
    click_save(&mut harness);
    assert!(!is_dirty(&harness));
    drop(harness);
    assert_eq!(recovery_files(data.path()), Vec::<PathBuf>::new());
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("cost_cut = 0.2")
    );
}

#[test]
fn closing_without_saving_removes_the_recovery_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = tempfile::tempdir().expect("data dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file], data.path());
    drag_cost_cut_to(&mut harness, 0.2);
    run_until(&mut harness, "the recovery file", |_| {
        !recovery_files(data.path()).is_empty()
    });
    request_close(&mut harness);
    harness.run_ok();
    harness.get_by_label("Close without saving").click();
    harness.step();
    assert!(sent(&harness, |c| matches!(c, ViewportCommand::Close)));
    drop(harness);
    assert_eq!(recovery_files(data.path()), Vec::<PathBuf>::new());
}

/// The window manager asks the app to close (the user clicked the window's ×).
fn request_close(harness: &mut Harness<'static, CorridorApp>) {
    harness
        .input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    harness.step();
}

/// Whether the last frame sent a viewport command.
fn sent(
    harness: &Harness<'static, CorridorApp>,
    mut what: impl FnMut(&ViewportCommand) -> bool,
) -> bool {
    harness
        .output()
        .viewport_output
        .get(&ViewportId::ROOT)
        .is_some_and(|v| v.commands.iter().any(&mut what))
}

#[test]
fn closing_with_unsaved_edits_asks_and_cancel_keeps_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file], dir.path());
    drag_cost_cut_to(&mut harness, 0.2);

    request_close(&mut harness);
    assert!(
        sent(&harness, |c| matches!(c, ViewportCommand::CancelClose)),
        "the close is held back"
    );
    harness.run_ok();
    assert!(harness.query_by_label("Save your changes?").is_some());
    harness.get_by_label("Cancel").click();
    harness.step();
    assert!(!sent(&harness, |c| matches!(c, ViewportCommand::Close)));
    harness.run_ok();
    assert!(harness.query_by_label("Save your changes?").is_none());
    assert!(is_dirty(&harness), "the edits are still there");

    request_close(&mut harness);
    harness.run_ok();
    harness.get_by_label("Close without saving").click();
    harness.step();
    assert!(sent(&harness, |c| matches!(c, ViewportCommand::Close)));
}

#[test]
fn closing_without_unsaved_edits_does_not_ask() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file], dir.path());
    request_close(&mut harness);
    assert!(!sent(&harness, |c| matches!(
        c,
        ViewportCommand::CancelClose
    )));
    harness.run_ok();
    assert!(harness.query_by_label("Save your changes?").is_none());
}

#[test]
fn a_file_changed_on_disk_is_offered_for_reload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file.clone()], dir.path());
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, text.replace("cost_cut = 0.1 ", "cost_cut = 0.4 ")).expect("write");

    run_until(&mut harness, "the reload offer", |h| {
        h.query_by_label("tutorial.toml changed on disk.").is_some()
    });
    assert_eq!(
        cost_cut(harness.state()).1,
        Some(ParamValue::Real(0.1)),
        "nothing changes before the user answers"
    );
    harness.get_by_label("Reload").click();
    harness.run_ok();
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.4)));
    assert!(
        harness
            .query_by_label("tutorial.toml changed on disk.")
            .is_none()
    );
    assert!(!is_dirty(&harness));
}

#[test]
fn a_change_on_disk_never_silently_replaces_unsaved_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file.clone()], dir.path());
    drag_cost_cut_to(&mut harness, 0.25);
    let theirs = std::fs::read_to_string(&file)
        .expect("read")
        .replace("cost_cut = 0.1 ", "cost_cut = 0.4 ");
    std::fs::write(&file, &theirs).expect("write");

    run_until(&mut harness, "the reload offer", |h| {
        h.query_by_label("tutorial.toml changed on disk.").is_some()
    });
    assert!(
        harness
            .query_by_label("Reloading drops your unsaved edits.")
            .is_some()
    );
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.25)));

    // Save does not write over the other change either.
    harness.get_by_label("Keep my version").click();
    harness.run_ok();
    click_save(&mut harness);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), theirs);
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.25)));
    assert!(is_dirty(&harness));
    assert!(
        harness
            .query_by_label_contains("the file changed on disk since it was opened")
            .is_some()
    );

    // Only the explicit choice overwrites.
    harness.get_by_label("Overwrite with my edits").click();
    harness.run_ok();
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("cost_cut = 0.25")
    );
    assert!(!is_dirty(&harness));
}

#[test]
fn a_removed_file_is_reported_and_its_edits_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file.clone()], dir.path());
    drag_cost_cut_to(&mut harness, 0.3);
    std::fs::remove_file(&file).expect("remove");

    run_until(&mut harness, "the message", |h| {
        h.query_by_label_contains("tutorial.toml was removed or cannot be read")
            .is_some()
    });
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.3)));
    assert!(is_dirty(&harness));

    // Save writes the file again, with the edits.
    click_save(&mut harness);
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("cost_cut = 0.3")
    );
}

/// A folder where the file was cannot be read even by root (which `chmod 000` does not
/// stop), so it stands in for an unreadable file.
#[test]
fn a_file_that_cannot_be_read_is_reported_and_saving_it_fails_with_the_edits_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = tutorial_copy(dir.path());
    let mut harness = app_in(vec![file.clone()], dir.path());
    drag_cost_cut_to(&mut harness, 0.3);
    std::fs::remove_file(&file).expect("remove");
    std::fs::create_dir(&file).expect("a folder in its place");

    run_until(&mut harness, "the message", |h| {
        h.query_by_label_contains("tutorial.toml was removed or cannot be read")
            .is_some()
    });
    click_save(&mut harness);
    assert!(file.is_dir(), "nothing replaced the folder");
    assert!(
        harness.state().notice.as_ref().is_some_and(|n| n.is_error),
        "the failed save is reported"
    );
    assert_eq!(cost_cut(harness.state()).1, Some(ParamValue::Real(0.3)));
    assert!(is_dirty(&harness));
}

#[test]
fn png_export_writes_the_plots_as_on_screen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("plots.png");
    let mut harness = app_in(vec![PathBuf::from(TUTORIAL)], dir.path());
    harness.state_mut().test_save_path = Some(out.clone());
    harness
        .state_mut()
        .push(Action::Command(Command::ExportPng));
    run_until(&mut harness, "the PNG", |_| out.exists());

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("the PNG opens"),
    ));
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("the image decodes");
    // The central area: narrower than the window (library and editor on the sides),
    // most of its height.
    assert!(
        info.width > 400 && info.width < 1500,
        "width {}",
        info.width
    );
    assert!(
        info.height > 300 && info.height < 950,
        "height {}",
        info.height
    );
    let distinct: std::collections::HashSet<&[u8]> =
        pixels[..info.buffer_size()].chunks(4).collect();
    assert!(
        distinct.len() > 20,
        "the plots are drawn, not a blank image"
    );
    assert!(
        harness
            .state()
            .notice
            .as_ref()
            .is_some_and(|n| !n.is_error && n.text.contains("plots.png"))
    );
}
