//! Typed validation of merged scenario documents into a [`Scenario`] (SPEC §1 rules).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::document::{Node, Table, Value};
use super::load::Merged;
use super::source::{Location, SourceMap};
use super::{
    Agreement, Bloc, CostEffect, Coverage, Deficits, EngineKind, Flow, GrowthOverride, Region,
    Scenario, Sector, Shock, flows_csv, limits,
};

/// Field reader that records every problem and keeps going.
pub(crate) struct Fields<'d> {
    pub diags: &'d mut Diagnostics,
}

pub(crate) fn expected(node: &Node, what: &str) -> Diagnostic {
    Diagnostic::error(format!("expected {what}, found {}", node.value.type_name()))
        .at(node.loc.clone())
        .label(format!("expected {what}"))
}

impl Fields<'_> {
    fn missing(&mut self, t: &Table, key: &str, context: &str, hint: &str) {
        self.diags.push(
            Diagnostic::error(format!("missing `{key}` in {context}"))
                .at(t.loc.clone())
                .label(format!("`{key}` is required here"))
                .help(hint.to_string()),
        );
    }

    pub fn string(&mut self, t: &Table, key: &str) -> Option<String> {
        let node = t.get(key)?;
        match &node.value {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.diags.push(expected(node, "a string"));
                None
            }
        }
    }

    /// A finite number (integer or float) with its location.
    pub fn number(&mut self, t: &Table, key: &str) -> Option<(f64, Location)> {
        let node = t.get(key)?;
        #[allow(clippy::cast_precision_loss)]
        let x = match &node.value {
            Value::Float(x) => *x,
            Value::Integer(i) => *i as f64,
            _ => {
                self.diags.push(expected(node, "a number"));
                return None;
            }
        };
        if !x.is_finite() {
            self.diags.push(
                Diagnostic::error(format!("`{key}` must be a finite number"))
                    .at(node.loc.clone())
                    .label("not finite")
                    .help("inf and nan are not allowed in scenario values"),
            );
            return None;
        }
        Some((x, node.loc.clone()))
    }

    pub fn integer(&mut self, t: &Table, key: &str) -> Option<(i64, Location)> {
        let node = t.get(key)?;
        match &node.value {
            Value::Integer(i) => Some((*i, node.loc.clone())),
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => {
                self.diags.push(
                    expected(node, "an integer")
                        .help(format!("write `{x:.0}` without a decimal point")),
                );
                None
            }
            _ => {
                self.diags.push(expected(node, "an integer"));
                None
            }
        }
    }

    pub fn boolean(&mut self, t: &Table, key: &str) -> Option<bool> {
        let node = t.get(key)?;
        match &node.value {
            Value::Boolean(b) => Some(*b),
            _ => {
                self.diags.push(expected(node, "true or false"));
                None
            }
        }
    }

    /// A number checked against a range; `rule` says the range in words ("in [0, 1]").
    pub fn ranged(
        &mut self,
        t: &Table,
        key: &str,
        ok: impl Fn(f64) -> bool,
        rule: &str,
        meaning: &str,
    ) -> Option<f64> {
        let (x, loc) = self.number(t, key)?;
        if ok(x) {
            Some(x)
        } else {
            self.diags.push(
                Diagnostic::error(format!("`{key}` = {x} is out of range: it must be {rule}"))
                    .at(loc)
                    .label(format!("must be {rule}"))
                    .help(meaning.to_string()),
            );
            None
        }
    }

    /// A list of strings with their locations.
    pub fn strings(&mut self, t: &Table, key: &str) -> Option<Vec<(String, Location)>> {
        let node = t.get(key)?;
        strings_of(node, self.diags)
    }

    /// `[min, max]` delay in years.
    fn delay(&mut self, t: &Table) -> Option<(u32, u32)> {
        let Some(node) = t.get("delay") else {
            return Some((0, 0));
        };
        let bad = |d: &mut Diagnostics, n: &Node| {
            d.push(
                Diagnostic::error(
                    "`delay` must be [min, max] whole years with 0 <= min <= max <= 50",
                )
                .at(n.loc.clone())
                .label("expected two integers, e.g. [0, 2]")
                .help("the delay is drawn uniformly from min..=max years in each Monte Carlo run"),
            );
            None
        };
        let Value::Array(items) = &node.value else {
            return bad(self.diags, node);
        };
        let ints: Option<Vec<i64>> = items
            .iter()
            .map(|n| match n.value {
                Value::Integer(i) => Some(i),
                _ => None,
            })
            .collect();
        match ints.as_deref() {
            Some(&[lo, hi]) if 0 <= lo && lo <= hi && hi <= limits::MAX_DELAY_YEARS => {
                Some((u32::try_from(lo).ok()?, u32::try_from(hi).ok()?))
            }
            _ => bad(self.diags, node),
        }
    }
}

pub(crate) fn strings_of(node: &Node, diags: &mut Diagnostics) -> Option<Vec<(String, Location)>> {
    let Value::Array(items) = &node.value else {
        diags.push(expected(node, "a list of strings, e.g. [\"PAK\", \"RUS\"]"));
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for n in items {
        match &n.value {
            Value::String(s) => out.push((s.clone(), n.loc.clone())),
            _ => {
                diags.push(expected(n, "a string"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Ids of one kind, with lookup and "did you mean".
struct Ids {
    kind: &'static str,
    index: HashMap<String, usize>,
    names: Vec<String>,
}

impl Ids {
    fn new(kind: &'static str, names: Vec<String>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Self { kind, index, names }
    }

    fn unknown(&self, id: &str, loc: &Location, extra: &[&str]) -> Diagnostic {
        let candidates = self
            .names
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied());
        let d = Diagnostic::error(format!("unknown {} id `{id}`", self.kind))
            .at(loc.clone())
            .label(format!("no {} has this id", self.kind));
        match did_you_mean(id, candidates) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if self.names.is_empty() => d.help(format!(
                "no {0} is defined: add a [[{0}]] entry with this id, or `extends` a file that has them",
                self.kind
            )),
            None if self.names.len() <= 12 => d.help(format!(
                "known {} ids: {}",
                self.kind,
                self.names.join(", ")
            )),
            None => d,
        }
    }
}

struct Resolver {
    regions: Ids,
    sectors: Ids,
    blocs: Ids,
    bloc_members: Vec<Vec<usize>>,
}

impl Resolver {
    fn region(&self, id: &str, loc: &Location, diags: &mut Diagnostics) -> Option<usize> {
        let r = self.regions.index.get(id).copied();
        if r.is_none() {
            diags.push(self.regions.unknown(id, loc, &[]));
        }
        r
    }

    fn sector(&self, id: &str, loc: &Location, diags: &mut Diagnostics) -> Option<usize> {
        let r = self.sectors.index.get(id).copied();
        if r.is_none() {
            diags.push(self.sectors.unknown(id, loc, &[]));
        }
        r
    }

    /// Region ids, bloc ids or `"*"` → sorted unique region indices.
    fn region_list(
        &self,
        items: &[(String, Location)],
        diags: &mut Diagnostics,
    ) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (id, loc) in items {
            if id == "*" {
                out.extend(0..self.regions.names.len());
            } else if let Some(&r) = self.regions.index.get(id) {
                out.push(r);
            } else if let Some(&b) = self.blocs.index.get(id) {
                out.extend(&self.bloc_members[b]);
            } else {
                let bloc_ids: Vec<&str> = self.blocs.names.iter().map(String::as_str).collect();
                let mut d = self.regions.unknown(id, loc, &bloc_ids);
                d.message = format!("unknown region or bloc id `{id}`");
                diags.push(d);
                ok = false;
            }
        }
        out.sort_unstable();
        out.dedup();
        ok.then_some(out)
    }

    /// Sector ids or `"*"` → sorted unique indices.
    fn sector_list(
        &self,
        items: &[(String, Location)],
        diags: &mut Diagnostics,
    ) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (id, loc) in items {
            if id == "*" {
                out.extend(0..self.sectors.names.len());
            } else if let Some(s) = self.sector(id, loc, diags) {
                out.push(s);
            } else {
                ok = false;
            }
        }
        out.sort_unstable();
        out.dedup();
        ok.then_some(out)
    }
}

fn entries<'a>(m: &'a Merged, kind: &str) -> &'a [Table] {
    m.entries.get(kind).map_or(&[], Vec::as_slice)
}

/// Validates the merged documents; `None` when there were errors.
#[allow(clippy::too_many_lines)]
pub(crate) fn validate(
    m: &Merged,
    path: &Path,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
    files: &dyn super::load::FileSource,
) -> Option<Scenario> {
    let errors_before = diags.error_count();
    let mut f = Fields { diags };

    // [scenario]
    let Some(sc) = m.scenario.as_ref() else {
        let file = sources.files().last().map(|(id, _)| id);
        let mut d = Diagnostic::error("missing the [scenario] table")
            .help("add [scenario] with name, base_year and horizon; see README.md");
        if let Some(file) = file {
            d = d.at(Location::new(file, 0..0));
        }
        f.diags.push(d);
        return None;
    };
    let name = f.string(sc, "name");
    if sc.get("name").is_none() {
        f.missing(
            sc,
            "name",
            "[scenario]",
            "give the scenario a name, e.g. name = \"Baseline\"",
        );
    }
    let description = f.string(sc, "description").unwrap_or_default();
    let base_year = f.integer(sc, "base_year");
    if sc.get("base_year").is_none() {
        f.missing(
            sc,
            "base_year",
            "[scenario]",
            "the data year, e.g. base_year = 2024",
        );
    }
    let horizon = f.integer(sc, "horizon");
    if sc.get("horizon").is_none() {
        f.missing(
            sc,
            "horizon",
            "[scenario]",
            "the last simulated year, e.g. horizon = 2040",
        );
    }
    let years_ok = match (&base_year, &horizon) {
        (Some((b, _)), Some((h, loc))) => {
            let span = h - b;
            if (1..=limits::MAX_YEARS).contains(&span)
                && i32::try_from(*b).is_ok()
                && i32::try_from(*h).is_ok()
            {
                true
            } else {
                f.diags.push(
                    Diagnostic::error(format!(
                        "horizon − base_year = {span} is outside the limit 1..={} years",
                        limits::MAX_YEARS
                    ))
                    .at(loc.clone())
                    .label("horizon must be 1 to 200 years after base_year"),
                );
                false
            }
        }
        _ => false,
    };
    let runs = match f.integer(sc, "runs") {
        None => 500,
        Some((r, loc)) => {
            if (0..=limits::MAX_RUNS).contains(&r) {
                u32::try_from(r).unwrap_or(0)
            } else {
                f.diags.push(
                    Diagnostic::error(format!(
                        "runs = {r} is outside the limit 0..={}",
                        limits::MAX_RUNS
                    ))
                    .at(loc)
                    .label("Monte Carlo runs: 0 (path only) to 1 000 000"),
                );
                0
            }
        }
    };
    let seed = match f.integer(sc, "seed") {
        None => 0,
        Some((s, loc)) => u64::try_from(s).unwrap_or_else(|_| {
            f.diags.push(
                Diagnostic::error("`seed` must be a non-negative integer")
                    .at(loc)
                    .label("negative"),
            );
            0
        }),
    };
    let unit = f.string(sc, "unit").unwrap_or_default();
    let engine = match sc.get("engine") {
        None => EngineKind::Pe,
        Some(n) => {
            match &n.value {
                Value::String(s) if s == "pe" => EngineKind::Pe,
                Value::String(s) if s == "ge" => EngineKind::Ge,
                _ => {
                    f.diags.push(
                    Diagnostic::error("`engine` must be \"pe\" or \"ge\"")
                        .at(n.loc.clone())
                        .label("expected \"pe\" (partial equilibrium) or \"ge\" (general equilibrium)"),
                );
                    EngineKind::Pe
                }
            }
        }
    };
    let deficits = match sc.get("deficits") {
        None => Deficits::Additive,
        Some(n) => match &n.value {
            Value::String(s) if s == "additive" => Deficits::Additive,
            Value::String(s) if s == "multiplicative" => Deficits::Multiplicative,
            _ => {
                f.diags.push(
                    Diagnostic::error("`deficits` must be \"additive\" or \"multiplicative\"")
                        .at(n.loc.clone())
                        .label("expected \"additive\" or \"multiplicative\""),
                );
                Deficits::Additive
            }
        },
    };

    // Limits before building anything sized by the input.
    for (kind, limit) in [
        ("region", limits::MAX_REGIONS),
        ("sector", limits::MAX_SECTORS),
    ] {
        let list = entries(m, kind);
        if list.len() > limit {
            f.diags.push(
                Diagnostic::error(format!(
                    "{} {kind}s is over the limit of {limit}",
                    list.len()
                ))
                .at(list[limit].loc.clone()),
            );
            return None;
        }
    }
    let inline_flows = entries(m, "flow");
    if inline_flows.len() > limits::MAX_FLOWS {
        f.diags.push(
            Diagnostic::error(format!(
                "{} flows is over the limit of {}",
                inline_flows.len(),
                limits::MAX_FLOWS
            ))
            .at(inline_flows[limits::MAX_FLOWS].loc.clone()),
        );
        return None;
    }

    // Regions, sectors, blocs: ids first, so that references can be resolved.
    let mut id_sets: HashMap<&str, HashSet<String>> = HashMap::new();
    let mut check_id = |f: &mut Fields<'_>, kind: &'static str, t: &Table| -> Option<String> {
        let id = t.str("id")?.to_string();
        let loc = t.get("id").map(|n| n.loc.clone());
        if !valid_id(&id) {
            f.diags.push(
                Diagnostic::error(format!("invalid {kind} id `{id}`"))
                    .at_opt(loc)
                    .label("ids are 1 to 32 characters: letters, digits, `_` and `-`"),
            );
        } else if kind == "sector" && id == "all" {
            f.diags.push(
                Diagnostic::error("the sector id `all` is reserved")
                    .at_opt(loc)
                    .label("`all` names the sum over sectors in every report")
                    .help("choose another id, e.g. `total` or `goods`"),
            );
        }
        id_sets.entry(kind).or_default().insert(id.clone());
        Some(id)
    };

    let mut regions = Vec::new();
    for t in entries(m, "region") {
        let Some(id) = check_id(&mut f, "region", t) else {
            continue;
        };
        let name = f.string(t, "name").unwrap_or_else(|| id.clone());
        regions.push(Region { id, name });
    }
    let mut sectors = Vec::new();
    for t in entries(m, "sector") {
        let Some(id) = check_id(&mut f, "sector", t) else {
            continue;
        };
        let name = f.string(t, "name").unwrap_or_else(|| id.clone());
        if t.get("substitution").is_none() {
            f.missing(
                t,
                "substitution",
                &format!("sector `{id}`"),
                "σ > 0, the elasticity of substitution between suppliers, e.g. substitution = 5.0",
            );
        }
        let substitution = f
            .ranged(
                t,
                "substitution",
                |x| x > 0.0,
                "> 0",
                "σ: elasticity of substitution between suppliers (typical 2–10)",
            )
            .unwrap_or(1.0);
        let demand_elasticity = if t.get("demand_elasticity").is_some() {
            f.ranged(
                t,
                "demand_elasticity",
                |x| x >= 0.0,
                ">= 0",
                "ε: price elasticity of composite demand (typical 0.5–1.5)",
            )
            .unwrap_or(1.0)
        } else {
            1.0
        };
        let growth = if t.get("growth").is_some() {
            f.ranged(
                t,
                "growth",
                |x| x > -1.0,
                "> -1",
                "annual growth of demand, e.g. 0.03 for 3 %",
            )
            .unwrap_or(0.0)
        } else {
            0.0
        };
        let volatility = if t.get("volatility").is_some() {
            f.ranged(
                t,
                "volatility",
                |x| (0.0..=1.0).contains(&x),
                "in [0, 1]",
                "s.d. of the annual log demand shock, e.g. 0.05",
            )
            .unwrap_or(0.0)
        } else {
            0.0
        };
        sectors.push(Sector {
            id,
            name,
            substitution,
            demand_elasticity,
            growth,
            volatility,
        });
    }
    let region_ids = Ids::new("region", regions.iter().map(|r| r.id.clone()).collect());
    let sector_ids = Ids::new("sector", sectors.iter().map(|s| s.id.clone()).collect());
    if regions.is_empty() && f.diags.error_count() == errors_before {
        f.diags.push(
            Diagnostic::error("the scenario has no regions")
                .at(sc.loc.clone())
                .help("add [[region]] entries with an id, e.g. id = \"PAK\""),
        );
    }
    if sectors.is_empty() && f.diags.error_count() == errors_before {
        f.diags.push(
            Diagnostic::error("the scenario has no sectors")
                .at(sc.loc.clone())
                .help("add [[sector]] entries with an id and substitution"),
        );
    }

    let mut blocs = Vec::new();
    for t in entries(m, "bloc") {
        let Some(id) = check_id(&mut f, "bloc", t) else {
            continue;
        };
        if region_ids.index.contains_key(&id) {
            f.diags.push(
                Diagnostic::error(format!("bloc id `{id}` is also a region id"))
                    .at_opt(t.get("id").map(|n| n.loc.clone()))
                    .label("ambiguous wherever a list of regions is expected")
                    .help("give the bloc another id"),
            );
        }
        let name = f.string(t, "name").unwrap_or_else(|| id.clone());
        let mut members = Vec::new();
        match f.strings(t, "members") {
            Some(list) => {
                for (rid, loc) in list {
                    if let Some(r) = region_ids.index.get(&rid) {
                        members.push(*r);
                    } else {
                        f.diags.push(
                            region_ids
                                .unknown(&rid, &loc, &[])
                                .help("bloc members are region ids"),
                        );
                    }
                }
            }
            None if t.get("members").is_none() => {
                f.missing(
                    t,
                    "members",
                    &format!("bloc `{id}`"),
                    "list the member regions, e.g. members = [\"USA\", \"EU\"]",
                );
            }
            None => {}
        }
        members.sort_unstable();
        members.dedup();
        blocs.push(Bloc { id, name, members });
    }
    let resolver = Resolver {
        regions: region_ids,
        sectors: sector_ids,
        blocs: Ids::new("bloc", blocs.iter().map(|b| b.id.clone()).collect()),
        bloc_members: blocs.iter().map(|b| b.members.clone()).collect(),
    };

    let focus = sc.get("focus").and_then(|n| match &n.value {
        Value::String(s) => resolver.region(s, &n.loc, f.diags),
        _ => {
            f.diags.push(expected(n, "a region id"));
            None
        }
    });

    // Growth overrides.
    let mut growth_overrides = Vec::new();
    for t in entries(m, "growth") {
        let region = t.get("region").and_then(|n| match &n.value {
            Value::String(s) => resolver.region(s, &n.loc, f.diags),
            _ => None,
        });
        let sector = match t.get("sector") {
            Some(Node {
                value: Value::String(s),
                ..
            }) if s == "*" => Some(None),
            Some(Node {
                value: Value::String(s),
                loc,
            }) => resolver.sector(s, loc, f.diags).map(Some),
            _ => None,
        };
        if t.get("rate").is_none() {
            f.missing(
                t,
                "rate",
                "a [[growth]] entry",
                "the annual growth rate, e.g. rate = 0.045",
            );
        }
        let rate = f.ranged(
            t,
            "rate",
            |x| x > -1.0,
            "> -1",
            "annual growth of demand for this region, e.g. 0.045",
        );
        if let (Some(region), Some(sector), Some(rate)) = (region, sector, rate) {
            growth_overrides.push(GrowthOverride {
                region,
                sector,
                rate,
            });
        }
    }

    // Flows: CSV data first, then inline entries (a later file's entry wins; within a file a duplicate is an error).
    let mut flows: Vec<Flow> = Vec::new();
    let mut flow_at: HashMap<(usize, usize, usize), (usize, usize)> = HashMap::new(); // key → (index, rank)
    if let Some(data) = m.data.as_ref()
        && let Some(node) = data.get("flows")
    {
        match &node.value {
            Value::String(rel) => {
                let base = sources
                    .path(node.loc.file)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                let csv_path = base.join(rel);
                let rank = m.rank.get(&node.loc.file).copied().unwrap_or(0);
                let budget = limits::MAX_FLOWS - inline_flows.len();
                let regions_idx = &resolver.regions.index;
                let sectors_idx = &resolver.sectors.index;
                let rows = flows_csv::read(
                    &csv_path,
                    files,
                    &node.loc,
                    budget,
                    sources,
                    f.diags,
                    |kind, id| match kind {
                        flows_csv::IdKind::Region => regions_idx.get(id).copied(),
                        flows_csv::IdKind::Sector => sectors_idx.get(id).copied(),
                    },
                    &resolver.regions.names,
                    &resolver.sectors.names,
                );
                for flow in rows {
                    flow_at.insert((flow.from, flow.to, flow.sector), (flows.len(), rank));
                    flows.push(flow);
                }
            }
            _ => f.diags.push(expected(
                node,
                "a path to a CSV file (from,to,sector,value)",
            )),
        }
    }
    for t in inline_flows {
        let from = t.get("from").and_then(|n| {
            n.value_str()
                .and_then(|s| resolver.region(s, &n.loc, f.diags))
        });
        let to = t.get("to").and_then(|n| {
            n.value_str()
                .and_then(|s| resolver.region(s, &n.loc, f.diags))
        });
        let sector = t.get("sector").and_then(|n| {
            n.value_str()
                .and_then(|s| resolver.sector(s, &n.loc, f.diags))
        });
        if t.get("value").is_none() {
            f.missing(
                t,
                "value",
                "a [[flow]] entry",
                "the base-year value of trade, e.g. value = 568.3",
            );
        }
        let value = f.ranged(
            t,
            "value",
            |x| x >= 0.0,
            ">= 0",
            "base-year value of trade in the scenario's unit",
        );
        let note = f.string(t, "note");
        let (Some(from), Some(to), Some(sector), Some(value)) = (from, to, sector, value) else {
            continue;
        };
        let rank = m.rank.get(&t.loc.file).copied().unwrap_or(0);
        let flow = Flow {
            from,
            to,
            sector,
            value,
            note,
        };
        match flow_at.get(&(from, to, sector)).copied() {
            Some((i, r)) if r == rank => f.diags.push(
                Diagnostic::error(format!(
                    "duplicate flow ({}, {}, {}): it is also in this file's [data] flows table",
                    resolver.regions.names[from],
                    resolver.regions.names[to],
                    resolver.sectors.names[sector]
                ))
                .at(t.loc.clone())
                .help("a (from, to, sector) key may appear once per file")
                .help(format!("row {} of the CSV table", i + 2)),
            ),
            Some((i, r)) if r < rank => {
                flows[i] = flow;
                flow_at.insert((from, to, sector), (i, rank));
            }
            Some(_) => {}
            None => {
                flow_at.insert((from, to, sector), (flows.len(), rank));
                flows.push(flow);
            }
        }
    }

    // Agreements.
    let ramp = |f: &mut Fields<'_>, t: &Table| -> u32 {
        match f.integer(t, "ramp_years") {
            None => 0,
            Some((r, loc)) => u32::try_from(r)
                .ok()
                .filter(|r| *r <= 200)
                .unwrap_or_else(|| {
                    f.diags.push(
                        Diagnostic::error(format!(
                            "`ramp_years` = {r} must be a whole number of years from 0 to 200"
                        ))
                        .at(loc)
                        .label("out of range"),
                    );
                    0
                }),
        }
    };
    let start_year = |f: &mut Fields<'_>, t: &Table, what: &str| -> Option<i32> {
        if t.get("start").is_none() {
            f.missing(
                t,
                "start",
                what,
                "the first year it can act, after base_year and no later than horizon",
            );
            return None;
        }
        let (s, loc) = f.integer(t, "start")?;
        if let (Some((b, _)), Some((h, _)), true) = (&base_year, &horizon, years_ok)
            && !(*b < s && s <= *h)
        {
            f.diags.push(
                Diagnostic::error(format!(
                    "`start` = {s} must be after base_year {b} and no later than horizon {h}"
                ))
                .at(loc)
                .label(format!("expected a year in {}..={h}", b + 1)),
            );
            return None;
        }
        i32::try_from(s).ok()
    };
    let probability = |f: &mut Fields<'_>, t: &Table| -> f64 {
        if t.get("probability").is_none() {
            return 1.0;
        }
        f.ranged(
            t,
            "probability",
            |x| (0.0..=1.0).contains(&x),
            "in [0, 1]",
            "the chance it is implemented at all",
        )
        .unwrap_or(1.0)
    };

    let mut agreements = Vec::new();
    for t in entries(m, "agreement") {
        let Some(id) = check_id(&mut f, "agreement", t) else {
            continue;
        };
        let what = format!("agreement `{id}`");
        let name = f.string(t, "name").unwrap_or_else(|| id.clone());
        let coverage = match (t.get("parties"), t.get("between")) {
            (Some(_), Some(b)) => {
                f.diags.push(
                    Diagnostic::error(format!("{what} has both `parties` and `between`"))
                        .at(b.loc.clone())
                        .label("remove one of them")
                        .help("`parties` covers every pair within one list; `between` every pair across two lists"),
                );
                None
            }
            (None, None) => {
                f.missing(t, "parties", &what, "write parties = [\"PAK\", \"RUS\"] or between = [[\"PAK\"], [\"RUS\", \"KAZ\"]]");
                None
            }
            (Some(p), None) => strings_of(p, f.diags)
                .and_then(|list| resolver.region_list(&list, f.diags))
                .map(Coverage::Parties),
            (None, Some(b)) => match &b.value {
                Value::Array(groups) if groups.len() == 2 => {
                    let g0 = strings_of(&groups[0], f.diags)
                        .and_then(|l| resolver.region_list(&l, f.diags));
                    let g1 = strings_of(&groups[1], f.diags)
                        .and_then(|l| resolver.region_list(&l, f.diags));
                    g0.zip(g1).map(|(a, b)| Coverage::Between(a, b))
                }
                _ => {
                    f.diags.push(
                        Diagnostic::error("`between` must be two lists of regions")
                            .at(b.loc.clone())
                            .label("expected [[\"A\", …], [\"B\", …]]"),
                    );
                    None
                }
            },
        };
        let sectors_cov = match f.strings(t, "sectors") {
            Some(list) => resolver.sector_list(&list, f.diags),
            None if t.get("sectors").is_none() => Some((0..sectors.len()).collect()),
            None => None,
        };
        let start = start_year(&mut f, t, &what);
        let ramp_years = ramp(&mut f, t);
        let effect = match (t.get("cost_cut"), t.get("partial_effect")) {
            (Some(_), Some(n)) => {
                f.diags.push(
                    Diagnostic::error(format!("{what} has both `cost_cut` and `partial_effect`"))
                        .at(n.loc.clone())
                        .label("remove one of them"),
                );
                None
            }
            (None, None) => {
                f.missing(t, "cost_cut", &what, "write cost_cut = 0.1 (a 10 % cut in trade costs) or partial_effect = β");
                None
            }
            (Some(_), None) => f
                .ranged(t, "cost_cut", |x| (0.0..1.0).contains(&x), "in [0, 1)", "the cut in bilateral trade cost at full effect, e.g. 0.10")
                .map(CostEffect::CostCut),
            (None, Some(_)) => f.number(t, "partial_effect").map(|(b, loc)| {
                if let Some(cov) = &sectors_cov {
                    for &s in cov {
                        if sectors[s].substitution <= 1.0 {
                            f.diags.push(
                                Diagnostic::error(format!(
                                    "`partial_effect` needs σ > 1, but sector `{}` has substitution = {}",
                                    sectors[s].id, sectors[s].substitution
                                ))
                                .at(loc.clone())
                                .label("κ = exp(−β / (σ − 1)) is undefined for σ <= 1")
                                .help("use cost_cut, or raise the sector's substitution above 1"),
                            );
                        }
                    }
                }
                CostEffect::PartialEffect(b)
            }),
        };
        let probability = probability(&mut f, t);
        let delay = f.delay(t).unwrap_or((0, 0));
        let enabled = f.boolean(t, "enabled").unwrap_or(true);
        let note = f.string(t, "note");
        if let (Some(coverage), Some(sectors_cov), Some(start), Some(effect)) =
            (coverage, sectors_cov, start, effect)
        {
            agreements.push(Agreement {
                id,
                name,
                coverage,
                sectors: sectors_cov,
                start,
                ramp_years,
                effect,
                probability,
                delay,
                enabled,
                note,
            });
        }
    }

    let mut shocks = Vec::new();
    for t in entries(m, "shock") {
        let Some(id) = check_id(&mut f, "shock", t) else {
            continue;
        };
        let what = format!("shock `{id}`");
        let name = f.string(t, "name").unwrap_or_else(|| id.clone());
        let side = |f: &mut Fields<'_>, key: &str| -> Option<Vec<usize>> {
            if t.get(key).is_none() {
                f.missing(t, key, &what, "a list of region ids, bloc ids or \"*\"");
                return None;
            }
            f.strings(t, key)
                .and_then(|l| resolver.region_list(&l, f.diags))
        };
        let from = side(&mut f, "from");
        let to = side(&mut f, "to");
        let sectors_cov = match f.strings(t, "sectors") {
            Some(list) => resolver.sector_list(&list, f.diags),
            None if t.get("sectors").is_none() => Some((0..sectors.len()).collect()),
            None => None,
        };
        let start = start_year(&mut f, t, &what);
        let end = match f.integer(t, "end") {
            None => None,
            Some((e, loc)) => match start {
                Some(s) if e >= i64::from(s) => i32::try_from(e).ok(),
                Some(s) => {
                    f.diags.push(
                        Diagnostic::error(format!("`end` = {e} is before `start` = {s}"))
                            .at(loc)
                            .label("the last year in force must be on or after start"),
                    );
                    None
                }
                None => None,
            },
        };
        let ramp_years = ramp(&mut f, t);
        if t.get("cost_increase").is_none() {
            f.missing(
                t,
                "cost_increase",
                &what,
                "the rise in trade cost at full force, e.g. cost_increase = 0.25",
            );
        }
        let cost_increase = f.ranged(
            t,
            "cost_increase",
            |x| x > -1.0,
            "> -1",
            "trade cost is multiplied by (1 + cost_increase) at full force",
        );
        let probability = probability(&mut f, t);
        let delay = f.delay(t).unwrap_or((0, 0));
        let enabled = f.boolean(t, "enabled").unwrap_or(true);
        let note = f.string(t, "note");
        if let (Some(from), Some(to), Some(sectors_cov), Some(start), Some(cost_increase)) =
            (from, to, sectors_cov, start, cost_increase)
        {
            shocks.push(Shock {
                id,
                name,
                from,
                to,
                sectors: sectors_cov,
                start,
                end,
                ramp_years,
                cost_increase,
                probability,
                delay,
                enabled,
                note,
            });
        }
    }

    if f.diags.error_count() > errors_before {
        return None;
    }
    let (Some(name), Some((base_year, _)), Some((horizon, _))) = (name, base_year, horizon) else {
        return None;
    };
    let scenario = Scenario {
        path: path.to_path_buf(),
        name,
        description,
        base_year: i32::try_from(base_year).ok()?,
        horizon: i32::try_from(horizon).ok()?,
        runs,
        seed,
        focus,
        unit,
        engine,
        deficits,
        regions,
        blocs,
        sectors,
        growth_overrides,
        flows,
        agreements,
        shocks,
    };
    warnings(&scenario, m, f.diags);
    if scenario.engine == EngineKind::Ge {
        for problem in scenario.ge_problems() {
            let loc = m
                .scenario
                .as_ref()
                .and_then(|t| t.get("engine"))
                .map(|n| n.loc.clone());
            f.diags.push(
                Diagnostic::error(format!("cannot run in GE: {problem}"))
                    .at_opt(loc)
                    .label("engine = \"ge\" set here"),
            );
        }
        if f.diags.has_errors() {
            return None;
        }
    }
    Some(scenario)
}

/// Warnings of SPEC §1: events that cannot act, regions without data.
fn warnings(s: &Scenario, m: &Merged, diags: &mut Diagnostics) {
    let n = s.regions.len();
    let mut traded = vec![false; n * n * s.sectors.len()];
    let mut has_flow = vec![false; n];
    for fl in s.flows.iter().filter(|f| f.value > 0.0) {
        traded[(fl.from * n + fl.to) * s.sectors.len() + fl.sector] = true;
        has_flow[fl.from] = true;
        has_flow[fl.to] = true;
    }
    let loc_of = |kind: &str, id: &str| {
        entries(m, kind)
            .iter()
            .find(|t| t.str("id") == Some(id))
            .and_then(|t| t.get("id"))
            .map(|n| n.loc.clone())
    };
    for a in &s.agreements {
        let any = a.coverage.pairs().iter().any(|&(i, j)| {
            a.sectors
                .iter()
                .any(|&k| traded[(i * n + j) * s.sectors.len() + k])
        });
        if !any {
            diags.push(
                Diagnostic::warning(format!(
                    "agreement `{}` covers no pair with base-year trade: it can have no effect",
                    a.id
                ))
                .at_opt(loc_of("agreement", &a.id))
                .label("no flow between its parties in its sectors")
                .help("the model scales existing trade; it cannot create trade from zero"),
            );
        }
    }
    for sh in &s.shocks {
        let any = sh.from.iter().any(|&i| {
            sh.to.iter().any(|&j| {
                i != j
                    && sh
                        .sectors
                        .iter()
                        .any(|&k| traded[(i * n + j) * s.sectors.len() + k])
            })
        });
        if !any {
            diags.push(
                Diagnostic::warning(format!(
                    "shock `{}` covers no pair with base-year trade: it can have no effect",
                    sh.id
                ))
                .at_opt(loc_of("shock", &sh.id)),
            );
        }
    }
    for (r, region) in s.regions.iter().enumerate() {
        if !has_flow[r] {
            diags.push(
                Diagnostic::warning(format!("region `{}` has no flows", region.id))
                    .at_opt(loc_of("region", &region.id))
                    .label("it will have no values in any report"),
            );
        }
    }
}

impl Node {
    pub(crate) fn value_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}
