//! The scenarios shipped inside the binary, so the app works from any folder.
//! They are addressed as `bundled/<file>` and read through [`Bundled`], a [`FileSource`]
//! that serves these files and falls back to the disk for everything else.

use std::path::{Path, PathBuf};

use super::load::{Disk, FileSource};

/// Folder name under which bundled files are addressed.
pub const PREFIX: &str = "bundled";

/// (file name, contents) of every bundled file, scenarios first in teaching order.
pub const FILES: &[(&str, &str)] = &[
    (
        "tutorial-three-regions.toml",
        include_str!("../../scenarios/tutorial-three-regions.toml"),
    ),
    (
        "pak-rus-baseline.toml",
        include_str!("../../scenarios/pak-rus-baseline.toml"),
    ),
    (
        "pak-rus-mous-2024.toml",
        include_str!("../../scenarios/pak-rus-mous-2024.toml"),
    ),
    (
        "pak-rus-on-schedule.toml",
        include_str!("../../scenarios/pak-rus-on-schedule.toml"),
    ),
    (
        "pak-rus-sanctions-friction.toml",
        include_str!("../../scenarios/pak-rus-sanctions-friction.toml"),
    ),
    (
        "pak-us-tariff-shock.toml",
        include_str!("../../scenarios/pak-us-tariff-shock.toml"),
    ),
    (
        "eu-enlargement-2000.toml",
        include_str!("../../scenarios/eu-enlargement-2000.toml"),
    ),
    (
        "data/baseline-flows-2024.csv",
        include_str!("../../scenarios/data/baseline-flows-2024.csv"),
    ),
    (
        "data/wiod-44-countries-2000.csv",
        include_str!("../../scenarios/data/wiod-44-countries-2000.csv"),
    ),
];

/// Paths of the bundled scenario files (not their data tables).
pub fn scenario_paths() -> Vec<PathBuf> {
    FILES
        .iter()
        .filter(|(name, _)| Path::new(name).extension().is_some_and(|e| e == "toml"))
        .map(|(name, _)| Path::new(PREFIX).join(name))
        .collect()
}

/// Whether `path` names a bundled file.
pub fn is_bundled(path: &Path) -> bool {
    contents(path).is_some()
}

/// The text of a bundled file.
pub fn contents(path: &Path) -> Option<&'static str> {
    let rel = path.strip_prefix(PREFIX).ok()?;
    FILES
        .iter()
        .find(|(name, _)| Path::new(name) == rel)
        .map(|(_, text)| *text)
}

/// Serves bundled files; anything else comes from the disk.
pub struct Bundled;

impl FileSource for Bundled {
    fn size(&self, path: &Path) -> std::io::Result<u64> {
        match contents(path) {
            Some(text) => Ok(text.len() as u64),
            None => Disk.size(path),
        }
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match contents(path) {
            Some(text) => Ok(text.as_bytes().to_vec()),
            None => Disk.read(path),
        }
    }
}
