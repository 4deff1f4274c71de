//! Unsaved edits survive a crash: each open file with edits has a small recovery file
//! (the edits as `PATH=VALUE` assignments, the form `corridor set` takes) in the app's
//! data folder, never next to the scenario. It is written atomically a moment after the
//! last edit, on a background thread, and removed once the edits are saved, reverted or
//! discarded, or the app closes normally. A recovery file found at start-up is offered
//! back: Restore re-applies the edits (the document is then unsaved), Discard removes it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use sha2::Digest as _;

use crate::scenario::bundled;
use crate::scenario::edit::{self, Assignment};

use super::{Action, OpenScenario};

/// How long after the last edit the recovery file is written.
pub const WRITE_DELAY: Duration = Duration::from_millis(300);

/// The recovery folder in the app's data folder (`~/.local/share/corridor/recovery` on
/// Linux, `~/Library/Application Support/Corridor/recovery` on macOS,
/// `%APPDATA%\Corridor\data\recovery` on Windows).
pub fn default_dir() -> Option<PathBuf> {
    eframe::storage_dir("Corridor").map(|d| d.join("recovery"))
}

/// What a recovery file holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Record {
    /// The scenario file the edits belong to.
    file: PathBuf,
    /// SHA-256 of the file's text the edits were made on.
    base_sha256: String,
    /// Seconds since 1970 when the edits were last written.
    saved_unix_s: u64,
    /// The edits, as `corridor set` assignments.
    edits: Vec<String>,
}

/// Unsaved edits found at start-up, waiting for Restore or Discard.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub file: PathBuf,
    pub edits: Vec<Assignment>,
    /// Assignments that no longer parse (kept out of the restore, reported).
    pub unreadable: Vec<String>,
    base_sha256: String,
    saved_unix_s: u64,
}

/// What the UI thread knows about one document's recovery file.
struct Tracked {
    /// The edits as last seen, and when they last changed.
    seen: Vec<Assignment>,
    changed: Instant,
    /// The edits the recovery file holds (empty: there is none).
    written: Vec<Assignment>,
}

enum Write {
    Put(PathBuf, String),
    Remove(PathBuf),
}

pub struct Recovery {
    dir: PathBuf,
    tracked: HashMap<PathBuf, Tracked>,
    pub offers: Vec<Offer>,
    writer: Option<(mpsc::Sender<Write>, JoinHandle<()>)>,
    /// The last error of the writer thread, shown once.
    error: Arc<Mutex<Option<String>>>,
    /// The app is closing normally: no more recovery files.
    closing: bool,
}

impl Recovery {
    /// Recovery files in `dir`; those already there become offers.
    pub fn new(dir: PathBuf) -> Self {
        let error = Arc::new(Mutex::new(None));
        let (sender, receiver) = mpsc::channel::<Write>();
        let thread_error = Arc::clone(&error);
        let writer = std::thread::Builder::new()
            .name("recovery-writer".into())
            .spawn(move || {
                for job in receiver {
                    let result = match &job {
                        Write::Put(path, text) => std::fs::create_dir_all(edit::folder_of(path))
                            .map_err(|e| e.to_string())
                            .and_then(|()| {
                                edit::write_atomic(path, text).map_err(|e| e.to_string())
                            }),
                        Write::Remove(path) => match std::fs::remove_file(path) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                Err(e.to_string())
                            }
                            _ => Ok(()),
                        },
                    };
                    if let (Err(e), Ok(mut slot)) = (result, thread_error.lock()) {
                        *slot = Some(e);
                    }
                }
            })
            .ok()
            .map(|handle| (sender, handle));
        let offers = read_offers(&dir);
        Self {
            dir,
            tracked: HashMap::new(),
            offers,
            writer,
            error,
            closing: false,
        }
    }

    /// The recovery file of a scenario file: named by a hash of its path.
    fn record_path(&self, file: &Path) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            &sha256_hex(file.as_os_str().as_encoded_bytes())[..24]
        ))
    }

    fn send(&self, write: Write) {
        if let Some((sender, _)) = &self.writer {
            // The thread ends only when this sender is dropped.
            let _ = sender.send(write);
        }
    }

    /// Brings the recovery files up to date with the documents' edits: written once the
    /// edits have not changed for [`WRITE_DELAY`], removed at once when there are none.
    /// Returns how long until a pending write is due, if one is.
    pub fn sync(&mut self, docs: &[OpenScenario], now: Instant) -> Option<Duration> {
        if self.closing {
            return None;
        }
        let mut due = None;
        for doc in docs {
            if self.offers.iter().any(|o| o.file == doc.path) {
                // Not decided yet: the recovery file holds the edits on offer.
                continue;
            }
            let t = self
                .tracked
                .entry(doc.path.clone())
                .or_insert_with(|| Tracked {
                    seen: Vec::new(),
                    changed: now,
                    written: Vec::new(),
                });
            if t.seen != doc.edits {
                t.seen.clone_from(&doc.edits);
                t.changed = now;
            }
            if t.seen == t.written {
                continue;
            }
            let waited = now.saturating_duration_since(t.changed);
            if t.seen.is_empty() {
                t.written.clear();
                self.send(Write::Remove(self.record_path(&doc.path)));
            } else if waited >= WRITE_DELAY {
                t.written.clone_from(&t.seen);
                let record = Record {
                    file: doc.path.clone(),
                    base_sha256: doc
                        .text
                        .as_deref()
                        .map(|t| sha256_hex(t.as_bytes()))
                        .unwrap_or_default(),
                    saved_unix_s: SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                    edits: doc.edits.iter().map(assignment_text).collect(),
                };
                if let Ok(text) = serde_json::to_string_pretty(&record) {
                    self.send(Write::Put(self.record_path(&doc.path), text));
                }
            } else {
                let left = WRITE_DELAY - waited;
                due = Some(due.map_or(left, |d: Duration| d.min(left)));
            }
        }
        // Files closed or saved under another name: their edits went with them.
        let gone: Vec<PathBuf> = self
            .tracked
            .keys()
            .filter(|p| !docs.iter().any(|d| &d.path == *p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(t) = self.tracked.remove(&path)
                && !t.written.is_empty()
            {
                self.send(Write::Remove(self.record_path(&path)));
            }
        }
        due
    }

    /// The app closes normally: the user has saved or chosen to drop every edit.
    pub fn close_cleanly(&mut self) {
        self.closing = true;
        let written: Vec<PathBuf> = self
            .tracked
            .iter_mut()
            .filter(|(_, t)| !t.written.is_empty())
            .map(|(p, t)| {
                t.written.clear();
                p.clone()
            })
            .collect();
        for path in written {
            self.send(Write::Remove(self.record_path(&path)));
        }
    }

    /// Removes the offer for `file` and its recovery file.
    pub fn take_offer(&mut self, file: &Path, remove_file: bool) -> Option<Offer> {
        let i = self.offers.iter().position(|o| o.file == file)?;
        let offer = self.offers.remove(i);
        if remove_file {
            self.send(Write::Remove(self.record_path(file)));
        }
        Some(offer)
    }

    /// An error of the writer thread since the last call.
    pub fn take_error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    /// The Restore / Discard question for each offer.
    pub fn offers_ui(&self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        if self.offers.is_empty() {
            return;
        }
        egui::Modal::new(egui::Id::unique("recovery-offers")).show(ctx, |ui| {
            ui.heading("Restore unsaved edits?");
            ui.label("Corridor did not close normally last time. These scenarios had edits that were not saved:");
            for offer in &self.offers {
                ui.separator();
                ui.push_id(&offer.file, |ui| offer_ui(ui, offer, actions));
            }
        });
    }
}

impl Drop for Recovery {
    /// Lets the writer finish the writes already handed to it.
    fn drop(&mut self) {
        if let Some((sender, handle)) = self.writer.take() {
            drop(sender);
            let _ = handle.join();
        }
    }
}

fn offer_ui(ui: &mut egui::Ui, offer: &Offer, actions: &mut Vec<Action>) {
    let name = offer.file.file_name().map_or_else(
        || offer.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    ui.strong(&name)
        .on_hover_text(offer.file.display().to_string());
    let when = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(offer.saved_unix_s);
    ui.label(format!(
        "{} unsaved edit(s), last written {} ago:",
        offer.edits.len(),
        age_text(when)
    ));
    for a in offer.edits.iter().take(8) {
        ui.monospace(assignment_text(a));
    }
    if offer.edits.len() > 8 {
        ui.weak(format!("… and {} more", offer.edits.len() - 8));
    }
    if !offer.unreadable.is_empty() {
        ui.weak(format!(
            "{} edit(s) could not be read and will not be restored.",
            offer.unreadable.len()
        ));
    }
    ui.horizontal(|ui| {
        if ui
            .button("Restore")
            .on_hover_text(
                "Apply these edits to the scenario again. They stay unsaved until you save.",
            )
            .clicked()
        {
            actions.push(Action::RestoreEdits(offer.file.clone()));
        }
        if ui
            .button("Discard")
            .on_hover_text("Forget these edits; the file on disk stays as it is.")
            .clicked()
        {
            actions.push(Action::DiscardRecovery(offer.file.clone()));
        }
    });
}

fn age_text(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        7200..172_800 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// Applies an offer's edits to the open document. Returns a sentence for the status bar.
pub fn restore(offer: &Offer, doc: &mut OpenScenario) -> String {
    let base_changed = doc
        .text
        .as_deref()
        .is_some_and(|t| sha256_hex(t.as_bytes()) != offer.base_sha256);
    let mut refused = offer.unreadable.len();
    for a in &offer.edits {
        doc.set(&a.target, a.value);
        if doc.edit_error.take().is_some() {
            refused += 1;
        }
    }
    let mut text = format!(
        "Restored {} unsaved edit(s) to {}; save to keep them.",
        offer.edits.len() + offer.unreadable.len() - refused,
        doc.file_name()
    );
    if base_changed {
        text.push_str(" The file changed on disk since they were made.");
    }
    if refused > 0 {
        text.push_str(&format!(
            " {refused} edit(s) no longer apply and were left out."
        ));
    }
    text
}

fn read_offers(dir: &Path) -> Vec<Offer> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut offers: Vec<Offer> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| serde_json::from_str::<Record>(&text).ok())
        .filter(|r| bundled::is_bundled(&r.file) || r.file.exists())
        .map(|r| {
            let mut edits = Vec::new();
            let mut unreadable = Vec::new();
            for text in r.edits {
                match Assignment::parse(&text) {
                    Ok(a) => edits.push(a),
                    Err(_) => unreadable.push(text),
                }
            }
            Offer {
                file: r.file,
                edits,
                unreadable,
                base_sha256: r.base_sha256,
                saved_unix_s: r.saved_unix_s,
            }
        })
        .collect();
    offers.sort_by(|a, b| a.file.cmp(&b.file));
    offers
}

fn assignment_text(a: &Assignment) -> String {
    format!("{}={}", a.target, a.value)
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
