//! One open scenario file: its text on disk, the last good scenario loaded from it, the
//! user's unsaved edits as parameter assignments, undo/redo, and saving.
//!
//! The edits are the document: the scenario shown is always the file's scenario with the
//! assignments applied, so there is no second copy of a parameter to drift. Saving hands
//! the same assignments to [`edit::apply`], the code `corridor set` uses.

use std::path::{Path, PathBuf};

use crate::scenario::bundled::{self, Bundled};
use crate::scenario::edit::{self, Assignment};
use crate::scenario::params::{ParamValue, Target};
use crate::scenario::{Loaded, Scenario, Severity, load_from};

/// A problem found while loading, ready to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub is_error: bool,
    /// `file:line:col: error: message`.
    pub headline: String,
    /// The full report with the source line and the caret.
    pub rendered: String,
}

/// Why a save did not happen.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveError {
    /// Bundled scenarios are part of the program.
    ReadOnly,
    /// The file changed on disk since it was loaded; saving would overwrite that change.
    ChangedOnDisk,
    /// Anything else, in words.
    Failed(String),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::ReadOnly => {
                f.write_str("bundled scenarios are read-only; use Save As to keep a copy")
            }
            SaveError::ChangedOnDisk => f.write_str(
                "the file changed on disk since it was opened; reload it or overwrite it",
            ),
            SaveError::Failed(msg) => f.write_str(msg),
        }
    }
}

pub struct OpenScenario {
    pub path: PathBuf,
    /// The text the edits apply to (the file as loaded or last saved).
    pub text: Option<String>,
    /// The scenario as loaded from `text`, without edits: the last good one.
    pub base: Option<Scenario>,
    /// `base` with `edits` applied.
    pub scenario: Option<Scenario>,
    /// Unsaved changes, one per parameter, in the order first made.
    pub edits: Vec<Assignment>,
    /// Problems of the last load (errors keep the previous good scenario).
    pub problems: Vec<Problem>,
    /// Why the last parameter change was refused, if it was.
    pub edit_error: Option<String>,
    /// Edit lists before each undo point.
    undo: Vec<Vec<Assignment>>,
    redo: Vec<Vec<Assignment>>,
    /// The edits at the last undo point.
    committed: Vec<Assignment>,
    /// Grows whenever `scenario` changes; results are tagged with it.
    pub revision: u64,
    /// The file on disk no longer matches `text`.
    pub changed_on_disk: bool,
}

impl OpenScenario {
    /// Opens a file (bundled or on disk). Never fails: problems are kept in `problems`.
    pub fn open(path: &Path) -> Self {
        let mut doc = Self {
            path: path.to_path_buf(),
            text: None,
            base: None,
            scenario: None,
            edits: Vec::new(),
            problems: Vec::new(),
            edit_error: None,
            undo: Vec::new(),
            redo: Vec::new(),
            committed: Vec::new(),
            revision: 0,
            changed_on_disk: false,
        };
        doc.reload();
        doc
    }

    pub fn is_bundled(&self) -> bool {
        bundled::is_bundled(&self.path)
    }

    /// A short name for lists and column headers.
    pub fn title(&self) -> String {
        match &self.scenario {
            Some(s) => s.name.clone(),
            None => self.file_name(),
        }
    }

    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    pub fn is_dirty(&self) -> bool {
        !self.edits.is_empty()
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.is_error)
    }

    /// Reads the file again and drops the edits. On errors the last good scenario stays.
    pub fn reload(&mut self) {
        self.changed_on_disk = false;
        match read_text(&self.path) {
            Ok(text) => {
                let loaded = load_from(&self.path, Some(&text), &Bundled);
                self.problems = problems_of(&loaded);
                self.text = Some(text);
                if let Some(s) = loaded.scenario.filter(|_| !loaded.diagnostics.has_errors()) {
                    self.base = Some(s);
                    self.edits.clear();
                    self.committed.clear();
                    self.undo.clear();
                    self.redo.clear();
                    self.rebuild();
                }
            }
            Err(e) => {
                self.problems = vec![Problem {
                    is_error: true,
                    headline: format!("{}: error: cannot read the file: {e}", self.path.display()),
                    rendered: format!("error: cannot read `{}`: {e}", self.path.display()),
                }];
            }
        }
    }

    /// Whether the file on disk differs from the text the edits apply to.
    pub fn disk_differs(&self) -> bool {
        if self.is_bundled() {
            return false;
        }
        match (std::fs::read_to_string(&self.path), &self.text) {
            (Ok(disk), Some(text)) => &disk != text,
            (Ok(_), None) => true,
            (Err(_), _) => false,
        }
    }

    /// Why the file on disk cannot be read now (removed, unreadable, a folder), if so.
    pub fn disk_problem(&self) -> Option<String> {
        if self.is_bundled() {
            return None;
        }
        std::fs::read_to_string(&self.path)
            .err()
            .map(|e| e.to_string())
    }

    pub fn value(&self, target: &Target) -> Option<ParamValue> {
        self.scenario.as_ref()?.get_param(target)
    }

    /// Changes one parameter. Refused values leave everything as it was.
    pub fn set(&mut self, target: &Target, value: ParamValue) {
        let Some(current) = &self.scenario else {
            return;
        };
        if current.get_param(target) == Some(value) {
            return;
        }
        let mut next = current.clone();
        match next.set_param(target, value) {
            Ok(()) => {
                self.edit_error = None;
                let unchanged = self.base.as_ref().and_then(|b| b.get_param(target)) == Some(value);
                self.edits.retain(|a| &a.target != target);
                if !unchanged {
                    self.edits.push(Assignment {
                        target: target.clone(),
                        value,
                    });
                }
                self.scenario = Some(next);
                self.revision += 1;
            }
            Err(e) => self.edit_error = Some(e),
        }
    }

    /// Records an undo point if the edits changed since the last one. Called when the
    /// user stops interacting, so one slider drag is one step.
    pub fn mark_undo_point(&mut self) {
        if self.edits != self.committed {
            let before = std::mem::replace(&mut self.committed, self.edits.clone());
            self.undo.push(before);
            self.redo.clear();
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty() || self.edits != self.committed
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) {
        self.mark_undo_point();
        if let Some(previous) = self.undo.pop() {
            self.redo.push(std::mem::replace(&mut self.edits, previous));
            self.committed = self.edits.clone();
            self.rebuild();
        }
    }

    pub fn redo(&mut self) {
        if let Some(next) = self.redo.pop() {
            self.undo.push(std::mem::replace(&mut self.edits, next));
            self.committed = self.edits.clone();
            self.rebuild();
        }
    }

    /// Drops the unsaved edits (undoable).
    pub fn revert(&mut self) {
        self.mark_undo_point();
        if !self.edits.is_empty() {
            self.undo.push(std::mem::take(&mut self.edits));
            self.redo.clear();
            self.committed.clear();
            self.rebuild();
        }
    }

    fn rebuild(&mut self) {
        let Some(base) = &self.base else { return };
        let mut s = base.clone();
        self.edits
            .retain(|a| s.set_param(&a.target, a.value).is_ok());
        self.scenario = Some(s);
        self.edit_error = None;
        self.revision += 1;
    }

    /// The scenario file's text with the edits applied, validated.
    fn edited_text(&self) -> Result<edit::EditedFiles, SaveError> {
        let (Some(text), Some(base)) = (&self.text, &self.base) else {
            return Err(SaveError::Failed(
                "the file has no valid scenario to save".into(),
            ));
        };
        let edited = edit::apply(&self.path, text, base, &self.edits)
            .map_err(|e| SaveError::Failed(e.to_string()))?;
        Ok(edited)
    }

    /// Saves the edits into the file, keeping its comments and layout, atomically.
    pub fn save(&mut self, overwrite_disk_changes: bool) -> Result<(), SaveError> {
        if self.is_bundled() {
            return Err(SaveError::ReadOnly);
        }
        if !overwrite_disk_changes && self.disk_differs() {
            self.changed_on_disk = true;
            return Err(SaveError::ChangedOnDisk);
        }
        let edited = self.edited_text()?;
        let check = load_from(&self.path, Some(&edited.scenario_text), &Bundled);
        if check.diagnostics.has_errors() {
            return Err(SaveError::Failed(format!(
                "the edited scenario would not be valid, so nothing was written:\n{}",
                check.diagnostics.render(&check.sources, false)
            )));
        }
        if let Some((csv_path, csv_text)) = &edited.csv {
            edit::write_atomic(csv_path, csv_text).map_err(|e| SaveError::Failed(e.to_string()))?;
        }
        edit::write_atomic(&self.path, &edited.scenario_text)
            .map_err(|e| SaveError::Failed(e.to_string()))?;
        self.after_write(edited.scenario_text);
        Ok(())
    }

    /// Writes the edited scenario to a new file, which becomes this document's file.
    /// Files a bundled scenario refers to (its parent, its data) are copied next to it
    /// when missing, so the copy loads on its own.
    pub fn save_as(&mut self, target: &Path) -> Result<(), SaveError> {
        let edited = self.edited_text()?;
        if self.is_bundled() {
            copy_bundled_references(&edited.scenario_text, target)?;
        }
        let check = load_from(target, Some(&edited.scenario_text), &Bundled);
        if check.diagnostics.has_errors() {
            return Err(SaveError::Failed(format!(
                "the scenario would not be valid at its new place, so nothing was written:\n{}",
                check.diagnostics.render(&check.sources, false)
            )));
        }
        edit::write_atomic(target, &edited.scenario_text)
            .map_err(|e| SaveError::Failed(e.to_string()))?;
        self.path = target.to_path_buf();
        self.after_write(edited.scenario_text);
        Ok(())
    }

    fn after_write(&mut self, text: String) {
        let loaded = load_from(&self.path, Some(&text), &Bundled);
        self.problems = problems_of(&loaded);
        self.text = Some(text);
        if let Some(s) = loaded.scenario {
            self.base = Some(s);
        }
        self.edits.clear();
        self.committed.clear();
        self.undo.clear();
        self.redo.clear();
        self.changed_on_disk = false;
        self.rebuild();
    }
}

/// Copies the bundled files that `text` names (its parent, its data, and theirs in turn)
/// next to `target`, unless a file of that name is already there.
fn copy_bundled_references(text: &str, target: &Path) -> Result<(), SaveError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut pending = vec![text.to_string()];
    let mut copied: Vec<&str> = Vec::new();
    while let Some(text) = pending.pop() {
        for (name, contents) in bundled::FILES {
            if copied.contains(name) || !text.contains(name) {
                continue;
            }
            copied.push(name);
            let dest = dir.join(name);
            if dest.exists() {
                continue;
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| SaveError::Failed(e.to_string()))?;
            }
            edit::write_atomic(&dest, contents).map_err(|e| SaveError::Failed(e.to_string()))?;
            pending.push((*contents).to_string());
        }
    }
    Ok(())
}

/// The text of a bundled file, or of a file on disk.
fn read_text(path: &Path) -> std::io::Result<String> {
    match bundled::contents(path) {
        Some(text) => Ok(text.to_string()),
        None => std::fs::read_to_string(path),
    }
}

fn problems_of(loaded: &Loaded) -> Vec<Problem> {
    let mut items = loaded.diagnostics.items.clone();
    items.sort_by_key(|d| d.severity);
    items
        .iter()
        .map(|d| Problem {
            is_error: d.severity == Severity::Error,
            headline: d.headline(&loaded.sources),
            rendered: d.render(&loaded.sources, false),
        })
        .collect()
}
