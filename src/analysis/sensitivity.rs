//! One-at-a-time sensitivity: each numeric parameter is moved to a low and a high value
//! while everything else stays as written, and the chosen output is recomputed. Monte
//! Carlo outputs use the same seed for every variant, so each run keeps its random numbers
//! (common random numbers) and differences are not noise.

use crate::ensemble::{self, Options, Progress, Silent};
use crate::metrics::{Plan, SeriesKey};
use crate::model::Model;
use crate::scenario::params::{ParamValue, Target, ValueKind};
use crate::scenario::{EngineKind, Scenario};

/// Column headers of a sensitivity table, shared by `corridor sensitivity` and the app.
pub const COLUMNS: [&str; 6] = [
    "parameter",
    "low",
    "high",
    "output at low",
    "output at high",
    "swing",
];

/// How far each parameter moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spread {
    /// The parameter's documented typical range (the app's slider range); years and
    /// ramps move by one year, delays shift by one year.
    Documented,
    /// ± this fraction of the current value (0.1 = ±10 %); years and delays by one year.
    Fraction(f64),
}

/// Which number of the output is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Path,
    /// Index into [`ensemble::STATS`].
    Stat(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub target: Target,
    pub low_value: ParamValue,
    pub high_value: ParamValue,
    pub low: f64,
    pub high: f64,
}

impl Row {
    pub fn swing(&self) -> f64 {
        (self.high - self.low).abs()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub base: f64,
    /// Sorted by swing, largest first (a tornado chart from the top).
    pub rows: Vec<Row>,
    /// Parameters that could not be moved, with the reason.
    pub skipped: Vec<(Target, String)>,
}

/// The low and high values of a parameter under `spread`, kept within its valid range.
pub fn bounds(
    scenario: &Scenario,
    target: &Target,
    spread: Spread,
) -> Option<(ParamValue, ParamValue)> {
    let current = scenario.get_param(target)?;
    let doc = target.doc()?;
    match (doc.kind, current) {
        (ValueKind::Real, ParamValue::Real(x)) => {
            let (lo, hi) = match spread {
                Spread::Documented => doc.range,
                Spread::Fraction(f) => (round_sig(x - (x * f).abs()), round_sig(x + (x * f).abs())),
            };
            Some((ParamValue::Real(lo), ParamValue::Real(hi)))
        }
        (ValueKind::Integer, ParamValue::Integer(i)) => {
            Some((ParamValue::Integer(i - 1), ParamValue::Integer(i + 1)))
        }
        (ValueKind::Delay, ParamValue::Delay(lo, hi)) => Some((
            ParamValue::Delay(lo.saturating_sub(1), hi.saturating_sub(1)),
            ParamValue::Delay(lo + 1, hi + 1),
        )),
        _ => None,
    }
}

/// Evaluates the output of `key` in year index `t` for a scenario.
pub fn output(
    scenario: &Scenario,
    engine: EngineKind,
    key: &SeriesKey,
    t: usize,
    statistic: Statistic,
) -> Result<f64, String> {
    output_with(scenario, engine, key, t, statistic, &Silent)
}

/// As [`output`], with Monte Carlo runs that stop early when `cancel` says so.
pub fn output_with(
    scenario: &Scenario,
    engine: EngineKind,
    key: &SeriesKey,
    t: usize,
    statistic: Statistic,
    cancel: &dyn Progress,
) -> Result<f64, String> {
    let model = Model::new(scenario, engine).map_err(|e| e.to_string())?;
    let plan = Plan::new(&model);
    let series = plan
        .keys
        .iter()
        .position(|k| k == key)
        .ok_or("the series does not exist in this variant")?;
    let runs = match statistic {
        Statistic::Path => 0,
        Statistic::Stat(_) => scenario.runs.max(1),
    };
    let options = Options {
        runs,
        seed: scenario.seed,
        memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
        only: Some(vec![series]),
    };
    let outcome = ensemble::run(&model, &plan, &options, cancel).map_err(|e| e.to_string())?;
    Ok(match statistic {
        Statistic::Path => outcome.path_of(0)[t],
        Statistic::Stat(k) => outcome.stat_of(k, 0).map_or(f64::NAN, |v| v[t]),
    })
}

/// Forwards only the cancel request: the runs of one variant are not the progress of the
/// whole analysis.
struct CancelOf<'a>(&'a dyn Progress);

impl Progress for CancelOf<'_> {
    fn advance(&self, _: u64, _: u64) {}
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

/// Runs the one-at-a-time analysis over every tunable numeric parameter. `progress`
/// counts parameters; when it is cancelled the analysis stops with an error.
pub fn analyse(
    scenario: &Scenario,
    engine: EngineKind,
    key: &SeriesKey,
    t: usize,
    statistic: Statistic,
    spread: Spread,
    progress: &dyn Progress,
) -> Result<Report, String> {
    let cancel = CancelOf(progress);
    let base = output_with(scenario, engine, key, t, statistic, &cancel)?;
    let targets: Vec<Target> = scenario
        .tunable_params()
        .into_iter()
        .filter(|t| !matches!(t, Target::Scenario { .. }) && t.field() != "enabled")
        .collect();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        progress.advance(i as u64, targets.len() as u64);
        if progress.cancelled() {
            return Err("the analysis was cancelled".into());
        }
        let Some((lo, hi)) = bounds(scenario, target, spread) else {
            continue;
        };
        let eval = |v: ParamValue| -> Result<f64, String> {
            let mut variant = scenario.clone();
            variant.set_param(target, v)?;
            output_with(&variant, engine, key, t, statistic, &cancel)
        };
        match (eval(lo), eval(hi)) {
            (Ok(low), Ok(high)) => rows.push(Row {
                target: target.clone(),
                low_value: lo,
                high_value: hi,
                low,
                high,
            }),
            (Err(e), _) | (_, Err(e)) => skipped.push((target.clone(), e)),
        }
    }
    if progress.cancelled() {
        return Err("the analysis was cancelled".into());
    }
    progress.advance(targets.len() as u64, targets.len() as u64);
    rows.sort_by(|a, b| b.swing().total_cmp(&a.swing()));
    Ok(Report {
        base,
        rows,
        skipped,
    })
}

/// Rounds to 12 significant digits, so that 0.07 × 0.8 reads 0.056, not 0.05600000000000001.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 11 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}
