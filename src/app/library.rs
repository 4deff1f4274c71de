//! The scenario library: bundled scenarios, open files, recently opened files.

use std::path::{Path, PathBuf};

use crate::scenario::EngineKind;
use crate::scenario::bundled;

use super::state::{MAX_COLUMNS, State};
use super::{Action, Column, ColumnSpec, Command, OpenScenario};

pub fn library_ui(
    ui: &mut egui::Ui,
    state: &State,
    docs: &[OpenScenario],
    columns: &[Column],
    actions: &mut Vec<Action>,
) {
    ui.heading("Scenarios");
    ui.horizontal(|ui| {
        if Command::Open.button_ui(ui, true) {
            actions.push(Action::Command(Command::Open));
        }
    });
    ui.weak("or drop .toml files onto the window");
    ui.separator();
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        ui.label(egui::RichText::new("Open").strong())
            .on_hover_text("Scenarios open in this session. Click one to edit it; tick it to add it to the comparison.");
        for doc in docs {
            open_entry_ui(ui, state, doc, columns, actions);
        }
        ui.add_space(8.0);
        egui::CollapsingHeader::new("Bundled").default_open(true).show(ui, |ui| {
            for path in bundled::scenario_paths() {
                if docs.iter().any(|d| d.path == path) {
                    continue;
                }
                let name = bundled_title(&path);
                let response = ui
                    .selectable_label(false, &name)
                    .on_hover_text(format!("{}: part of Corridor (read-only; Save As keeps a copy). Click to open.", path.display()));
                if response.clicked() {
                    actions.push(Action::Open(path));
                }
            }
        });
        let recent: Vec<&PathBuf> = state.recent.iter().filter(|p| !docs.iter().any(|d| &d.path == *p)).collect();
        if !recent.is_empty() {
            egui::CollapsingHeader::new("Recent files").default_open(true).show(ui, |ui| {
                for path in recent {
                    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                    if ui.selectable_label(false, name).on_hover_text(path.display().to_string()).clicked() {
                        actions.push(Action::Open(path.clone()));
                    }
                }
            });
        }
    });
}

fn open_entry_ui(
    ui: &mut egui::Ui,
    state: &State,
    doc: &OpenScenario,
    columns: &[Column],
    actions: &mut Vec<Action>,
) {
    let selected = state.selected.as_deref() == Some(doc.path.as_path());
    let shown: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.spec.path == doc.path)
        .map(|(i, _)| i)
        .collect();
    ui.horizontal(|ui| {
        let mut in_comparison = !shown.is_empty();
        let can_add = columns.len() < MAX_COLUMNS;
        let check = ui
            .add_enabled(in_comparison || can_add, egui::Checkbox::without_text(&mut in_comparison))
            .on_hover_text("Show this scenario as a column in the side-by-side comparison (up to four columns).");
        check.widget_info(|| {
            egui::WidgetInfo::selected(egui::Role::CheckBox, true, !shown.is_empty(), format!("Compare {}", doc.title()))
        });
        if check.changed() {
            if in_comparison {
                actions.push(Action::AddColumn(ColumnSpec { path: doc.path.clone(), engine: EngineKind::Pe }));
            } else {
                for &i in shown.iter().rev() {
                    actions.push(Action::RemoveColumn(i));
                }
            }
        }
        let mut title = doc.title();
        if doc.is_dirty() {
            title.push_str(" •");
        }
        let mut text = egui::RichText::new(title);
        if doc.has_errors() {
            text = text.color(ui.visuals().error_fg_color);
        }
        let tip = if doc.has_errors() {
            format!("{}\nThis file has errors; click to see them.", doc.path.display())
        } else if doc.is_dirty() {
            format!("{}\n• = unsaved edits", doc.path.display())
        } else {
            doc.path.display().to_string()
        };
        if ui.selectable_label(selected, text).on_hover_text(tip).clicked() {
            actions.push(Action::Select(doc.path.clone()));
        }
        if ui.small_button("×").on_hover_text(format!("Close {}", doc.file_name())).clicked() {
            actions.push(Action::CloseFile(doc.path.clone()));
        }
    });
}

/// The scenario name of a bundled file, read from its text without a full load.
fn bundled_title(path: &Path) -> String {
    let file = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let Some(text) = bundled::contents(path) else {
        return file;
    };
    text.lines()
        .find_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("name")?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            rest.strip_prefix('"')
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        })
        .unwrap_or(file)
}
