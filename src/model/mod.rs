//! The engines: from a scenario and one draw of the uncertain events to flows per year.
//!
//! [`Model`] compiles a [`Scenario`] once: the base-year flows as sparse entries grouped
//! by market (importer × sector), and which events cover which entries. A [`Draw`] says
//! whether and when each event happens and carries the demand noise of one Monte Carlo
//! run; [`Model::simulate`] walks the years and hands each year's state to a sink.

pub mod events;
pub mod ge;
pub mod pe;

use std::ops::Range;

use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

pub use events::{Event, EventKind, Events};

use crate::scenario::{EngineKind, Scenario};

/// A base-year flow with positive value: the unit everything is computed on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    pub from: usize,
    pub to: usize,
    pub sector: usize,
    pub value: f64,
}

/// All entries bought by one importer in one sector.
#[derive(Clone, Debug, PartialEq)]
pub struct Market {
    pub importer: usize,
    pub sector: usize,
    pub entries: Range<usize>,
    /// E_js(0): base-year expenditure, Σ_i V_ijs.
    pub base_total: f64,
}

/// The sparse base-year structure. Entries are sorted by (sector, importer, exporter).
#[derive(Clone, Debug)]
pub struct Structure {
    pub regions: usize,
    pub sectors: usize,
    pub entries: Vec<Entry>,
    pub markets: Vec<Market>,
}

impl Structure {
    pub fn new(s: &Scenario) -> Self {
        let mut entries: Vec<Entry> = s
            .flows
            .iter()
            .filter(|f| f.value > 0.0)
            .map(|f| Entry {
                from: f.from,
                to: f.to,
                sector: f.sector,
                value: f.value,
            })
            .collect();
        entries.sort_by_key(|e| (e.sector, e.to, e.from));
        let mut markets: Vec<Market> = Vec::new();
        for (k, e) in entries.iter().enumerate() {
            match markets.last_mut() {
                Some(m) if m.importer == e.to && m.sector == e.sector => {
                    m.entries.end = k + 1;
                    m.base_total += e.value;
                }
                _ => markets.push(Market {
                    importer: e.to,
                    sector: e.sector,
                    entries: k..k + 1,
                    base_total: e.value,
                }),
            }
        }
        Self {
            regions: s.regions.len(),
            sectors: s.sectors.len(),
            entries,
            markets,
        }
    }

    /// Index of the entry (from, to, sector), if it has base-year trade.
    pub fn entry_index(&self, from: usize, to: usize, sector: usize) -> Option<usize> {
        self.entries
            .binary_search_by_key(&(sector, to, from), |e| (e.sector, e.to, e.from))
            .ok()
    }
}

/// Whether and when each event happens in one run, and the run's demand noise.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    /// I_k.
    pub implemented: Vec<bool>,
    /// δ_k in years.
    pub delay: Vec<u32>,
    /// z_js(y) for years after the base year, indexed `(t − 1) * regions * sectors + j * sectors + s`;
    /// empty on the as-written path (no noise).
    pub noise: Vec<f64>,
}

impl Draw {
    /// The path: every enabled event happens at its earliest start, no demand noise.
    pub fn as_written(events: &Events) -> Self {
        Self {
            implemented: events.list.iter().map(|e| e.enabled).collect(),
            delay: events.list.iter().map(|e| e.delay.0).collect(),
            noise: Vec::new(),
        }
    }

    /// Run `run` of a Monte Carlo ensemble: its numbers come from (seed, run) alone.
    ///
    /// Events and demand noise use separate ChaCha8 streams of the same key, so adding
    /// an event does not change any run's demand shocks, and every event is drawn whether
    /// or not it is enabled, so toggling one leaves the others' draws as they were.
    pub fn monte_carlo(scenario: &Scenario, events: &Events, seed: u64, run: u64) -> Self {
        let Self {
            implemented, delay, ..
        } = Self::events_of_run(events, seed, run);
        let mut noise_rng = ChaCha8Rng::seed_from_u64(seed);
        noise_rng.set_stream(run.wrapping_mul(2).wrapping_add(1));
        let cells = scenario.regions.len() * scenario.sectors.len();
        let years = scenario.year_count().saturating_sub(1);
        let any_noise = scenario.sectors.iter().any(|s| s.volatility > 0.0);
        let noise = if any_noise {
            standard_normals(&mut noise_rng, years * cells)
        } else {
            Vec::new()
        };
        Self {
            implemented,
            delay,
            noise,
        }
    }
}

impl Draw {
    /// The events of run `run` of a Monte Carlo ensemble, as in [`Draw::monte_carlo`],
    /// without its demand noise: all that the run's event strengths depend on.
    pub fn events_of_run(events: &Events, seed: u64, run: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(run.wrapping_mul(2));
        let mut implemented = Vec::with_capacity(events.list.len());
        let mut delay = Vec::with_capacity(events.list.len());
        for e in &events.list {
            let u: f64 = rng.random();
            let d = rng.random_range(e.delay.0..=e.delay.1);
            implemented.push(e.enabled && u < e.probability);
            delay.push(d);
        }
        Self {
            implemented,
            delay,
            noise: Vec::new(),
        }
    }
}

fn standard_normals(rng: &mut impl Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// What one year of a run produced: flows per entry, and the engine's own outputs.
pub struct YearState<'a> {
    pub year: i32,
    /// Year index: 0 is the base year.
    pub t: usize,
    /// X_ijs per entry of the [`Structure`].
    pub flows: &'a [f64],
    /// PE: creation and diversion per market.
    pub pe: Option<pe::PeYear<'a>>,
    /// GE: welfare, wages and price indices.
    pub ge: Option<&'a ge::GeSolution>,
}

/// Why a model cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the scenario cannot run in the GE engine: {0}")]
    NotGeReady(String),
    #[error(transparent)]
    Ge(#[from] ge::GeError),
    /// The numbers of a year do not fit in an f64.
    #[error("{0}")]
    Overflow(String),
    /// The caller asked to stop (see [`Model::simulate_until`]).
    #[error("stopped")]
    Stopped,
}

/// A scenario compiled for one engine.
pub struct Model {
    pub scenario: Scenario,
    pub engine: EngineKind,
    pub structure: Structure,
    pub events: Events,
    /// Per entry: (event, d) pairs covering it, as a CSR list.
    cover_start: Vec<usize>,
    cover: Vec<(usize, f64)>,
    ge_base: Option<ge::GeBase>,
    /// PE cost effects by event strengths, shared by the runs of an ensemble.
    pe_costs: pe::CostCache,
    /// V per entry, side by side, for the loops over a market's entries.
    base_values: Vec<f64>,
}

impl Model {
    pub fn new(scenario: &Scenario, engine: EngineKind) -> Result<Self, ModelError> {
        let structure = Structure::new(scenario);
        let events = Events::new(scenario);
        let mut per_entry: Vec<Vec<(usize, f64)>> = vec![Vec::new(); structure.entries.len()];
        Events::for_each_cover(scenario, |k, i, j, s, d| {
            if let Some(e) = structure.entry_index(i, j, s) {
                per_entry[e].push((k, d));
            }
        });
        let mut cover_start = Vec::with_capacity(per_entry.len() + 1);
        let mut cover = Vec::new();
        for list in per_entry {
            cover_start.push(cover.len());
            cover.extend(list);
        }
        cover_start.push(cover.len());
        let ge_base = match engine {
            EngineKind::Pe => None,
            EngineKind::Ge => {
                let problems = scenario.ge_problems();
                if !problems.is_empty() {
                    return Err(ModelError::NotGeReady(problems.join("; ")));
                }
                let theta: Vec<f64> = scenario
                    .sectors
                    .iter()
                    .map(|s| s.substitution - 1.0)
                    .collect();
                let entries: Vec<(usize, usize, usize, f64)> = structure
                    .entries
                    .iter()
                    .map(|e| (e.from, e.to, e.sector, e.value))
                    .collect();
                Some(ge::GeBase::new(
                    structure.regions,
                    structure.sectors,
                    &theta,
                    scenario.deficits,
                    &entries,
                )?)
            }
        };
        let base_values = structure.entries.iter().map(|e| e.value).collect();
        Ok(Self {
            scenario: scenario.clone(),
            engine,
            structure,
            events,
            cover_start,
            cover,
            ge_base,
            pe_costs: pe::CostCache::default(),
            base_values,
        })
    }

    /// ρ_k(y) · I_k per event in `year` under `draw`, as f64 bits: all that φ depends
    /// on, and so the key of the PE cost effects.
    pub(crate) fn event_state(&self, year: i32, draw: &Draw, out: &mut Vec<u64>) {
        out.clear();
        out.extend(self.events.list.iter().enumerate().map(|(k, event)| {
            if draw.implemented[k] {
                event.strength(year, draw.delay[k]).to_bits()
            } else {
                0.0f64.to_bits()
            }
        }));
    }

    /// PE flows per entry in year `t` (`year`) of a run whose events have the strengths
    /// `key` (its [`Model::event_state`] under `draw`) and whose demand has no noise:
    /// the flows of such a run, bit for bit. Ignored in the base year, which is the data.
    pub(crate) fn noise_free_flows(
        &self,
        t: usize,
        year: i32,
        draw: &Draw,
        key: &[u64],
        flows: &mut [f64],
    ) {
        let costs = (t > 0).then(|| self.pe_costs.get(self, year, draw, key));
        pe::noise_free_flows(self, t, costs.as_deref(), flows);
    }

    /// The PE trade costs of year `year` (after the base year) under `draw`, whose event
    /// strengths that year are `key` ([`Model::event_state`]): the same for every draw
    /// with those strengths.
    pub(crate) fn pe_year_costs(&self, year: i32, draw: &Draw, key: &[u64]) -> pe::YearCosts {
        pe::year_costs(self, year, draw, key)
    }

    /// PE outputs of year `year` (after the base year) of a run whose trade costs that
    /// year are `costs` ([`Model::pe_year_costs`] under its draw) and whose demand levels
    /// are `levels`, per market, as [`Model::demand_levels`] gives them: the run's flows,
    /// creation and diversion that year, bit for bit, or the error the run would fail
    /// with.
    pub(crate) fn pe_year(
        &self,
        year: i32,
        costs: &pe::YearCosts,
        levels: &[f64],
        out: &mut pe::YearOut<'_>,
    ) -> Result<(), ModelError> {
        pe::year_flows(self, year, Some(costs), levels, out)
    }

    /// Whether no enabled event covers any entry of market `m`, so that in PE its flows
    /// are w0 · L in every run and year, a function of its demand level alone.
    pub(crate) fn market_untouched(&self, m: usize) -> bool {
        self.structure.markets[m].entries.clone().all(|e| {
            self.cover[self.cover_start[e]..self.cover_start[e + 1]]
                .iter()
                .all(|&(k, _)| !self.events.list[k].enabled)
        })
    }

    /// The PE demand level of every market in every year of `draw`,
    /// `[t * markets + m]`, as a run under `draw` has them.
    pub(crate) fn demand_levels(&self, draw: &Draw, levels: &mut [f64]) {
        pe::demand_levels(self, draw, levels);
    }

    /// PE flows of market `m`, which no event touches ([`Model::market_untouched`]), at
    /// demand level `level`, written into `flows`, with the market's creation and
    /// diversion: a run's values, bit for bit, in any year its level is `level`.
    pub(crate) fn untouched_market_flows(
        &self,
        m: usize,
        level: f64,
        flows: &mut [f64],
    ) -> (f64, f64) {
        pe::market_flows(self, m, None, level, flows)
    }

    /// PE flows of the markets `markets` in every year after the base year of a run under
    /// `draw`, bit for bit as the run has them, computing only those markets:
    /// `sink` gets each year's outputs of each market.
    pub(crate) fn market_years(
        &self,
        draw: &Draw,
        markets: &[usize],
        flows: &mut [f64],
        sink: &mut dyn FnMut(&pe::MarketYear<'_>),
    ) {
        pe::simulate_markets(self, draw, markets, flows, sink);
    }

    /// φ per entry in `year` under `draw` (1 for domestic and uncovered entries).
    pub fn cost_factors(&self, year: i32, draw: &Draw, phi: &mut [f64]) -> bool {
        let mut any = false;
        for (e, slot) in phi.iter_mut().enumerate() {
            let mut f = 1.0;
            for &(k, d) in &self.cover[self.cover_start[e]..self.cover_start[e + 1]] {
                if draw.implemented[k] {
                    let rho = self.events.list[k].strength(year, draw.delay[k]);
                    if rho > 0.0 {
                        f *= 1.0 + rho * d;
                    }
                }
            }
            any |= f != 1.0;
            *slot = f;
        }
        any
    }

    /// Simulates every year of one draw, calling `sink` with each year's state.
    pub fn simulate(
        &self,
        draw: &Draw,
        sink: &mut dyn FnMut(&YearState<'_>),
    ) -> Result<(), ModelError> {
        self.simulate_until(draw, sink, &|| false)
    }

    /// Like [`Model::simulate`], asking `stop` before each year and failing with
    /// [`ModelError::Stopped`] when it says so: one run of a scenario at the format's
    /// limits takes seconds, too long to wait for a cancel between runs.
    pub fn simulate_until(
        &self,
        draw: &Draw,
        sink: &mut dyn FnMut(&YearState<'_>),
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ModelError> {
        match self.engine {
            EngineKind::Pe => pe::simulate(self, draw, sink, stop),
            EngineKind::Ge => self.simulate_ge(draw, sink, stop),
        }
    }

    fn simulate_ge(
        &self,
        draw: &Draw,
        sink: &mut dyn FnMut(&YearState<'_>),
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ModelError> {
        let Some(base) = &self.ge_base else {
            return Err(ModelError::NotGeReady("no GE data".into()));
        };
        let n = self.structure.entries.len();
        let mut phi = vec![1.0; n];
        // Unchanged costs: the counterfactual is the base year itself, exactly.
        let identity = ge_identity(
            self.structure.regions,
            self.structure.sectors,
            self.base_flows(),
        );
        let mut last: Option<(Vec<f64>, ge::GeSolution)> = None;
        for (t, year) in self.scenario.years().enumerate() {
            if stop() {
                return Err(ModelError::Stopped);
            }
            let changed = t > 0 && self.cost_factors(year, draw, &mut phi);
            if !changed {
                sink(&YearState {
                    year,
                    t,
                    flows: &identity.flows,
                    pe: None,
                    ge: Some(&identity),
                });
                continue;
            }
            let reuse = matches!(&last, Some((p, _)) if *p == phi);
            if !reuse {
                // Start from last year's wages: consecutive years differ little.
                let options = ge::SolveOptions {
                    initial_wage: last.as_ref().map(|(_, s)| s.wage.clone()),
                    ..Default::default()
                };
                let sol = base.solve_with(&phi, &options)?;
                last = Some((phi.clone(), sol));
            }
            if let Some((_, sol)) = &last {
                sink(&YearState {
                    year,
                    t,
                    flows: &sol.flows,
                    pe: None,
                    ge: Some(sol),
                });
            }
        }
        Ok(())
    }

    /// V per entry.
    fn base_flows(&self) -> Vec<f64> {
        self.structure.entries.iter().map(|e| e.value).collect()
    }

    pub fn ge_base(&self) -> Option<&ge::GeBase> {
        self.ge_base.as_ref()
    }
}

/// The GE outcome of unchanged costs: every hat is one and flows are the data.
fn ge_identity(regions: usize, sectors: usize, flows: Vec<f64>) -> ge::GeSolution {
    ge::GeSolution {
        flows,
        wage: vec![1.0; regions],
        price_index: vec![1.0; regions * sectors],
        welfare: vec![1.0; regions],
        real_wage: vec![1.0; regions],
        iterations: 0,
        residual: 0.0,
    }
}
