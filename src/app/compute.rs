//! Results of one comparison column: the as-written path, computed on the UI thread
//! right after an edit, and the Monte Carlo statistics, computed on a background thread.
//! A newer edit cancels the running job and supersedes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::ensemble::{self, EnsembleError, Outcome};
use crate::metrics::{Metric, Partner, Plan, SectorSel, SeriesKey};
use crate::model::{Draw, Model};
use crate::scenario::{EngineKind, Scenario};

/// The GE solver's state in one year of the path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeYear {
    pub year: i32,
    pub iterations: usize,
    pub residual: f64,
}

/// Everything a column draws.
pub struct Results {
    /// Revision of the document these results belong to.
    pub revision: u64,
    pub engine: EngineKind,
    /// The region the series were chosen for.
    pub region: usize,
    pub model: Arc<Model>,
    pub plan: Arc<Plan>,
    /// Plan indices of the series kept.
    pub selected: Vec<usize>,
    index: HashMap<SeriesKey, usize>,
    pub years: Vec<i32>,
    /// Path values, `[kept series * years + t]`.
    pub path: Vec<f64>,
    /// Monte Carlo statistics of the kept series, as [`ensemble::STATS`].
    pub stats: Option<[Vec<f64>; 6]>,
    /// Whether `stats` were computed for this revision (else they are from an older one).
    pub stats_current: bool,
    pub runs: u32,
    /// How long the last Monte Carlo job took.
    pub mc_time: Option<Duration>,
    pub ge: Vec<GeYear>,
}

/// One value of a series: the path and, when available, the Monte Carlo statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub path: f64,
    pub mean: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

impl Cell {
    /// The number to show: the median of the runs if there are any, else the path.
    pub fn headline(&self) -> f64 {
        if self.p50.is_nan() {
            self.path
        } else {
            self.p50
        }
    }
}

impl Results {
    /// Compiles the model and computes the path. Errors (e.g. a scenario that cannot run
    /// in GE) are returned in words.
    pub fn compute(
        scenario: &Scenario,
        engine: EngineKind,
        region: usize,
        revision: u64,
    ) -> Result<Self, String> {
        let model = Model::new(scenario, engine).map_err(|e| e.to_string())?;
        let plan = Plan::new(&model);
        let (all_path, _) = ensemble::as_written_path(&model, &plan).map_err(|e| e.to_string())?;
        let years: Vec<i32> = scenario.years().collect();
        let t_count = years.len();
        let selected: Vec<usize> = plan
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                // The region's own series, flows into it, and GE outcomes of every
                // region (the GE view compares regions).
                k.region == region
                    || (k.metric == Metric::Flow && k.partner == Partner::Region(region))
                    || matches!(
                        k.metric,
                        Metric::Welfare | Metric::Wage | Metric::RealWage | Metric::PriceIndex
                    )
            })
            .map(|(i, _)| i)
            .collect();
        let index = selected
            .iter()
            .enumerate()
            .map(|(n, &i)| (plan.keys[i], n))
            .collect();
        let path = selected
            .iter()
            .flat_map(|&i| all_path[i * t_count..(i + 1) * t_count].iter().copied())
            .collect();
        let mut ge = Vec::new();
        if engine == EngineKind::Ge {
            model
                .simulate(&Draw::as_written(&model.events), &mut |state| {
                    if let Some(sol) = state.ge {
                        ge.push(GeYear {
                            year: state.year,
                            iterations: sol.iterations,
                            residual: sol.residual,
                        });
                    }
                })
                .map_err(|e| e.to_string())?;
        }
        Ok(Self {
            revision,
            engine,
            region,
            runs: scenario.runs,
            model: Arc::new(model),
            plan: Arc::new(plan),
            selected,
            index,
            years,
            path,
            stats: None,
            stats_current: false,
            mc_time: None,
            ge,
        })
    }

    /// Keeps the Monte Carlo statistics of `older` (marked as not current) when they
    /// cover the same series, so bands stay on screen while new runs compute.
    pub fn inherit_stats(&mut self, older: &Results) {
        if older.region == self.region
            && older.years == self.years
            && older.plan.keys == self.plan.keys
        {
            self.stats.clone_from(&older.stats);
            self.stats_current = false;
            self.mc_time = older.mc_time;
        }
    }

    /// Why the app will not run the ensemble, if so: the runs of one series must fit the
    /// ensemble's memory budget (a scenario may ask for up to a million runs over 200 years).
    pub fn too_many_runs(&self) -> Option<String> {
        let bytes = u64::from(self.runs) * self.t_count() as u64 * 8;
        let budget = ensemble::DEFAULT_MEMORY_BUDGET as u64;
        (bytes > budget).then(|| {
            format!(
                "{} runs over {} years would need {} MB for each series, more than the app \
                 uses ({} MB): lower `runs` or use `corridor run`",
                self.runs,
                self.t_count(),
                bytes.div_ceil(1 << 20),
                budget >> 20
            )
        })
    }

    pub fn scenario(&self) -> &Scenario {
        &self.model.scenario
    }

    pub fn t_count(&self) -> usize {
        self.years.len()
    }

    pub fn series(&self, key: &SeriesKey) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The series of a metric for the column's region.
    pub fn key(&self, metric: Metric, partner: Partner, sector: Option<usize>) -> SeriesKey {
        SeriesKey {
            metric,
            region: self.region,
            partner,
            sector: sector.map_or(SectorSel::All, SectorSel::One),
        }
    }

    pub fn cell(&self, series: usize, t: usize) -> Cell {
        let i = series * self.t_count() + t;
        let stat = |k: usize| self.stats.as_ref().map_or(f64::NAN, |s| s[k][i]);
        Cell {
            path: self.path[i],
            mean: stat(0),
            p5: stat(1),
            p25: stat(2),
            p50: stat(3),
            p75: stat(4),
            p95: stat(5),
        }
    }

    pub fn cell_of(&self, key: &SeriesKey, t: usize) -> Option<Cell> {
        self.series(key)
            .map(|s| self.cell(s, t))
            .filter(|c| !c.path.is_nan() || !c.p50.is_nan())
    }

    /// Path values of a series over the years.
    pub fn path_of(&self, series: usize) -> &[f64] {
        let t = self.t_count();
        &self.path[series * t..(series + 1) * t]
    }

    /// One statistic of a series over the years.
    pub fn stat_of(&self, stat: usize, series: usize) -> Option<&[f64]> {
        let t = self.t_count();
        self.stats
            .as_ref()
            .map(|s| &s[stat][series * t..(series + 1) * t])
    }

    /// The results as an ensemble outcome, for CSV export.
    pub fn outcome(&self) -> Outcome {
        let scenario = self.scenario();
        Outcome {
            keys: self.selected.iter().map(|&i| self.plan.keys[i]).collect(),
            years: self.years.clone(),
            path: self.path.clone(),
            path_top: vec![None; self.path.len()],
            runs: if self.stats.is_some() {
                scenario.runs
            } else {
                0
            },
            seed: scenario.seed,
            stats: self.stats.clone(),
        }
    }
}

/// Progress and cancellation of one background job.
pub struct JobProgress {
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
    repaint: Option<egui::Context>,
}

impl JobProgress {
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let f = self.done.load(Ordering::Relaxed) as f32 / total as f32;
        f
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl ensemble::Progress for JobProgress {
    fn advance(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        if let Some(ctx) = &self.repaint {
            ctx.request_repaint_after(Duration::from_millis(50));
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// A running Monte Carlo job.
pub struct Job {
    pub id: u64,
    pub revision: u64,
    pub progress: Arc<JobProgress>,
    pub started: Instant,
}

/// Why a job brought no statistics.
#[derive(Clone, Debug, PartialEq)]
pub enum JobError {
    Cancelled,
    Failed(String),
}

/// What a job sends back.
pub struct Finished {
    pub job: u64,
    pub result: Result<Outcome, JobError>,
    pub elapsed: Duration,
}

/// Starts Monte Carlo jobs on background threads and collects what they send back.
pub struct Jobs {
    sender: mpsc::Sender<Finished>,
    receiver: mpsc::Receiver<Finished>,
    next_id: u64,
    repaint: Option<egui::Context>,
}

impl Jobs {
    pub fn new(repaint: Option<egui::Context>) -> Self {
        let (sender, receiver) = mpsc::channel();
        Self {
            sender,
            receiver,
            next_id: 1,
            repaint,
        }
    }

    /// Runs the ensemble of the kept series of `results` on a new thread.
    pub fn start(&mut self, results: &Results) -> Job {
        let id = self.next_id;
        self.next_id += 1;
        let progress = Arc::new(JobProgress {
            done: AtomicU64::new(0),
            total: AtomicU64::new(u64::from(results.runs)),
            cancel: AtomicBool::new(false),
            repaint: self.repaint.clone(),
        });
        let model = Arc::clone(&results.model);
        let plan = Arc::clone(&results.plan);
        let options = ensemble::Options {
            runs: results.runs,
            seed: results.scenario().seed,
            memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
            only: Some(results.selected.clone()),
        };
        let sender = self.sender.clone();
        let job_progress = Arc::clone(&progress);
        let repaint = self.repaint.clone();
        let started = Instant::now();
        let spawned =
            std::thread::Builder::new()
                .name(format!("monte-carlo-{id}"))
                .spawn(move || {
                    let result = ensemble::run(&model, &plan, &options, job_progress.as_ref())
                        .map_err(|e| match e {
                            EnsembleError::Cancelled => JobError::Cancelled,
                            other => JobError::Failed(other.to_string()),
                        });
                    // The receiver is gone only when the app is closing.
                    let _ = sender.send(Finished {
                        job: id,
                        result,
                        elapsed: started.elapsed(),
                    });
                    if let Some(ctx) = repaint {
                        ctx.request_repaint();
                    }
                });
        if let Err(e) = spawned {
            let _ = self.sender.send(Finished {
                job: id,
                result: Err(JobError::Failed(format!("could not start a thread: {e}"))),
                elapsed: Duration::ZERO,
            });
        }
        Job {
            id,
            revision: results.revision,
            progress,
            started,
        }
    }

    /// Finished jobs, without waiting.
    pub fn poll(&self) -> Vec<Finished> {
        self.receiver.try_iter().collect()
    }

    /// Waits for the next finished job.
    pub fn wait(&self, timeout: Duration) -> Option<Finished> {
        self.receiver.recv_timeout(timeout).ok()
    }
}
