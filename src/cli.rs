//! The `corridor` command line (SPEC §7): argument definitions and the headless commands.
//! Exit codes: 0 success, 2 invalid input or usage, 1 any other failure.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::ensemble::{self, Outcome, Progress};
use crate::metrics::{Metric, Partner, Plan, SectorSel, SeriesKey};
use crate::model::Model;
use crate::report::{csv_out, json, table};
use crate::scenario::edit::{self, Assignment, EditError};
use crate::scenario::{EngineKind, Scenario, load};

#[derive(Parser, Debug)]
#[command(
    name = "corridor",
    version,
    about = "Explore trade-cooperation scenarios: simulate trade flows year by year with uncertainty about \
             whether and when agreements are delivered, and see how each country's dependence on its partners changes.",
    long_about = None,
    after_help = "With no command, Corridor opens the desktop app on the bundled scenarios.\n\
                  Examples:\n  corridor check scenarios/pak-rus-mous-2024.toml\n  \
                  corridor run scenarios/pak-rus-mous-2024.toml --format table --region PAK\n  \
                  corridor compare scenarios/pak-rus-*.toml --metric supplier_hhi --region PAK --sector energy\n  \
                  corridor set my-variant.toml agreement.agri-mou.probability=0.8"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the desktop app with these scenario files (and the bundled ones).
    Gui {
        /// Scenario files to open.
        files: Vec<PathBuf>,
    },
    /// Validate scenario files: print every problem with its file, line and column.
    ///
    /// Exits 0 when every file is valid (warnings are shown but do not fail), 2 otherwise.
    Check {
        /// Scenario files (.toml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Simulate scenarios and write every metric series: the as-written path and, with
    /// Monte Carlo runs, the mean and the 5th, 25th, 50th, 75th and 95th percentiles.
    Run(RunArgs),
    /// Compare one metric across scenarios, with each scenario's difference to the first.
    Compare(CompareArgs),
    /// Split the change of one output from the no-event world into each agreement's and
    /// shock's contribution (Shapley values on the as-written path; they add up exactly).
    Explain(ExplainArgs),
    /// One-at-a-time sensitivity of one output to every numeric parameter (a tornado table).
    Sensitivity(SensitivityArgs),
    /// Run a batch of variants over a grid or a Latin hypercube of parameter values and
    /// write each point's parameters and the chosen metrics' summaries as CSV.
    Sweep(SweepArgs),
    /// Change parameters in a scenario file in place, keeping its comments and layout.
    ///
    /// The result is validated first and nothing is written if it is invalid; the file is
    /// replaced atomically. In a file that extends another, a value it does not set yet is
    /// added as an override entry; the parent is never touched.
    /// Paths: scenario.runs, scenario.seed, sector.<id>.<field>, agreement.<id>.<field>,
    /// shock.<id>.<field>, growth.<region>.<sector>, flow.<from>.<to>.<sector>.
    Set {
        /// The scenario file to change.
        file: PathBuf,
        /// One or more PATH=VALUE, e.g. agreement.agri-mou.probability=0.8 or agreement.rail-mou.delay=[1,3].
        #[arg(required = true, value_name = "PATH=VALUE")]
        assignments: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Long-format CSV: scenario,year,metric,region,partner,sector,stat,value.
    Csv,
    /// One JSON document with every series (schema in docs/output.md).
    Json,
    /// A readable table: base year and one chosen year (--year, default the horizon).
    Table,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum EngineArg {
    /// Partial equilibrium (SPEC §3), the default.
    Pe,
    /// General equilibrium by exact hat algebra (SPEC §4); needs domestic flows.
    Ge,
}

impl From<EngineArg> for EngineKind {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Pe => EngineKind::Pe,
            EngineArg::Ge => EngineKind::Ge,
        }
    }
}

/// Options shared by `run` and `compare`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Monte Carlo runs (overrides the file's `runs`; 0 = the as-written path only).
    #[arg(long, value_name = "N")]
    pub runs: Option<u32>,
    /// Random seed (overrides the file's `seed`). Same file and seed, same numbers.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Engine (overrides the file's `engine`).
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// Worker threads for Monte Carlo (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print solver details (GE iterations and residual per year) to stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario files (.toml).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write to this file (replaced atomically) instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Only these metrics (repeat the option or separate with commas), e.g. supplier_hhi.
    #[arg(long, value_delimiter = ',', value_name = "M")]
    pub metric: Vec<String>,
    /// Only series of these regions (the `region` column).
    #[arg(long, value_delimiter = ',', value_name = "R")]
    pub region: Vec<String>,
    /// Only these sectors (`all` for the sum over sectors).
    #[arg(long, value_delimiter = ',', value_name = "S")]
    pub sector: Vec<String>,
    /// The year shown by --format table (default: the horizon).
    #[arg(long, value_name = "Y")]
    pub year: Option<i32>,
}

/// Which output a command looks at: one series in one year.
#[derive(clap::Args, Debug, Clone)]
pub struct SeriesArgs {
    /// The metric, e.g. supplier_hhi, import_share, flow, welfare (see docs/model.md).
    #[arg(long, value_name = "M")]
    pub metric: String,
    /// Region (default: the scenario's focus region).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Partner region or bloc, for flow, import_share and bloc shares.
    #[arg(long, value_name = "P")]
    pub partner: Option<String>,
    /// Sector id or `all` (default: all).
    #[arg(long, value_name = "S")]
    pub sector: Option<String>,
    /// Year (default: the horizon).
    #[arg(long, value_name = "Y")]
    pub year: Option<i32>,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Scenario files (.toml); the first is the reference.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The scenario file.
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Random orderings sampled when there are more than 12 events.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub samples: usize,
}

#[derive(clap::Args, Debug)]
pub struct SensitivityArgs {
    /// The scenario file.
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Move each parameter by ± this percentage of its value instead of across its
    /// documented typical range (years, ramps and delays always move by one year).
    #[arg(long, value_name = "PCT")]
    pub pct: Option<f64>,
    /// The statistic to report: path (default), or mean, p5, p25, p50, p75, p95 over
    /// Monte Carlo runs (the same seed for every variant).
    #[arg(long, default_value = "path", value_name = "STAT")]
    pub stat: String,
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// A swept parameter: PATH=FROM:TO:STEP or PATH=V1,V2,… (repeat for more).
    #[arg(long = "set", required = true, value_name = "PATH=VALUES")]
    pub sets: Vec<String>,
    /// grid (every combination) or lhs:N (a Latin hypercube of N points).
    #[arg(long, default_value = "grid", value_name = "grid|lhs:N")]
    pub sample: String,
    /// Only shard I of N (1-based): contiguous slices of the points, for batch schedulers.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Metrics to summarise (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', required = true, value_name = "M")]
    pub metric: Vec<String>,
    /// Only these regions.
    #[arg(long, value_delimiter = ',', value_name = "R")]
    pub region: Vec<String>,
    /// Only these sectors (`all` for the sum).
    #[arg(long, value_delimiter = ',', value_name = "S")]
    pub sector: Vec<String>,
    /// Years to report (default: the horizon).
    #[arg(long, value_delimiter = ',', value_name = "Y")]
    pub year: Vec<i32>,
    /// Output CSV file (replaced atomically); standard output if absent.
    #[arg(long, short, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

/// An error with its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Invalid input or usage: exit 2. The text is already rendered.
    Invalid(String),
    /// Anything else: exit 1.
    Failure(anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Invalid(_) => 2,
            CliError::Failure(_) => 1,
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Failure(e)
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Loads and validates a file, printing warnings; problems become an exit-2 error.
pub fn load_scenario(path: &Path) -> Result<Scenario, CliError> {
    let loaded = load(path);
    match loaded.into_result() {
        Ok((scenario, diags, sources)) => {
            if !diags.items.is_empty() {
                eprint!("{}", diags.render(&sources, color()));
            }
            Ok(scenario)
        }
        Err((diags, sources)) => {
            let n = diags.error_count();
            Err(CliError::Invalid(format!(
                "{}error: `{}` has {n} problem{}",
                diags.render(&sources, color()),
                path.display(),
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

pub fn check(files: &[PathBuf]) -> Result<(), CliError> {
    let mut failed = 0;
    for path in files {
        let loaded = load(path);
        eprint!("{}", loaded.diagnostics.render(&loaded.sources, color()));
        match (&loaded.scenario, loaded.diagnostics.has_errors()) {
            (Some(s), false) => {
                let ge = s.ge_problems();
                println!(
                    "ok: {} — {} ({} regions, {} sectors, {} flows, {} agreements, {} shocks, {}–{}, engine {})",
                    path.display(),
                    s.name,
                    s.regions.len(),
                    s.sectors.len(),
                    s.flows.len(),
                    s.agreements.len(),
                    s.shocks.len(),
                    s.base_year,
                    s.horizon,
                    s.engine.as_str()
                );
                if ge.is_empty() {
                    println!("    GE engine: ready");
                } else {
                    println!("    GE engine: not ready:");
                    for p in ge {
                        println!("      - {p}");
                    }
                }
            }
            _ => {
                failed += 1;
                eprintln!(
                    "error: `{}` has {} problem{}",
                    path.display(),
                    loaded.diagnostics.error_count(),
                    if loaded.diagnostics.error_count() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
        }
    }
    if failed > 0 {
        Err(CliError::Invalid(String::new()))
    } else {
        Ok(())
    }
}

/// A scenario prepared for running with the command-line overrides applied.
struct Prepared {
    scenario: Scenario,
    model: Model,
    plan: Plan,
}

fn prepare(path: &Path, sim: &SimArgs) -> Result<Prepared, CliError> {
    let mut scenario = load_scenario(path)?;
    if let Some(r) = sim.runs {
        if i64::from(r) > crate::scenario::limits::MAX_RUNS {
            return Err(CliError::Invalid(format!(
                "error: --runs {r} is over the limit of 1 000 000"
            )));
        }
        scenario.runs = r;
    }
    if let Some(s) = sim.seed {
        scenario.seed = s;
    }
    let engine = sim.engine.map_or(scenario.engine, EngineKind::from);
    let model = Model::new(&scenario, engine).map_err(|e| match e {
        crate::model::ModelError::NotGeReady(why) => CliError::Invalid(format!(
            "error: `{}` cannot run in the GE engine: {why}",
            path.display()
        )),
        other => CliError::Failure(anyhow::anyhow!("`{}`: {other}", path.display())),
    })?;
    let plan = Plan::new(&model);
    Ok(Prepared {
        scenario,
        model,
        plan,
    })
}

/// A progress bar on stderr, only when stderr is a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    /// A bar for `total` steps, each one of `unit` (plural, as shown after the count).
    fn new(label: &str, total: u32, unit: &str) -> Self {
        if total == 0 || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new(u64::from(total));
        let template = format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{eta}})");
        bar.set_style(
            indicatif::ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        Self(Some(bar))
    }
}

impl Progress for Bar {
    fn advance(&self, done: u64, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
            b.set_position(done);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, CliError> {
    match threads {
        None => Ok(f()),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map(|pool| pool.install(f))
            .map_err(|e| CliError::Failure(anyhow::anyhow!("cannot start {n} threads: {e}"))),
    }
}

fn simulate(p: &Prepared, only: Option<Vec<usize>>, sim: &SimArgs) -> Result<Outcome, CliError> {
    if sim.verbose {
        print_solver_details(p);
    }
    let bar = Bar::new(&p.scenario.stem(), p.scenario.runs, "run-passes");
    let options = ensemble::Options {
        runs: p.scenario.runs,
        seed: p.scenario.seed,
        memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
        only,
    };
    with_threads(sim.threads, || {
        ensemble::run(&p.model, &p.plan, &options, &bar)
    })?
    .map_err(|e| match e {
        // Asking for more than fits, or numbers too extreme for the horizon, are problems
        // of the input: exit 2, with what to change.
        ensemble::EnsembleError::TooLarge { .. }
        | ensemble::EnsembleError::Model(crate::model::ModelError::Overflow(_)) => {
            CliError::Invalid(format!("error: `{}`: {e}", p.scenario.path.display()))
        }
        _ => CliError::Failure(anyhow::anyhow!("`{}`: {e}", p.scenario.path.display())),
    })
}

fn print_solver_details(p: &Prepared) {
    if p.model.engine != EngineKind::Ge {
        eprintln!(
            "{}: PE engine (closed form, no iterations)",
            p.scenario.stem()
        );
        return;
    }
    let draw = crate::model::Draw::as_written(&p.model.events);
    let result = p.model.simulate(&draw, &mut |state| {
        if let Some(ge) = state.ge {
            eprintln!(
                "{} {}: GE solve converged in {} iterations, max |Δ ln X'| = {:.3e}",
                p.scenario.stem(),
                state.year,
                ge.iterations,
                ge.residual
            );
        }
    });
    if let Err(e) = result {
        eprintln!("{}: {e}", p.scenario.stem());
    }
}

/// Indices of the plan's series that pass the filters.
fn select(
    plan: &Plan,
    metrics: &[Metric],
    regions: &[usize],
    sectors: &[SectorSel],
) -> Option<Vec<usize>> {
    if metrics.is_empty() && regions.is_empty() && sectors.is_empty() {
        return None;
    }
    Some(
        plan.keys
            .iter()
            .enumerate()
            .filter(|(_, k)| metrics.is_empty() || metrics.contains(&k.metric))
            .filter(|(_, k)| regions.is_empty() || regions.contains(&k.region))
            .filter(|(_, k)| sectors.is_empty() || sectors.contains(&k.sector))
            .map(|(i, _)| i)
            .collect(),
    )
}

fn parse_metric(name: &str) -> Result<Metric, CliError> {
    Metric::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        let hint = crate::scenario::diagnostic::did_you_mean(name, names.iter().copied())
            .map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"));
        CliError::Invalid(format!(
            "error: unknown metric `{name}`{hint}; metrics: {}",
            names.join(", ")
        ))
    })
}

fn parse_region(s: &Scenario, id: &str) -> Result<usize, CliError> {
    s.region_index(id).ok_or_else(|| {
        let hint =
            crate::scenario::diagnostic::did_you_mean(id, s.regions.iter().map(|r| r.id.as_str()))
                .map_or_else(String::new, |x| format!(" (did you mean `{x}`?)"));
        CliError::Invalid(format!(
            "error: `{}` has no region `{id}`{hint}",
            s.path.display()
        ))
    })
}

fn parse_sector(s: &Scenario, id: &str) -> Result<SectorSel, CliError> {
    if id == "all" {
        return Ok(SectorSel::All);
    }
    s.sector_index(id).map(SectorSel::One).ok_or_else(|| {
        let hint =
            crate::scenario::diagnostic::did_you_mean(id, s.sectors.iter().map(|r| r.id.as_str()))
                .map_or_else(String::new, |x| format!(" (did you mean `{x}`?)"));
        CliError::Invalid(format!(
            "error: `{}` has no sector `{id}`{hint}",
            s.path.display()
        ))
    })
}

/// Writes to `--out` atomically, or to stdout.
fn write_output(
    out: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> Result<(), CliError> {
    match out {
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
            write(&mut w)?;
            match w.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| CliError::Failure(e.into())),
            }
        }
        Some(path) => {
            let tmp = edit::sibling_temp_file(path).map_err(|e| {
                CliError::Failure(anyhow::anyhow!("cannot write `{}`: {e}", path.display()))
            })?;
            {
                let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
                write(&mut w)?;
                w.flush().map_err(|e| CliError::Failure(e.into()))?;
            }
            tmp.persist(path).map_err(|e| {
                CliError::Failure(anyhow::anyhow!(
                    "cannot write `{}`: {}",
                    path.display(),
                    e.error
                ))
            })?;
            Ok(())
        }
    }
}

pub fn run(args: &RunArgs) -> Result<(), CliError> {
    let metrics: Vec<Metric> = args
        .metric
        .iter()
        .map(|m| parse_metric(m))
        .collect::<Result<_, _>>()?;
    let mut results = Vec::new();
    for path in &args.files {
        let p = prepare(path, &args.sim)?;
        let regions: Vec<usize> = args
            .region
            .iter()
            .map(|r| parse_region(&p.scenario, r))
            .collect::<Result<_, _>>()?;
        let sectors: Vec<SectorSel> = args
            .sector
            .iter()
            .map(|s| parse_sector(&p.scenario, s))
            .collect::<Result<_, _>>()?;
        let only = select(&p.plan, &metrics, &regions, &sectors);
        let outcome = simulate(&p, only, &args.sim)?;
        results.push((p, outcome));
    }
    if let Some(y) = args.year
        && args.format == Format::Table
    {
        for (p, _) in &results {
            if !(p.scenario.base_year..=p.scenario.horizon).contains(&y) {
                return Err(CliError::Invalid(format!(
                    "error: --year {y} is outside {}–{} of `{}`",
                    p.scenario.base_year,
                    p.scenario.horizon,
                    p.scenario.path.display()
                )));
            }
        }
    }
    write_output(args.out.as_deref(), |w| {
        match args.format {
            Format::Csv => {
                csv_out::write_header(w)?;
                for (p, outcome) in &results {
                    csv_out::write_rows(w, &p.scenario, outcome)?;
                }
            }
            Format::Json => {
                let reports: Vec<_> = results
                    .iter()
                    .map(|(p, o)| json::report(&p.scenario, p.model.engine, o))
                    .collect();
                let doc =
                    serde_json::json!({ "corridor_version": crate::VERSION, "scenarios": reports });
                serde_json::to_writer_pretty(&mut *w, &doc)?;
                writeln!(w)?;
            }
            Format::Table => {
                for (p, outcome) in &results {
                    let year = args.year.unwrap_or(p.scenario.horizon);
                    writeln!(
                        w,
                        "{} — {} ({} engine, {} runs, seed {}; values in {})",
                        p.scenario.stem(),
                        p.scenario.name,
                        p.model.engine.as_str(),
                        outcome.runs,
                        outcome.seed,
                        if p.scenario.unit.is_empty() {
                            "the scenario's unit"
                        } else {
                            &p.scenario.unit
                        }
                    )?;
                    writeln!(w, "{}", table::run_table(&p.scenario, outcome, year))?;
                }
            }
        }
        Ok(())
    })
}

pub fn compare(args: &CompareArgs) -> Result<(), CliError> {
    let metric = parse_metric(&args.series.metric)?;
    let mut rows = Vec::new();
    // The first scenario fixes the defaults (its focus region and horizon) for all.
    let mut pinned: Option<SeriesArgs> = None;
    for path in &args.files {
        let p = prepare(path, &args.sim)?;
        let s = &p.scenario;
        let sel = pinned.get_or_insert_with(|| SeriesArgs {
            region: Some(
                args.series
                    .region
                    .clone()
                    .unwrap_or_else(|| s.regions[s.focus_region()].id.clone()),
            ),
            year: Some(args.series.year.unwrap_or(s.horizon)),
            ..args.series.clone()
        });
        let (key, t) = series_key(s, sel)?;
        let Some(series) = p.plan.keys.iter().position(|k| *k == key) else {
            rows.push(table::CompareRow {
                scenario: s.stem(),
                partner: String::new(),
                path: f64::NAN,
                mean: None,
                p5: None,
                p95: None,
            });
            continue;
        };
        let outcome = simulate(&p, Some(vec![series]), &args.sim)?;
        let stat = |k| outcome.stat_of(k, 0).map(|v| v[t]).filter(|v| !v.is_nan());
        let partner_label = match key.partner {
            Partner::Top => outcome.path_top[t].map_or(String::new(), |r| s.regions[r].id.clone()),
            _ => key.partner_id(s).to_string(),
        };
        rows.push(table::CompareRow {
            scenario: s.stem(),
            partner: partner_label,
            path: outcome.path[t],
            mean: stat(0),
            p5: stat(1),
            p95: stat(5),
        });
    }
    let sel = pinned.unwrap_or_else(|| args.series.clone());
    println!(
        "{} of {}, sector {}, in {} — {}",
        metric.name(),
        sel.region.unwrap_or_default(),
        sel.sector.unwrap_or_else(|| "all".into()),
        sel.year.map_or_else(String::new, |y| y.to_string()),
        metric.describe()
    );
    println!("{}", table::compare_table(metric, &rows));
    Ok(())
}

pub fn set(file: &Path, assignments: &[String]) -> Result<(), CliError> {
    let edits: Vec<Assignment> = assignments
        .iter()
        .map(|a| Assignment::parse(a))
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::Invalid(format!("error: {e}")))?;
    match edit::set_in_file(file, &edits, color()) {
        Ok(report) => {
            for c in report.changed {
                eprintln!("set {c} in {}", file.display());
            }
            if let Some(csv) = report.csv {
                eprintln!("(the flow is held in {}, which was updated)", csv.display());
            }
            Ok(())
        }
        Err(EditError::Invalid(msg)) => Err(CliError::Invalid(format!("error: {msg}"))),
        Err(EditError::Toml(e)) => Err(CliError::Invalid(format!(
            "error: `{}` is not valid TOML: {e}",
            file.display()
        ))),
        Err(e @ EditError::Write { .. }) => Err(CliError::Failure(e.into())),
    }
}

/// Resolves the series a command looks at in one scenario, and its year index.
fn resolve_series(
    s: &Scenario,
    plan: &Plan,
    sel: &SeriesArgs,
) -> Result<(usize, SeriesKey, usize), CliError> {
    let (key, t) = series_key(s, sel)?;
    let series = plan.keys.iter().position(|k| *k == key).ok_or_else(|| {
        CliError::Invalid(format!(
            "error: `{}` has no series {} of {} (partner `{}`, sector `{}`) in the {} engine: the region may not trade there",
            s.path.display(),
            key.metric.name(),
            s.regions[key.region].id,
            key.partner_id(s),
            key.sector_id(s),
            plan_engine_name(key.metric)
        ))
    })?;
    Ok((series, key, t))
}

/// The key a command's series options name in one scenario, and the year's index.
fn series_key(s: &Scenario, sel: &SeriesArgs) -> Result<(SeriesKey, usize), CliError> {
    let metric = parse_metric(&sel.metric)?;
    let region = match &sel.region {
        Some(r) => parse_region(s, r)?,
        None => s.focus_region(),
    };
    let sector = parse_sector(s, sel.sector.as_deref().unwrap_or("all"))?;
    let partner = match (metric, &sel.partner) {
        (Metric::TopSupplierShare, _) => Partner::Top,
        (Metric::BlocImportShare | Metric::BlocTradeShare, Some(b)) => {
            Partner::Bloc(s.bloc_index(b).ok_or_else(|| {
                CliError::Invalid(format!("error: `{}` has no bloc `{b}`", s.path.display()))
            })?)
        }
        (Metric::Flow | Metric::ImportShare, Some(r)) => Partner::Region(parse_region(s, r)?),
        (
            Metric::Flow | Metric::ImportShare | Metric::BlocImportShare | Metric::BlocTradeShare,
            None,
        ) => {
            return Err(CliError::Invalid(format!(
                "error: --metric {} needs --partner",
                metric.name()
            )));
        }
        _ => Partner::None,
    };
    let key = SeriesKey {
        metric,
        region,
        partner,
        sector,
    };
    let year = sel.year.unwrap_or(s.horizon);
    let t = s.years().position(|y| y == year).ok_or_else(|| {
        CliError::Invalid(format!(
            "error: --year {year} is outside {}–{} of `{}`",
            s.base_year,
            s.horizon,
            s.path.display()
        ))
    })?;
    Ok((key, t))
}

fn plan_engine_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Creation | Metric::Diversion => "PE",
        Metric::Welfare | Metric::Wage | Metric::RealWage | Metric::PriceIndex => "GE",
        _ => "chosen",
    }
}

fn describe_series(s: &Scenario, key: &SeriesKey, year: i32) -> String {
    let partner = key.partner_id(s);
    format!(
        "{} of {}{}, sector {}, in {year}",
        key.metric.name(),
        s.regions[key.region].id,
        if partner.is_empty() {
            String::new()
        } else {
            format!(" with {partner}")
        },
        key.sector_id(s)
    )
}

pub fn explain(args: &ExplainArgs) -> Result<(), CliError> {
    let p = prepare(&args.file, &args.sim)?;
    let s = &p.scenario;
    let (series, key, t) = resolve_series(s, &p.plan, &args.series)?;
    let bar = Bar::new("contributions", 1, "paths");
    let report = crate::analysis::shapley::explain_with(
        &p.model,
        &p.plan,
        series,
        t,
        args.samples,
        s.seed,
        &bar,
    )
    .map_err(|e| CliError::Failure(anyhow::anyhow!("{e}")))?;
    drop(bar);
    let year = s.base_year + i32::try_from(t).unwrap_or(0);
    println!(
        "{} — {}",
        describe_series(s, &key, year),
        key.metric.describe()
    );
    println!(
        "Shapley contributions on the as-written path ({} engine{}).",
        p.model.engine.as_str(),
        if report.exact {
            ", every coalition evaluated".to_string()
        } else {
            format!(
                ", {} sampled orderings; ± is one standard error",
                report.samples
            )
        }
    );
    let total = report.as_written - report.no_events;
    let mut rows: Vec<(String, f64, f64)> = report
        .contributions
        .iter()
        .map(|c| {
            let e = &p.model.events.list[c.event];
            (
                format!("{} {}", e.kind.as_str(), e.id),
                c.value,
                c.std_error,
            )
        })
        .collect();
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let mut t_out = comfy_table::Table::new();
    t_out
        .load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_header(vec!["", "contribution", "share of change"]);
    let m = key.metric;
    t_out.add_row(vec![
        "no-event world".to_string(),
        table::human(report.no_events, m),
        String::new(),
    ]);
    for (name, v, se) in &rows {
        let share = if total != 0.0 {
            format!("{:.1}%", 100.0 * v / total)
        } else {
            "–".into()
        };
        let value = if *se > 0.0 {
            format!("{} ± {}", table::human(*v, m), table::human(*se, m))
        } else {
            table::human(*v, m)
        };
        t_out.add_row(vec![name.clone(), value, share]);
    }
    t_out.add_row(vec![
        "total change".to_string(),
        table::human(total, m),
        "100.0%".into(),
    ]);
    t_out.add_row(vec![
        "as written".to_string(),
        table::human(report.as_written, m),
        String::new(),
    ]);
    println!("{t_out}");
    Ok(())
}

pub fn sensitivity(args: &SensitivityArgs) -> Result<(), CliError> {
    use crate::analysis::sensitivity::{COLUMNS, Spread, Statistic, analyse};
    let p = prepare(&args.file, &args.sim)?;
    let s = &p.scenario;
    let (_, key, t) = resolve_series(s, &p.plan, &args.series)?;
    let statistic = match args.stat.as_str() {
        "path" => Statistic::Path,
        other => Statistic::Stat(
            ensemble::STATS
                .iter()
                .position(|x| *x == other)
                .ok_or_else(|| {
                    CliError::Invalid(format!(
                        "error: --stat {other} is not one of path, mean, p5, p25, p50, p75, p95"
                    ))
                })?,
        ),
    };
    let spread = match args.pct {
        Some(pct) if pct.is_finite() && pct > 0.0 => Spread::Fraction(pct / 100.0),
        Some(pct) => {
            return Err(CliError::Invalid(format!(
                "error: --pct {pct} must be a positive percentage"
            )));
        }
        None => Spread::Documented,
    };
    let bar = Bar::new("sensitivity", 1, "parameters");
    let report = with_threads(args.sim.threads, || {
        analyse(s, p.model.engine, &key, t, statistic, spread, &bar)
    })?
    .map_err(|e| CliError::Failure(anyhow::anyhow!(e)))?;
    drop(bar);
    let year = s.base_year + i32::try_from(t).unwrap_or(0);
    println!(
        "{} — {} ({})",
        describe_series(s, &key, year),
        args.stat,
        key.metric.describe()
    );
    println!(
        "One at a time, {}; base value {}. Largest swing first.",
        match spread {
            Spread::Documented => "each parameter across its documented typical range".to_string(),
            Spread::Fraction(f) => format!("each parameter ±{}%", f * 100.0),
        },
        table::human(report.base, key.metric)
    );
    let mut out = comfy_table::Table::new();
    out.load_style(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_header(COLUMNS);
    let (moving, flat): (Vec<_>, Vec<_>) = report.rows.iter().partition(|r| r.swing() > 0.0);
    for r in moving {
        out.add_row(vec![
            r.target.to_string(),
            r.low_value.to_string(),
            r.high_value.to_string(),
            table::human(r.low, key.metric),
            table::human(r.high, key.metric),
            table::human(r.swing(), key.metric),
        ]);
    }
    println!("{out}");
    if !flat.is_empty() {
        let names: Vec<String> = flat.iter().map(|r| r.target.to_string()).collect();
        println!("No effect on this output: {}", names.join(", "));
    }
    for (target, why) in &report.skipped {
        eprintln!("note: {target} was left out: {why}");
    }
    Ok(())
}

pub fn sweep(args: &SweepArgs) -> Result<(), CliError> {
    use crate::analysis::sweep::{Sampling, Shard, parse_dimension, points};
    use rayon::prelude::*;
    use sha2::Digest;
    let loaded = crate::scenario::load(&args.file);
    let sources = loaded.sources.clone();
    let base = match loaded.into_result() {
        Ok((s, _, _)) => s,
        Err(_) => {
            load_scenario(&args.file)?;
            return Err(CliError::Invalid(String::new()));
        }
    };
    let dims = args
        .sets
        .iter()
        .map(|d| parse_dimension(d, &base))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Invalid(format!("error: {e}")))?;
    let sampling =
        Sampling::parse(&args.sample).map_err(|e| CliError::Invalid(format!("error: {e}")))?;
    let shard = match &args.shard {
        Some(t) => Shard::parse(t).map_err(|e| CliError::Invalid(format!("error: {e}")))?,
        None => Shard::WHOLE,
    };
    let runs = args.sim.runs.unwrap_or(base.runs);
    let seed = args.sim.seed.unwrap_or(base.seed);
    let engine = args.sim.engine.map_or(base.engine, EngineKind::from);
    let all_points =
        points(&dims, sampling, seed).map_err(|e| CliError::Invalid(format!("error: {e}")))?;
    let range = shard.range(all_points.len());
    let metrics: Vec<Metric> = args
        .metric
        .iter()
        .map(|m| parse_metric(m))
        .collect::<Result<_, _>>()?;
    let regions: Vec<usize> = args
        .region
        .iter()
        .map(|r| parse_region(&base, r))
        .collect::<Result<_, _>>()?;
    let sectors: Vec<SectorSel> = args
        .sector
        .iter()
        .map(|x| parse_sector(&base, x))
        .collect::<Result<_, _>>()?;
    let years: Vec<i32> = if args.year.is_empty() {
        vec![base.horizon]
    } else {
        args.year.clone()
    };
    for y in &years {
        if !(base.base_year..=base.horizon).contains(y) {
            return Err(CliError::Invalid(format!(
                "error: --year {y} is outside {}–{}",
                base.base_year, base.horizon
            )));
        }
    }
    let mut hasher = sha2::Sha256::new();
    for (_, f) in sources.files() {
        hasher.update(f.text.as_bytes());
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let bar = Bar::new(
        "sweep",
        u32::try_from(range.len()).unwrap_or(u32::MAX),
        "points",
    );
    let done = std::sync::atomic::AtomicU64::new(0);
    let total = range.len() as u64;
    let point_rows = with_threads(args.sim.threads, || {
        range
            .clone()
            .into_par_iter()
            .map(|i| -> Result<Vec<Vec<String>>, String> {
                let mut variant = base.clone();
                variant.runs = runs;
                variant.seed = seed;
                for (dim, value) in dims.iter().zip(&all_points[i]) {
                    variant
                        .set_param(&dim.target, *value)
                        .map_err(|e| format!("point {i}: {e}"))?;
                }
                let model = Model::new(&variant, engine).map_err(|e| format!("point {i}: {e}"))?;
                let plan = Plan::new(&model);
                let only = select(&plan, &metrics, &regions, &sectors).unwrap_or_default();
                let options = ensemble::Options {
                    runs,
                    seed,
                    memory_budget: ensemble::DEFAULT_MEMORY_BUDGET / 4,
                    only: Some(only),
                };
                let outcome = ensemble::run(&model, &plan, &options, &ensemble::Silent)
                    .map_err(|e| format!("point {i}: {e}"))?;
                let params: Vec<String> = all_points[i].iter().map(ToString::to_string).collect();
                let mut lines = Vec::new();
                let tc = outcome.years.len();
                for (k, key) in outcome.keys.iter().enumerate() {
                    for y in &years {
                        let t = usize::try_from(y - variant.base_year).unwrap_or(0);
                        let partner = match key.partner {
                            Partner::Top => outcome.path_top[k * tc + t]
                                .map_or("", |r| variant.regions[r].id.as_str()),
                            _ => key.partner_id(&variant),
                        };
                        let mut stats = vec![("path", outcome.path[k * tc + t])];
                        if let Some(st) = &outcome.stats {
                            for (si, name) in ensemble::STATS.iter().enumerate() {
                                stats.push((name, st[si][k * tc + t]));
                            }
                        }
                        for (stat, v) in stats {
                            if v.is_nan() {
                                continue;
                            }
                            let mut fields = vec![i.to_string()];
                            fields.extend(params.iter().cloned());
                            fields.extend([
                                key.metric.name().to_string(),
                                key.region_id(&variant).to_string(),
                                partner.to_string(),
                                key.sector_id(&variant).to_string(),
                                y.to_string(),
                                stat.to_string(),
                                csv_out::format_value(v),
                            ]);
                            lines.push(fields);
                        }
                    }
                }
                let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.advance(d, total);
                Ok(lines)
            })
            .collect::<Result<Vec<_>, String>>()
    })?
    .map_err(|e| CliError::Invalid(format!("error: {e}")))?;
    drop(bar);
    write_output(args.out.as_deref(), |w| {
        if shard.index == 1 {
            writeln!(w, "# corridor {}", crate::VERSION)?;
            writeln!(
                w,
                "# scenario {} sha256 {hash} (the file and every file it reads)",
                args.file.display()
            )?;
            writeln!(
                w,
                "# seed {seed}, runs {runs}, engine {}, sample {}, points {}",
                engine.as_str(),
                args.sample,
                all_points.len()
            )?;
            let mut header = vec!["point".to_string()];
            header.extend(dims.iter().map(|d| d.target.to_string()));
            header.extend(
                [
                    "metric", "region", "partner", "sector", "year", "stat", "value",
                ]
                .map(String::from),
            );
            let mut out = csv::Writer::from_writer(&mut *w);
            out.write_record(&header)?;
            out.flush()?;
        }
        // The csv crate quotes what needs it (a delay value such as "[0, 2]").
        let mut out = csv::Writer::from_writer(w);
        for record in point_rows.iter().flatten() {
            out.write_record(record)?;
        }
        out.flush()?;
        Ok(())
    })
}
