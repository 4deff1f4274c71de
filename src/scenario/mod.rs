//! Scenario files: parsing with spans, `extends` merging, validation into a [`Scenario`],
//! parameter paths, and format-preserving edits. SPEC §1.

pub mod bundled;
pub mod diagnostic;
pub mod document;
pub mod edit;
mod flows_csv;
mod load;
pub mod params;
pub mod source;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use load::{Disk, FileSource, LIMIT_EXTENDS_DEPTH, Loaded, load, load_from, load_str};
pub use source::{FileId, Location, SourceMap};

pub use crate::model::ge::Deficits;

/// Limits of SPEC §1, checked before anything sized by the input is allocated.
pub mod limits {
    pub const MAX_YEARS: i64 = 200;
    pub const MAX_RUNS: i64 = 1_000_000;
    pub const MAX_REGIONS: usize = 300;
    pub const MAX_SECTORS: usize = 100;
    pub const MAX_FLOWS: usize = 2_000_000;
    pub const MAX_DELAY_YEARS: i64 = 50;
    /// Largest scenario or CSV file read, so that a stray multi-gigabyte file is refused
    /// before it is read into memory. 2 million flows at ~40 bytes a row fit well inside.
    pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
}

/// Which engine turns trade costs into flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum EngineKind {
    /// Dynamic Armington partial equilibrium, SPEC §3.
    #[default]
    Pe,
    /// Multi-sector exact hat algebra general equilibrium, SPEC §4.
    Ge,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Pe => "pe",
            EngineKind::Ge => "ge",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bloc {
    pub id: String,
    pub name: String,
    /// Region indices, sorted and unique.
    pub members: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sector {
    pub id: String,
    pub name: String,
    /// σ > 0: elasticity of substitution between suppliers.
    pub substitution: f64,
    /// ε ≥ 0: price elasticity of the composite demand (PE).
    pub demand_elasticity: f64,
    /// g > −1: annual growth of demand.
    pub growth: f64,
    /// v in [0, 1]: s.d. of the annual log demand shock.
    pub volatility: f64,
}

/// A growth override for one region: a specific sector, or every sector (`"*"`).
#[derive(Clone, Debug, PartialEq)]
pub struct GrowthOverride {
    pub region: usize,
    /// `None` is `"*"`.
    pub sector: Option<usize>,
    pub rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub from: usize,
    pub to: usize,
    pub sector: usize,
    pub value: f64,
    pub note: Option<String>,
}

/// How an agreement lowers trade costs at full effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CostEffect {
    /// κ = 1 − cut.
    CostCut(f64),
    /// Gravity coefficient β: κ_s = exp(−β / (σ_s − 1)).
    PartialEffect(f64),
}

/// Which ordered pairs an agreement covers.
#[derive(Clone, Debug, PartialEq)]
pub enum Coverage {
    /// Every ordered pair of distinct parties.
    Parties(Vec<usize>),
    /// Every pair across the two groups, both directions.
    Between(Vec<usize>, Vec<usize>),
}

impl Coverage {
    /// The ordered (exporter, importer) pairs covered, without duplicates or self-pairs.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        match self {
            Coverage::Parties(p) => {
                for &a in p {
                    for &b in p {
                        if a != b {
                            out.push((a, b));
                        }
                    }
                }
            }
            Coverage::Between(g, h) => {
                for &a in g {
                    for &b in h {
                        if a != b {
                            out.push((a, b));
                            out.push((b, a));
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    pub id: String,
    pub name: String,
    pub coverage: Coverage,
    /// Sector indices, sorted.
    pub sectors: Vec<usize>,
    pub start: i32,
    pub ramp_years: u32,
    pub effect: CostEffect,
    pub probability: f64,
    /// Inclusive [min, max] delay in years.
    pub delay: (u32, u32),
    pub enabled: bool,
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Shock {
    pub id: String,
    pub name: String,
    pub from: Vec<usize>,
    pub to: Vec<usize>,
    pub sectors: Vec<usize>,
    pub start: i32,
    pub end: Option<i32>,
    pub ramp_years: u32,
    pub cost_increase: f64,
    pub probability: f64,
    pub delay: (u32, u32),
    pub enabled: bool,
    pub note: Option<String>,
}

/// A validated scenario: every id resolved to an index, every number in range.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The file it was loaded from (the child, for a file that extends another).
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub base_year: i32,
    pub horizon: i32,
    pub runs: u32,
    pub seed: u64,
    pub focus: Option<usize>,
    pub unit: String,
    pub engine: EngineKind,
    pub deficits: Deficits,
    pub regions: Vec<Region>,
    pub blocs: Vec<Bloc>,
    pub sectors: Vec<Sector>,
    pub growth_overrides: Vec<GrowthOverride>,
    pub flows: Vec<Flow>,
    pub agreements: Vec<Agreement>,
    pub shocks: Vec<Shock>,
}

impl Scenario {
    /// The file stem, used as the scenario's name in CSV output.
    pub fn stem(&self) -> String {
        self.path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + Clone {
        self.base_year..=self.horizon
    }

    pub fn year_count(&self) -> usize {
        usize::try_from(self.horizon - self.base_year + 1).unwrap_or(0)
    }

    pub fn region_index(&self, id: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.id == id)
    }

    pub fn sector_index(&self, id: &str) -> Option<usize> {
        self.sectors.iter().position(|s| s.id == id)
    }

    pub fn bloc_index(&self, id: &str) -> Option<usize> {
        self.blocs.iter().position(|b| b.id == id)
    }

    /// g_js: the growth override for (j, s) if any (a specific sector wins over `"*"`), else g_s.
    pub fn growth_rate(&self, region: usize, sector: usize) -> f64 {
        let specific = self
            .growth_overrides
            .iter()
            .find(|g| g.region == region && g.sector == Some(sector));
        let any = self
            .growth_overrides
            .iter()
            .find(|g| g.region == region && g.sector.is_none());
        specific
            .or(any)
            .map_or(self.sectors[sector].growth, |g| g.rate)
    }

    /// The focus region, or the first region.
    pub fn focus_region(&self) -> usize {
        self.focus.unwrap_or(0)
    }

    /// Directory the scenario's relative paths are resolved against.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

impl Scenario {
    /// What keeps this scenario from running in the GE engine (SPEC §1, §4): every region
    /// needs a domestic flow in every sector that has trade, and every σ must exceed 1.
    /// Empty when it can run.
    pub fn ge_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for s in &self.sectors {
            if s.substitution <= 1.0 {
                problems.push(format!(
                    "sector `{}` has substitution = {}, but GE needs σ > 1 (θ = σ − 1 > 0)",
                    s.id, s.substitution
                ));
            }
        }
        let n = self.regions.len();
        let mut domestic = vec![false; n * self.sectors.len()];
        let mut sector_traded = vec![false; self.sectors.len()];
        for f in self.flows.iter().filter(|f| f.value > 0.0) {
            sector_traded[f.sector] = true;
            if f.from == f.to {
                domestic[f.from * self.sectors.len() + f.sector] = true;
            }
        }
        for (k, sector) in self
            .sectors
            .iter()
            .enumerate()
            .filter(|(k, _)| sector_traded[*k])
        {
            let missing: Vec<&str> = (0..n)
                .filter(|r| !domestic[r * self.sectors.len() + k])
                .map(|r| self.regions[r].id.as_str())
                .collect();
            if !missing.is_empty() {
                let shown: Vec<String> = missing
                    .iter()
                    .take(8)
                    .map(|id| format!("{id}→{id}"))
                    .collect();
                let more = if missing.len() > 8 {
                    format!(" and {} more", missing.len() - 8)
                } else {
                    String::new()
                };
                problems.push(format!(
                    "sector `{}` has no domestic flow (from == to) for {} region(s): {}{more}",
                    sector.id,
                    missing.len(),
                    shown.join(", ")
                ));
            }
        }
        problems
    }
}
