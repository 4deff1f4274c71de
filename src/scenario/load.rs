//! Reading scenario files and resolving `extends` (SPEC §1 "extends").
//!
//! Each file is parsed into a [`Table`] tree, checked for unknown keys, then merged onto
//! its parent: `[scenario]` and `[data]` keys replace the parent's; regions, blocs,
//! sectors, agreements and shocks merge field by field by `id`; flows by
//! (from, to, sector) and growth overrides by (region, sector) replace whole entries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::document::{Node, Table, Value, parse};
use super::source::{FileId, Location, SourceMap};
use super::{Scenario, limits, validate};

pub const LIMIT_EXTENDS_DEPTH: usize = 16;

pub(crate) const TOP_KEYS: &[&str] = &[
    "format",
    "extends",
    "scenario",
    "data",
    "region",
    "bloc",
    "sector",
    "growth",
    "flow",
    "agreement",
    "shock",
];
pub(crate) const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "base_year",
    "horizon",
    "runs",
    "seed",
    "focus",
    "unit",
    "engine",
    "deficits",
];
pub(crate) const DATA_KEYS: &[&str] = &["flows"];
pub(crate) const REGION_KEYS: &[&str] = &["id", "name"];
pub(crate) const BLOC_KEYS: &[&str] = &["id", "name", "members"];
pub(crate) const SECTOR_KEYS: &[&str] = &[
    "id",
    "name",
    "substitution",
    "demand_elasticity",
    "growth",
    "volatility",
];
pub(crate) const GROWTH_KEYS: &[&str] = &["region", "sector", "rate"];
pub(crate) const FLOW_KEYS: &[&str] = &["from", "to", "sector", "value", "note"];
pub(crate) const AGREEMENT_KEYS: &[&str] = &[
    "id",
    "name",
    "parties",
    "between",
    "sectors",
    "start",
    "ramp_years",
    "cost_cut",
    "partial_effect",
    "probability",
    "delay",
    "enabled",
    "note",
];
pub(crate) const SHOCK_KEYS: &[&str] = &[
    "id",
    "name",
    "from",
    "to",
    "sectors",
    "start",
    "end",
    "ramp_years",
    "cost_increase",
    "probability",
    "delay",
    "enabled",
    "note",
];

/// The entry kinds that merge by `id`.
pub(crate) const ID_KINDS: &[(&str, &[&str])] = &[
    ("region", REGION_KEYS),
    ("bloc", BLOC_KEYS),
    ("sector", SECTOR_KEYS),
    ("agreement", AGREEMENT_KEYS),
    ("shock", SHOCK_KEYS),
];

/// The merged documents of a file and its ancestors, before typed validation.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub scenario: Option<Table>,
    pub data: Option<Table>,
    /// Entries by kind ("region", "flow", …) in merged order.
    pub entries: HashMap<&'static str, Vec<Table>>,
    /// Depth of each file in the chain: the root ancestor is 0. A later (child) file wins.
    pub rank: HashMap<FileId, usize>,
}

/// The result of loading a scenario: the scenario if it is valid, every problem found,
/// and the sources needed to render them.
#[derive(Debug)]
pub struct Loaded {
    pub scenario: Option<Scenario>,
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

impl Loaded {
    /// The scenario, or the rendered problems as one string.
    pub fn into_result(
        self,
    ) -> Result<(Scenario, Diagnostics, SourceMap), (Diagnostics, SourceMap)> {
        match self.scenario {
            Some(s) if !self.diagnostics.has_errors() => Ok((s, self.diagnostics, self.sources)),
            _ => Err((self.diagnostics, self.sources)),
        }
    }
}

/// Where scenario files are read from: the disk, or the scenarios bundled in the binary.
pub trait FileSource: Sync {
    /// The file's size in bytes, or why it cannot be read.
    fn size(&self, path: &Path) -> std::io::Result<u64>;
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// Files on disk.
pub struct Disk;

impl FileSource for Disk {
    fn size(&self, path: &Path) -> std::io::Result<u64> {
        let m = std::fs::metadata(path)?;
        if m.is_dir() {
            return Err(std::io::Error::other("it is a folder, not a file"));
        }
        Ok(m.len())
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Loads and validates a scenario file, following `extends`.
pub fn load(path: &Path) -> Loaded {
    load_from(path, None, &Disk)
}

/// Loads a scenario from text (the app's unsaved edits, tests). `path` names it in
/// messages and anchors relative paths (`extends`, `[data]`).
pub fn load_str(path: &Path, text: &str) -> Loaded {
    load_from(path, Some(text), &Disk)
}

/// Loads from any [`FileSource`]; `text`, if given, replaces the contents of `path` itself.
pub fn load_from(path: &Path, text: Option<&str>, files: &dyn FileSource) -> Loaded {
    let mut cx = Context {
        sources: SourceMap::default(),
        diags: Diagnostics::default(),
        files,
    };
    let merged = cx.read_chain(path, text.map(str::to_string), &mut Vec::new(), None);
    // Validate even after merge-time errors (unknown keys, duplicates), so that every
    // problem of the file is reported in one go; only unreadable files stop here.
    let scenario =
        merged.and_then(|m| validate::validate(&m, path, &mut cx.sources, &mut cx.diags, files));
    let scenario = scenario.filter(|_| !cx.diags.has_errors());
    cx.diags.sort();
    Loaded {
        scenario,
        diagnostics: cx.diags,
        sources: cx.sources,
    }
}

struct Context<'f> {
    sources: SourceMap,
    diags: Diagnostics,
    files: &'f dyn FileSource,
}

/// Reads a file into text with the size limit and a clear message for unreadable,
/// binary or non-UTF-8 content.
pub(crate) fn read_text(
    path: &Path,
    files: &dyn FileSource,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
    referenced_at: Option<&Location>,
) -> Option<(FileId, String)> {
    let what = |e: &dyn std::fmt::Display| format!("cannot read `{}`: {e}", path.display());
    match files.size(path) {
        Ok(len) if len > limits::MAX_FILE_BYTES => {
            diags.push(
                Diagnostic::error(format!(
                    "`{}` is {} bytes, over the limit of {} bytes for one file",
                    path.display(),
                    len,
                    limits::MAX_FILE_BYTES
                ))
                .at_opt(referenced_at.cloned()),
            );
            return None;
        }
        Ok(_) => {}
        Err(e) => {
            diags.push(Diagnostic::error(what(&e)).at_opt(referenced_at.cloned()));
            return None;
        }
    }
    let bytes = match files.read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error(what(&e)).at_opt(referenced_at.cloned()));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => {
            let id = sources.add(path.to_path_buf(), text.clone());
            Some((id, text))
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let prefix_chars = String::from_utf8_lossy(&e.as_bytes()[..valid]).len();
            let id = sources.add(path.to_path_buf(), lossy);
            diags.push(
                Diagnostic::error("the file is not UTF-8 text (is it a binary file?)")
                    .at(Location::new(id, prefix_chars..prefix_chars + 1))
                    .label("first byte that is not UTF-8")
                    .help("scenario files and flow tables are plain UTF-8 text"),
            );
            None
        }
    }
}

impl Context<'_> {
    /// Reads `path` and its ancestors, returning the merged documents.
    fn read_chain(
        &mut self,
        path: &Path,
        text: Option<String>,
        chain: &mut Vec<PathBuf>,
        referenced_at: Option<&Location>,
    ) -> Option<Merged> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path));
        if chain.contains(&canonical) {
            let mut names: Vec<String> = chain.iter().map(|p| display_name(p)).collect();
            names.push(display_name(&canonical));
            self.diags.push(
                Diagnostic::error(format!("`extends` forms a cycle: {}", names.join(" → ")))
                    .at_opt(referenced_at.cloned())
                    .label("this file is already in the chain")
                    .help("a file may extend a parent, but never itself or one of its children"),
            );
            return None;
        }
        if chain.len() > LIMIT_EXTENDS_DEPTH {
            self.diags.push(
                Diagnostic::error(format!(
                    "`extends` chain is deeper than the limit of {LIMIT_EXTENDS_DEPTH} files"
                ))
                .at_opt(referenced_at.cloned()),
            );
            return None;
        }
        let (file, text) = match text {
            Some(t) => (self.sources.add(path.to_path_buf(), t.clone()), t),
            None => read_text(
                path,
                self.files,
                &mut self.sources,
                &mut self.diags,
                referenced_at,
            )?,
        };
        if text.trim().is_empty() {
            self.diags.push(
                Diagnostic::error("the file is empty")
                    .at(Location::new(file, 0..0))
                    .help("a scenario needs at least `format = 1` and a [scenario] table with name, base_year and horizon"),
            );
            return None;
        }
        let root = parse(file, &text, &mut self.diags)?;
        check_keys(&root, TOP_KEYS, "at the top level", &mut self.diags);
        match root.get("format") {
            None => self.diags.push(
                Diagnostic::error("missing `format`")
                    .at(Location::new(file, 0..0))
                    .help("add `format = 1` as the first line"),
            ),
            Some(Node {
                value: Value::Integer(1),
                ..
            }) => {}
            Some(n) => self.diags.push(
                Diagnostic::error("unsupported `format`")
                    .at(n.loc.clone())
                    .label("expected the integer 1")
                    .help("only format version 1 exists"),
            ),
        }
        chain.push(canonical);
        let mut merged = match root.get("extends") {
            None => Some(Merged::default()),
            Some(Node {
                value: Value::String(parent),
                loc,
            }) => {
                let parent_path = path.parent().unwrap_or(Path::new("")).join(parent);
                let m = self.read_chain(&parent_path, None, chain, Some(loc));
                if m.is_none() && !self.diags.has_errors() {
                    self.diags.push(
                        Diagnostic::error("the parent scenario could not be read").at(loc.clone()),
                    );
                }
                m
            }
            Some(n) => {
                self.diags.push(
                    Diagnostic::error("`extends` must be a string")
                        .at(n.loc.clone())
                        .label(format!(
                            "expected a relative path, found {}",
                            n.value.type_name()
                        )),
                );
                None
            }
        };
        chain.pop();
        let rank = chain.len();
        if let Some(m) = merged.as_mut() {
            m.rank.insert(file, rank);
            merge_file(m, &root, &mut self.diags);
        }
        merged
    }
}

fn display_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reports keys of `table` that are not in `allowed`, with a suggestion.
pub(crate) fn check_keys(table: &Table, allowed: &[&str], context: &str, diags: &mut Diagnostics) {
    for (key, _) in &table.entries {
        if !allowed.contains(&key.name.as_str()) {
            let mut d = Diagnostic::error(format!("unknown key `{}` {context}", key.name))
                .at(key.loc.clone())
                .label("not a key of the scenario format");
            d = match did_you_mean(&key.name, allowed.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("expected one of: {}", allowed.join(", "))),
            };
            diags.push(d);
        }
    }
}

/// The tables of an array-of-tables entry (`[[region]]` or `region = [{…}]`).
fn tables_of<'a>(kind: &str, node: &'a Node, diags: &mut Diagnostics) -> Vec<&'a Table> {
    match &node.value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match &item.value {
                Value::Table(t) => Some(t),
                other => {
                    diags.push(
                        Diagnostic::error(format!("each `{kind}` entry must be a table"))
                            .at(item.loc.clone())
                            .label(format!(
                                "expected a table like {{ id = \"…\" }}, found {}",
                                other.type_name()
                            )),
                    );
                    None
                }
            })
            .collect(),
        Value::Table(_) => {
            diags.push(
                Diagnostic::error(format!("`{kind}` must be an array of tables"))
                    .at(node.loc.clone())
                    .help(format!(
                        "write `[[{kind}]]` (double brackets) for each entry"
                    )),
            );
            Vec::new()
        }
        other => {
            diags.push(
                Diagnostic::error(format!("`{kind}` must be an array of tables"))
                    .at(node.loc.clone())
                    .label(format!("found {}", other.type_name()))
                    .help(format!(
                        "write `[[{kind}]]` (double brackets) for each entry"
                    )),
            );
            Vec::new()
        }
    }
}

fn static_kind(kind: &str) -> &'static str {
    TOP_KEYS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("?")
}

/// Text of a string field used as a merge key, reporting a missing or mistyped one.
fn key_str<'a>(t: &'a Table, field: &str, kind: &str, diags: &mut Diagnostics) -> Option<&'a str> {
    match t.get(field) {
        Some(Node {
            value: Value::String(s),
            ..
        }) => Some(s),
        Some(n) => {
            diags.push(
                Diagnostic::error(format!("`{field}` of a `{kind}` must be a string"))
                    .at(n.loc.clone())
                    .label(format!("found {}", n.value.type_name())),
            );
            None
        }
        None => {
            diags.push(
                Diagnostic::error(format!("a `{kind}` entry is missing `{field}`"))
                    .at(t.loc.clone())
                    .label(format!("this entry has no `{field}`")),
            );
            None
        }
    }
}

fn merge_file(m: &mut Merged, root: &Table, diags: &mut Diagnostics) {
    for (section, allowed) in [("scenario", SCENARIO_KEYS), ("data", DATA_KEYS)] {
        let Some(node) = root.get(section) else {
            continue;
        };
        let Value::Table(t) = &node.value else {
            diags.push(
                Diagnostic::error(format!("`{section}` must be a table"))
                    .at(node.loc.clone())
                    .help(format!("write a `[{section}]` header with keys below it")),
            );
            continue;
        };
        check_keys(t, allowed, &format!("in [{section}]"), diags);
        let slot = if section == "scenario" {
            &mut m.scenario
        } else {
            &mut m.data
        };
        match slot {
            Some(existing) => {
                for (k, v) in &t.entries {
                    existing.set(k.clone(), v.clone());
                }
                existing.loc = t.loc.clone();
            }
            None => *slot = Some(t.clone()),
        }
    }

    for &(kind, allowed) in ID_KINDS {
        let Some(node) = root.get(kind) else { continue };
        let mut seen: HashMap<String, Location> = HashMap::new();
        for t in tables_of(kind, node, diags) {
            check_keys(t, allowed, &format!("in a [[{kind}]] entry"), diags);
            let Some(id) = key_str(t, "id", kind, diags) else {
                continue;
            };
            let id_loc = t.get("id").map_or_else(|| t.loc.clone(), |n| n.loc.clone());
            if let Some(first) = seen.get(id) {
                diags.push(duplicate(&format!("{kind} id `{id}`"), id_loc, first));
                continue;
            }
            seen.insert(id.to_string(), id_loc);
            merge_by_key(
                m.entries.entry(static_kind(kind)).or_default(),
                t,
                |e| e.str("id") == Some(id),
                true,
            );
        }
    }

    for (kind, fields, allowed) in [
        ("flow", &["from", "to", "sector"][..], FLOW_KEYS),
        ("growth", &["region", "sector"][..], GROWTH_KEYS),
    ] {
        let Some(node) = root.get(kind) else { continue };
        let mut seen: HashMap<Vec<String>, Location> = HashMap::new();
        for t in tables_of(kind, node, diags) {
            check_keys(t, allowed, &format!("in a [[{kind}]] entry"), diags);
            let key: Option<Vec<String>> = fields
                .iter()
                .map(|f| key_str(t, f, kind, diags).map(str::to_string))
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            let Some(key) = key else { continue };
            if let Some(first) = seen.get(&key) {
                diags.push(duplicate(
                    &format!("{kind} ({})", key.join(", ")),
                    t.loc.clone(),
                    first,
                ));
                continue;
            }
            seen.insert(key.clone(), t.loc.clone());
            merge_by_key(
                m.entries.entry(static_kind(kind)).or_default(),
                t,
                |e| {
                    fields
                        .iter()
                        .zip(&key)
                        .all(|(f, k)| e.str(f) == Some(k.as_str()))
                },
                false,
            );
        }
    }
}

fn duplicate(what: &str, at: Location, first: &Location) -> Diagnostic {
    Diagnostic::error(format!("duplicate {what} in this file"))
        .at(at)
        .label("defined again here")
        .related(first.clone(), "first defined here")
        .help("remove one of them, or give the second its own id")
}

/// Merges `t` into `list`: field by field onto a matching entry (`by_field`), or replacing it.
fn merge_by_key(
    list: &mut Vec<Table>,
    t: &Table,
    matches: impl Fn(&Table) -> bool,
    by_field: bool,
) {
    match list.iter_mut().find(|e| matches(e)) {
        Some(existing) if by_field => {
            for (k, v) in &t.entries {
                existing.set(k.clone(), v.clone());
            }
        }
        Some(existing) => *existing = t.clone(),
        None => list.push(t.clone()),
    }
}

/// `a/b/../c` → `a/c`, for paths that are not on disk (bundled scenarios).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
