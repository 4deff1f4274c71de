//! Noticing when an open scenario file changes on disk (a teammate's `git pull`).
//! Folders are watched rather than files, because an atomic save replaces the file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use notify::{RecursiveMode, Watcher as _};

pub struct FileWatcher {
    watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<PathBuf>,
    folders: HashSet<PathBuf>,
}

impl FileWatcher {
    pub fn new(repaint: egui::Context) -> notify::Result<Self> {
        let (sender, events) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && (event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove())
            {
                for path in event.paths {
                    let _ = sender.send(path);
                }
                repaint.request_repaint();
            }
        })?;
        Ok(Self {
            watcher,
            events,
            folders: HashSet::new(),
        })
    }

    /// Starts watching the folder of `file`.
    pub fn watch(&mut self, file: &Path) {
        let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return;
        };
        if self.folders.insert(folder.to_path_buf()) {
            // A folder that cannot be watched only means no reload offer for it.
            let _ = self.watcher.watch(folder, RecursiveMode::NonRecursive);
        }
    }

    /// Paths reported changed since the last call.
    pub fn changed_paths(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.events.try_iter().collect();
        out.sort();
        out.dedup();
        out
    }
}
