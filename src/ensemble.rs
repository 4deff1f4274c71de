//! The as-written path and Monte Carlo summaries of every series. SPEC §6.
//!
//! Run m draws its numbers from (seed, m) alone, so summaries do not depend on the
//! number of threads. Percentiles are exact (type 7, NumPy's default): every run's value
//! of a series is kept while that series is summarised. To bound memory, series are
//! summarised in chunks; each chunk re-simulates the runs, which is cheap and exactly
//! reproducible because a run is a pure function of (seed, index).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use crate::metrics::{Plan, Scratch, SeriesKey};
use crate::model::{Draw, Model, ModelError};

/// The statistics reported for each series and year, in CSV order.
pub const STATS: [&str; 6] = ["mean", "p5", "p25", "p50", "p75", "p95"];
const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// Memory allowed for run values held at once while summarising (bytes). With 384 MiB,
/// 1,000 runs of every series of the flagship fit in one pass, and 10,000 runs stay under
/// 512 MB peak.
pub const DEFAULT_MEMORY_BUDGET: usize = 384 * 1024 * 1024;

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
    let runs = options.runs as usize;
    let t_count = model.scenario.year_count();
    let per_series = runs * t_count;
    let chunk_series =
        (options.memory_budget / 8 / per_series.max(1)).clamp(1, selected.len().max(1));
    let chunks: Vec<&[usize]> = selected.chunks(chunk_series).collect();
    let total_work = (chunks.len() * runs) as u64;
    let done = AtomicU64::new(0);
    let mut stats: [Vec<f64>; 6] =
        std::array::from_fn(|_| vec![f64::NAN; selected.len() * t_count]);
    let mut offset = 0;
    // One buffer for every chunk: allocating and clearing it per chunk costs a serial
    // pass over the whole budget each time. Every cell is written by its run (the
    // simulation covers every year and the mask every series of the chunk).
    let mut buffer = vec![f64::NAN; runs * chunk_series.min(selected.len()) * t_count];
    for chunk in chunks {
        let mask = plan.mask_of(chunk);
        let width = chunk.len() * t_count;
        // values[run * width + c * t_count + t]
        let values = &mut buffer[..runs * width];
        values.par_chunks_mut(width).enumerate().try_for_each_init(
            || (Scratch::default(), vec![0.0; plan.keys.len()]),
            |(scratch, year_values), (m, row)| -> Result<(), EnsembleError> {
                if progress.cancelled() {
                    return Err(EnsembleError::Cancelled);
                }
                let draw =
                    Draw::monte_carlo(&model.scenario, &model.events, options.seed, m as u64);
                let stop = || progress.cancelled();
                let sink = &mut |state: &crate::model::YearState<'_>| {
                    plan.evaluate_metrics(model, state, scratch, year_values, None, mask);
                    for (c, &series) in chunk.iter().enumerate() {
                        row[c * t_count + state.t] = year_values[series];
                    }
                };
                match model.simulate_until(&draw, sink, &stop) {
                    Ok(()) => {}
                    Err(ModelError::Stopped) => return Err(EnsembleError::Cancelled),
                    Err(e) => return Err(e.into()),
                }
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d.is_multiple_of(64) || d == total_work {
                    progress.advance(d, total_work);
                }
                Ok(())
            },
        )?;
        // Read the run-major buffer a few cells at a time, so each run contributes one
        // cache line per group instead of one miss per cell.
        const GROUP: usize = 8;
        let summaries: Vec<[f64; 6]> = (0..width.div_ceil(GROUP))
            .into_par_iter()
            .map_init(
                || {
                    (0..GROUP)
                        .map(|_| Vec::with_capacity(runs))
                        .collect::<Vec<_>>()
                },
                |columns, g| {
                    let c0 = g * GROUP;
                    let c1 = (c0 + GROUP).min(width);
                    for col in columns.iter_mut() {
                        col.clear();
                    }
                    for m in 0..runs {
                        let row = &values[m * width + c0..m * width + c1];
                        for (col, &v) in columns.iter_mut().zip(row) {
                            if !v.is_nan() {
                                col.push(v);
                            }
                        }
                    }
                    columns[..c1 - c0]
                        .iter_mut()
                        .map(|col| summary(col))
                        .collect::<Vec<_>>()
                },
            )
            .flatten_iter()
            .collect();
        for (cell, s) in summaries.into_iter().enumerate() {
            for (k, v) in s.into_iter().enumerate() {
                stats[k][offset + cell] = v;
            }
        }
        offset += width;
    }
    progress.advance(total_work, total_work);
    Ok(stats)
}

/// Mean and type-7 percentiles of the values (in run order); NaN when empty.
pub fn summary(values: &mut [f64]) -> [f64; 6] {
    let n = values.len();
    if n == 0 {
        return [f64::NAN; 6];
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut ranks: Vec<usize> = Vec::with_capacity(10);
    for p in PERCENTILES {
        let h = (n - 1) as f64 * p;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let lo = h.floor() as usize;
        ranks.push(lo);
        ranks.push((lo + 1).min(n - 1));
    }
    ranks.sort_unstable();
    ranks.dedup();
    multi_select(values, &ranks, 0);
    let mut out = [mean, 0.0, 0.0, 0.0, 0.0, 0.0];
    for (slot, p) in out[1..].iter_mut().zip(PERCENTILES) {
        #[allow(clippy::cast_precision_loss)]
        let h = (n - 1) as f64 * p;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let frac = h - lo as f64;
        *slot = if frac == 0.0 {
            values[lo]
        } else {
            values[lo] + frac * (values[hi] - values[lo])
        };
    }
    out
}

/// Places the order statistics at `ranks` (sorted, relative to the whole slice starting at
/// `base`) into their sorted positions.
fn multi_select(values: &mut [f64], ranks: &[usize], base: usize) {
    if ranks.is_empty() || values.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let r = ranks[mid] - base;
    values.select_nth_unstable_by(r, f64::total_cmp);
    let (left, rest) = values.split_at_mut(r);
    multi_select(left, &ranks[..mid], base);
    multi_select(&mut rest[1..], &ranks[mid + 1..], base + r + 1);
}
