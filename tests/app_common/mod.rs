//! Helpers shared by the app tests (`tests/app_*.rs`), which drive the real app with
//! egui_kittest.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use corridor::app::CorridorApp;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};

pub const TUTORIAL: &str = "bundled/tutorial-three-regions.toml";

/// Runs frames, waits for every background job and analysis, and runs frames again.
pub fn settle(harness: &mut Harness<'static, CorridorApp>) {
    harness.run_ok();
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
}

/// The text a label shows (egui puts it in the node's value or label).
pub fn text_of(node: &egui_kittest::Node<'_>) -> String {
    let ak = node.accesskit_node();
    ak.value().or_else(|| ak.label()).unwrap_or_default()
}

/// Writes the bundled tutorial to `dir/tutorial.toml` and returns its path.
pub fn tutorial_copy(dir: &Path) -> PathBuf {
    let text =
        corridor::scenario::bundled::contents(Path::new(TUTORIAL)).expect("bundled tutorial");
    let path = dir.join("tutorial.toml");
    std::fs::write(&path, text).expect("write the copy");
    path
}

/// Clicks the first Save button (toolbar and editor both have one) and runs a frame.
pub fn click_save(harness: &mut Harness<'static, CorridorApp>) {
    harness
        .get_all_by_label("Save")
        .next()
        .expect("a Save button")
        .click();
    harness.run_ok();
}

/// Presses or releases the primary pointer button away from every control, as the end
/// of a slider drag does.
pub fn pointer_button(harness: &Harness<'static, CorridorApp>, pressed: bool) {
    harness.event(egui::Event::PointerButton {
        pos: egui::pos2(5.0, 5.0),
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    });
}

/// eframe's storage in memory: what the app keeps between sessions.
#[derive(Default)]
pub struct Memory(pub std::collections::HashMap<String, String>);

impl eframe::Storage for Memory {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}
