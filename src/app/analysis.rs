//! The work behind the analysis views: Shapley contributions of each event, one-at-a-time
//! sensitivity and parameter sweeps of the scenario in the editor. The numbers come from
//! [`crate::analysis`]; this module decides what to compute, runs it on a background
//! thread with progress and cancel, and keeps the last results on screen.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::analysis::sensitivity::{self, Report, Spread, Statistic};
use crate::analysis::shapley::{self, Explanation};
use crate::analysis::sweep::{self, Dimension, Sampling};
use crate::ensemble::{self, CancelFlag};
use crate::metrics::{Plan, SectorSel, SeriesKey};
use crate::model::Model;
use crate::scenario::params::{ParamValue, Target, ValueKind};
use crate::scenario::{EngineKind, Scenario};

use super::state::{AnalysisPrefs, SavedAxis, State, View};
use super::{Column, CorridorApp, OpenScenario};

/// Orderings sampled when a scenario has more events than are enumerated exactly (as
/// `corridor explain`).
const SHAPLEY_SAMPLES: usize = 2000;

/// What an analysis looks at: one series in one year of one revision of a scenario, in
/// one engine.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub path: PathBuf,
    pub revision: u64,
    pub engine: EngineKind,
    pub key: SeriesKey,
    pub t: usize,
    pub year: i32,
}

/// The scenario in the editor and the series of the pickers, or why there is none.
pub fn subject<'a>(
    docs: &'a [OpenScenario],
    columns: &[Column],
    state: &State,
) -> Result<(Subject, &'a Scenario), String> {
    let doc = state
        .selected
        .as_deref()
        .and_then(|p| docs.iter().find(|d| d.path == p))
        .ok_or("Select a scenario in the library to analyse it.")?;
    let scenario = doc
        .scenario
        .as_ref()
        .ok_or("This file has errors; fix them, then reload to analyse it.")?;
    let engine = columns
        .iter()
        .find(|c| c.spec.path == doc.path)
        .map_or(scenario.engine, |c| c.spec.engine);
    let p = state.pickers.resolve(scenario);
    Ok((
        Subject {
            path: doc.path.clone(),
            revision: doc.revision,
            engine,
            key: p.metric_key(),
            t: p.t,
            year: p.year,
        },
        scenario,
    ))
}

/// The series of `key` in a plan, or its all-sector series for metrics that exist only
/// for all sectors (as the "Any metric" view does).
fn find_series(plan: &Plan, key: SeriesKey) -> Option<(usize, SeriesKey)> {
    let all = SeriesKey {
        sector: SectorSel::All,
        ..key
    };
    [key, all]
        .into_iter()
        .find_map(|k| plan.keys.iter().position(|x| *x == k).map(|i| (i, k)))
}

/// Compiles the model of a scenario and finds the series of `subject` in it.
fn model_and_series(
    scenario: &Scenario,
    subject: &Subject,
) -> Result<(Model, Plan, usize, SeriesKey), String> {
    let model = Model::new(scenario, subject.engine).map_err(|e| e.to_string())?;
    let plan = Plan::new(&model);
    let (series, key) = find_series(&plan, subject.key).ok_or_else(|| {
        format!(
            "{} has no series {} in the {} engine (the region may not trade there, or the metric belongs to the other engine).",
            scenario.name,
            describe(scenario, &subject.key, subject.year),
            subject.engine.as_str()
        )
    })?;
    Ok((model, plan, series, key))
}

/// "import_share of PAK with RUS, all sectors, 2030".
pub fn describe(s: &Scenario, key: &SeriesKey, year: i32) -> String {
    let partner = match key.partner {
        crate::metrics::Partner::Top => " (top supplier)".to_string(),
        _ if key.partner_id(s).is_empty() => String::new(),
        _ => format!(" with {}", key.partner_id(s)),
    };
    let sector = match key.sector {
        SectorSel::All => "all sectors",
        SectorSel::One(k) => s.sectors[k].id.as_str(),
    };
    format!(
        "{} of {}{partner}, {sector}, {year}",
        key.metric.name(),
        s.regions[key.region].id
    )
}

/// Progress and cancellation of one analysis on its thread.
pub struct TaskProgress {
    done: AtomicU64,
    total: AtomicU64,
    cancel: CancelFlag,
    repaint: Option<egui::Context>,
}

impl TaskProgress {
    fn new(repaint: Option<egui::Context>) -> Self {
        Self {
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            cancel: CancelFlag::default(),
            repaint,
        }
    }

    /// Steps done and the total.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    pub fn fraction(&self) -> f32 {
        let (done, total) = self.counts();
        if total == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let f = done as f32 / total as f32;
        f
    }

    fn repaint(&self) {
        if let Some(ctx) = &self.repaint {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }

    /// One more step done (sweep points finish in any order).
    fn step(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.repaint();
    }
}

impl ensemble::Progress for TaskProgress {
    fn advance(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.repaint();
    }

    fn cancelled(&self) -> bool {
        self.cancel.cancelled()
    }
}

/// A computation on its thread.
pub struct Running<R> {
    pub request: R,
    pub progress: Arc<TaskProgress>,
    pub started: Instant,
}

/// How the last started computation ended when it brought no result.
#[derive(Clone, Debug, PartialEq)]
pub enum Ended {
    Cancelled { done: u64, total: u64 },
    Failed(String),
}

/// One kind of analysis: the newest result, the computation under way, and how the last
/// one ended.
pub struct Task<R, T> {
    pub result: Option<Finished<R, T>>,
    pub running: Option<Running<R>>,
    pub ended: Option<Ended>,
    /// What the last computation was started for.
    pub requested: Option<R>,
    receiver: Option<mpsc::Receiver<Result<T, String>>>,
}

pub struct Finished<R, T> {
    pub request: R,
    pub value: T,
    pub elapsed: Duration,
}

impl<R, T> Default for Task<R, T> {
    fn default() -> Self {
        Self {
            result: None,
            running: None,
            ended: None,
            requested: None,
            receiver: None,
        }
    }
}

impl<R: Clone, T: Send + 'static> Task<R, T> {
    fn start(
        &mut self,
        request: R,
        name: &str,
        repaint: Option<egui::Context>,
        work: impl FnOnce(&TaskProgress) -> Result<T, String> + Send + 'static,
    ) {
        self.cancel();
        self.ended = None;
        self.requested = Some(request.clone());
        let progress = Arc::new(TaskProgress::new(repaint.clone()));
        let (sender, receiver) = mpsc::channel();
        let worker_progress = Arc::clone(&progress);
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let result = work(&worker_progress);
                // Nobody listens any more when the computation was cancelled.
                let _ = sender.send(result);
                if let Some(ctx) = repaint {
                    ctx.request_repaint();
                }
            });
        match spawned {
            Ok(_) => {
                self.receiver = Some(receiver);
                self.running = Some(Running {
                    request,
                    progress,
                    started: Instant::now(),
                });
            }
            Err(e) => self.ended = Some(Ended::Failed(format!("could not start a thread: {e}"))),
        }
    }

    /// Asks the computation to stop and stops waiting for it.
    fn cancel(&mut self) {
        if let Some(r) = self.running.take() {
            r.progress.cancel.0.store(true, Ordering::Relaxed);
            let (done, total) = r.progress.counts();
            self.ended = Some(Ended::Cancelled { done, total });
        }
        self.receiver = None;
    }

    fn finish(&mut self, outcome: Result<Result<T, String>, ()>) {
        let Some(running) = self.running.take() else {
            return;
        };
        self.receiver = None;
        match outcome {
            Ok(Ok(value)) => {
                self.result = Some(Finished {
                    request: running.request,
                    value,
                    elapsed: running.started.elapsed(),
                });
            }
            Ok(Err(e)) => self.ended = Some(Ended::Failed(e)),
            Err(()) => {
                self.ended = Some(Ended::Failed("the computation stopped unexpectedly".into()));
            }
        }
    }

    /// Takes the result of a finished computation, without waiting.
    fn poll(&mut self) {
        let outcome = match self.receiver.as_ref().map(mpsc::Receiver::try_recv) {
            None | Some(Err(mpsc::TryRecvError::Empty)) => return,
            Some(Ok(result)) => Ok(result),
            Some(Err(mpsc::TryRecvError::Disconnected)) => Err(()),
        };
        self.finish(outcome);
    }

    /// Waits for the running computation to finish.
    fn wait(&mut self) {
        let outcome = match self.receiver.as_ref().map(mpsc::Receiver::recv) {
            None => return,
            Some(Ok(result)) => Ok(result),
            Some(Err(_)) => Err(()),
        };
        self.finish(outcome);
    }
}

/// The event contributions to one output.
pub struct Contributions {
    /// The series explained (all sectors when the metric has no per-sector series).
    pub key: SeriesKey,
    pub description: String,
    pub explanation: Explanation,
    /// Id, kind ("agreement" / "shock") and name of each contribution's event.
    pub events: Vec<(String, &'static str, String)>,
}

/// A sensitivity analysis and what it was asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivityRequest {
    pub subject: Subject,
    pub statistic: Statistic,
    pub spread: Spread,
}

pub struct Sensitivity {
    pub key: SeriesKey,
    pub description: String,
    pub report: Report,
    /// Runs behind a Monte Carlo statistic.
    pub runs: u32,
}

/// One swept parameter and its range.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub target: Target,
    pub from: f64,
    pub to: f64,
}

/// A sweep and what it was asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRequest {
    pub subject: Subject,
    pub axes: Vec<Axis>,
    pub steps: usize,
    pub runs: u32,
    pub statistic: Statistic,
}

/// The points of a sweep and their values, filled in while it runs.
pub struct SweepGrid {
    pub request: SweepRequest,
    pub description: String,
    /// The values of each swept parameter, in order.
    pub axes: Vec<Vec<ParamValue>>,
    /// Every point (grid order: the last parameter varies fastest).
    pub points: Vec<Vec<ParamValue>>,
    /// The output at each point; NaN until computed or when it has no value.
    pub values: Mutex<Vec<f64>>,
    /// Points that could not be computed, with the reason.
    pub failures: Mutex<Vec<(usize, String)>>,
}

impl SweepGrid {
    pub fn values(&self) -> Vec<f64> {
        self.values
            .lock()
            .map(|v| v.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn failures(&self) -> Vec<(usize, String)> {
        self.failures
            .lock()
            .map(|v| v.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// The choices of the analysis views.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// What the sensitivity reports: the path or a statistic over the scenario's runs.
    pub sensitivity_statistic: Statistic,
    /// Move each parameter by ± this percentage; `None` = across its typical range.
    pub sensitivity_pct: Option<f64>,
    pub sweep_axes: [Option<Axis>; 2],
    /// Values per swept parameter.
    pub sweep_steps: usize,
    /// Monte Carlo runs per sweep point; 0 = the as-written path.
    pub sweep_runs: u32,
    /// Statistic of the sweep's runs (index into [`ensemble::STATS`]).
    pub sweep_stat: usize,
}

/// The median among [`ensemble::STATS`].
pub const MEDIAN: usize = 3;
pub const DEFAULT_STEPS: usize = 11;
pub const MAX_STEPS: usize = 101;
/// The steps a sweep offers per parameter.
pub const SWEEP_STEPS: std::ops::RangeInclusive<usize> = 2..=MAX_STEPS;

impl Default for Settings {
    fn default() -> Self {
        Self {
            sensitivity_statistic: Statistic::Path,
            sensitivity_pct: None,
            sweep_axes: [None, None],
            sweep_steps: DEFAULT_STEPS,
            sweep_runs: 0,
            sweep_stat: MEDIAN,
        }
    }
}

/// Most Monte Carlo runs per sweep point.
pub const MAX_SWEEP_RUNS: u32 = 10_000;
/// The range of the sensitivity's ± percentage.
pub const SENSITIVITY_PCT: std::ops::RangeInclusive<f64> = 1.0..=100.0;

impl Settings {
    /// The settings as remembered across restarts.
    pub fn to_prefs(&self) -> AnalysisPrefs {
        AnalysisPrefs {
            sensitivity_stat: match self.sensitivity_statistic {
                Statistic::Path => None,
                Statistic::Stat(k) => Some(k),
            },
            sensitivity_pct: self.sensitivity_pct,
            sweep_axes: self
                .sweep_axes
                .iter()
                .map(|axis| {
                    axis.as_ref().map(|a| SavedAxis {
                        path: a.target.to_string(),
                        from: a.from,
                        to: a.to,
                    })
                })
                .collect(),
            sweep_steps: self.sweep_steps,
            sweep_runs: self.sweep_runs,
            sweep_stat: self.sweep_stat,
        }
    }

    /// The settings remembered in `prefs`, each checked as the views would: what is out
    /// of range is brought into it, and what cannot be read (an unknown statistic, a
    /// parameter path that does not parse, a range that is not two numbers) falls back to
    /// its default. Whether a swept parameter is in the scenario is checked by the sweep
    /// view, which replaces one that is not.
    pub fn from_prefs(prefs: &AnalysisPrefs) -> Settings {
        let default = Settings::default();
        let stat = |k: usize| (k < ensemble::STATS.len()).then_some(k);
        let axis = |saved: Option<&SavedAxis>| {
            let saved = saved?;
            let target = Target::parse(&saved.path).ok()?;
            (saved.from.is_finite() && saved.to.is_finite()).then_some(Axis {
                target,
                from: saved.from,
                to: saved.to,
            })
        };
        let first = axis(prefs.sweep_axes.first().and_then(Option::as_ref));
        // A second parameter only with a first one.
        let second = first
            .as_ref()
            .and_then(|_| axis(prefs.sweep_axes.get(1).and_then(Option::as_ref)));
        Settings {
            sensitivity_statistic: match prefs.sensitivity_stat {
                None => Statistic::Path,
                Some(k) => stat(k).map_or(default.sensitivity_statistic, Statistic::Stat),
            },
            sensitivity_pct: prefs.sensitivity_pct.and_then(|p| {
                p.is_finite()
                    .then(|| p.clamp(*SENSITIVITY_PCT.start(), *SENSITIVITY_PCT.end()))
            }),
            sweep_axes: [first, second],
            sweep_steps: prefs
                .sweep_steps
                .clamp(*SWEEP_STEPS.start(), *SWEEP_STEPS.end()),
            sweep_runs: prefs.sweep_runs.min(MAX_SWEEP_RUNS),
            sweep_stat: stat(prefs.sweep_stat).unwrap_or(default.sweep_stat),
        }
    }
}

/// Parameters a sweep can move: the numeric ones with a documented range, except the
/// Monte Carlo settings; agreements and shocks first, as they are what a scenario asks
/// about.
pub fn sweepable(scenario: &Scenario) -> Vec<Target> {
    let mut out: Vec<Target> = scenario
        .tunable_params()
        .into_iter()
        .filter(|t| !matches!(t, Target::Scenario { .. }))
        .filter(|t| {
            t.doc()
                .is_some_and(|d| matches!(d.kind, ValueKind::Real | ValueKind::Integer))
        })
        .collect();
    out.sort_by_key(|t| match t {
        Target::Agreement { .. } => 0,
        Target::Shock { .. } => 1,
        _ => 2,
    });
    out
}

/// The default range of a swept parameter: years within the scenario, else the
/// documented typical range, widened to include the current value.
pub fn default_range(scenario: &Scenario, target: &Target) -> (f64, f64) {
    let current = scenario
        .get_param(target)
        .map_or(f64::NAN, ParamValue::as_f64);
    let (lo, hi) = match target.field() {
        "start" | "end" => (
            f64::from(scenario.base_year + 1),
            f64::from(scenario.horizon),
        ),
        _ => target.doc().map_or((0.0, 1.0), |d| d.range),
    };
    if current.is_finite() {
        (lo.min(current), hi.max(current))
    } else {
        (lo, hi)
    }
}

/// An axis over the default range of `target`.
pub fn default_axis(scenario: &Scenario, target: &Target) -> Axis {
    let (from, to) = default_range(scenario, target);
    Axis {
        target: target.clone(),
        from,
        to,
    }
}

/// The first parameter a sweep offers: the first agreement's strength if there is one.
pub fn first_axis(scenario: &Scenario) -> Option<Axis> {
    let all = sweepable(scenario);
    all.iter()
        .find(|t| matches!(t, Target::Agreement { .. }))
        .or(all.first())
        .map(|t| default_axis(scenario, t))
}

/// `steps` evenly spaced values of an axis, as a sweep dimension of the scenario.
/// Whole-number parameters keep the distinct rounded values.
pub fn dimension(scenario: &Scenario, axis: &Axis, steps: usize) -> Result<Dimension, String> {
    let kind = axis.target.doc().map_or(ValueKind::Real, |d| d.kind);
    let steps = steps.clamp(1, MAX_STEPS);
    let (from, to) = (axis.from, axis.to);
    if !from.is_finite() || !to.is_finite() {
        return Err(format!("{}: the range needs two numbers", axis.target));
    }
    let mut texts: Vec<String> = Vec::new();
    for i in 0..steps {
        #[allow(clippy::cast_precision_loss)]
        let x = if steps == 1 {
            from
        } else {
            from + (to - from) * i as f64 / (steps - 1) as f64
        };
        let text = match kind {
            #[allow(clippy::cast_possible_truncation)]
            ValueKind::Integer => format!("{}", x.round() as i64),
            _ => format!("{}", round_sig(x)),
        };
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    sweep::parse_dimension(&format!("{}={}", axis.target, texts.join(",")), scenario)
}

/// Rounds to 10 significant digits, so that evenly spaced values read 0.35, not
/// 0.35000000000000003.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    #[allow(clippy::cast_possible_truncation)]
    let digits = 9 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// What the analysis views ask for; applied by the app in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalysisAction {
    CancelContributions,
    /// Computes the contributions of the chosen output again after a cancel.
    RetryContributions,
    RunSensitivity,
    CancelSensitivity,
    RunSweep,
    CancelSweep,
}

/// The analyses of the scenario in the editor.
#[derive(Default)]
pub struct Analysis {
    pub settings: Settings,
    pub contributions: Task<Subject, Contributions>,
    pub sensitivity: Task<SensitivityRequest, Sensitivity>,
    pub sweep: Task<SweepRequest, ()>,
    /// The last sweep started, filled in while it runs.
    pub sweep_grid: Option<Arc<SweepGrid>>,
    repaint: Option<egui::Context>,
}

impl Analysis {
    pub fn new(repaint: Option<egui::Context>) -> Self {
        Self {
            repaint,
            ..Self::default()
        }
    }

    pub fn poll(&mut self) {
        self.contributions.poll();
        self.sensitivity.poll();
        self.sweep.poll();
    }

    pub fn running(&self) -> bool {
        self.contributions.running.is_some()
            || self.sensitivity.running.is_some()
            || self.sweep.running.is_some()
    }

    /// Blocks until every running analysis has finished.
    pub fn wait(&mut self) {
        self.contributions.wait();
        self.sensitivity.wait();
        self.sweep.wait();
    }

    /// Starts the contributions of `subject` unless they are shown or under way. One
    /// computation at a time: during a slider drag the newest revision is computed next.
    fn refresh_contributions(&mut self, subject: &Subject, scenario: &Scenario) {
        // A subject is computed once, whether that succeeded or failed.
        if self.contributions.running.is_some()
            || self.contributions.requested.as_ref() == Some(subject)
        {
            return;
        }
        let scenario = scenario.clone();
        let request = subject.clone();
        let subject = subject.clone();
        self.contributions.start(
            request,
            "contributions",
            self.repaint.clone(),
            move |progress| {
                let (model, plan, series, key) = model_and_series(&scenario, &subject)?;
                let explanation = shapley::explain_with(
                    &model,
                    &plan,
                    series,
                    subject.t,
                    SHAPLEY_SAMPLES,
                    scenario.seed,
                    progress,
                )
                .map_err(|e| e.to_string())?;
                let events = explanation
                    .contributions
                    .iter()
                    .map(|c| {
                        let e = &model.events.list[c.event];
                        (e.id.clone(), e.kind.as_str(), e.name.clone())
                    })
                    .collect();
                Ok(Contributions {
                    key,
                    description: describe(&scenario, &key, subject.year),
                    explanation,
                    events,
                })
            },
        );
    }

    fn start_sensitivity(&mut self, subject: Subject, scenario: &Scenario) {
        let request = SensitivityRequest {
            subject: subject.clone(),
            statistic: self.settings.sensitivity_statistic,
            spread: self
                .settings
                .sensitivity_pct
                .filter(|p| p.is_finite() && *p > 0.0)
                .map_or(Spread::Documented, |p| Spread::Fraction(p / 100.0)),
        };
        let scenario = scenario.clone();
        let (statistic, spread) = (request.statistic, request.spread);
        self.sensitivity.start(
            request,
            "sensitivity",
            self.repaint.clone(),
            move |progress| {
                let (_, _, _, key) = model_and_series(&scenario, &subject)?;
                let report = sensitivity::analyse(
                    &scenario,
                    subject.engine,
                    &key,
                    subject.t,
                    statistic,
                    spread,
                    progress,
                )?;
                Ok(Sensitivity {
                    key,
                    description: describe(&scenario, &key, subject.year),
                    report,
                    runs: scenario.runs.max(1),
                })
            },
        );
    }

    fn start_sweep(&mut self, subject: Subject, scenario: &Scenario) {
        let s = &self.settings;
        let axes: Vec<Axis> = s.sweep_axes.iter().flatten().cloned().collect();
        let statistic = if s.sweep_runs == 0 {
            Statistic::Path
        } else {
            Statistic::Stat(s.sweep_stat.min(ensemble::STATS.len() - 1))
        };
        let request = SweepRequest {
            subject: subject.clone(),
            axes: axes.clone(),
            steps: s.sweep_steps,
            runs: s.sweep_runs,
            statistic,
        };
        let dims = match axes
            .iter()
            .map(|a| dimension(scenario, a, s.sweep_steps))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(d) if !d.is_empty() => d,
            Ok(_) => {
                self.sweep.ended = Some(Ended::Failed("choose a parameter to sweep".into()));
                return;
            }
            Err(e) => {
                self.sweep.ended = Some(Ended::Failed(e));
                return;
            }
        };
        let points = match sweep::points(&dims, Sampling::Grid, scenario.seed) {
            Ok(p) => p,
            Err(e) => {
                self.sweep.ended = Some(Ended::Failed(e));
                return;
            }
        };
        let grid = Arc::new(SweepGrid {
            request: request.clone(),
            description: describe(scenario, &subject.key, subject.year),
            axes: dims.iter().map(|d| d.values.clone()).collect(),
            values: Mutex::new(vec![f64::NAN; points.len()]),
            failures: Mutex::new(Vec::new()),
            points,
        });
        self.sweep_grid = Some(Arc::clone(&grid));
        let mut base = scenario.clone();
        base.runs = request.runs;
        self.sweep
            .start(request, "sweep", self.repaint.clone(), move |progress| {
                let (_, _, _, key) = model_and_series(&base, &subject)?;
                let total = grid.points.len() as u64;
                progress.total.store(total, Ordering::Relaxed);
                grid.points.par_iter().enumerate().for_each(|(i, point)| {
                    if ensemble::Progress::cancelled(progress) {
                        return;
                    }
                    let value =
                        point_value(&base, &subject, &key, statistic, &dims, point, progress);
                    match value {
                        Ok(v) => {
                            if let Ok(mut values) = grid.values.lock() {
                                values[i] = v;
                            }
                        }
                        Err(_) if ensemble::Progress::cancelled(progress) => return,
                        Err(e) => {
                            if let Ok(mut f) = grid.failures.lock() {
                                f.push((i, e));
                            }
                        }
                    }
                    progress.step();
                });
                if ensemble::Progress::cancelled(progress) {
                    return Err("cancelled".into());
                }
                Ok(())
            });
    }
}

/// The output at one sweep point.
fn point_value(
    base: &Scenario,
    subject: &Subject,
    key: &SeriesKey,
    statistic: Statistic,
    dims: &[Dimension],
    point: &[ParamValue],
    progress: &TaskProgress,
) -> Result<f64, String> {
    let mut variant = base.clone();
    for (dim, value) in dims.iter().zip(point) {
        variant.set_param(&dim.target, *value)?;
    }
    sensitivity::output_with(
        &variant,
        subject.engine,
        key,
        subject.t,
        statistic,
        &progress.cancel,
    )
}

impl CorridorApp {
    /// Polls the analyses and starts the contributions when their view is shown.
    pub(super) fn refresh_analysis(&mut self) {
        self.analysis.poll();
        if self.state.view != View::Contributions {
            return;
        }
        if let Ok((subject, scenario)) = subject(&self.docs, &self.columns, &self.state) {
            self.analysis.refresh_contributions(&subject, scenario);
        }
    }

    pub(super) fn apply_analysis(&mut self, action: AnalysisAction) {
        let found = subject(&self.docs, &self.columns, &self.state);
        match (action, found) {
            (AnalysisAction::RunSensitivity, Ok((subject, scenario))) => {
                self.analysis.start_sensitivity(subject, scenario);
            }
            (AnalysisAction::RunSweep, Ok((subject, scenario))) => {
                self.analysis.start_sweep(subject, scenario);
            }
            (AnalysisAction::CancelContributions, _) => self.analysis.contributions.cancel(),
            // Computed again at the next refresh, for the output chosen then.
            (AnalysisAction::RetryContributions, _) => self.analysis.contributions.requested = None,
            (AnalysisAction::CancelSensitivity, _) => self.analysis.sensitivity.cancel(),
            (AnalysisAction::CancelSweep, _) => self.analysis.sweep.cancel(),
            (AnalysisAction::RunSensitivity | AnalysisAction::RunSweep, Err(e)) => {
                self.notice = Some(super::Notice {
                    text: e,
                    is_error: true,
                });
            }
        }
    }

    /// Starts the analyses that are due and blocks until every running one has finished
    /// (tests).
    pub fn wait_for_analyses(&mut self) {
        self.refresh_analysis();
        self.analysis.wait();
    }

    /// The points of the last sweep (parameter values in the order of the swept
    /// parameters) and the output at each; NaN where it has no value yet.
    pub fn sweep_results(&self) -> Vec<(Vec<ParamValue>, f64)> {
        self.analysis
            .sweep_grid
            .as_ref()
            .map_or_else(Vec::new, |g| {
                g.points.iter().cloned().zip(g.values()).collect()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        Target::parse(path).expect("a parameter path")
    }

    #[test]
    fn settings_come_back_from_what_is_remembered_as_they_were() {
        let settings = Settings {
            sensitivity_statistic: Statistic::Stat(4),
            sensitivity_pct: Some(25.0),
            sweep_axes: [
                Some(Axis {
                    target: target("agreement.agri-mou.cost_cut"),
                    from: 0.1,
                    to: 0.4,
                }),
                Some(Axis {
                    target: target("shock.fx.cost_increase"),
                    from: -0.5,
                    to: 2.0,
                }),
            ],
            sweep_steps: 7,
            sweep_runs: 200,
            sweep_stat: 1,
        };
        // Written out and read back, as between two sessions (the app test
        // `analysis_settings_are_remembered_across_sessions` goes through eframe's storage).
        let text = serde_json::to_string(&settings.to_prefs()).expect("serialised");
        let prefs: AnalysisPrefs = serde_json::from_str(&text).expect("read back");
        assert_eq!(Settings::from_prefs(&prefs), settings);
        assert_eq!(
            Settings::from_prefs(&AnalysisPrefs::default()),
            Settings::default()
        );
    }

    #[test]
    fn remembered_settings_out_of_range_or_unreadable_are_checked() {
        let axis = |path: &str, from: f64, to: f64| {
            Some(SavedAxis {
                path: path.into(),
                from,
                to,
            })
        };
        let prefs = AnalysisPrefs {
            sensitivity_stat: Some(6),
            sensitivity_pct: Some(500.0),
            sweep_axes: vec![
                axis("agreement.a.cost_cut", 0.0, 0.5),
                axis("nonsense", 0.0, 1.0),
            ],
            sweep_steps: 1,
            sweep_runs: 1_000_000,
            sweep_stat: 9,
        };
        let s = Settings::from_prefs(&prefs);
        assert_eq!(s.sensitivity_statistic, Statistic::Path);
        assert_eq!(s.sensitivity_pct, Some(100.0));
        assert_eq!(
            s.sweep_axes[0].as_ref().map(|a| (&a.target, a.from, a.to)),
            Some((&target("agreement.a.cost_cut"), 0.0, 0.5))
        );
        assert_eq!(s.sweep_axes[1], None, "a path that does not parse");
        assert_eq!(s.sweep_steps, 2);
        assert_eq!(s.sweep_runs, MAX_SWEEP_RUNS);
        assert_eq!(s.sweep_stat, MEDIAN);

        let prefs = AnalysisPrefs {
            sensitivity_pct: Some(f64::NAN),
            sweep_axes: vec![
                axis("agreement.a.cost_cut", f64::NAN, 0.5),
                axis("agreement.b.cost_cut", 0.0, 0.5),
            ],
            sweep_steps: 1000,
            ..AnalysisPrefs::default()
        };
        let s = Settings::from_prefs(&prefs);
        assert_eq!(s.sensitivity_pct, None);
        assert_eq!(
            s.sweep_axes,
            [None, None],
            "no range, and no second parameter without a first"
        );
        assert_eq!(s.sweep_steps, MAX_STEPS);
    }

    #[test]
    fn a_state_saved_before_analysis_settings_were_remembered_reads_with_defaults() {
        // What an older version saved: no analysis settings.
        let state: State =
            serde_json::from_str(r#"{"dark": true, "share_y": true}"#).expect("read");
        assert!(state.dark && state.share_y);
        assert_eq!(state.analysis, AnalysisPrefs::default());
        assert_eq!(Settings::from_prefs(&state.analysis), Settings::default());
    }
}
