//! What the app remembers across restarts, and the pickers shared by all columns.

use std::path::PathBuf;

use crate::metrics::{Metric, Partner, SectorSel, SeriesKey};
use crate::scenario::{EngineKind, Scenario};

/// Most recent files kept in the library.
pub const MAX_RECENT: usize = 10;
/// Most columns side by side.
pub const MAX_COLUMNS: usize = 4;

/// Persisted with eframe's storage, a part per field ([`State::save_to`]); unknown or
/// missing fields, and parts that cannot be read, fall back to defaults.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct State {
    /// Files opened from disk, newest first.
    pub recent: Vec<PathBuf>,
    /// Files open when the app last closed.
    pub open: Vec<PathBuf>,
    /// The scenario in the parameter editor.
    pub selected: Option<PathBuf>,
    /// The comparison columns.
    pub columns: Vec<ColumnSpec>,
    pub dark: bool,
    pub show_library: bool,
    pub show_editor: bool,
    pub view: View,
    pub pickers: Pickers,
    /// Give every column's plots the same y range.
    pub share_y: bool,
    /// The choices of the analysis views.
    pub analysis: AnalysisPrefs,
}

impl Default for State {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            open: Vec::new(),
            selected: None,
            columns: Vec::new(),
            dark: false,
            show_library: true,
            show_editor: true,
            view: View::Trade,
            pickers: Pickers::default(),
            share_y: false,
            analysis: AnalysisPrefs::default(),
        }
    }
}

/// The choices of the analysis views as remembered across restarts (see
/// [`super::analysis::Settings`], which checks them when they are read back).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AnalysisPrefs {
    /// What the sensitivity reports: `None` the as-written path, else a statistic of the
    /// runs (index into [`crate::ensemble::STATS`]).
    pub sensitivity_stat: Option<usize>,
    /// Move each parameter by ± this percentage; `None` = across its typical range.
    pub sensitivity_pct: Option<f64>,
    /// The swept parameters, by parameter path.
    pub sweep_axes: Vec<Option<SavedAxis>>,
    pub sweep_steps: usize,
    pub sweep_runs: u32,
    /// Index into [`crate::ensemble::STATS`].
    pub sweep_stat: usize,
}

impl Default for AnalysisPrefs {
    fn default() -> Self {
        super::analysis::Settings::default().to_prefs()
    }
}

/// A swept parameter, by its parameter path (as `corridor set` takes it), and its range.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedAxis {
    pub path: String,
    pub from: f64,
    pub to: f64,
}

/// Writes and reads each listed field of [`State`] under a storage key of its own,
/// `<STATE_KEY>.<field>`.
macro_rules! state_parts {
    ($($field:ident),* $(,)?) => {
        impl State {
            /// Keeps the state in `storage`, each part under its own key, so that a part
            /// that cannot be read back later (written by hand, or by a version that
            /// stored it differently) falls back to its default alone. The whole state
            /// under `key` itself, as earlier versions kept it, is removed.
            pub fn save_to(&self, storage: &mut dyn eframe::Storage, key: &str) {
                // Every field is named here, or this does not compile.
                let State { $($field),* } = self;
                $(eframe::set_value(storage, &format!("{key}.{}", stringify!($field)), $field);)*
                storage.remove_string(key);
            }

            /// What [`State::save_to`] kept in `storage`: each part that is there and can
            /// be read, else the part of the whole state under `key` (as earlier versions
            /// kept it) if that can be read, else the part's default.
            pub fn restore_from(storage: &dyn eframe::Storage, key: &str) -> State {
                let mut state: State = eframe::get_value(storage, key).unwrap_or_default();
                $(
                    if let Some(part) = eframe::get_value(storage, &format!("{key}.{}", stringify!($field))) {
                        state.$field = part;
                    }
                )*
                state
            }
        }
    };
}

state_parts!(
    recent,
    open,
    selected,
    columns,
    dark,
    show_library,
    show_editor,
    view,
    pickers,
    share_y,
    analysis,
);

impl State {
    pub fn remember_recent(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(MAX_RECENT);
    }
}

/// One comparison column: a scenario file and the engine it runs in.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnSpec {
    pub path: PathBuf,
    pub engine: EngineKind,
}

/// The views every column shows, and the analysis views of the scenario in the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum View {
    Trade,
    Concentration,
    Shares,
    CreationDiversion,
    General,
    AnyMetric,
    Contributions,
    Sensitivity,
    Sweep,
}

impl View {
    pub const ALL: [View; 9] = [
        View::Trade,
        View::Concentration,
        View::Shares,
        View::CreationDiversion,
        View::General,
        View::AnyMetric,
        View::Contributions,
        View::Sensitivity,
        View::Sweep,
    ];

    /// Whether the view analyses the scenario in the editor instead of showing columns.
    pub fn is_analysis(self) -> bool {
        matches!(self, View::Contributions | View::Sensitivity | View::Sweep)
    }

    pub fn label(self) -> &'static str {
        match self {
            View::Trade => "Bilateral trade",
            View::Concentration => "Supplier concentration",
            View::Shares => "Partner shares",
            View::CreationDiversion => "Creation & diversion",
            View::General => "GE welfare",
            View::AnyMetric => "Any metric",
            View::Contributions => "Contributions",
            View::Sensitivity => "Sensitivity",
            View::Sweep => "Sweep",
        }
    }

    pub fn tooltip(self) -> &'static str {
        match self {
            View::Trade => {
                "Trade between the region and the partner over time: as-written path, median and 50 % / 90 % bands of the Monte Carlo runs."
            }
            View::Concentration => {
                "How concentrated the region's import suppliers are: the Herfindahl index (HHI) and the effective number of suppliers (1 / HHI), with bands."
            }
            View::Shares => {
                "Who the region buys from (or trades with): partner shares in the base year against the chosen year, and bloc shares over time."
            }
            View::CreationDiversion => {
                "Per sector at the chosen year: net new imports (creation) and imports shifted away from suppliers that lose share (diversion). PE engine only."
            }
            View::General => {
                "General-equilibrium outcomes per region: welfare, real wage and price index (1 = unchanged). Switch a column to GE to see them."
            }
            View::AnyMetric => {
                "Any metric of the core over time for the chosen region, partner and sector."
            }
            View::Contributions => {
                "How much each agreement and shock of the scenario in the editor adds to the change of the chosen metric from the world without any of them (Shapley contributions on the as-written path)."
            }
            View::Sensitivity => {
                "A tornado chart: the chosen metric when each parameter of the scenario in the editor is moved to the low and the high end of its typical range, one at a time."
            }
            View::Sweep => {
                "The chosen metric over a range of one parameter (a line) or two parameters (a heatmap) of the scenario in the editor."
            }
        }
    }
}

/// Direction of the bilateral trade view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Partner → region.
    Imports,
    /// Region → partner.
    Exports,
}

/// Whose shares the partner-share view shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ShareBasis {
    Imports,
    Trade,
}

/// The GE outcome shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GeMeasure {
    Welfare,
    RealWage,
    PriceIndex,
}

impl GeMeasure {
    pub const ALL: [GeMeasure; 3] = [
        GeMeasure::Welfare,
        GeMeasure::RealWage,
        GeMeasure::PriceIndex,
    ];

    pub fn metric(self) -> Metric {
        match self {
            GeMeasure::Welfare => Metric::Welfare,
            GeMeasure::RealWage => Metric::RealWage,
            GeMeasure::PriceIndex => Metric::PriceIndex,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GeMeasure::Welfare => "Welfare",
            GeMeasure::RealWage => "Real wage",
            GeMeasure::PriceIndex => "Price index",
        }
    }
}

/// Choices that apply to every column, stored by id so they carry across scenarios.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Pickers {
    /// Region id; empty = the scenario's focus.
    pub region: String,
    /// Partner region id; empty = the default partner.
    pub partner: String,
    /// Bloc id for bloc metrics; empty = the first bloc.
    pub bloc: String,
    /// Sector id, or empty for all sectors.
    pub sector: String,
    /// The chosen year; 0 = a default a few years after the base year.
    pub year: i32,
    pub metric: String,
    pub direction: Direction,
    pub basis: ShareBasis,
    pub ge_measure: GeMeasure,
    /// What an empty region, partner or bloc means in every column: the defaults of the
    /// first column's scenario (set each frame, see [`Pickers::set_reference`]), so that
    /// columns compare the same region and partner even where their own defaults differ.
    #[serde(skip)]
    pub reference: Defaults,
}

/// Region, partner and bloc ids that empty pickers stand for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defaults {
    pub region: String,
    pub partner: String,
    pub bloc: String,
}

impl Default for Pickers {
    fn default() -> Self {
        Self {
            region: String::new(),
            partner: String::new(),
            bloc: String::new(),
            sector: String::new(),
            year: 0,
            metric: Metric::ImportShare.name().to_string(),
            direction: Direction::Imports,
            basis: ShareBasis::Imports,
            ge_measure: GeMeasure::Welfare,
            reference: Defaults::default(),
        }
    }
}

/// The pickers resolved against one scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolved {
    pub region: usize,
    pub partner: Option<usize>,
    pub bloc: Option<usize>,
    /// `None` = all sectors.
    pub sector: Option<usize>,
    /// Index of the chosen year.
    pub t: usize,
    pub year: i32,
    pub metric: Metric,
}

impl Resolved {
    /// The series of the chosen metric, with the partner or bloc it needs.
    pub fn metric_key(&self) -> SeriesKey {
        let partner = match self.metric {
            Metric::Flow | Metric::ImportShare => {
                self.partner.map_or(Partner::None, Partner::Region)
            }
            Metric::BlocImportShare | Metric::BlocTradeShare => {
                self.bloc.map_or(Partner::None, Partner::Bloc)
            }
            Metric::TopSupplierShare => Partner::Top,
            _ => Partner::None,
        };
        SeriesKey {
            metric: self.metric,
            region: self.region,
            partner,
            sector: self.sector.map_or(SectorSel::All, SectorSel::One),
        }
    }
}

impl Pickers {
    /// Makes empty pickers mean the defaults of `reference` (the first column's scenario)
    /// in every column; `None` leaves each scenario its own defaults.
    pub fn set_reference(&mut self, reference: Option<&Scenario>) {
        self.reference = Defaults::default();
        let Some(s) = reference else {
            return;
        };
        let r = self.resolve(s);
        self.reference = Defaults {
            region: s.regions[r.region].id.clone(),
            partner: r
                .partner
                .map(|p| s.regions[p].id.clone())
                .unwrap_or_default(),
            bloc: r.bloc.map(|b| s.blocs[b].id.clone()).unwrap_or_default(),
        };
    }

    pub fn resolve(&self, s: &Scenario) -> Resolved {
        // The picker's id, else the first column's default, else the scenario's own.
        fn pick<'a>(own: &'a str, reference: &'a str) -> &'a str {
            if own.is_empty() { reference } else { own }
        }
        let region = s
            .region_index(pick(&self.region, &self.reference.region))
            .unwrap_or_else(|| s.focus_region());
        let partner = s
            .region_index(pick(&self.partner, &self.reference.partner))
            .filter(|&p| p != region)
            .or_else(|| default_partner(s, region));
        let year = if self.year == 0 {
            default_year(s)
        } else {
            self.year.clamp(s.base_year, s.horizon)
        };
        Resolved {
            region,
            partner,
            bloc: s
                .bloc_index(pick(&self.bloc, &self.reference.bloc))
                .or(if s.blocs.is_empty() { None } else { Some(0) }),
            sector: s.sector_index(&self.sector),
            t: usize::try_from(year - s.base_year).unwrap_or(0),
            year,
            metric: Metric::parse(&self.metric).unwrap_or(Metric::ImportShare),
        }
    }
}

/// A few years after the base year: long enough for agreements to act.
pub fn default_year(s: &Scenario) -> i32 {
    (s.base_year + 6).min(s.horizon)
}

/// The partner a student most likely means: the other party of the first agreement or
/// shock that involves the region, else its largest foreign supplier.
pub fn default_partner(s: &Scenario, region: usize) -> Option<usize> {
    use crate::scenario::Coverage;
    for a in &s.agreements {
        let others: Vec<usize> = match &a.coverage {
            Coverage::Parties(p) if p.contains(&region) => p.clone(),
            Coverage::Between(g, h) if g.contains(&region) => h.clone(),
            Coverage::Between(g, h) if h.contains(&region) => g.clone(),
            _ => continue,
        };
        if let Some(&p) = others.iter().find(|&&p| p != region) {
            return Some(p);
        }
    }
    for sh in &s.shocks {
        if sh.to.contains(&region)
            && let Some(&p) = sh.from.iter().find(|&&p| p != region)
        {
            return Some(p);
        }
    }
    let mut by_partner = vec![0.0; s.regions.len()];
    for f in s
        .flows
        .iter()
        .filter(|f| f.to == region && f.from != region)
    {
        by_partner[f.from] += f.value;
    }
    by_partner
        .iter()
        .enumerate()
        .filter(|(i, v)| *i != region && **v > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .or_else(|| (0..s.regions.len()).find(|&i| i != region))
}
