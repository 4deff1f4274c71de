//! The `[data] flows` table: CSV with header `from,to,sector,value` (SPEC §1).
//!
//! Columns are found by name, so their order is free; an optional `note` column is kept
//! as each flow's provenance. Every bad cell is reported with its line and column.

use std::path::Path;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::load::read_text;
use super::source::{Location, SourceMap};
use super::{Flow, limits};

pub(crate) enum IdKind {
    Region,
    Sector,
}

/// Reports at most this many bad cells per file, then a count of the rest.
const MAX_CELL_ERRORS: usize = 50;

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
pub(crate) fn read(
    path: &Path,
    files: &dyn super::load::FileSource,
    referenced_at: &Location,
    budget: usize,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
    lookup: impl Fn(IdKind, &str) -> Option<usize>,
    region_ids: &[String],
    sector_ids: &[String],
) -> Vec<Flow> {
    let Some((file, text)) = read_text(path, files, sources, diags, Some(referenced_at)) else {
        return Vec::new();
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header_loc = Location::new(file, 0..text.find('\n').unwrap_or(text.len()));
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            diags
                .push(Diagnostic::error(format!("cannot read the CSV header: {e}")).at(header_loc));
            return Vec::new();
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(c_from), Some(c_to), Some(c_sector), Some(c_value)) =
        (col("from"), col("to"), col("sector"), col("value"))
    else {
        diags.push(
            Diagnostic::error("the flows table needs the header `from,to,sector,value`")
                .at(header_loc)
                .label(format!(
                    "found `{}`",
                    headers.iter().collect::<Vec<_>>().join(",")
                ))
                .help(
                    "the first line names the columns: from,to,sector,value (and optionally note)",
                ),
        );
        return Vec::new();
    };
    let c_note = col("note");
    for (i, h) in headers.iter().enumerate() {
        if ![
            Some(c_from),
            Some(c_to),
            Some(c_sector),
            Some(c_value),
            c_note,
        ]
        .contains(&Some(i))
        {
            diags.push(
                Diagnostic::error(format!("unknown column `{h}` in the flows table"))
                    .at(header_loc.clone())
                    .help("the columns are from,to,sector,value and an optional note"),
            );
        }
    }
    let mut flows = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut errors = 0usize;
    let mut record = csv::StringRecord::new();
    loop {
        let start = usize::try_from(reader.position().byte()).unwrap_or(0);
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e
                    .position()
                    .map_or(start, |p| usize::try_from(p.byte()).unwrap_or(start));
                let end = text[at.min(text.len())..]
                    .find('\n')
                    .map_or(text.len(), |n| at + n);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("this row has {len} fields, but the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "this row is not UTF-8 text".to_string(),
                    _ => format!("malformed CSV: {e}"),
                };
                diags.push(Diagnostic::error(message).at(Location::new(file, at..end)));
                errors += 1;
                if errors > MAX_CELL_ERRORS {
                    break;
                }
                continue;
            }
        }
        if flows.len() >= budget.min(limits::MAX_FLOWS) {
            diags.push(
                Diagnostic::error(format!(
                    "more than {} flows: over the limit",
                    limits::MAX_FLOWS
                ))
                .at(Location::new(file, start..start)),
            );
            break;
        }
        let cell_loc = |c: usize| -> Location {
            let r = record.range(c).unwrap_or(0..0);
            // Field ranges are within the unescaped record; exact for unquoted cells.
            let line_text = &text[start.min(text.len())..];
            let offset = nth_field_offset(line_text, c).unwrap_or(r.start);
            Location::new(file, start + offset..start + offset + r.len().max(1))
        };
        let mut bad = |d: Diagnostic| {
            errors += 1;
            if errors <= MAX_CELL_ERRORS {
                diags.push(d);
            }
        };
        let mut id = |c: usize, kind: IdKind, known: &[String], what: &str| -> Option<usize> {
            let raw = record.get(c).unwrap_or("").trim();
            let r = lookup(kind, raw);
            if r.is_none() {
                let mut d =
                    Diagnostic::error(format!("unknown {what} id `{raw}` in the flows table"))
                        .at(cell_loc(c));
                if let Some(s) = did_you_mean(raw, known.iter().map(String::as_str)) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                bad(d);
            }
            r
        };
        let from = id(c_from, IdKind::Region, region_ids, "region");
        let to = id(c_to, IdKind::Region, region_ids, "region");
        let sector = id(c_sector, IdKind::Sector, sector_ids, "sector");
        let raw_value = record.get(c_value).unwrap_or("").trim();
        let value = match raw_value.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            Ok(v) => {
                bad(
                    Diagnostic::error(format!("flow value {v} must be finite and >= 0"))
                        .at(cell_loc(c_value)),
                );
                None
            }
            Err(_) => {
                bad(
                    Diagnostic::error(format!("flow value `{raw_value}` is not a number"))
                        .at(cell_loc(c_value)),
                );
                None
            }
        };
        let (Some(from), Some(to), Some(sector), Some(value)) = (from, to, sector, value) else {
            continue;
        };
        if let Some(first_line) = seen.insert(
            (from, to, sector),
            record.position().map_or(0, csv::Position::line),
        ) {
            bad(Diagnostic::error(format!(
                "duplicate flow ({}, {}, {}) in the flows table",
                region_ids[from], region_ids[to], sector_ids[sector]
            ))
            .at(cell_loc(c_from))
            .help(format!("first given on line {first_line}")));
            continue;
        }
        let note = c_note
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        flows.push(Flow {
            from,
            to,
            sector,
            value,
            note,
        });
    }
    if errors > MAX_CELL_ERRORS {
        diags.push(
            Diagnostic::error(format!(
                "{} more problems in this flows table were not listed",
                errors - MAX_CELL_ERRORS
            ))
            .at(Location::new(file, 0..0)),
        );
    }
    flows
}

/// Byte offset of field `n` in the first line of `line`, honouring quotes.
fn nth_field_offset(line: &str, n: usize) -> Option<usize> {
    let mut field = 0;
    let mut quoted = false;
    if n == 0 {
        return Some(0);
    }
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                field += 1;
                if field == n {
                    return Some(i + 1);
                }
            }
            '\n' if !quoted => return None,
            _ => {}
        }
    }
    None
}
