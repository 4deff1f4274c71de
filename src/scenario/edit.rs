//! Format-preserving, validated, atomic edits of scenario files (`corridor set`, the
//! app's Save). SPEC §7: comments, key order and layout are kept; only the named values
//! change; the result is validated before anything is written; the file is replaced by
//! renaming a temporary file written in the same folder, so it is never half-written.
//! In a file that extends another, a value it does not set yet becomes an override
//! entry in that file; the parent is never touched.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::params::{ParamValue, Target};
use super::{Disk, FileSource, Scenario, load_from, load_str};

/// One `PATH=VALUE` assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub target: Target,
    pub value: ParamValue,
}

impl Assignment {
    /// Parses `agreement.agri-mou.probability=0.8`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (path, value) = text.split_once('=').ok_or_else(|| {
            format!("`{text}` is not PATH=VALUE, e.g. agreement.agri-mou.probability=0.8")
        })?;
        let target = Target::parse(path.trim())?;
        let value = target
            .parse_value(value)
            .map_err(|e| format!("{}: {e}", target))?;
        Ok(Self { target, value })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    Invalid(String),
    #[error("the file is not valid TOML: {0}")]
    Toml(#[from] toml_edit::TomlError),
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The new contents of the files an edit touches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EditedFiles {
    /// The scenario file's new text.
    pub scenario_text: String,
    /// A flows CSV of the same file whose rows changed, with its new text.
    pub csv: Option<(PathBuf, String)>,
}

/// Applies assignments to the text of the scenario file `path`. `merged` is the
/// scenario as loaded (with its parents), used to know which ids exist.
pub fn apply(
    path: &Path,
    text: &str,
    merged: &Scenario,
    edits: &[Assignment],
) -> Result<EditedFiles, EditError> {
    let mut doc: DocumentMut = text.parse()?;
    let mut csv: Option<(PathBuf, String)> = None;
    for edit in edits {
        check_exists(merged, &edit.target)?;
        let value = toml_value(edit.value);
        match &edit.target {
            Target::Scenario { field } => {
                let table = doc
                    .entry("scenario")
                    .or_insert_with(|| Item::Table(Table::new()));
                let Some(t) = table.as_table_like_mut() else {
                    return Err(EditError::Invalid("[scenario] is not a table".into()));
                };
                set_preserving(t, field, value);
            }
            Target::Sector { id, field }
            | Target::Agreement { id, field }
            | Target::Shock { id, field } => {
                let kind = edit.target.section();
                upsert_entry(&mut doc, kind, &[("id", id.as_str())], field, value)?;
            }
            Target::Growth { region, sector } => {
                upsert_entry(
                    &mut doc,
                    "growth",
                    &[("region", region.as_str()), ("sector", sector.as_str())],
                    "rate",
                    value,
                )?;
            }
            Target::Flow { from, to, sector } => {
                let key = [
                    ("from", from.as_str()),
                    ("to", to.as_str()),
                    ("sector", sector.as_str()),
                ];
                if find_entry(&mut doc, "flow", &key).is_none()
                    && let Some((csv_path, csv_text)) = own_csv(path, &doc, csv.as_ref())
                    && let Some(new_text) =
                        replace_csv_value(&csv_text, from, to, sector, edit.value.as_f64())
                {
                    csv = Some((csv_path, new_text));
                    continue;
                }
                upsert_entry(&mut doc, "flow", &key, "value", value)?;
            }
        }
    }
    Ok(EditedFiles {
        scenario_text: doc.to_string(),
        csv,
    })
}

fn check_exists(s: &Scenario, target: &Target) -> Result<(), EditError> {
    let suggest = |id: &str, ids: Vec<&str>, kind: &str| -> EditError {
        let hint = super::diagnostic::did_you_mean(id, ids.iter().copied()).map_or_else(
            || format!(" (known: {})", ids.join(", ")),
            |s| format!(" (did you mean `{s}`?)"),
        );
        EditError::Invalid(format!("{target}: no {kind} `{id}` in this scenario{hint}"))
    };
    match target {
        Target::Scenario { .. } => Ok(()),
        Target::Sector { id, .. } if s.sector_index(id).is_none() => Err(suggest(
            id,
            s.sectors.iter().map(|x| x.id.as_str()).collect(),
            "sector",
        )),
        Target::Agreement { id, .. } if !s.agreements.iter().any(|a| &a.id == id) => Err(suggest(
            id,
            s.agreements.iter().map(|x| x.id.as_str()).collect(),
            "agreement",
        )),
        Target::Shock { id, .. } if !s.shocks.iter().any(|a| &a.id == id) => Err(suggest(
            id,
            s.shocks.iter().map(|x| x.id.as_str()).collect(),
            "shock",
        )),
        Target::Growth { region, sector }
        | Target::Flow {
            to: region, sector, ..
        } => {
            if s.region_index(region).is_none() {
                return Err(suggest(
                    region,
                    s.regions.iter().map(|x| x.id.as_str()).collect(),
                    "region",
                ));
            }
            if let Target::Flow { from, .. } = target
                && s.region_index(from).is_none()
            {
                return Err(suggest(
                    from,
                    s.regions.iter().map(|x| x.id.as_str()).collect(),
                    "region",
                ));
            }
            if sector != "*" && s.sector_index(sector).is_none() {
                return Err(suggest(
                    sector,
                    s.sectors.iter().map(|x| x.id.as_str()).collect(),
                    "sector",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn toml_value(v: ParamValue) -> Value {
    match v {
        ParamValue::Real(x) => Value::from(x),
        ParamValue::Integer(i) => Value::from(i),
        ParamValue::Bool(b) => Value::from(b),
        ParamValue::Delay(lo, hi) => {
            let mut a = Array::new();
            a.push(i64::from(lo));
            a.push(i64::from(hi));
            Value::Array(a)
        }
    }
}

/// Sets `key` to `value`, keeping the comments and spacing around an existing value.
fn set_preserving(t: &mut dyn toml_edit::TableLike, key: &str, mut value: Value) {
    if let Some(existing) = t.get_mut(key).and_then(Item::as_value_mut) {
        *value.decor_mut() = existing.decor().clone();
        *existing = value;
    } else {
        t.insert(key, Item::Value(value.decorated(" ", "")));
    }
}

fn matches(t: &dyn toml_edit::TableLike, key: &[(&str, &str)]) -> bool {
    key.iter()
        .all(|(k, v)| t.get(k).and_then(Item::as_str) == Some(*v))
}

/// The entry of `kind` matching `key` in this file, as a table-like, if present.
fn find_entry<'d>(
    doc: &'d mut DocumentMut,
    kind: &str,
    key: &[(&str, &str)],
) -> Option<&'d mut dyn toml_edit::TableLike> {
    match doc.get_mut(kind)? {
        Item::ArrayOfTables(aot) => aot
            .iter_mut()
            .find(|t| matches(*t, key))
            .map(|t| t as &mut dyn toml_edit::TableLike),
        Item::Value(Value::Array(arr)) => arr
            .iter_mut()
            .filter_map(Value::as_inline_table_mut)
            .find(|t| matches(*t, key))
            .map(|t| t as &mut dyn toml_edit::TableLike),
        _ => None,
    }
}

/// Sets `field` on the matching entry, or appends an override entry with the key fields.
fn upsert_entry(
    doc: &mut DocumentMut,
    kind: &str,
    key: &[(&str, &str)],
    field: &str,
    value: Value,
) -> Result<(), EditError> {
    if let Some(t) = find_entry(doc, kind, key) {
        set_preserving(t, field, value);
        return Ok(());
    }
    match doc.get_mut(kind) {
        Some(Item::Value(Value::Array(arr))) => {
            let mut t = InlineTable::new();
            for (k, v) in key {
                t.insert(*k, Value::from(*v));
            }
            t.insert(field, value);
            t.fmt();
            arr.push_formatted(Value::InlineTable(t).decorated("\n  ", ""));
        }
        Some(Item::ArrayOfTables(aot)) => aot.push(new_entry(key, field, value)),
        Some(_) => {
            return Err(EditError::Invalid(format!(
                "`{kind}` in this file is not an array of tables"
            )));
        }
        None => {
            let mut aot = ArrayOfTables::new();
            aot.push(new_entry(key, field, value));
            doc.insert(kind, Item::ArrayOfTables(aot));
        }
    }
    Ok(())
}

fn new_entry(key: &[(&str, &str)], field: &str, value: Value) -> Table {
    let mut t = Table::new();
    t.decor_mut().set_prefix("\n");
    for (k, v) in key {
        t.insert(k, toml_edit::value(*v));
    }
    t.insert(field, Item::Value(value));
    t
}

/// The flows CSV this file itself declares, with its current (possibly already edited) text.
fn own_csv(
    path: &Path,
    doc: &DocumentMut,
    edited: Option<&(PathBuf, String)>,
) -> Option<(PathBuf, String)> {
    let rel = doc.get("data")?.get("flows")?.as_str()?;
    let csv_path = path.parent().unwrap_or(Path::new("")).join(rel);
    if let Some((p, text)) = edited
        && *p == csv_path
    {
        return Some((csv_path, text.clone()));
    }
    let text = std::fs::read_to_string(&csv_path).ok()?;
    Some((csv_path, text))
}

/// Replaces the value cell of the row (from, to, sector) in a flows CSV, keeping every
/// other byte; `None` if the row is not there.
fn replace_csv_value(text: &str, from: &str, to: &str, sector: &str, value: f64) -> Option<String> {
    let mut lines = text.split_inclusive('\n');
    let header = lines.next()?;
    let cols: Vec<&str> = header.trim_end().split(',').map(str::trim).collect();
    let pos = |name: &str| cols.iter().position(|c| *c == name);
    let (cf, ct, cs, cv) = (pos("from")?, pos("to")?, pos("sector")?, pos("value")?);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(header);
    let mut found = false;
    for line in lines {
        let body = line.trim_end_matches(['\n', '\r']);
        let cells: Vec<&str> = body.split(',').collect();
        let hit = !found
            && cells.len() == cols.len()
            && cells[cf].trim() == from
            && cells[ct].trim() == to
            && cells[cs].trim() == sector;
        if hit {
            found = true;
            let new_cells: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == cv {
                        crate::report::csv_out::format_value(value)
                    } else {
                        (*c).to_string()
                    }
                })
                .collect();
            out.push_str(&new_cells.join(","));
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

/// Replaces `path` with `contents` atomically: a temporary file in the same folder is
/// written and flushed to disk, then renamed over the original. Keeps the file's permissions.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), EditError> {
    let err = |source| EditError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = folder_of(path);
    let mut tmp = sibling_temp_file(path).map_err(err)?;
    tmp.write_all(contents.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The folder a file is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temporary file next to `path` (`.NAME.XXXXXX.tmp`), to be renamed over it: a rename
/// within one folder is atomic, so readers see the old or the new file, never a part.
/// Removed automatically if dropped without being persisted.
pub fn sibling_temp_file(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    remove_stale_temp_files(folder_of(path), &name);
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder_of(path))
}

/// A temporary file not written to for this long belongs to a write that was killed.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes `.NAME.*.tmp` files left in `dir` by writes of `NAME` that were killed before
/// renaming them (a process killed with SIGKILL cannot clean up). Files written to in the
/// last few seconds may belong to a write still in progress and are kept.
fn remove_stale_temp_files(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let ours = file_name.len() > prefix.len() + ".tmp".len()
            && file_name.starts_with(&prefix)
            && file_name.ends_with(".tmp");
        let stale = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if ours && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// What `set` did.
#[derive(Debug)]
pub struct SetReport {
    pub changed: Vec<String>,
    pub csv: Option<PathBuf>,
}

/// The files as they would be after an edit: the edited flows CSV instead of the one on disk.
struct WithEditedCsv<'a>(Option<&'a (PathBuf, String)>);

impl WithEditedCsv<'_> {
    fn edited(&self, path: &Path) -> Option<&str> {
        self.0
            .filter(|(p, _)| p == path)
            .map(|(_, text)| text.as_str())
    }
}

impl FileSource for WithEditedCsv<'_> {
    fn size(&self, path: &Path) -> std::io::Result<u64> {
        match self.edited(path) {
            Some(text) => Ok(text.len() as u64),
            None => Disk.size(path),
        }
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self.edited(path) {
            Some(text) => Ok(text.as_bytes().to_vec()),
            None => Disk.read(path),
        }
    }
}

/// The whole of `corridor set`: apply, validate the result, write atomically.
/// On any problem nothing is written. Validation problems are returned rendered.
pub fn set_in_file(path: &Path, edits: &[Assignment], color: bool) -> Result<SetReport, EditError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EditError::Invalid(format!("cannot read `{}`: {e}", path.display())))?;
    let loaded = load_str(path, &text);
    let (scenario, _, _) = loaded.into_result().map_err(|(d, sources)| {
        EditError::Invalid(format!(
            "the scenario has problems; fix them before using set:\n{}",
            d.render(&sources, color)
        ))
    })?;
    let edited = apply(path, &text, &scenario, edits)?;
    // Validate exactly what would be written, the edited CSV included.
    let check = load_from(
        path,
        Some(&edited.scenario_text),
        &WithEditedCsv(edited.csv.as_ref()),
    );
    if check.diagnostics.has_errors() {
        return Err(EditError::Invalid(format!(
            "the change would make the scenario invalid, so nothing was written:\n{}",
            check.diagnostics.render(&check.sources, color)
        )));
    }
    let (new_scenario, _, _) = check
        .into_result()
        .map_err(|_| EditError::Invalid("the changed scenario could not be validated".into()))?;
    for e in edits {
        // A CSV-held flow is not visible to the check above; every other value must now read back.
        if !matches!(e.target, Target::Flow { .. })
            && new_scenario.get_param(&e.target).map(|v| v.as_f64()) != Some(e.value.as_f64())
        {
            return Err(EditError::Invalid(format!(
                "{} did not take the value {}",
                e.target, e.value
            )));
        }
    }
    if let Some((csv_path, csv_text)) = &edited.csv {
        write_atomic(csv_path, csv_text)?;
    }
    if edited.scenario_text != text {
        write_atomic(path, &edited.scenario_text)?;
    }
    Ok(SetReport {
        changed: edits
            .iter()
            .map(|e| format!("{} = {}", e.target, e.value))
            .collect(),
        csv: edited.csv.map(|(p, _)| p),
    })
}
