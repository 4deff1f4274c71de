//! The as-written path and Monte Carlo summaries of every series. SPEC §6.
//!
//! Run m draws its numbers from (seed, m) alone, so summaries do not depend on the
//! number of threads. Percentiles are exact (type 7, NumPy's default).
//!
//! Series are summarised in one of four ways:
//! - Series that the year's event strengths fix ([`Plan::fixed_by_events`]) are evaluated
//!   once per distinct strengths and summarised over how many runs have each.
//! - Series of one market ([`Plan::of_one_market`]) that no event touches depend on its
//!   demand level alone: they are evaluated at the order statistics of the runs' levels,
//!   and their means add up every run's value; only the levels are held.
//! - The other series of one market are summarised from every run's value, but a run
//!   computes the flows of those markets only.
//! - For the rest, every run's value of a series is kept while that series is
//!   summarised. To bound memory, those series are summarised in chunks; each chunk
//!   re-simulates the runs, which is cheap and exactly reproducible because a run is a
//!   pure function of (seed, index).
//!
//! The base year is the data in every run, so the last two ways evaluate it once. In the
//! last way, series that follow run by run from other held series of the same year are
//! derived from them instead of held ([`Derivation`]), when that lets every held series
//! fit in one pass.
//!
//! In the PE engine, a run's flows in a year follow from its events and its demand
//! levels that year alone. When they fit, every run's events and levels are recorded in
//! one pass ([`Recorded`]); the levels of untouched markets are read from there, and the
//! last two ways then go a year at a time: each year, every run's flows are computed from
//! the record with the arithmetic of a simulated run, its values of those series are
//! held, and they are summarised before the next year
//! ([`Derivation::summarise_by_year`]). Nothing is simulated twice, and only one year's
//! values are held.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use crate::metrics::{
    FlowKernel, FlowScratch, LANES, Lanes, MarketValue, OneMarket, PairKernel, PairLanes,
    PairScratch, Plan, Scratch, SectorSel, SeriesKey, Wanted,
};
use std::collections::HashMap;

use crate::model::pe::{MarketYear, PeYear, YearCosts, YearOut};
use crate::model::{Draw, Model, ModelError, YearState};
use crate::scenario::EngineKind;

/// The statistics reported for each series and year, in CSV order.
pub const STATS: [&str; 6] = ["mean", "p5", "p25", "p50", "p75", "p95"];
const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// Memory allowed for run values held at once while summarising (bytes). With 416 MiB,
/// 1,000 runs of every series of the flagship fit in one pass, and 10,000 runs stay under
/// 512 MB peak.
pub const DEFAULT_MEMORY_BUDGET: usize = 416 * 1024 * 1024;

/// Summaries of every series: the path, and the Monte Carlo statistics if runs > 0.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub keys: Vec<SeriesKey>,
    pub years: Vec<i32>,
    /// Path value per series and year, `[series * years + t]`; NaN where there is none.
    pub path: Vec<f64>,
    /// The top supplier per `top_supplier_share` series and year on the path.
    pub path_top: Vec<Option<usize>>,
    pub runs: u32,
    pub seed: u64,
    /// Per statistic of [`STATS`]: `[series * years + t]`; NaN where no run had a value.
    pub stats: Option<[Vec<f64>; 6]>,
}

impl Outcome {
    pub fn year_count(&self) -> usize {
        self.years.len()
    }

    pub fn series_index(&self, key: &SeriesKey) -> Option<usize> {
        self.keys.iter().position(|k| k == key)
    }

    /// Path values of one series over the years.
    pub fn path_of(&self, series: usize) -> &[f64] {
        let t = self.years.len();
        &self.path[series * t..(series + 1) * t]
    }

    /// One statistic (index into [`STATS`]) of one series over the years.
    pub fn stat_of(&self, stat: usize, series: usize) -> Option<&[f64]> {
        let t = self.years.len();
        self.stats
            .as_ref()
            .map(|s| &s[stat][series * t..(series + 1) * t])
    }
}

/// Reports progress and asks whether to stop. Shared by the CLI's bar and the app.
pub trait Progress: Sync {
    /// Called with the number of simulated runs so far and the total.
    fn advance(&self, done: u64, total: u64);
    fn cancelled(&self) -> bool {
        false
    }
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {
    fn advance(&self, _: u64, _: u64) {}
}

/// A cancel flag the caller can set from another thread.
#[derive(Default)]
pub struct CancelFlag(pub AtomicBool);
impl Progress for CancelFlag {
    fn advance(&self, _: u64, _: u64) {}
    fn cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cancelled")]
    Cancelled,
    /// The results asked for would not fit in memory; nothing was simulated.
    #[error(
        "{series} series × {years} years{with_runs} need about {mib} MiB of memory, more than \
         the {limit_mib} MiB allowed for one result; choose fewer series (for example with \
         --metric, --region or --sector){fewer_runs}"
    )]
    TooLarge {
        series: usize,
        years: usize,
        with_runs: String,
        mib: usize,
        limit_mib: usize,
        fewer_runs: &'static str,
    },
}

/// Memory allowed for the summaries a run returns (path and statistics of the selected
/// series), on top of [`DEFAULT_MEMORY_BUDGET`] for the values held while summarising.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024 * 1024;

/// Bytes an [`Outcome`] holds per series and year: the path, its top supplier and, with
/// runs, six statistics.
fn result_bytes_per_cell(runs: u32) -> usize {
    let path = std::mem::size_of::<f64>() + std::mem::size_of::<Option<usize>>();
    path + if runs > 0 {
        6 * std::mem::size_of::<f64>()
    } else {
        0
    }
}

/// Refuses, before anything is allocated, a run whose results, or whose values for a
/// single series (which are held together however small the memory budget), would need
/// more than [`MAX_RESULT_BYTES`].
pub fn check_size(series: usize, years: usize, options: &Options) -> Result<(), EnsembleError> {
    let cells = series.saturating_mul(years);
    let result = cells.saturating_mul(result_bytes_per_cell(options.runs));
    let one_series = (options.runs as usize)
        .saturating_mul(years)
        .saturating_mul(std::mem::size_of::<f64>());
    if result <= MAX_RESULT_BYTES && one_series <= MAX_RESULT_BYTES {
        return Ok(());
    }
    Err(EnsembleError::TooLarge {
        series,
        years,
        with_runs: if options.runs > 0 {
            format!(" with {} runs", options.runs)
        } else {
            String::new()
        },
        mib: result.max(one_series) / (1024 * 1024),
        limit_mib: MAX_RESULT_BYTES / (1024 * 1024),
        fewer_runs: if one_series > MAX_RESULT_BYTES {
            ", or fewer runs"
        } else {
            ""
        },
    })
}

/// Options of an ensemble run.
#[derive(Clone, Debug)]
pub struct Options {
    pub runs: u32,
    pub seed: u64,
    pub memory_budget: usize,
    /// Only these series (indices into the plan's keys); `None` = all.
    pub only: Option<Vec<usize>>,
}

/// The as-written path of every series (SPEC §2: every event at its earliest start, no noise).
pub fn as_written_path(
    model: &Model,
    plan: &Plan,
) -> Result<(Vec<f64>, Vec<Option<usize>>), ModelError> {
    let all: Vec<usize> = (0..plan.keys.len()).collect();
    as_written_path_of(model, plan, &all)
}

/// The as-written path of the `selected` series only, `[c * years + t]` for the c-th of
/// them: memory grows with the selection, not with every series of a large scenario.
pub fn as_written_path_of(
    model: &Model,
    plan: &Plan,
    selected: &[usize],
) -> Result<(Vec<f64>, Vec<Option<usize>>), ModelError> {
    as_written_path_until(model, plan, selected, &|| false)
}

/// [`as_written_path_of`], stopping with [`ModelError::Stopped`] when `stop` says so.
fn as_written_path_until(
    model: &Model,
    plan: &Plan,
    selected: &[usize],
    stop: &dyn Fn() -> bool,
) -> Result<(Vec<f64>, Vec<Option<usize>>), ModelError> {
    let years = model.scenario.year_count();
    let mut path = vec![f64::NAN; selected.len() * years];
    let mut top = vec![None; selected.len() * years];
    let mut year_values = vec![f64::NAN; plan.keys.len()];
    let mut year_top = vec![None; plan.keys.len()];
    let mut scratch = Scratch::default();
    let mask = plan.mask_of(selected);
    let draw = Draw::as_written(&model.events);
    let sink = &mut |state: &crate::model::YearState<'_>| {
        plan.evaluate_metrics(
            model,
            state,
            &mut scratch,
            &mut year_values,
            Some(&mut year_top),
            mask,
        );
        for (c, &k) in selected.iter().enumerate() {
            path[c * years + state.t] = year_values[k];
            top[c * years + state.t] = year_top[k];
        }
    };
    model.simulate_until(&draw, sink, stop)?;
    Ok((path, top))
}

/// Runs the path and, if `options.runs > 0`, the Monte Carlo ensemble.
pub fn run(
    model: &Model,
    plan: &Plan,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, EnsembleError> {
    let years: Vec<i32> = model.scenario.years().collect();
    let selected: Vec<usize> = options
        .only
        .clone()
        .unwrap_or_else(|| (0..plan.keys.len()).collect());
    check_size(selected.len(), years.len(), options)?;
    let (path, path_top) =
        match as_written_path_until(model, plan, &selected, &|| progress.cancelled()) {
            Ok(p) => p,
            Err(ModelError::Stopped) => return Err(EnsembleError::Cancelled),
            Err(e) => return Err(e.into()),
        };
    let keys: Vec<SeriesKey> = selected.iter().map(|&i| plan.keys[i]).collect();
    let mut outcome = Outcome {
        keys,
        years,
        path,
        path_top,
        runs: options.runs,
        seed: options.seed,
        stats: None,
    };
    if options.runs == 0 {
        return Ok(outcome);
    }
    outcome.stats = Some(summarise(model, plan, &selected, options, progress)?);
    Ok(outcome)
}

fn summarise(
    model: &Model,
    plan: &Plan,
    selected: &[usize],
    options: &Options,
    progress: &dyn Progress,
) -> Result<[Vec<f64>; 6], EnsembleError> {
    summarise_with(model, plan, selected, options, progress, Shortcuts::ALL)
}

/// Which series [`summarise_with`] may summarise without every run's simulated value.
/// Tests turn them off to compare with the plain way.
#[derive(Clone, Copy, Debug)]
struct Shortcuts {
    /// Whether a series equal run by run to another selected one ([`Plan::twin_of`]) is
    /// summarised once for both.
    twins: bool,
    /// Memory for counting distinct event strengths ([`summarise_by_state`]); 0: none.
    tally_bytes: usize,
    /// Whether series fixed by one market's demand level come from the levels
    /// ([`summarise_by_level`]).
    by_level: bool,
    /// Whether the other series of one market come from runs that compute that market
    /// alone ([`summarise_by_market`]).
    by_market: bool,
    /// Whether series that follow from other held series are derived from them rather
    /// than held ([`Derivation`]).
    derive: bool,
    /// Whether, in the PE engine, the derivation's series and the other series of one
    /// market are summarised a year at a time from every run's demand levels and events
    /// ([`Derivation::summarise_by_year`]) rather than from runs simulated in full.
    by_year: bool,
    /// The most one year's distinct trade costs may take when summarised a year at a
    /// time ([`Recorded::costs`]); beyond it each run computes its own.
    cost_bytes: usize,
}

impl Shortcuts {
    const ALL: Shortcuts = Shortcuts {
        twins: true,
        tally_bytes: MAX_TALLY_BYTES,
        by_level: true,
        by_market: true,
        derive: true,
        by_year: true,
        cost_bytes: MAX_COST_BYTES,
    };
}

/// [`summarise`], taking only the `shortcuts` given.
fn summarise_with(
    model: &Model,
    plan: &Plan,
    selected: &[usize],
    options: &Options,
    progress: &dyn Progress,
    shortcuts: Shortcuts,
) -> Result<[Vec<f64>; 6], EnsembleError> {
    let apart = Shortcuts {
        twins: false,
        ..shortcuts
    };
    if let Some(source) = shortcuts
        .twins
        .then(|| twin_sources(plan, selected))
        .flatten()
    {
        // Each series with a twin takes its twin's summaries.
        let kept: Vec<usize> = (0..selected.len()).filter(|&c| source[c] == c).collect();
        let series: Vec<usize> = kept.iter().map(|&c| selected[c]).collect();
        let once = summarise_with(model, plan, &series, options, progress, apart)?;
        let t_count = model.scenario.year_count();
        let mut at_kept = vec![0; selected.len()];
        for (i, &c) in kept.iter().enumerate() {
            at_kept[c] = i;
        }
        return Ok(once.map(|values| {
            source
                .iter()
                .flat_map(|&from| {
                    let i = at_kept[from];
                    values[i * t_count..(i + 1) * t_count].iter().copied()
                })
                .collect()
        }));
    }
    let runs = options.runs as usize;
    let t_count = model.scenario.year_count();
    let mut stats: [Vec<f64>; 6] =
        std::array::from_fn(|_| vec![f64::NAN; selected.len() * t_count]);
    // Series the events fix are summarised over each year's distinct event strengths;
    // the others (and those too, when the strengths take too many values) from every
    // run's value. Positions are into `selected`.
    let (by_state, mut by_run): (Vec<usize>, Vec<usize>) =
        (0..selected.len()).partition(|&c| plan.fixed_by_events(&plan.keys[selected[c]]));
    if !by_state.is_empty() {
        let series: Vec<usize> = by_state.iter().map(|&c| selected[c]).collect();
        match summarise_by_state(
            model,
            plan,
            &series,
            options,
            progress,
            shortcuts.tally_bytes,
        )? {
            Some(cells) => place(&mut stats, &by_state, &cells, t_count),
            None => {
                by_run.extend(by_state);
                by_run.sort_unstable();
            }
        }
    }
    // Then the series of one market: from the levels of every run where the market's
    // demand level alone fixes them, else from runs that compute that market alone.
    let (mut by_level, mut level_series) = (Vec::new(), Vec::new());
    let (mut by_market, mut market_series) = (Vec::new(), Vec::new());
    by_run.retain(|&c| {
        let Some(one) = plan.of_one_market(model, &plan.keys[selected[c]]) else {
            return true;
        };
        if shortcuts.by_level && model.market_untouched(one.market) {
            by_level.push(c);
            level_series.push(one);
        } else if shortcuts.by_market {
            by_market.push(c);
            market_series.push(one);
        } else {
            return true;
        }
        false
    });
    let budget = options.memory_budget;
    // The base year is the data in every run: series summarised from every run's value
    // hold the later years only.
    let later = t_count - 1;
    // Progress counts a run of a pass as one unit per later year, and a derived year's
    // pass over the runs as one per run: the derived years together take about as long
    // as the held pass.
    let unit = later.max(1);
    by_run.sort_unstable();
    let planned = shortcuts
        .derive
        .then(|| Derivation::new(model, plan, selected, &by_run, runs, later, budget))
        .flatten();
    let planned_for = by_run.clone();
    let levels = level_groups(&level_series, runs, t_count, budget);
    let market_chunks = chunk_count(market_series.len(), runs, later, budget);
    let run_chunks = chunk_count(by_run.len(), runs, later, budget);
    // In the PE engine, every run's events and demand levels are recorded once, when they
    // fit beside a year's values, for the derivation planned and the other series of one
    // market to be summarised a year at a time, and for the levels to be read from.
    let record_bytes = Recorded::bytes(model, runs);
    let record = planned.as_ref().is_some_and(|d| {
        shortcuts.by_year
            && later > 0
            && model.engine == EngineKind::Pe
            && record_bytes + d.year_len(market_series.len(), runs) * 8 <= budget
    });
    // Unless it goes a year at a time, the derivation holds every year's values at once.
    let planned = planned.filter(|d| record || d.whole_fits);
    let passes = levels.len()
        + usize::from(record)
        + market_chunks
        + if planned.is_some() { 2 } else { run_chunks };
    let counter = Counter::new(progress, (passes * runs * unit) as u64);
    counter.weigh(unit as u64);
    // One buffer for every pass, as large as the largest from the start: each pass
    // writes over the pages an earlier one touched rather than fresh ones, which the
    // system would have to zero again.
    // A year at a time, the derivation and the series of one market share one year's.
    let widest = [
        levels.iter().map(|g| g.len() * t_count).max().unwrap_or(0),
        match &planned {
            Some(d) if record => d.held.len() + d.from_pairs.len() + market_series.len(),
            Some(d) => d.held.len() * later,
            None => by_run.len().div_ceil(run_chunks.max(1)) * later,
        },
        if record {
            0
        } else {
            market_series.len().div_ceil(market_chunks.max(1)) * later
        },
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let mut buffer = vec![0.0; held_len(widest, runs)];
    let recorded = if record {
        Some(Recorded::record(model, options, &counter)?)
    } else {
        None
    };
    // What the levels of `summarise_by_level` may take beside the recorded ones.
    let level_options = Options {
        memory_budget: budget.saturating_sub(if record { record_bytes } else { 0 }),
        ..options.clone()
    };
    if !by_level.is_empty() {
        match summarise_by_level(
            model,
            plan,
            &level_series,
            &level_options,
            recorded.as_ref(),
            &counter,
            &mut buffer,
        )? {
            Some(cells) => place(&mut stats, &by_level, &cells, t_count),
            None => by_run.extend(by_level),
        }
    }
    by_run.sort_unstable();
    // In the PE engine, the derivation planned and the other series of one market come
    // a year at a time from every run's recorded events and demand levels.
    let mut by_year = false;
    if let (Some(d), Some(recorded)) = (planned.as_ref(), recorded.as_ref())
        && by_run == planned_for
    {
        let cells = d.summarise_by_year(
            model,
            plan,
            &market_series,
            recorded,
            shortcuts.cost_bytes,
            options,
            &counter,
            &mut buffer,
            &mut stats,
        )?;
        place(&mut stats, &by_market, &cells, t_count);
        by_year = true;
    }
    drop(recorded);
    if !by_year && !by_market.is_empty() && later > 0 {
        match summarise_by_market(model, plan, &market_series, options, &counter, &mut buffer)? {
            Some(cells) => place(&mut stats, &by_market, &cells, t_count),
            None => by_run.append(&mut by_market),
        }
    }
    by_run.sort_unstable();
    let base = base_year_values(model, plan, progress)?;
    let at_base: Vec<usize> = by_run.iter().chain(&by_market).copied().collect();
    let base_cells: Vec<[f64; 6]> = at_base
        .par_iter()
        .map(|&c| constant_summary(base[selected[c]], runs))
        .collect();
    for (&c, cell) in at_base.iter().zip(&base_cells) {
        for (k, &s) in cell.iter().enumerate() {
            stats[k][c * t_count] = s;
        }
    }
    if by_year || by_run.is_empty() || later == 0 {
        counter.finish();
        return Ok(stats);
    }
    // The derivation planned stands unless a series fell back to every run's value.
    let derivation = if by_run == planned_for {
        planned
    } else {
        shortcuts
            .derive
            .then(|| Derivation::new(model, plan, selected, &by_run, runs, later, budget))
            .flatten()
            .filter(|d| d.whole_fits)
    };
    if let Some(d) = derivation {
        counter.remaining((2 * runs * unit) as u64);
        d.summarise(model, plan, options, &counter, &mut buffer, &mut stats)?;
        counter.finish();
        return Ok(stats);
    }
    // Per-sector series first, then all-sector ones: a chunk that holds one kind only
    // skips the other's aggregates.
    by_run.sort_by_key(|&c| plan.keys[selected[c]].sector == SectorSel::All);
    // As few chunks as the budget allows, of equal size.
    let count = chunk_count(by_run.len(), runs, later, budget);
    let chunks: Vec<&[usize]> = by_run.chunks(by_run.len().div_ceil(count).max(1)).collect();
    counter.remaining((chunks.len() * runs * unit) as u64);
    for chunk in chunks {
        let series: Vec<usize> = chunk.iter().map(|&c| selected[c]).collect();
        let summarise = |_: usize, column: &mut Column| column.summary();
        let cells = hold_runs(
            model,
            plan,
            &series,
            options,
            &counter,
            &mut buffer,
            &summarise,
        )?;
        for (c, &at) in chunk.iter().enumerate() {
            for t in 1..t_count {
                for (k, &v) in cells[(t - 1) * series.len() + c].iter().enumerate() {
                    stats[k][at * t_count + t] = v;
                }
            }
        }
    }
    counter.finish();
    Ok(stats)
}

/// Where each series at a position of `selected` takes its summaries from, in
/// `selected`: its twin's position ([`Plan::twin_of`]) when the twin is selected too,
/// else its own. `None` when no series has a twin there.
fn twin_sources(plan: &Plan, selected: &[usize]) -> Option<Vec<usize>> {
    let position: HashMap<SeriesKey, usize> = selected
        .iter()
        .enumerate()
        .map(|(c, &k)| (plan.keys[k], c))
        .collect();
    let source: Vec<usize> = (0..selected.len())
        .map(|c| {
            plan.twin_of(&plan.keys[selected[c]])
                .and_then(|twin| position.get(&twin).copied())
                .unwrap_or(c)
        })
        .collect();
    source
        .iter()
        .enumerate()
        .any(|(c, &from)| c != from)
        .then_some(source)
}

/// Holds every run's values of `series` (indices into the plan's keys) in the years after
/// the base year, in `buffer` as [`summarise_cells`] lays them out, and summarises them
/// with `summarise(cell, column)`: cell `(t - 1) * series.len() + c` is the c-th series in
/// year t.
fn hold_runs<R, Z>(
    model: &Model,
    plan: &Plan,
    series: &[usize],
    options: &Options,
    counter: &Counter<'_>,
    buffer: &mut Vec<f64>,
    summarise: &Z,
) -> Result<Vec<R>, EnsembleError>
where
    R: Send,
    Z: Fn(usize, &mut Column) -> R + Sync,
{
    let runs = options.runs as usize;
    let later = model.scenario.year_count() - 1;
    let evaluation = HeldEvaluation::new(model, plan, series);
    let s_count = series.len();
    // A run's row is year-major, `row[(t - 1) * s_count + c]` from the year after the
    // base year on, so each year's values are copied in one contiguous run.
    let init = || evaluation.scratch();
    let fill =
        |scratch: &mut HeldScratch, m: usize, row: &mut [f64]| -> Result<(), EnsembleError> {
            let draw = Draw::monte_carlo(&model.scenario, &model.events, options.seed, m as u64);
            let stop = || counter.cancelled();
            let sink = &mut |state: &crate::model::YearState<'_>| {
                if state.t == 0 {
                    return;
                }
                let out = &mut row[(state.t - 1) * s_count..state.t * s_count];
                evaluation.evaluate(model, state, scratch, out);
            };
            match model.simulate_until(&draw, sink, &stop) {
                Ok(()) => Ok(()),
                Err(ModelError::Stopped) => Err(EnsembleError::Cancelled),
                Err(e) => Err(e.into()),
            }
        };
    summarise_cells(
        s_count * later,
        runs,
        buffer,
        &init,
        &fill,
        &no_finish,
        summarise,
        counter,
    )
}

/// How held series are evaluated from a year's state: commonly by a flow kernel, which
/// takes only the sums they need; otherwise as the plan's wanted series.
struct HeldEvaluation<'a> {
    plan: &'a Plan,
    series: &'a [usize],
    how: Result<FlowKernel, Wanted>,
}

/// Space for [`HeldEvaluation::evaluate`]; reuse across years and runs.
struct HeldScratch {
    flow: FlowScratch,
    scratch: Scratch,
    /// Every series' value, when they are evaluated as the plan's wanted series.
    values: Vec<f64>,
}

impl<'a> HeldEvaluation<'a> {
    /// The evaluation of `series` (indices into the plan's keys).
    fn new(model: &Model, plan: &'a Plan, series: &'a [usize]) -> Self {
        let how = plan
            .flow_kernel(model, series)
            .ok_or_else(|| plan.wanted(series));
        HeldEvaluation { plan, series, how }
    }

    fn scratch(&self) -> HeldScratch {
        HeldScratch {
            flow: FlowScratch::default(),
            scratch: Scratch::default(),
            values: match self.how {
                Ok(_) => Vec::new(),
                Err(_) => vec![0.0; self.plan.keys.len()],
            },
        }
    }

    /// Writes the value of `series[c]` in `state`'s year into `out[c]`.
    fn evaluate(
        &self,
        model: &Model,
        state: &YearState<'_>,
        sc: &mut HeldScratch,
        out: &mut [f64],
    ) {
        match &self.how {
            Ok(kernel) => kernel.evaluate(state, &mut sc.flow, out),
            Err(wanted) => {
                let values = &mut sc.values;
                self.plan
                    .evaluate_wanted(model, state, &mut sc.scratch, values, wanted);
                for (slot, &k) in out.iter_mut().zip(self.series) {
                    *slot = values[k];
                }
            }
        }
    }
}

/// Series summarised from every run's value that follow, run by run, from other such
/// series of the same year, and so need not be held: the all-sector series that the pair
/// totals fix ([`Plan::follows_from_pairs`]), derived year by year once the held values
/// are in, and the effective numbers of suppliers and markets, the reciprocals of HHIs
/// ([`Plan::reciprocal_of`]), summarised from their HHI's held values
/// ([`Column::summary_and_reciprocal`]). Used when the series held instead (the others,
/// the pair totals and those HHIs) fit in one pass within the budget.
struct Derivation {
    /// The series held for every run (indices into the plan's keys), sorted.
    held: Vec<usize>,
    /// Positions in `held` of the pair totals ([`Plan::pair_series`]), if any series
    /// follows from them.
    pair_at: Vec<usize>,
    /// The series that follow from the pair totals, and where each goes in `selected`.
    from_pairs: Vec<(usize, usize)>,
    /// Evaluates the series in `from_pairs` from the pair totals.
    kernel: PairKernel,
    /// The reciprocals: where each goes in `selected`, and the position in `held` of the
    /// HHI it is the reciprocal of.
    reciprocal: Vec<(usize, usize)>,
    /// Where each held series goes in `selected`, if it was selected.
    selected_at: Vec<Option<usize>>,
    /// Whether every run's held values of every year fit in the budget at once, as
    /// [`Derivation::summarise`] holds them. [`Derivation::summarise_by_year`] holds one
    /// year's at a time, and its caller checks that they fit.
    whole_fits: bool,
}

impl Derivation {
    /// The derivation for the series at positions `by_run` of `selected`, or `None` when
    /// none can be derived.
    fn new(
        model: &Model,
        plan: &Plan,
        selected: &[usize],
        by_run: &[usize],
        runs: usize,
        later: usize,
        budget: usize,
    ) -> Option<Derivation> {
        let mut held = Vec::new();
        let mut from_pairs = Vec::new();
        let mut reciprocal_keys = Vec::new();
        for &c in by_run {
            let key = &plan.keys[selected[c]];
            if plan.follows_from_pairs(key) {
                from_pairs.push((selected[c], c));
            } else if let Some(hhi) = plan.reciprocal_of(selected[c]) {
                reciprocal_keys.push((c, hhi));
                held.push(hhi);
            } else {
                held.push(selected[c]);
            }
        }
        if from_pairs.is_empty() && reciprocal_keys.is_empty() {
            return None;
        }
        if !from_pairs.is_empty() {
            held.extend_from_slice(plan.pair_series());
        }
        held.sort_unstable();
        held.dedup();
        // Every run's held values, and one year's derived values.
        let derived = from_pairs.len();
        let bytes = (held.len() * later + derived) * runs * 8;
        if held.len() >= by_run.len() {
            return None;
        }
        let position = |key: usize| held.binary_search(&key).ok();
        let pair_at = if from_pairs.is_empty() {
            Vec::new()
        } else {
            plan.pair_series()
                .iter()
                .map(|&k| position(k))
                .collect::<Option<Vec<_>>>()?
        };
        let reciprocal = reciprocal_keys
            .iter()
            .map(|&(c, hhi)| Some((c, position(hhi)?)))
            .collect::<Option<Vec<_>>>()?;
        let kernel = plan.pair_kernel(
            model,
            &from_pairs.iter().map(|&(k, _)| k).collect::<Vec<_>>(),
        )?;
        let mut selected_at = vec![None; held.len()];
        for &c in by_run {
            if let Some(p) = position(selected[c]) {
                selected_at[p] = Some(c);
            }
        }
        Some(Derivation {
            held,
            pair_at,
            from_pairs,
            kernel,
            reciprocal,
            selected_at,
            whole_fits: bytes <= budget,
        })
    }

    /// Holds every run's values of the held series in one pass, summarising the
    /// reciprocals with their HHIs, then derives the others year by year, run by run, and
    /// summarises all of them into `stats`.
    fn summarise(
        &self,
        model: &Model,
        plan: &Plan,
        options: &Options,
        counter: &Counter<'_>,
        buffer: &mut Vec<f64>,
        stats: &mut [Vec<f64>; 6],
    ) -> Result<(), EnsembleError> {
        let runs = options.runs as usize;
        let t_count = model.scenario.year_count();
        let s_count = self.held.len();
        let reciprocal_at = self.reciprocal_at();
        let summarise = |cell: usize, column: &mut Column| {
            if reciprocal_at[cell % s_count].is_some() {
                let (own, reciprocal) = column.summary_and_reciprocal();
                (own, Some(reciprocal))
            } else {
                (column.summary(), None)
            }
        };
        let cells = hold_runs(
            model, plan, &self.held, options, counter, buffer, &summarise,
        )?;
        counter.weigh(1);
        for t in 1..t_count {
            let year = &cells[(t - 1) * s_count..t * s_count];
            self.place_held(year, &reciprocal_at, t, t_count, stats);
        }
        if self.from_pairs.is_empty() {
            return Ok(());
        }
        let buffer = &*buffer;
        let tiles = Tiles::new(s_count * (t_count - 1), runs);
        // One year at a time: every run's derived values, held as for any series.
        let mut values = Vec::new();
        let mut per_year: Vec<Vec<[f64; 6]>> = Vec::with_capacity(t_count - 1);
        for t in 1..t_count {
            let init = || (PairScratch::default(), vec![0.0; self.pair_at.len()]);
            // Where the year's held pair totals are from the start of a run's values.
            let pair_at: Vec<usize> = self
                .pair_at
                .iter()
                .map(|&p| tiles.cell((t - 1) * s_count + p))
                .collect();
            let fill =
                |(scratch, pairs): &mut (PairScratch, Vec<f64>), r: usize, row: &mut [f64]| {
                    let run = &buffer[tiles.run(r)..];
                    for (slot, &at) in pairs.iter_mut().zip(&pair_at) {
                        *slot = run[at];
                    }
                    self.kernel.evaluate(pairs, scratch, row);
                    Ok(())
                };
            let summarise = |_: usize, column: &mut Column| column.summary();
            per_year.push(summarise_cells(
                self.from_pairs.len(),
                runs,
                &mut values,
                &init,
                &fill,
                &no_finish,
                &summarise,
                counter,
            )?);
        }
        for (d, &(_, c)) in self.from_pairs.iter().enumerate() {
            for (t, summaries) in per_year.iter().enumerate() {
                for (k, &v) in summaries[d].iter().enumerate() {
                    stats[k][c * t_count + t + 1] = v;
                }
            }
        }
        Ok(())
    }
}

impl Derivation {
    /// Where the reciprocal of each held series goes in `selected`, if any.
    fn reciprocal_at(&self) -> Vec<Option<usize>> {
        let mut reciprocal_at = vec![None; self.held.len()];
        for &(c, p) in &self.reciprocal {
            reciprocal_at[p] = Some(c);
        }
        reciprocal_at
    }

    /// Puts the summaries of the held series in year `t`, `cells[p]` for the p-th (with
    /// its reciprocal's, if any), into `stats`.
    fn place_held(
        &self,
        cells: &[([f64; 6], Option<[f64; 6]>)],
        reciprocal_at: &[Option<usize>],
        t: usize,
        t_count: usize,
        stats: &mut [Vec<f64>; 6],
    ) {
        for (p, (own, reciprocal)) in cells.iter().enumerate() {
            let targets = [
                self.selected_at[p].map(|c| (c, own)),
                reciprocal_at[p].zip(reciprocal.as_ref()),
            ];
            for (c, summary) in targets.into_iter().flatten() {
                for (k, &v) in summary.iter().enumerate() {
                    stats[k][c * t_count + t] = v;
                }
            }
        }
    }

    /// How many values [`Derivation::summarise_by_year`] holds for `market` series of
    /// one market over `runs` runs.
    fn year_len(&self, market: usize, runs: usize) -> usize {
        held_len(self.held.len() + self.from_pairs.len() + market, runs)
    }

    /// The derivation's series and the series of one market `market` in the PE engine,
    /// summarised a year at a time from the runs' `recorded` events and demand levels:
    /// for each year after the base year, every run's flows that year follow from those
    /// alone, with the arithmetic of a simulated run ([`Model::pe_year`]), and give the
    /// held series, the series derived from them and `market`'s values, which are
    /// summarised before the next year. Puts the derivation's summaries into `stats` and
    /// returns `market`'s, `[i * years + t]` (the base year's left NaN).
    #[allow(clippy::too_many_arguments)]
    fn summarise_by_year(
        &self,
        model: &Model,
        plan: &Plan,
        market: &[OneMarket],
        recorded: &Recorded,
        cost_bytes: usize,
        options: &Options,
        counter: &Counter<'_>,
        buffer: &mut Vec<f64>,
        stats: &mut [Vec<f64>; 6],
    ) -> Result<Vec<[f64; 6]>, EnsembleError> {
        let runs = options.runs as usize;
        let years: Vec<i32> = model.scenario.years().collect();
        let t_count = years.len();
        let later = t_count - 1;
        let (s_count, derived) = (self.held.len(), self.from_pairs.len());
        let width = s_count + derived + market.len();
        counter.weigh(2);
        counter.remaining((2 * later * runs) as u64);
        let evaluation = HeldEvaluation::new(model, plan, &self.held);
        let reciprocal_at = self.reciprocal_at();
        let mut out = vec![[f64::NAN; 6]; market.len() * t_count];
        // Each year's costs are grouped while the year before is summarised, so that no
        // thread waits on them: two years' at a time, each within half the allowance.
        let cost_bytes = cost_bytes / 2;
        let mut next_costs = recorded.costs(model, years[1], cost_bytes);
        for t in 1..t_count {
            let year = years[t];
            let costs = next_costs.take();
            let init = || YearScratch::new(model, plan, derived, evaluation.scratch());
            let fill = |sc: &mut YearScratch, r: usize, row: &mut [f64]| {
                let mut year_out = YearOut {
                    flows: &mut sc.flows,
                    creation: &mut sc.creation,
                    diversion: &mut sc.diversion,
                };
                let level = recorded.levels(r, t);
                match &costs {
                    Some((costs, cost_of)) => {
                        let costs = &costs[cost_of[r] as usize];
                        model.pe_year(year, costs, level, &mut year_out)?;
                    }
                    None => {
                        let draw = &recorded.draws[r];
                        model.event_state(year, draw, &mut sc.key);
                        let costs = model.pe_year_costs(year, draw, &sc.key);
                        model.pe_year(year, &costs, level, &mut year_out)?;
                    }
                }
                let state = YearState {
                    year,
                    t,
                    flows: &sc.flows,
                    pe: Some(PeYear {
                        creation: &sc.creation,
                        diversion: &sc.diversion,
                    }),
                    ge: None,
                };
                let (held, rest) = row.split_at_mut(s_count);
                evaluation.evaluate(model, &state, &mut sc.held, held);
                // The derived values come once the block's runs are in ([`finish`]).
                let of_market = &mut rest[derived..];
                for (slot, one) in of_market.iter_mut().zip(market) {
                    let m = one.market;
                    *slot =
                        plan.level_value(model, *one, &sc.flows, sc.creation[m], sc.diversion[m]);
                }
                Ok(())
            };
            let summarise = |cell: usize, column: &mut Column| {
                if cell < s_count && reciprocal_at[cell].is_some() {
                    let (own, reciprocal) = column.summary_and_reciprocal();
                    (own, Some(reciprocal))
                } else {
                    (column.summary(), None)
                }
            };
            // The derived values of a block's runs, from their held pair totals, side by
            // side.
            let finish = |sc: &mut YearScratch, rows: usize, block: &mut [&mut [f64]]| {
                if derived == 0 {
                    return;
                }
                for (lanes, &p) in sc.lane_pairs.iter_mut().zip(&self.pair_at) {
                    let (tile, c) = (&block[p / TILE_CELLS], p % TILE_CELLS);
                    for (r, lane) in lanes.iter_mut().enumerate().take(rows) {
                        *lane = tile[r * TILE_CELLS + c];
                    }
                }
                self.kernel
                    .evaluate_lanes(&sc.lane_pairs, &mut sc.pair_lanes, &mut sc.lane_out);
                for (d, lanes) in sc.lane_out.iter().enumerate() {
                    let cell = s_count + d;
                    let (tile, c) = (&mut block[cell / TILE_CELLS], cell % TILE_CELLS);
                    for (r, &v) in lanes.iter().enumerate().take(rows) {
                        tile[r * TILE_CELLS + c] = v;
                    }
                }
            };
            let (cells, later_costs) = rayon::join(
                || {
                    summarise_cells(
                        width, runs, buffer, &init, &fill, &finish, &summarise, counter,
                    )
                },
                || {
                    years
                        .get(t + 1)
                        .and_then(|&next| recorded.costs(model, next, cost_bytes))
                },
            );
            next_costs = later_costs;
            let cells = cells?;
            self.place_held(&cells[..s_count], &reciprocal_at, t, t_count, stats);
            for (&(_, c), (summary, _)) in self.from_pairs.iter().zip(&cells[s_count..]) {
                for (k, &v) in summary.iter().enumerate() {
                    stats[k][c * t_count + t] = v;
                }
            }
            for (i, (summary, _)) in cells[s_count + derived..].iter().enumerate() {
                out[i * t_count + t] = *summary;
            }
        }
        Ok(out)
    }
}

/// Every run's events and its demand level in every market and year after the base
/// year, in the PE engine: all that a run's flows in a year follow from
/// ([`Model::pe_year`]).
struct Recorded {
    /// Each run's draw without its demand noise.
    draws: Vec<Draw>,
    /// Run r's level of market m in year t ≥ 1 is at `r * stride + (t - 1) * markets + m`.
    levels: Vec<f64>,
    markets: usize,
    stride: usize,
}

impl Recorded {
    /// The memory [`Recorded::record`] takes for `runs` runs of `model`.
    fn bytes(model: &Model, runs: usize) -> usize {
        let later = model.scenario.year_count().saturating_sub(1);
        let stride = later * model.structure.markets.len();
        runs * (stride * 8 + model.events.list.len() * 5 + 64)
    }

    /// Draws every run of the ensemble and keeps its events and demand levels.
    fn record(
        model: &Model,
        options: &Options,
        counter: &Counter<'_>,
    ) -> Result<Recorded, EnsembleError> {
        let (runs, t_count) = (options.runs as usize, model.scenario.year_count());
        let markets = model.structure.markets.len();
        let stride = (t_count - 1) * markets;
        let mut levels = vec![0.0; runs * stride];
        let draws = levels
            .par_chunks_mut(stride.max(1))
            .enumerate()
            .map_init(
                || vec![0.0; t_count * markets],
                |all, (r, slot)| -> Result<Draw, EnsembleError> {
                    if counter.cancelled() {
                        return Err(EnsembleError::Cancelled);
                    }
                    let mut draw =
                        Draw::monte_carlo(&model.scenario, &model.events, options.seed, r as u64);
                    model.demand_levels(&draw, all);
                    slot.copy_from_slice(&all[markets..]);
                    // The events are all that a year's costs read.
                    draw.noise = Vec::new();
                    counter.tick();
                    Ok(draw)
                },
            )
            .collect::<Result<Vec<Draw>, EnsembleError>>()?;
        Ok(Recorded {
            draws,
            levels,
            markets,
            stride,
        })
    }

    /// The distinct trade costs of year `year` over the runs, and which each run has (the
    /// runs with the same event strengths share them); `None` when they would take more
    /// than `most_bytes`, for each run to compute its own.
    fn costs(
        &self,
        model: &Model,
        year: i32,
        most_bytes: usize,
    ) -> Option<(Vec<YearCosts>, Vec<u32>)> {
        let mut index: HashMap<Vec<u64>, u32> = HashMap::new();
        let (mut costs, mut state, mut bytes) = (Vec::new(), Vec::new(), 0);
        let mut cost_of = Vec::with_capacity(self.draws.len());
        for draw in &self.draws {
            model.event_state(year, draw, &mut state);
            if let Some(&i) = index.get(state.as_slice()) {
                cost_of.push(i);
                continue;
            }
            let i = u32::try_from(costs.len()).ok()?;
            let year_costs = model.pe_year_costs(year, draw, &state);
            bytes += year_costs.bytes() + state.len() * 8 + 64;
            if bytes > most_bytes {
                return None;
            }
            costs.push(year_costs);
            index.insert(state.clone(), i);
            cost_of.push(i);
        }
        Some((costs, cost_of))
    }

    /// Run `r`'s level of every market in year `t` (1 or later).
    fn levels(&self, r: usize, t: usize) -> &[f64] {
        &self.levels[r * self.stride + (t - 1) * self.markets..][..self.markets]
    }
}

/// What a thread of [`Derivation::summarise_by_year`] works in: one run's year.
struct YearScratch {
    flows: Vec<f64>,
    creation: Vec<f64>,
    diversion: Vec<f64>,
    /// The year's event strengths.
    key: Vec<u64>,
    held: HeldScratch,
    pair_lanes: PairLanes,
    /// A block's pair totals and derived values, run by run side by side, as the pair
    /// kernel takes and gives them.
    lane_pairs: Vec<Lanes>,
    lane_out: Vec<Lanes>,
}

impl YearScratch {
    fn new(model: &Model, plan: &Plan, derived: usize, held: HeldScratch) -> Self {
        let m_count = model.structure.markets.len();
        YearScratch {
            flows: vec![0.0; model.structure.entries.len()],
            creation: vec![0.0; m_count],
            diversion: vec![0.0; m_count],
            key: Vec::new(),
            held,
            pair_lanes: PairLanes::default(),
            lane_pairs: vec![[0.0; LANES]; plan.pair_series().len()],
            lane_out: vec![[0.0; LANES]; derived],
        }
    }
}

/// Where [`summarise_cells`] holds each run's value of each cell in its buffer: run
/// `run`'s value of `cell` is at `tiles.run(run) + tiles.cell(cell)`. The cells come in
/// groups of [`TILE_CELLS`], and the runs in blocks of `tile_runs`; a tile holds one
/// group's values in one block, run by run, and each group's tiles follow one another
/// block by block, so that a group's values over every run are one piece of memory.
#[derive(Clone, Copy)]
struct Tiles {
    tile_runs: usize,
    groups: usize,
    blocks: usize,
}

impl Tiles {
    /// The layout of `width` cells over `runs` runs.
    fn new(width: usize, runs: usize) -> Self {
        let tile_runs = TILE_RUNS.min(runs.max(1));
        Tiles {
            tile_runs,
            groups: width.div_ceil(TILE_CELLS),
            blocks: runs.div_ceil(tile_runs),
        }
    }

    /// How many values a tile holds.
    fn tile(self) -> usize {
        self.tile_runs * TILE_CELLS
    }

    /// How many values a group holds, over every block.
    fn group(self) -> usize {
        self.blocks * self.tile()
    }

    /// Where run `run`'s values begin.
    fn run(self, run: usize) -> usize {
        run * TILE_CELLS
    }

    /// Where `cell` is from the start of a run's values.
    fn cell(self, cell: usize) -> usize {
        cell / TILE_CELLS * self.group() + cell % TILE_CELLS
    }
}

/// Every series' value in the base year. The base year is the data, with no event and
/// no demand shock (SPEC §2), so its values are the same in every run and are evaluated
/// once (on the path, whose base year is every run's).
fn base_year_values(
    model: &Model,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Vec<f64>, EnsembleError> {
    let mut values = vec![f64::NAN; plan.keys.len()];
    let draw = Draw::as_written(&model.events);
    let done = std::cell::Cell::new(false);
    let mut scratch = Scratch::default();
    let sink = &mut |state: &crate::model::YearState<'_>| {
        plan.evaluate(model, state, &mut scratch, &mut values, None);
        done.set(true);
    };
    // Stop once the base year is evaluated.
    match model.simulate_until(&draw, sink, &|| done.get() || progress.cancelled()) {
        Ok(()) => {}
        Err(ModelError::Stopped) if done.get() => {}
        Err(ModelError::Stopped) => return Err(EnsembleError::Cancelled),
        Err(e) => return Err(e.into()),
    }
    Ok(values)
}

/// Memory allowed for counting the distinct event strengths of each year over the runs
/// ([`summarise_by_state`]). A fixed amount, not the caller's budget, so that which way a
/// series is summarised never depends on the budget.
const MAX_TALLY_BYTES: usize = 64 * 1024 * 1024;

/// The most the distinct trade costs of one year may take when series are summarised a
/// year at a time ([`Recorded::costs`]).
const MAX_COST_BYTES: usize = 64 * 1024 * 1024;

/// Per year: the runs with each distinct event strengths, and the first of them.
type Tally = Vec<std::collections::HashMap<Vec<u64>, (u64, u64)>>;

/// Summaries `[c * years + t]` of `series`, which the events fix
/// ([`Plan::fixed_by_events`]): each year's distinct event strengths are counted over
/// the runs, and the series are evaluated once per distinct strengths, from the flows of
/// a run with those strengths and no demand noise. `None` when the strengths take too
/// many distinct values to count within `tally_bytes`.
fn summarise_by_state(
    model: &Model,
    plan: &Plan,
    series: &[usize],
    options: &Options,
    progress: &dyn Progress,
    tally_bytes: usize,
) -> Result<Option<Vec<[f64; 6]>>, EnsembleError> {
    let years: Vec<i32> = model.scenario.years().collect();
    let t_count = years.len();
    let bytes_per_state = model.events.list.len() * 8 + 64;
    let most_states = tally_bytes / bytes_per_state;
    let new_tally = || -> Tally { vec![std::collections::HashMap::new(); t_count] };
    let states_in = |tally: &Tally| {
        tally
            .iter()
            .map(std::collections::HashMap::len)
            .sum::<usize>()
    };
    // `Ok(None)`: more distinct strengths than allowed. A thread's share of the runs holds
    // no more distinct strengths than all runs, so stopping on it decides the same way.
    let tally = (0..u64::from(options.runs))
        .into_par_iter()
        .try_fold(
            || (Some(new_tally()), Vec::new()),
            |(tally, mut key), m| -> Result<(Option<Tally>, Vec<u64>), EnsembleError> {
                if progress.cancelled() {
                    return Err(EnsembleError::Cancelled);
                }
                let Some(mut tally) = tally else {
                    return Ok((None, key));
                };
                let draw = Draw::events_of_run(&model.events, options.seed, m);
                for (t, &year) in years.iter().enumerate().skip(1) {
                    model.event_state(year, &draw, &mut key);
                    if let Some(slot) = tally[t].get_mut(key.as_slice()) {
                        slot.0 += 1;
                        slot.1 = slot.1.min(m);
                    } else {
                        tally[t].insert(key.clone(), (1, m));
                    }
                }
                let fits = states_in(&tally) <= most_states;
                Ok((fits.then_some(tally), key))
            },
        )
        .map(|r| r.map(|(tally, _)| tally))
        .try_reduce(
            || Some(new_tally()),
            |a, b| {
                let (Some(mut a), Some(b)) = (a, b) else {
                    return Ok(None);
                };
                for (into, from) in a.iter_mut().zip(b) {
                    for (key, (n, first)) in from {
                        let slot = into.entry(key).or_insert((0, u64::MAX));
                        slot.0 += n;
                        slot.1 = slot.1.min(first);
                    }
                }
                Ok((states_in(&a) <= most_states).then_some(a))
            },
        )?;
    let Some(tally) = tally else {
        return Ok(None);
    };
    // The base year is the data in every run.
    let base: Vec<(Vec<u64>, (u64, u64))> = vec![(Vec::new(), (u64::from(options.runs), 0))];
    // Evaluated values are held per state and series for the years in progress; the
    // series are taken in groups that keep them within the budget.
    let widest = tally
        .iter()
        .map(std::collections::HashMap::len)
        .max()
        .unwrap_or(1)
        .max(1);
    let threads = rayon::current_num_threads().max(1);
    let group = (options.memory_budget / 16 / widest / threads).clamp(1, series.len().max(1));
    let mut out = vec![[f64::NAN; 6]; series.len() * t_count];
    // The years with the most distinct strengths first, each a task of its own, so that
    // the threads finish together.
    let mut by_size: Vec<usize> = (0..t_count).collect();
    by_size.sort_by_key(|&t| std::cmp::Reverse(tally[t].len()));
    for (g, part) in series.chunks(group).enumerate() {
        let wanted = plan.wanted(part);
        let per_year: Vec<(usize, Vec<[f64; 6]>)> = by_size
            .par_iter()
            .with_max_len(1)
            .map_init(
                || {
                    let flows = vec![0.0; model.structure.entries.len()];
                    let columns = vec![Vec::new(); SIDE_BY_SIDE];
                    let year_values = vec![f64::NAN; plan.keys.len()];
                    (Scratch::default(), year_values, flows, Vec::new(), columns)
                },
                |(scratch, year_values, flows, rows, columns), &t| {
                    let mut states: Vec<(&Vec<u64>, &(u64, u64))> = if t == 0 {
                        base.iter().map(|(k, v)| (k, v)).collect()
                    } else {
                        tally[t].iter().collect()
                    };
                    states.sort_unstable_by(|a, b| a.0.cmp(b.0));
                    // Each state's values of the part's series side by side, `[state *
                    // width + c]`: written in one stream, then read for a few series at a
                    // time, a cache line of each state's values at once.
                    let width = part.len();
                    rows.clear();
                    rows.reserve(states.len() * width);
                    let counts: Vec<u64> = states.iter().map(|s| s.1.0).collect();
                    for (key, &(_, first)) in states {
                        let draw = Draw::events_of_run(&model.events, options.seed, first);
                        model.noise_free_flows(t, years[t], &draw, key, flows);
                        let state = crate::model::YearState {
                            year: years[t],
                            t,
                            flows,
                            pe: None,
                            ge: None,
                        };
                        plan.evaluate_wanted(model, &state, scratch, year_values, &wanted);
                        rows.extend(part.iter().map(|&k| year_values[k]));
                    }
                    let mut summaries = Vec::with_capacity(width);
                    for first in (0..width).step_by(SIDE_BY_SIDE) {
                        let side = SIDE_BY_SIDE.min(width - first);
                        for column in &mut columns[..side] {
                            column.clear();
                        }
                        for (row, &count) in rows.chunks_exact(width).zip(&counts) {
                            for (column, &v) in columns.iter_mut().zip(&row[first..first + side]) {
                                column.push((v, count));
                            }
                        }
                        summaries.extend(columns[..side].iter_mut().map(weighted_summary));
                    }
                    (t, summaries)
                },
            )
            .collect();
        for (t, summaries) in per_year {
            for (c, s) in summaries.into_iter().enumerate() {
                out[(g * group + c) * t_count + t] = s;
            }
        }
    }
    Ok(Some(out))
}

/// Series whose values over the distinct event strengths [`summarise_by_state`] gathers
/// at once: 8 values of a state, one cache line.
const SIDE_BY_SIDE: usize = 8;

/// Summaries `[c * years + t]` of `series`: series of one market
/// ([`Plan::of_one_market`]) that no event touches ([`Model::market_untouched`]), so its
/// demand level fixes them. Every run's levels of those markets are held, a group of
/// markets at a time within the budget. Per market and year, the series' percentiles are
/// their values at the levels' order statistics (each is nondecreasing in the level),
/// and their means add up every run's value in run order, as [`summary`] does: the same
/// bits as from every run's simulated values. `None` when a value is not finite, so
/// that those runs are simulated and report why.
fn summarise_by_level(
    model: &Model,
    plan: &Plan,
    series: &[OneMarket],
    options: &Options,
    recorded: Option<&Recorded>,
    counter: &Counter<'_>,
    buffer: &mut Vec<f64>,
) -> Result<Option<Vec<[f64; 6]>>, EnsembleError> {
    let runs = options.runs as usize;
    let t_count = model.scenario.year_count();
    let market_count = model.structure.markets.len();
    let mut out = vec![[f64::NAN; 6]; series.len() * t_count];
    for part in level_groups(series, runs, t_count, options.memory_budget) {
        // The series of each market of the group, as positions in `series`.
        let mine: Vec<Vec<usize>> = part
            .iter()
            .map(|&m| {
                (0..series.len())
                    .filter(|&i| series[i].market == m)
                    .collect()
            })
            .collect();
        // A cell is one market of the group in one year: cell = p * years + t.
        let init = || vec![0.0; t_count * market_count];
        let fill = |all: &mut Vec<f64>, r: usize, row: &mut [f64]| {
            if let Some(recorded) = recorded {
                for (p, &m) in part.iter().enumerate() {
                    row[p * t_count] = 1.0;
                    for t in 1..t_count {
                        row[p * t_count + t] = recorded.levels(r, t)[m];
                    }
                }
                return Ok(());
            }
            let draw = Draw::monte_carlo(&model.scenario, &model.events, options.seed, r as u64);
            model.demand_levels(&draw, all);
            for (p, &m) in part.iter().enumerate() {
                for t in 0..t_count {
                    row[p * t_count + t] = all[t * market_count + m];
                }
            }
            Ok(())
        };
        let summarise = |cell: usize, column: &mut Column| {
            let (p, t) = (cell / t_count, cell % t_count);
            let market = part[p];
            let flows = &mut vec![0.0; model.structure.entries.len()];
            let values_at = |level: f64, flows: &mut Vec<f64>, out: &mut Vec<f64>| {
                let (creation, diversion) = model.untouched_market_flows(market, level, flows);
                out.clear();
                out.extend(
                    mine[p]
                        .iter()
                        .map(|&i| plan.level_value(model, series[i], flows, creation, diversion)),
                );
            };
            // A level that is not a number leaves that run out; let it be simulated.
            if column.keys.len() != runs {
                return None;
            }
            // Means as `Iterator::sum` takes them: from −0, in run order. Each run's
            // flows into the market are added up entry by entry, and its imports,
            // creation and diversion once, whichever of them the series are. Creation
            // and diversion do not move with the level in a market no event touches.
            let entries = model.structure.markets[market].entries.clone();
            let levels = column.keys.iter().map(|&key| from_order_key(key));
            let (flow_sums, imports_sum) = plan.untouched_sums(model, market, levels);
            let (creation, diversion) = model.untouched_market_flows(market, 1.0, flows);
            let [creation_sum, diversion_sum] = [MarketValue::Creation, MarketValue::Diversion]
                .map(|value| {
                    let one = OneMarket { market, value };
                    let v = plan.level_value(model, one, flows, creation, diversion);
                    if v == 0.0 {
                        // Zeros added to −0 leave the first sum, −0 + v, whatever their
                        // number (≥ 1; the column holds every run).
                        -0.0 + v
                    } else {
                        column.keys.iter().fold(-0.0, |sum, _| sum + v)
                    }
                });
            let other_sums = [imports_sum, creation_sum, diversion_sum];
            let sums: Vec<f64> = mine[p]
                .iter()
                .map(|&i| match series[i].value {
                    MarketValue::Flow(e) => flow_sums[e - entries.start],
                    MarketValue::Imports => other_sums[0],
                    MarketValue::Creation => other_sums[1],
                    MarketValue::Diversion => other_sums[2],
                })
                .collect();
            if !sums.iter().all(|s| s.is_finite()) {
                return None;
            }
            // The series' values at each rank the percentiles need.
            let key_at = order_statistics_in(&mut column.keys, (column.low, column.high));
            let ranks: Vec<usize> = percentile_ranks(runs)
                .iter()
                .flat_map(|&(lo, hi, _)| [lo, hi])
                .collect();
            let at_rank: Vec<Vec<f64>> = ranks
                .iter()
                .map(|&r| {
                    let mut v = Vec::new();
                    values_at(from_order_key(key_at(r)), flows, &mut v);
                    v
                })
                .collect();
            let done = mine[p].iter().zip(sums).enumerate().map(|(k, (&i, sum))| {
                let p = interpolate(runs, |r| {
                    at_rank[ranks.iter().position(|&x| x == r).unwrap_or(0)][k]
                });
                #[allow(clippy::cast_precision_loss)]
                let mean = sum / runs as f64;
                (i * t_count + t, [mean, p[0], p[1], p[2], p[3], p[4]])
            });
            Some(done.collect::<Vec<_>>())
        };
        let width = part.len() * t_count;
        let cells = summarise_cells(
            width, runs, buffer, &init, &fill, &no_finish, &summarise, counter,
        )?;
        for cell in cells {
            let Some(cell) = cell else {
                return Ok(None);
            };
            for (at, summary) in cell {
                out[at] = summary;
            }
        }
    }
    Ok(Some(out))
}

/// Summaries `[c * years + t]` of `series`, each of which one market's flows fix
/// ([`Plan::of_one_market`]), for the years after the base year (the base year's are left
/// NaN). Every run's values are held, as for any series, but a run computes the flows of
/// these series' markets only, a group of series at a time within the budget. `None`
/// when a value is not finite, so that those runs are simulated in full and report why.
fn summarise_by_market(
    model: &Model,
    plan: &Plan,
    series: &[OneMarket],
    options: &Options,
    counter: &Counter<'_>,
    buffer: &mut Vec<f64>,
) -> Result<Option<Vec<[f64; 6]>>, EnsembleError> {
    let runs = options.runs as usize;
    let t_count = model.scenario.year_count();
    let later = t_count - 1;
    let mut out = vec![[f64::NAN; 6]; series.len() * t_count];
    // Positions in `series`, by market, so that each group computes few markets.
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|&i| series[i].market);
    let count = chunk_count(series.len(), runs, later, options.memory_budget);
    let overflow = AtomicBool::new(false);
    for part in order.chunks(series.len().div_ceil(count).max(1)) {
        // The group's markets, and the positions in `part` of each one's series.
        let mut markets: Vec<usize> = Vec::new();
        let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
        for (c, &i) in part.iter().enumerate() {
            if markets.last() == Some(&series[i].market) {
                if let Some(span) = spans.last_mut() {
                    span.end = c + 1;
                }
            } else {
                markets.push(series[i].market);
                spans.push(c..c + 1);
            }
        }
        let s_count = part.len();
        let init = || vec![0.0; model.structure.entries.len()];
        // A run's row is year-major from the year after the base year on.
        let fill = |flows: &mut Vec<f64>, r: usize, row: &mut [f64]| {
            let draw = Draw::monte_carlo(&model.scenario, &model.events, options.seed, r as u64);
            let sink = &mut |y: &MarketYear<'_>| {
                for c in spans[y.p].clone() {
                    let v =
                        plan.level_value(model, series[part[c]], y.flows, y.creation, y.diversion);
                    if !v.is_finite() {
                        overflow.store(true, Ordering::Relaxed);
                    }
                    row[(y.t - 1) * s_count + c] = v;
                }
            };
            model.market_years(&draw, &markets, flows, sink);
            Ok(())
        };
        let summarise = |_: usize, column: &mut Column| column.summary();
        let width = s_count * later;
        let cells = summarise_cells(
            width, runs, buffer, &init, &fill, &no_finish, &summarise, counter,
        )?;
        if overflow.load(Ordering::Relaxed) {
            return Ok(None);
        }
        for (cell, summary) in cells.into_iter().enumerate() {
            let (t, c) = (cell / s_count + 1, cell % s_count);
            out[part[c] * t_count + t] = summary;
        }
    }
    Ok(Some(out))
}

/// Puts the summaries `cells[i * years + t]` of the series at positions `at[i]` into
/// `stats[k][at[i] * years + t]`.
fn place(stats: &mut [Vec<f64>; 6], at: &[usize], cells: &[[f64; 6]], years: usize) {
    for (i, &c) in at.iter().enumerate() {
        for t in 0..years {
            for (k, &v) in cells[i * years + t].iter().enumerate() {
                stats[k][c * years + t] = v;
            }
        }
    }
}

/// How many chunks `series` series summarised from every run's value take within
/// `budget`: one series' runs are held together however small the budget.
fn chunk_count(series: usize, runs: usize, years: usize, budget: usize) -> usize {
    if series == 0 {
        return 0;
    }
    let fit = (budget / 8 / (runs * years).max(1)).clamp(1, series);
    series.div_ceil(fit)
}

/// The markets of `series`, in groups whose levels for every run and year fit in `budget`.
fn level_groups(series: &[OneMarket], runs: usize, years: usize, budget: usize) -> Vec<Vec<usize>> {
    let mut markets: Vec<usize> = series.iter().map(|s| s.market).collect();
    markets.sort_unstable();
    markets.dedup();
    let group = (budget / 8 / (runs * years).max(1)).clamp(1, markets.len().max(1));
    markets.chunks(group).map(<[usize]>::to_vec).collect()
}

/// [`summary`] of values given with the number of runs that have each (NaN: none): the
/// same type-7 percentiles as over the runs' values one by one. The mean is taken from
/// the smallest value, so that equal values average to exactly that value.
fn weighted_summary(values: &mut Vec<(f64, u64)>) -> [f64; 6] {
    values.retain(|&(v, count)| !v.is_nan() && count > 0);
    values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    values.dedup_by(|next, kept| {
        let same = next.0.to_bits() == kept.0.to_bits();
        if same {
            kept.1 += next.1;
        }
        same
    });
    let n: u64 = values.iter().map(|v| v.1).sum();
    let Some(&(low, _)) = values.first() else {
        return [f64::NAN; 6];
    };
    #[allow(clippy::cast_precision_loss)]
    let mean = low
        + values
            .iter()
            .map(|&(v, count)| (v - low) * count as f64)
            .sum::<f64>()
            / n as f64;
    // Runs up to and including each value, in order.
    let mut through = Vec::with_capacity(values.len());
    let mut sum = 0;
    for &(_, count) in values.iter() {
        sum += count;
        through.push(sum);
    }
    #[allow(clippy::cast_possible_truncation)]
    let at = |rank: usize| values[through.partition_point(|&c| c <= rank as u64)].0;
    #[allow(clippy::cast_possible_truncation)]
    let p = interpolate(n as usize, at);
    [mean, p[0], p[1], p[2], p[3], p[4]]
}

/// Progress over all chunks of a summary, and the cancel flag.
struct Counter<'a> {
    progress: &'a dyn Progress,
    done: AtomicU64,
    total: AtomicU64,
    /// How much of the total one run of the current pass is.
    weight: AtomicU64,
}

impl<'a> Counter<'a> {
    fn new(progress: &'a dyn Progress, total: u64) -> Self {
        Counter {
            progress,
            done: AtomicU64::new(0),
            total: AtomicU64::new(total),
            weight: AtomicU64::new(1),
        }
    }

    /// Counts each run from now on as `weight`.
    fn weigh(&self, weight: u64) {
        self.weight.store(weight, Ordering::Relaxed);
    }

    /// Sets the total to what is done plus `more`, once the rest of the work is known.
    fn remaining(&self, more: u64) {
        let done = self.done.load(Ordering::Relaxed);
        self.total.store(done + more, Ordering::Relaxed);
    }

    fn tick(&self) {
        let weight = self.weight.load(Ordering::Relaxed);
        let d = self.done.fetch_add(weight, Ordering::Relaxed) + weight;
        let total = self.total.load(Ordering::Relaxed);
        if (d / weight).is_multiple_of(64) || d >= total {
            self.progress.advance(d.min(total), total);
        }
    }

    fn cancelled(&self) -> bool {
        self.progress.cancelled()
    }

    fn finish(&self) {
        let total = self.total.load(Ordering::Relaxed);
        if total > 0 {
            self.progress.advance(total, total);
        }
    }
}

/// Ranks below and above h = (n − 1) p for each percentile (SPEC §6).
fn percentile_ranks(n: usize) -> [(usize, usize, f64); 5] {
    PERCENTILES.map(|p| {
        #[allow(clippy::cast_precision_loss)]
        let h = (n - 1) as f64 * p;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let lo = h.floor() as usize;
        #[allow(clippy::cast_precision_loss)]
        let frac = h - lo as f64;
        (lo, (lo + 1).min(n - 1), frac)
    })
}

/// Type-7 percentiles of n values, given the value at each rank they need.
fn interpolate(n: usize, at: impl Fn(usize) -> f64) -> [f64; 5] {
    percentile_ranks(n).map(|(lo, hi, frac)| {
        if frac == 0.0 {
            at(lo)
        } else {
            at(lo) + frac * (at(hi) - at(lo))
        }
    })
}

/// Summaries of `width` cells over `runs` runs, holding every value: `fill(state, m, row)`
/// writes run m's value of each cell (NaN for none), and `summarise(cell, column)`
/// summarises a cell's values, gathered in run order into a [`Column`].
///
/// Values are held in tiles of [`TILE_RUNS`] runs × [`TILE_CELLS`] cells ([`Tiles`]),
/// each contiguous, and a group of cells' tiles follow each other: a block of runs is
/// written by one thread, a tile per group; a group of cells is read in one stream from
/// its first run to its last, where reading a cell across plain rows of runs would touch
/// a page per run.
///
/// Once a block's runs are filled, `finish(state, rows, tiles)` may write more of their
/// values ([`no_finish`]: none): `tiles[g]` is the block's tile of group g, in which the
/// r-th of its `rows` runs has cell `g * TILE_CELLS + c` at `r * TILE_CELLS + c`.
#[allow(clippy::too_many_arguments)]
fn summarise_cells<S, I, F, B, R, Z>(
    width: usize,
    runs: usize,
    buffer: &mut Vec<f64>,
    init: &I,
    fill: &F,
    finish: &B,
    summarise: &Z,
    counter: &Counter<'_>,
) -> Result<Vec<R>, EnsembleError>
where
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize, &mut [f64]) -> Result<(), EnsembleError> + Sync,
    B: Fn(&mut S, usize, &mut [&mut [f64]]) + Sync,
    R: Send,
    Z: Fn(usize, &mut Column) -> R + Sync,
{
    let tiles = Tiles::new(width, runs);
    let Tiles {
        tile_runs, blocks, ..
    } = tiles;
    // Every slot that is read is written first by its run; zeroed memory comes from the
    // system untouched, so its pages are first touched by the threads that fill them.
    let len = held_len(width, runs);
    if buffer.len() < len {
        *buffer = vec![0.0; len];
    }
    let values = &mut buffer[..len];
    // Each block's tiles, one per group, for the threads to fill block by block.
    let mut by_block: Vec<Vec<&mut [f64]>> = (0..blocks).map(|_| Vec::new()).collect();
    for group in values.chunks_mut(tiles.group().max(1)) {
        for (block, tile) in by_block.iter_mut().zip(group.chunks_mut(tiles.tile())) {
            block.push(tile);
        }
    }
    by_block.into_par_iter().enumerate().try_for_each_init(
        || (init(), vec![f64::NAN; width]),
        |(state, row), (b, mut block)| -> Result<(), EnsembleError> {
            let rows = tile_runs.min(runs - b * tile_runs);
            for r in 0..rows {
                if counter.cancelled() {
                    return Err(EnsembleError::Cancelled);
                }
                fill(state, b * tile_runs + r, row)?;
                counter.tick();
                let at = r * TILE_CELLS;
                for (tile, cells) in block.iter_mut().zip(row.chunks(TILE_CELLS)) {
                    tile[at..at + cells.len()].copy_from_slice(cells);
                }
            }
            finish(state, rows, &mut block);
            Ok(())
        },
    )?;
    let values = &*values;
    Ok((0..tiles.groups)
        .into_par_iter()
        .map_init(
            || {
                (0..TILE_CELLS)
                    .map(|_| Column::with_capacity(runs))
                    .collect::<Vec<_>>()
            },
            |columns, g| {
                let cells = TILE_CELLS.min(width - g * TILE_CELLS);
                gather_columns(values, runs, tiles, g, &mut columns[..cells]);
                columns[..cells]
                    .iter_mut()
                    .enumerate()
                    .map(|(c, column)| summarise(g * TILE_CELLS + c, column))
                    .collect::<Vec<_>>()
            },
        )
        .flatten_iter()
        .collect())
}

/// The `finish` of [`summarise_cells`] for values that the fill writes whole.
fn no_finish<S>(_: &mut S, _: usize, _: &mut [&mut [f64]]) {}

/// How many values [`summarise_cells`] holds for `width` cells over `runs` runs.
fn held_len(width: usize, runs: usize) -> usize {
    let tiles = Tiles::new(width, runs);
    tiles.groups * tiles.group()
}

/// Runs per tile of held values: a work item of the threads that fill them, and the runs
/// a block's [`PairKernel::evaluate_lanes`] takes side by side.
const TILE_RUNS: usize = 64;
const _: () = assert!(TILE_RUNS == LANES);
/// Cells per tile of held values: a group of cells gathered side by side.
const TILE_CELLS: usize = 32;

/// One cell's values over the runs that have one (NaN: none), as [`order_key`]s in run
/// order, with what the summaries read of all of them, taken while gathering.
struct Column {
    keys: Vec<i64>,
    /// The values added up from −0 in run order, as `Iterator::sum` adds them.
    sum: f64,
    /// The least and the greatest key (`i64::MAX`, `i64::MIN` when there is none).
    low: i64,
    high: i64,
}

impl Column {
    fn with_capacity(runs: usize) -> Self {
        Column {
            keys: Vec::with_capacity(runs),
            sum: -0.0,
            low: i64::MAX,
            high: i64::MIN,
        }
    }

    /// The column of `values` (NaN: none).
    fn of(values: &[f64]) -> Self {
        let mut column = Column::with_capacity(values.len());
        for &v in values.iter().filter(|v| !v.is_nan()) {
            column.push(v);
        }
        column
    }

    fn push(&mut self, v: f64) {
        let key = order_key(v);
        self.keys.push(key);
        self.sum += v;
        self.low = self.low.min(key);
        self.high = self.high.max(key);
    }

    /// Mean and type-7 percentiles (NaN when empty), as [`summary`] gives them; reorders
    /// the keys.
    fn summary(&mut self) -> [f64; 6] {
        let n = self.keys.len();
        if n == 0 {
            return [f64::NAN; 6];
        }
        #[allow(clippy::cast_precision_loss)]
        let mean = self.sum / n as f64;
        let key_at = order_statistics_in(&mut self.keys, (self.low, self.high));
        let p = interpolate(n, |r| from_order_key(key_at(r)));
        [mean, p[0], p[1], p[2], p[3], p[4]]
    }

    /// [`Column::summary`] of the values, and the summary a column of their reciprocals
    /// 1/v would give, run for run: the reciprocals added up in run order, and their
    /// order statistics from the values' own, mirrored, since 1/v falls as v rises for
    /// v > 0 (correctly rounded division keeps that order, ties included). Where a value
    /// is not above 0, the reciprocals are gathered and summarised one by one. Reorders
    /// the keys.
    fn summary_and_reciprocal(&mut self) -> ([f64; 6], [f64; 6]) {
        let n = self.keys.len();
        if n == 0 {
            return ([f64::NAN; 6], [f64::NAN; 6]);
        }
        let reciprocal = |key: i64| 1.0 / from_order_key(key);
        if self.low <= order_key(0.0) {
            let values: Vec<f64> = self.keys.iter().map(|&k| reciprocal(k)).collect();
            return (self.summary(), summary(&values));
        }
        let reciprocal_sum = self.keys.iter().fold(-0.0, |sum, &k| sum + reciprocal(k));
        let ranks: Vec<usize> = percentile_ranks(n)
            .iter()
            .flat_map(|&(lo, hi, _)| [lo, hi, n - 1 - lo, n - 1 - hi])
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let (mean, reciprocal_mean) = (self.sum / n as f64, reciprocal_sum / n as f64);
        let key_at = order_statistics_at(&mut self.keys, (self.low, self.high), ranks);
        let p = interpolate(n, |r| from_order_key(key_at(r)));
        let q = interpolate(n, |r| reciprocal(key_at(n - 1 - r)));
        (
            [mean, p[0], p[1], p[2], p[3], p[4]],
            [reciprocal_mean, q[0], q[1], q[2], q[3], q[4]],
        )
    }
}

/// Gathers group `g` of the cells held by [`summarise_cells`] in `values` into
/// `columns`, one per cell of the group. A tile's row is taken whole, each cell's sum and
/// range kept in its own lane, so that the cells' values are added and compared side by
/// side rather than in one long chain per cell. A tile with every value is turned cell
/// by cell in a small block and each cell's keys go to its column in one piece; a tile
/// with a gap goes row by row, each value to its column. Only the group's cells of a row
/// are read: a last group may fill part of its tiles.
fn gather_columns(values: &[f64], runs: usize, tiles: Tiles, g: usize, columns: &mut [Column]) {
    let (tile_runs, tile) = (tiles.tile_runs, tiles.tile());
    let mut sums = [-0.0f64; TILE_CELLS];
    let mut lows = [i64::MAX; TILE_CELLS];
    let mut highs = [i64::MIN; TILE_CELLS];
    for column in columns.iter_mut() {
        column.keys.clear();
    }
    // A tile's keys, cell by cell: a tile with a value in every slot is read row by
    // row and its keys go to each column as one contiguous piece.
    let mut block = [[0i64; TILE_RUNS]; TILE_CELLS];
    let cells = columns.len();
    for b in 0..runs.div_ceil(tile_runs) {
        let at = g * tiles.group() + b * tile;
        let rows = tile_runs.min(runs - b * tile_runs);
        let tile_values = &values[at..at + rows * TILE_CELLS];
        let dense = !tile_values
            .chunks_exact(TILE_CELLS)
            .any(|row| row[..cells].iter().any(|v| v.is_nan()));
        if dense {
            for (r, row) in tile_values.chunks_exact(TILE_CELLS).enumerate() {
                let Ok(row) = <&[f64; TILE_CELLS]>::try_from(row) else {
                    continue;
                };
                // Every lane of the tile, the group's cells and any unused ones after
                // them, so that the lanes are worked side by side; only the group's
                // are kept.
                for (c, &v) in row.iter().enumerate() {
                    let key = order_key(v);
                    sums[c] += v;
                    lows[c] = lows[c].min(key);
                    highs[c] = highs[c].max(key);
                    block[c][r] = key;
                }
            }
            for (column, keys) in columns.iter_mut().zip(&block) {
                column.keys.extend_from_slice(&keys[..rows]);
            }
            continue;
        }
        for row in tile_values.chunks_exact(TILE_CELLS) {
            let Ok(row) = <&[f64; TILE_CELLS]>::try_from(row) else {
                continue;
            };
            let row = &row[..columns.len()];
            for (c, (column, &v)) in columns.iter_mut().zip(row).enumerate() {
                if v.is_nan() {
                    continue;
                }
                let key = order_key(v);
                column.keys.push(key);
                sums[c] += v;
                lows[c] = lows[c].min(key);
                highs[c] = highs[c].max(key);
            }
        }
    }
    for (c, column) in columns.iter_mut().enumerate() {
        column.sum = sums[c];
        column.low = lows[c];
        column.high = highs[c];
    }
}

/// Mean and type-7 percentiles of the values (in run order); NaN when empty.
pub fn summary(values: &[f64]) -> [f64; 6] {
    Column::of(values).summary()
}

/// [`summary`] of `runs` copies of `v` (none when `v` is NaN), without holding them:
/// the same sum from −0 in run order, and every rank's value is `v`.
fn constant_summary(v: f64, runs: usize) -> [f64; 6] {
    if v.is_nan() || runs == 0 {
        return [f64::NAN; 6];
    }
    let sum = (0..runs).fold(-0.0, |sum, _| sum + v);
    #[allow(clippy::cast_precision_loss)]
    let mean = sum / runs as f64;
    let p = interpolate(runs, |_| v);
    [mean, p[0], p[1], p[2], p[3], p[4]]
}

/// Reorders `keys` so that the returned function gives the key of every rank that
/// [`percentile_ranks`] names for `keys.len()` (its rank in ascending order).
#[cfg(test)]
fn order_statistics(keys: &mut [i64]) -> impl Fn(usize) -> i64 + '_ {
    let range = keys
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    order_statistics_in(keys, range)
}

/// [`order_statistics`] of keys whose least and greatest are `range`.
fn order_statistics_in(keys: &mut [i64], range: (i64, i64)) -> impl Fn(usize) -> i64 + '_ {
    let ranks: Vec<usize> = percentile_ranks(keys.len())
        .iter()
        .flat_map(|&(lo, hi, _)| [lo, hi])
        .collect();
    order_statistics_at(keys, range, ranks)
}

/// [`order_statistics_in`] for the ranks `ranks` (each below `keys.len()`): the returned
/// function gives the key of each of them.
fn order_statistics_at(
    keys: &mut [i64],
    range: (i64, i64),
    mut ranks: Vec<usize>,
) -> impl Fn(usize) -> i64 + '_ {
    let n = keys.len();
    ranks.sort_unstable();
    ranks.dedup();
    let found = if n >= BUCKETED_FROM {
        bucketed_select(keys, range, &ranks)
    } else {
        None
    };
    let found = found.unwrap_or_else(|| {
        multi_select(keys, &ranks, 0);
        ranks.iter().map(|&r| keys[r]).collect()
    });
    move |r: usize| ranks.binary_search(&r).map_or(keys[r], |i| found[i])
}

/// From this many values on, [`bucketed_select`] finds order statistics.
const BUCKETED_FROM: usize = 1024;

/// Buckets of [`bucketed_select`]: at most this many.
const BUCKET_BITS: u32 = 11;

/// The keys at `ranks` (sorted, distinct) of `keys`, whose least and greatest are `low`
/// and `high`, found without reordering them all: one pass counts them in buckets of equal width by
/// key (so that a bucket holds keys of nearby order), and one gathers the keys of the
/// buckets that hold a wanted rank, among which those ranks are selected. `None` when
/// those buckets hold too many keys for this to pay (most keys in a few buckets).
fn bucketed_select(keys: &[i64], (low, high): (i64, i64), ranks: &[usize]) -> Option<Vec<i64>> {
    #[allow(clippy::cast_sign_loss)]
    let span = high.wrapping_sub(low) as u64;
    if span == 0 {
        return Some(vec![low; ranks.len()]);
    }
    let shift = (64 - span.leading_zeros()).saturating_sub(BUCKET_BITS);
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let bucket = |k: i64| (k.wrapping_sub(low) as u64 >> shift) as usize;
    let mut counts = vec![0u32; bucket(high) + 1];
    for &k in keys {
        counts[bucket(k)] += 1;
    }
    // The bucket of each rank, and how many keys lie in buckets below it.
    // The buckets that hold a wanted rank, and each rank's place among the keys of those
    // buckets once gathered: its place in its bucket plus the keys of earlier such buckets.
    let mut wanted = vec![false; counts.len()];
    let (mut below, mut gathered) = (0usize, 0usize);
    let mut local = Vec::with_capacity(ranks.len());
    let mut rest = ranks.iter().peekable();
    for (b, &count) in counts.iter().enumerate() {
        let end = below + count as usize;
        while let Some(&r) = rest.next_if(|&&r| r < end) {
            wanted[b] = true;
            local.push(r - below + gathered);
        }
        if wanted[b] {
            gathered += count as usize;
        }
        below = end;
    }
    if gathered > keys.len() / 4 {
        return None;
    }
    let mut picked = Vec::with_capacity(gathered);
    picked.extend(keys.iter().copied().filter(|&k| wanted[bucket(k)]));
    multi_select(&mut picked, &local, 0);
    Some(local.iter().map(|&i| picked[i]).collect())
}

/// The order of `f64::total_cmp` as integers: a < b exactly when key(a) < key(b).
fn order_key(v: f64) -> i64 {
    #[allow(clippy::cast_possible_wrap)]
    let bits = v.to_bits() as i64;
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    let flip = (((bits >> 63) as u64) >> 1) as i64;
    bits ^ flip
}

fn from_order_key(key: i64) -> f64 {
    #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
    let flip = (((key >> 63) as u64) >> 1) as i64;
    #[allow(clippy::cast_sign_loss)]
    f64::from_bits((key ^ flip) as u64)
}

/// Places the order statistics at `ranks` (sorted, relative to the whole slice starting at
/// `base`) into their sorted positions.
fn multi_select(values: &mut [i64], ranks: &[usize], base: usize) {
    if ranks.is_empty() || values.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let r = ranks[mid] - base;
    values.select_nth_unstable(r);
    let (left, rest) = values.split_at_mut(r);
    multi_select(left, &ranks[..mid], base);
    multi_select(&mut rest[1..], &ranks[mid + 1..], base + r + 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values one by one, as many times as their count.
    fn expand(weighted: &[(f64, u64)]) -> Vec<f64> {
        weighted
            .iter()
            .flat_map(|&(v, c)| std::iter::repeat_n(v, usize::try_from(c).expect("small")))
            .collect()
    }

    fn check_against_expanded(weighted: &[(f64, u64)]) {
        let want = summary(&expand(weighted));
        let got = weighted_summary(&mut weighted.to_vec());
        for k in 1..6 {
            assert_eq!(got[k].to_bits(), want[k].to_bits(), "{weighted:?} stat {k}");
        }
        assert!(
            (got[0] - want[0]).abs() <= 1e-13 * want[0].abs().max(1e-300),
            "{weighted:?} mean {} vs {}",
            got[0],
            want[0]
        );
    }

    #[test]
    fn weighted_summary_has_the_percentiles_of_the_values_one_by_one() {
        // 1, 2, 2, 2, 5 (out of order, one value given twice, a NaN and a zero count):
        // h = 4p; p25 at h = 1 is 2, p5 at h = 0.2 is 1 + 0.2 · (2 − 1) = 1.2.
        let mut v = vec![
            (2.0, 2),
            (5.0, 1),
            (f64::NAN, 7),
            (1.0, 1),
            (3.0, 0),
            (2.0, 1),
        ];
        let got = weighted_summary(&mut v);
        assert_eq!(got[1], 1.2);
        assert_eq!(got[2], 2.0);
        assert_eq!(got[3], 2.0);
        assert_eq!(got[4], 2.0);
        // p95 at h = 3.8: 2 + 0.8 · (5 − 2) = 4.4 up to rounding.
        assert!((got[5] - 4.4).abs() < 1e-12);
        assert!((got[0] - 12.0 / 5.0).abs() < 1e-15);
        check_against_expanded(&[(2.0, 2), (5.0, 1), (1.0, 1), (2.0, 1)]);
        check_against_expanded(&[(-0.5, 3), (0.0, 1), (1e-9, 9), (0.25, 4), (-3.0, 1)]);
        check_against_expanded(&[(7.0, 1)]);
    }

    #[test]
    fn weighted_summary_of_one_value_is_that_value_exactly() {
        // 0.1 · 3 / 3 is not 0.1 in floating point; the mean must still be 0.1.
        for count in [1, 3, 10_000] {
            assert_eq!(weighted_summary(&mut vec![(0.1, count)]), [0.1; 6]);
        }
        assert!(
            weighted_summary(&mut vec![(f64::NAN, 4)])
                .iter()
                .all(|v| v.is_nan())
        );
        assert!(weighted_summary(&mut Vec::new()).iter().all(|v| v.is_nan()));
    }

    proptest::proptest! {
        #[test]
        fn weighted_summary_matches_every_value_summary(
            values in proptest::collection::vec((-4i32..40, 0u64..30), 1..25)
        ) {
            let weighted: Vec<(f64, u64)> =
                values.iter().map(|&(v, c)| (f64::from(v) / 8.0, c)).collect();
            if weighted.iter().any(|w| w.1 > 0) {
                check_against_expanded(&weighted);
            }
        }
    }

    /// The keys at every percentile rank, by sorting.
    fn ranks_by_sorting(keys: &[i64]) -> Vec<(usize, i64)> {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        percentile_ranks(keys.len())
            .iter()
            .flat_map(|&(lo, hi, _)| [(lo, sorted[lo]), (hi, sorted[hi])])
            .collect()
    }

    fn check_order_statistics(keys: &[i64]) {
        let expected = ranks_by_sorting(keys);
        let mut work = keys.to_vec();
        let key_at = order_statistics(&mut work);
        for (rank, key) in expected {
            assert_eq!(key_at(rank), key, "rank {rank} of {}", keys.len());
        }
    }

    proptest::proptest! {
        #[test]
        fn order_statistics_are_those_of_the_sorted_keys(
            values in proptest::collection::vec(-1.0e6f64..1.0e6, 1..3000),
            repeat in 1usize..40,
            tail in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(f64::INFINITY),
                proptest::strategy::Just(f64::NEG_INFINITY),
                proptest::strategy::Just(-0.0),
                proptest::strategy::Just(0.0),
                proptest::strategy::Just(f64::MAX),
                proptest::strategy::Just(5e-324),
            ], 0..5),
        ) {
            // Few distinct values when `repeat` is large, extremes mixed in at the end.
            let keys: Vec<i64> = values
                .iter()
                .map(|&v| (v / repeat as f64).round() * repeat as f64)
                .chain(tail)
                .map(order_key)
                .collect();
            check_order_statistics(&keys);
        }
    }

    #[test]
    fn order_statistics_of_equal_or_clustered_keys_are_exact() {
        // All equal; all but one equal (one bucket holds nearly all keys); two clusters
        // far apart; lognormal-like spread over many magnitudes.
        let n = 5000;
        let equal = vec![order_key(2.5); n];
        let mut outlier = vec![order_key(1.0); n];
        outlier[17] = order_key(1e300);
        let clusters: Vec<i64> = (0..n)
            .map(|i| {
                order_key(if i % 3 == 0 {
                    1e-9 * i as f64
                } else {
                    1e9 + i as f64
                })
            })
            .collect();
        let spread: Vec<i64> = (0..n)
            .map(|i| order_key(((i * 7919 % n) as f64 / 250.0 - 10.0).exp()))
            .collect();
        for keys in [equal, outlier, clusters, spread] {
            check_order_statistics(&keys);
        }
    }

    fn flagship() -> (Model, Plan) {
        crate::metrics::tests::bundled("pak-rus-mous-2024.toml")
    }

    /// `runs` runs from `seed`, every series, within the default budget.
    fn options(runs: u32, seed: u64) -> Options {
        Options {
            runs,
            seed,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            only: None,
        }
    }

    #[test]
    fn series_fixed_by_events_give_the_same_summaries_from_every_run() {
        let (model, plan) = flagship();
        let selected: Vec<usize> = (0..plan.keys.len()).step_by(7).collect();
        let fixed = selected
            .iter()
            .filter(|&&k| plan.fixed_by_events(&plan.keys[k]))
            .count();
        assert!(
            fixed > 50 && fixed < selected.len(),
            "{fixed} of {}",
            selected.len()
        );
        let options = options(200, 11);
        let by_state = summarise_with(&model, &plan, &selected, &options, &Silent, Shortcuts::ALL)
            .expect("runs");
        // No room to count strengths: every series from every run's values.
        let by_run =
            summarise_with(&model, &plan, &selected, &options, &Silent, PLAIN).expect("runs");
        let years = model.scenario.year_count();
        let mut differ = 0;
        for k in 0..6 {
            for (cell, (a, b)) in by_state[k].iter().zip(&by_run[k]).enumerate() {
                let key = plan.keys[selected[cell / years]];
                if !plan.fixed_by_events(&key) {
                    assert_eq!(a.to_bits(), b.to_bits(), "{key:?} stat {k}");
                    continue;
                }
                assert_eq!(a.is_nan(), b.is_nan(), "{key:?} stat {k}");
                if !a.is_nan() {
                    assert!(
                        (a - b).abs() <= 1e-13 * b.abs(),
                        "{key:?} stat {k}: {a} vs {b}"
                    );
                    differ += usize::from(a.to_bits() != b.to_bits());
                }
            }
        }
        // The two ways really differ (in the last bits), so both were taken.
        assert!(differ > 0);
    }

    /// Every series from every run's simulated values.
    const PLAIN: Shortcuts = Shortcuts {
        twins: false,
        tally_bytes: 0,
        by_level: false,
        by_market: false,
        derive: false,
        by_year: false,
        cost_bytes: 0,
    };

    #[test]
    fn summaries_a_year_at_a_time_are_those_of_runs_simulated_in_full() {
        let (model, plan) = flagship();
        let selected: Vec<usize> = (0..plan.keys.len()).collect();
        let with = |shortcuts| {
            summarise_with(
                &model,
                &plan,
                &selected,
                &options(203, 5),
                &Silent,
                shortcuts,
            )
            .expect("runs")
        };
        let by_year = with(Shortcuts::ALL);
        let simulated = with(Shortcuts {
            by_year: false,
            ..Shortcuts::ALL
        });
        // Each run computing its own trade costs, as when the distinct ones do not fit.
        let own_costs = with(Shortcuts {
            cost_bytes: 0,
            ..Shortcuts::ALL
        });
        let years = model.scenario.year_count();
        let mut compared = 0;
        for (k, stat) in by_year.iter().enumerate() {
            for (cell, a) in stat.iter().enumerate() {
                let key = plan.keys[cell / years];
                let (b, c) = (simulated[k][cell], own_costs[k][cell]);
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{key:?} year {} stat {k}",
                    cell % years
                );
                assert_eq!(
                    a.to_bits(),
                    c.to_bits(),
                    "{key:?} year {} stat {k}",
                    cell % years
                );
                compared += usize::from(!a.is_nan());
            }
        }
        assert!(compared > 6 * 2000 * (years - 1), "{compared}");
    }

    #[test]
    fn every_way_together_gives_the_summaries_of_every_run_bit_for_bit() {
        let (model, plan) = flagship();
        let selected: Vec<usize> = (0..plan.keys.len()).collect();
        let options = options(301, 11);
        // The series no shortcut of one market or of the events takes are derived: the
        // all-sector ones from the pair totals, the effective numbers from the HHIs.
        let by_run: Vec<usize> = selected
            .iter()
            .copied()
            .filter(|&k| {
                !plan.fixed_by_events(&plan.keys[k])
                    && plan.of_one_market(&model, &plan.keys[k]).is_none()
            })
            .collect();
        let years = model.scenario.year_count();
        let d = Derivation::new(
            &model,
            &plan,
            &selected,
            &by_run,
            301,
            years - 1,
            DEFAULT_MEMORY_BUDGET,
        )
        .expect("the flagship's series derive");
        assert!(d.from_pairs.len() > 200, "{}", d.from_pairs.len());
        assert_eq!(d.reciprocal.len(), 60);
        assert!(d.held.len() < by_run.len() / 2 + 10, "{}", d.held.len());
        let fast = summarise_with(&model, &plan, &selected, &options, &Silent, Shortcuts::ALL)
            .expect("runs");
        let plain =
            summarise_with(&model, &plan, &selected, &options, &Silent, PLAIN).expect("runs");
        // Series the events fix are summarised over distinct strengths, which differs in
        // the last bits; their own test compares them.
        for k in 0..6 {
            for (cell, (a, b)) in fast[k].iter().zip(&plain[k]).enumerate() {
                if plan.fixed_by_events(&plan.keys[cell / years]) {
                    continue;
                }
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{:?} year {} stat {k}",
                    plan.keys[cell / years],
                    cell % years
                );
            }
        }
        // A budget too small for the held series of every year at once: the derivation
        // can still go a year at a time, beside the recorded events and levels.
        let small = d.held.len() * (years - 1) * 301 * 8;
        let tight = Derivation::new(&model, &plan, &selected, &by_run, 301, years - 1, small)
            .expect("derives");
        assert!(!tight.whole_fits);
        let market = selected
            .iter()
            .filter(|&&k| {
                plan.of_one_market(&model, &plan.keys[k])
                    .is_some_and(|one| !model.market_untouched(one.market))
            })
            .count();
        let year_at_a_time = Recorded::bytes(&model, 301) + tight.year_len(market, 301) * 8;
        assert!(year_at_a_time < small, "{year_at_a_time} {small}");
        let options = Options {
            memory_budget: year_at_a_time,
            ..options
        };
        let fast = summarise_with(&model, &plan, &selected, &options, &Silent, Shortcuts::ALL)
            .expect("runs");
        for k in 0..6 {
            for (cell, (a, b)) in fast[k].iter().zip(&plain[k]).enumerate() {
                if plan.fixed_by_events(&plan.keys[cell / years]) {
                    continue;
                }
                assert_eq!(a.to_bits(), b.to_bits(), "{:?}", plan.keys[cell / years]);
            }
        }
    }

    /// Records every progress report.
    struct Reports(std::sync::Mutex<Vec<(u64, u64)>>);

    impl Progress for Reports {
        fn advance(&self, done: u64, total: u64) {
            self.0.lock().expect("not poisoned").push((done, total));
        }
    }

    #[test]
    fn progress_only_moves_forward_and_ends_at_its_total() {
        let (model, plan) = flagship();
        let options = options(200, 5);
        let reports = Reports(std::sync::Mutex::new(Vec::new()));
        run(&model, &plan, &options, &reports).expect("runs");
        let reports = reports.0.into_inner().expect("not poisoned");
        assert!(reports.len() > 10, "{}", reports.len());
        let fractions: Vec<f64> = reports
            .iter()
            .map(|&(done, total)| {
                assert!(done <= total, "{done} of {total}");
                done as f64 / total as f64
            })
            .collect();
        // Reports come from two threads, so neighbours may swap; the fraction done never
        // falls back by more than what the other thread had not reported yet.
        for pair in fractions.windows(2) {
            assert!(pair[1] >= pair[0] - 0.05, "{pair:?}");
        }
        assert_eq!(reports.last().map(|&(d, t)| d == t), Some(true));
        // The derived series' passes are counted: progress is not done after the held
        // pass, which is the first half.
        let halfway = fractions.iter().filter(|&&f| f > 0.4 && f < 0.9).count();
        assert!(halfway > 2, "{fractions:?}");
    }

    #[test]
    fn tiles_find_each_runs_value_where_summarise_cells_put_it() {
        // 150 runs (two tiles of 64 and a part) and 70 cells (two groups of 32 and a part).
        let (width, runs) = (70, 150);
        let mut buffer = Vec::new();
        let counter = Counter::new(&Silent, 0);
        let fill = |(): &mut (), r: usize, row: &mut [f64]| {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (r * 1000 + c) as f64;
            }
            Ok(())
        };
        let summarise = |_: usize, _: &mut Column| ();
        summarise_cells(
            width,
            runs,
            &mut buffer,
            &|| (),
            &fill,
            &no_finish,
            &summarise,
            &counter,
        )
        .expect("fills");
        let tiles = Tiles::new(width, runs);
        for r in 0..runs {
            for c in 0..width {
                assert_eq!(buffer[tiles.run(r) + tiles.cell(c)], (r * 1000 + c) as f64);
            }
        }
    }

    /// Type-7 percentiles and mean of `values`, by sorting them all (SPEC §6).
    fn sorted_summary(values: &[f64]) -> [f64; 6] {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let n = sorted.len();
        if n == 0 {
            return [f64::NAN; 6];
        }
        let mean = sorted.iter().sum::<f64>() / n as f64;
        sorted.sort_by(f64::total_cmp);
        let p = [0.05, 0.25, 0.5, 0.75, 0.95].map(|p| {
            let h = (n - 1) as f64 * p;
            let lo = h.floor() as usize;
            let frac = h - lo as f64;
            let hi = (lo + 1).min(n - 1);
            if frac == 0.0 {
                sorted[lo]
            } else {
                sorted[lo] + frac * (sorted[hi] - sorted[lo])
            }
        });
        [mean, p[0], p[1], p[2], p[3], p[4]]
    }

    /// Both summaries of [`Column::summary_and_reciprocal`] against summaries by sorting,
    /// bit for bit: of the values, and of each run's reciprocal 1/v.
    fn check_reciprocal(values: &[f64]) {
        let (own, reciprocal) = Column::of(values).summary_and_reciprocal();
        let reciprocals: Vec<f64> = values.iter().map(|v| 1.0 / v).collect();
        assert_eq!(
            own.map(f64::to_bits),
            sorted_summary(values).map(f64::to_bits)
        );
        assert_eq!(
            reciprocal.map(f64::to_bits),
            sorted_summary(&reciprocals).map(f64::to_bits),
            "{reciprocal:?} {:?}",
            sorted_summary(&reciprocals)
        );
    }

    proptest::proptest! {
        #[test]
        fn reciprocals_summarised_from_their_values_match_their_own_summary(
            values in proptest::collection::vec((0u8..8, 1u32..40, 1e-3f64..1e3), 1..2500)
        ) {
            // Many ties on a coarse grid, values in between, and runs without a value.
            let values: Vec<f64> = values
                .iter()
                .map(|&(kind, step, x)| match kind {
                    0..=2 => f64::from(step) / 16.0,
                    3 => f64::NAN,
                    _ => x,
                })
                .collect();
            check_reciprocal(&values);
        }
    }

    #[test]
    fn a_series_and_its_twin_are_equal_run_by_run_and_summarised_once_for_both() {
        let (model, plan) = flagship();
        let years = model.scenario.year_count();
        let position = |key: &SeriesKey| plan.keys.iter().position(|k| k == key);
        let twins: Vec<(usize, usize)> = (0..plan.keys.len())
            .filter_map(|k| Some((k, position(&plan.twin_of(&plan.keys[k])?)?)))
            .collect();
        // Three of the flagship's blocs have one member: China, the Gulf and Russia.
        // Each of the 10 regions but that member imports from it in some sectors.
        assert!(twins.len() >= 3 * 9, "{}", twins.len());
        // The identity holds in the plain evaluation of every series, year by year.
        let (path, _) = as_written_path(&model, &plan).expect("path");
        for &(k, twin) in &twins {
            for t in 0..years {
                let (a, b) = (path[k * years + t], path[twin * years + t]);
                assert_eq!(a.to_bits(), b.to_bits(), "{:?} year {t}", plan.keys[k]);
            }
        }
        // Summarised once, each twin gets the summaries it gets on its own.
        let selected: Vec<usize> = (0..plan.keys.len()).collect();
        let options = options(203, 5);
        let once = summarise_with(&model, &plan, &selected, &options, &Silent, Shortcuts::ALL)
            .expect("runs");
        let apart = Shortcuts {
            twins: false,
            ..Shortcuts::ALL
        };
        let alone =
            summarise_with(&model, &plan, &selected, &options, &Silent, apart).expect("runs");
        for k in 0..6 {
            for (cell, (a, b)) in once[k].iter().zip(&alone[k]).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{:?}", plan.keys[cell / years]);
            }
        }
    }

    #[test]
    fn a_constant_column_is_summarised_as_its_copies_are_bit_for_bit() {
        for v in [0.1, -0.0, 0.0, -3.7, 1e300, 5e-324, 142_630.0, f64::NAN] {
            for n in [0, 1, 2, 7, 1000, 2501] {
                let want = summary(&vec![v; n]);
                let got = constant_summary(v, n);
                let same = want
                    .iter()
                    .zip(&got)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{v} × {n}: {want:?} against {got:?}");
            }
        }
        // The mean is the sum in run order: 0.1 added 1000 times is not exactly 100.
        let mean = constant_summary(0.1, 1000)[0];
        assert_ne!(mean, 0.1);
        assert!((mean - 0.1).abs() < 1e-13, "{mean}");
    }

    #[test]
    fn reciprocals_of_values_not_above_zero_are_summarised_one_by_one() {
        check_reciprocal(&[0.5, 0.0, -2.0, 4.0, 0.25]);
        check_reciprocal(&[-0.0, 1.0, 3.0]);
        check_reciprocal(&[f64::NAN, 2.0, f64::NAN]);
        let (own, reciprocal) = Column::of(&[f64::NAN]).summary_and_reciprocal();
        assert!(own.iter().chain(&reciprocal).all(|v| v.is_nan()));
        // Ranks from both ends: the 5th percentile of 1/v is 1 over the 95th of v.
        let values: Vec<f64> = (1..=21).map(f64::from).collect();
        let (own, reciprocal) = Column::of(&values).summary_and_reciprocal();
        assert_eq!(own[5], 20.0);
        assert_eq!(reciprocal[1], 1.0 / 20.0);
        assert_eq!(reciprocal[3], 1.0 / 11.0);
    }

    #[test]
    fn gathered_columns_give_each_cells_summary_in_a_reused_buffer() {
        // 1,100 runs (bucketed selection, and a last block of runs part-filled) and 70
        // cells (a last group part-filled), in a buffer left dirty by a wider pass.
        let (width, runs) = (70, 1100);
        let value = |r: usize, c: usize| -> f64 {
            match c {
                // No value in any run, or in some runs only.
                0 => f64::NAN,
                1 if r.is_multiple_of(3) => f64::NAN,
                // The same value, and signed zeros.
                2 => 7.25,
                3 => {
                    if r.is_multiple_of(2) {
                        0.0
                    } else {
                        -0.0
                    }
                }
                // Negative zeros between runs without a value: their mean is −0.
                4 if r.is_multiple_of(2) => f64::NAN,
                4 => -0.0,
                // In a group whose other cells have a value in every run: one run without
                // a value late on, and none from some run on.
                40 if r == 1050 => f64::NAN,
                41 if r >= 700 => f64::NAN,
                // Values over many magnitudes, of both signs.
                _ => {
                    let x = ((r * 7919 + c * 104_729) % 10_007) as f64 - 5003.0;
                    x * 10f64.powi((r % 9) as i32 - 4)
                }
            }
        };
        let counter = Counter::new(&Silent, 0);
        let mut buffer = Vec::new();
        let garbage = |(): &mut (), r: usize, row: &mut [f64]| {
            for (c, v) in row.iter_mut().enumerate() {
                *v = if (r + c).is_multiple_of(2) {
                    f64::INFINITY
                } else {
                    -1e300
                };
            }
            Ok(())
        };
        summarise_cells(
            3 * width,
            runs,
            &mut buffer,
            &|| (),
            &garbage,
            &no_finish,
            &|_, _: &mut Column| (),
            &counter,
        )
        .expect("fills");
        let fill = |(): &mut (), r: usize, row: &mut [f64]| {
            for (c, v) in row.iter_mut().enumerate() {
                *v = value(r, c);
            }
            Ok(())
        };
        let summarise = |_: usize, column: &mut Column| column.summary();
        let got = summarise_cells(
            width,
            runs,
            &mut buffer,
            &|| (),
            &fill,
            &no_finish,
            &summarise,
            &counter,
        )
        .expect("fills");
        for (c, summary) in got.iter().enumerate() {
            let values: Vec<f64> = (0..runs).map(|r| value(r, c)).collect();
            let want = sorted_summary(&values);
            for k in 0..6 {
                assert_eq!(summary[k].to_bits(), want[k].to_bits(), "cell {c} stat {k}");
            }
        }
        assert!(got[0][0].is_nan());
        assert_eq!(got[2], [7.25; 6]);
        assert!(got[4][0] == 0.0 && got[4][0].is_sign_negative());
    }

    /// Options for 301 runs with `seed`, the markets of the `selected` series (each of
    /// one market) and their summaries from every run's simulated values.
    fn one_market_case(
        model: &Model,
        plan: &Plan,
        selected: &[usize],
        seed: u64,
    ) -> (Options, Vec<OneMarket>, [Vec<f64>; 6]) {
        let options = Options {
            runs: 301,
            seed,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            only: None,
        };
        let series = selected
            .iter()
            .filter_map(|&k| plan.of_one_market(model, &plan.keys[k]))
            .collect();
        let plain = summarise_with(model, plan, selected, &options, &Silent, PLAIN).expect("runs");
        (options, series, plain)
    }

    /// [`Plan::of_one_market`] where the market's demand level alone fixes the series.
    fn fixed_by_level(plan: &Plan, model: &Model, key: &SeriesKey) -> Option<OneMarket> {
        plan.of_one_market(model, key)
            .filter(|one| model.market_untouched(one.market))
    }

    #[test]
    fn series_of_one_touched_market_give_the_summaries_of_every_run_bit_for_bit() {
        let (model, plan) = flagship();
        // The flows, imports, creation and diversion of the markets the MoUs touch.
        let selected: Vec<usize> = (0..plan.keys.len())
            .filter(|&k| {
                plan.of_one_market(&model, &plan.keys[k])
                    .is_some_and(|one| !model.market_untouched(one.market))
            })
            .collect();
        assert!(selected.len() > 100, "{}", selected.len());
        let (options, series, by_run) = one_market_case(&model, &plan, &selected, 9);
        let counter = Counter::new(&Silent, 0);
        let mut buffer = Vec::new();
        let by_market =
            summarise_by_market(&model, &plan, &series, &options, &counter, &mut buffer)
                .expect("runs")
                .expect("finite values");
        let years = model.scenario.year_count();
        let mut varying = 0;
        for (cell, summary) in by_market.iter().enumerate() {
            let key = plan.keys[selected[cell / years]];
            if cell % years == 0 {
                // The base year is left to the caller.
                assert!(summary.iter().all(|v| v.is_nan()), "{key:?}");
                continue;
            }
            for (k, v) in summary.iter().enumerate() {
                assert_eq!(v.to_bits(), by_run[k][cell].to_bits(), "{key:?} stat {k}");
            }
            varying += usize::from(summary[1] < summary[5]);
        }
        assert!(varying > by_market.len() / 2, "{varying}");
        // Taken as one of the ways, base year included, it gives the same summaries.
        let shortcut = Shortcuts {
            by_market: true,
            ..PLAIN
        };
        let whole =
            summarise_with(&model, &plan, &selected, &options, &Silent, shortcut).expect("runs");
        assert_eq!(
            whole.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
            by_run.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        );
        // A budget for one series at a time gives the same summaries.
        let small = Options {
            memory_budget: 301 * (years - 1) * 8,
            ..options
        };
        let grouped = summarise_by_market(&model, &plan, &series, &small, &counter, &mut buffer)
            .expect("runs")
            .expect("finite values");
        assert_eq!(
            grouped
                .iter()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            by_market
                .iter()
                .flatten()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_markets_no_enabled_event_touches_are_fixed_by_their_level() {
        let (model, plan) = flagship();
        let s = &model.scenario;
        let id = |r: &str| s.regions.iter().position(|x| x.id == r).expect("region");
        let agri = s
            .sectors
            .iter()
            .position(|x| x.id == "agri")
            .expect("sector");
        let flow = |from: &str, to: &str| SeriesKey {
            metric: crate::metrics::Metric::Flow,
            region: id(from),
            partner: crate::metrics::Partner::Region(id(to)),
            sector: SectorSel::One(agri),
        };
        // The agriculture MoU changes Pakistan's and Russia's purchases of food, and so
        // every supplier's share there, Pakistan's own included.
        for (from, to) in [
            ("RUS", "PAK"),
            ("CHN", "PAK"),
            ("PAK", "PAK"),
            ("PAK", "RUS"),
        ] {
            assert_eq!(
                fixed_by_level(&plan, &model, &flow(from, to)),
                None,
                "{from}→{to}"
            );
        }
        // Nothing touches China's food market.
        let by = fixed_by_level(&plan, &model, &flow("RUS", "CHN")).expect("untouched");
        let market = &model.structure.markets[by.market];
        assert_eq!((market.importer, market.sector), (id("CHN"), agri));
        // All-sector flows and exporter-side series depend on several markets.
        let all = SeriesKey {
            sector: SectorSel::All,
            ..flow("RUS", "CHN")
        };
        assert_eq!(fixed_by_level(&plan, &model, &all), None);
        let exports = SeriesKey {
            metric: crate::metrics::Metric::Exports,
            partner: crate::metrics::Partner::None,
            ..flow("RUS", "CHN")
        };
        assert_eq!(fixed_by_level(&plan, &model, &exports), None);
    }

    #[test]
    fn series_fixed_by_a_market_level_give_the_summaries_of_every_run_bit_for_bit() {
        let (model, plan) = flagship();
        let selected: Vec<usize> = (0..plan.keys.len())
            .filter(|&k| fixed_by_level(&plan, &model, &plan.keys[k]).is_some())
            .step_by(3)
            .collect();
        assert!(selected.len() > 100, "{}", selected.len());
        // An odd number of runs, so the percentiles interpolate between two ranks.
        let (options, series, by_run) = one_market_case(&model, &plan, &selected, 5);
        let counter = Counter::new(&Silent, 0);
        let mut buffer = Vec::new();
        let by_level = summarise_by_level(
            &model,
            &plan,
            &series,
            &options,
            None,
            &counter,
            &mut buffer,
        )
        .expect("runs")
        .expect("finite values");
        let years = model.scenario.year_count();
        let mut varying = 0;
        for (cell, summary) in by_level.iter().enumerate() {
            let key = plan.keys[selected[cell / years]];
            for (k, v) in summary.iter().enumerate() {
                assert_eq!(v.to_bits(), by_run[k][cell].to_bits(), "{key:?} stat {k}");
            }
            varying += usize::from(summary[1] < summary[5]);
        }
        // Demand noise spreads most of them: the percentiles are not one value.
        assert!(varying > by_level.len() / 2, "{varying}");
        // A budget for one market's levels at a time gives the same summaries.
        let small = Options {
            memory_budget: 301 * years * 8,
            ..options
        };
        let grouped =
            summarise_by_level(&model, &plan, &series, &small, None, &counter, &mut buffer)
                .expect("runs")
                .expect("finite values");
        assert_eq!(grouped, by_level);
    }
}
