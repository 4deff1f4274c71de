//! The desktop app: edit scenarios live and compare them side by side.
//!
//! Drawing code never changes the world: it pushes [`Action`]s, which
//! [`CorridorApp::apply_actions`] carries out in one place. Parameter edits change the
//! open document ([`document::OpenScenario`]); every column recomputes its results from
//! it (the path at once, the Monte Carlo ensemble on a background thread).

mod about;
mod analysis;
mod command;
mod compute;
mod document;
mod editor;
mod export;
mod library;
mod recovery;
mod state;
mod timings;
mod views;
mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::scenario::EngineKind;
use crate::scenario::params::{ParamValue, Target};

pub use about::Topic;
pub use analysis::AnalysisAction;
pub use command::Command;
use compute::{JobError, Jobs, Results};
pub use document::{OpenScenario, SaveError};
pub use state::{ColumnSpec, State, View};

/// Key of the persisted [`State`].
const STATE_KEY: &str = "corridor-state";

/// Opens the app window with these files (none: the flagship bundled scenario).
pub fn run(files: Vec<PathBuf>) -> eframe::Result {
    let started = Instant::now();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Corridor")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Corridor",
        options,
        Box::new(move |cc| Ok(Box::new(CorridorApp::new(cc, files, started)))),
    )
}

/// What the UI asks for; applied in [`CorridorApp::apply_actions`].
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Command(Command),
    Open(PathBuf),
    Select(PathBuf),
    CloseFile(PathBuf),
    SetParam {
        path: PathBuf,
        target: Target,
        value: ParamValue,
    },
    AddColumn(ColumnSpec),
    RemoveColumn(usize),
    SetEngine(usize, EngineKind),
    CancelColumn(usize),
    ReloadFromDisk(PathBuf),
    KeepMyEdits(PathBuf),
    OverwriteDisk(PathBuf),
    ShowAbout(Topic),
    DismissNotice,
    SetView(View),
    /// Answer to "save before closing?".
    CloseAnswer(CloseAnswer),
    /// Re-apply the unsaved edits found in a recovery file.
    RestoreEdits(PathBuf),
    /// Remove a recovery file without restoring it.
    DiscardRecovery(PathBuf),
    Analysis(AnalysisAction),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseAnswer {
    SaveAll,
    Discard,
    Cancel,
}

/// A message for the user in the status bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// A comparison column at run time.
pub struct Column {
    pub spec: ColumnSpec,
    pub results: Option<Results>,
    /// Why results could not be computed (the last good ones stay).
    pub error: Option<String>,
    failed: Option<(u64, usize, EngineKind)>,
    pub job: Option<compute::Job>,
    pub mc_error: Option<String>,
    wants_runs: bool,
}

impl Column {
    fn new(spec: ColumnSpec) -> Self {
        Self {
            spec,
            results: None,
            error: None,
            failed: None,
            job: None,
            mc_error: None,
            wants_runs: false,
        }
    }

    fn cancel(&mut self) {
        if let Some(job) = self.job.take() {
            job.progress.cancel();
        }
    }
}

pub struct CorridorApp {
    pub state: State,
    pub docs: Vec<OpenScenario>,
    pub columns: Vec<Column>,
    jobs: Jobs,
    actions: Vec<Action>,
    watcher: Option<watch::FileWatcher>,
    pub notice: Option<Notice>,
    about: about::AboutPanel,
    confirm_close: bool,
    allow_close: bool,
    persist: bool,
    export: export::Exports,
    /// Where the plots were drawn last frame (for PNG export).
    plots_rect: Option<egui::Rect>,
    started: Option<Instant>,
    /// Time from start to the first frame, once drawn.
    pub first_frame: Option<Duration>,
    /// Paths chosen in tests instead of native dialogs.
    pub test_save_path: Option<PathBuf>,
    timings: timings::Timings,
    /// Whether a parameter changed in this frame.
    edited_this_frame: bool,
    /// Unsaved edits kept on disk in case the app dies (none in plain tests).
    recovery: Option<recovery::Recovery>,
    analysis: analysis::Analysis,
}

impl CorridorApp {
    /// The app as eframe creates it: state restored from storage, file watching on.
    pub fn new(cc: &eframe::CreationContext<'_>, files: Vec<PathBuf>, started: Instant) -> Self {
        let ctx = cc.egui_ctx.clone();
        let mut app = Self::build(restored_state(cc.storage), Some(ctx.clone()), true);
        app.watcher = watch::FileWatcher::new(ctx).ok();
        app.recovery = recovery::default_dir().map(recovery::Recovery::new);
        app.started = Some(started);
        app.open_initial(files);
        app
    }

    /// The app without persistence or file watching, for tests and benchmarks. Monte Carlo
    /// jobs still run on background threads; [`Self::wait_for_jobs`] waits for them.
    pub fn new_for_test(files: Vec<PathBuf>) -> Self {
        let mut app = Self::build(State::default(), None, false);
        app.open_initial(files);
        app
    }

    /// [`Self::new_for_test`] as the app starts when `storage` holds what an earlier
    /// session saved; it saves what it remembers as the app does ([`eframe::App::save`]).
    pub fn new_for_test_with_storage(
        files: Vec<PathBuf>,
        storage: Option<&dyn eframe::Storage>,
    ) -> Self {
        let mut app = Self::build(restored_state(storage), None, true);
        app.open_initial(files);
        app
    }

    /// [`Self::new_for_test`] with file watching, and with recovery files kept in
    /// `data_dir` (as the real app keeps them in its data folder).
    pub fn new_for_test_with_data_dir(
        files: Vec<PathBuf>,
        data_dir: &Path,
        repaint: &egui::Context,
    ) -> Self {
        let mut app = Self::build(State::default(), None, false);
        app.watcher = watch::FileWatcher::new(repaint.clone()).ok();
        app.recovery = Some(recovery::Recovery::new(data_dir.join("recovery")));
        app.open_initial(files);
        app
    }

    fn build(state: State, ctx: Option<egui::Context>, persist: bool) -> Self {
        let mut analysis = analysis::Analysis::new(ctx.clone());
        analysis.settings = analysis::Settings::from_prefs(&state.analysis);
        Self {
            state,
            docs: Vec::new(),
            columns: Vec::new(),
            jobs: Jobs::new(ctx),
            analysis,
            actions: Vec::new(),
            watcher: None,
            notice: None,
            about: about::AboutPanel::default(),
            confirm_close: false,
            allow_close: false,
            persist,
            export: export::Exports::default(),
            plots_rect: None,
            started: None,
            first_frame: None,
            test_save_path: None,
            timings: timings::Timings::from_env(),
            edited_this_frame: false,
            recovery: None,
        }
    }

    fn open_initial(&mut self, files: Vec<PathBuf>) {
        let flagship = PathBuf::from("bundled/pak-rus-mous-2024.toml");
        // Files named on the command line are compared side by side; otherwise the
        // last session's files and comparison come back.
        let explicit = !files.is_empty();
        let mut files = files;
        if !explicit {
            files = self.state.open.clone();
            files.retain(|p| crate::scenario::bundled::is_bundled(p) || p.exists());
        }
        if files.is_empty() {
            files.push(flagship);
        }
        let saved_columns = std::mem::take(&mut self.state.columns);
        let selected = self.state.selected.clone();
        for f in &files {
            self.open_file(f);
        }
        self.columns.clear();
        if explicit {
            for f in files.iter().take(state::MAX_COLUMNS) {
                let path = normalise(f);
                if self.doc_index(&path).is_some() {
                    self.columns.push(Column::new(ColumnSpec {
                        path,
                        engine: EngineKind::Pe,
                    }));
                }
            }
            self.state.selected = files.first().map(|f| normalise(f));
        } else {
            for spec in saved_columns {
                if self.doc_index(&spec.path).is_some() && self.columns.len() < state::MAX_COLUMNS {
                    self.columns.push(Column::new(spec));
                }
            }
            if let Some(sel) = selected.filter(|p| self.doc_index(p).is_some()) {
                self.state.selected = Some(sel);
            }
        }
        if self.columns.is_empty()
            && let Some(sel) = self.state.selected.clone()
        {
            self.columns.push(Column::new(ColumnSpec {
                path: sel,
                engine: EngineKind::Pe,
            }));
        }
        self.sync_columns_state();
        self.refresh_columns(false);
    }

    /// Queues an action, as the UI does.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn doc_index(&self, path: &Path) -> Option<usize> {
        self.docs.iter().position(|d| d.path == path)
    }

    pub fn doc(&self, path: &Path) -> Option<&OpenScenario> {
        doc_at(&self.docs, path)
    }

    pub fn selected_doc(&self) -> Option<&OpenScenario> {
        self.state.selected.as_deref().and_then(|p| self.doc(p))
    }

    fn selected_doc_mut(&mut self) -> Option<&mut OpenScenario> {
        let path = self.state.selected.clone()?;
        self.docs.iter_mut().find(|d| d.path == path)
    }

    /// Opens a file (or selects it if it is open already) and makes it the edited one.
    fn open_file(&mut self, path: &Path) {
        let path = normalise(path);
        if self.doc_index(&path).is_none() {
            let doc = OpenScenario::open(&path);
            if !doc.is_bundled() {
                self.state.remember_recent(&path);
                if let Some(w) = &mut self.watcher {
                    w.watch(&path);
                }
            }
            if doc.has_errors() {
                self.notice = Some(Notice {
                    text: format!(
                        "{} has problems; see the panel above the plots",
                        doc.file_name()
                    ),
                    is_error: true,
                });
            }
            self.docs.push(doc);
        }
        self.state.selected = Some(path.clone());
        if self.columns.is_empty() {
            self.columns.push(Column::new(ColumnSpec {
                path,
                engine: EngineKind::Pe,
            }));
        }
        self.state.open = self.docs.iter().map(|d| d.path.clone()).collect();
    }

    fn sync_columns_state(&mut self) {
        self.state.columns = self.columns.iter().map(|c| c.spec.clone()).collect();
    }

    /// Applies every queued action, in order.
    pub fn apply_actions(&mut self, ctx: &egui::Context) {
        let actions = std::mem::take(&mut self.actions);
        for action in actions {
            self.apply(ctx, action);
        }
        self.sync_columns_state();
    }

    fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Command(c) => self.run_command(ctx, c),
            Action::Open(path) => self.open_file(&path),
            Action::Select(path) => {
                if self.doc_index(&path).is_some() {
                    self.state.selected = Some(path);
                }
            }
            Action::CloseFile(path) => {
                if let Some(i) = self.doc_index(&path) {
                    self.docs.remove(i);
                    for c in &mut self.columns {
                        if c.spec.path == path {
                            c.cancel();
                        }
                    }
                    self.columns.retain(|c| c.spec.path != path);
                    if self.state.selected.as_deref() == Some(path.as_path()) {
                        self.state.selected = self.docs.first().map(|d| d.path.clone());
                    }
                    self.state.open = self.docs.iter().map(|d| d.path.clone()).collect();
                }
            }
            Action::SetParam {
                path,
                target,
                value,
            } => {
                if let Some(i) = self.doc_index(&path) {
                    self.docs[i].set(&target, value);
                    self.timings.edited();
                    self.edited_this_frame = true;
                }
            }
            Action::AddColumn(spec) => {
                if self.columns.len() < state::MAX_COLUMNS && self.doc_index(&spec.path).is_some() {
                    self.columns.push(Column::new(spec));
                }
            }
            Action::RemoveColumn(i) => {
                if i < self.columns.len() {
                    self.columns[i].cancel();
                    self.columns.remove(i);
                }
            }
            Action::SetEngine(i, engine) => {
                if let Some(c) = self.columns.get_mut(i)
                    && c.spec.engine != engine
                {
                    c.cancel();
                    c.spec.engine = engine;
                    c.results = None;
                    c.error = None;
                    c.failed = None;
                }
            }
            Action::CancelColumn(i) => {
                if let Some(c) = self.columns.get_mut(i) {
                    c.cancel();
                    c.wants_runs = false;
                }
            }
            Action::ReloadFromDisk(path) => {
                if let Some(i) = self.doc_index(&path) {
                    self.docs[i].reload();
                }
            }
            Action::KeepMyEdits(path) => {
                if let Some(i) = self.doc_index(&path) {
                    self.docs[i].changed_on_disk = false;
                }
            }
            Action::OverwriteDisk(path) => {
                if let Some(i) = self.doc_index(&path) {
                    let result = self.docs[i].save(true);
                    self.report_save(result);
                }
            }
            Action::ShowAbout(topic) => self.about.show(topic),
            Action::DismissNotice => self.notice = None,
            Action::SetView(view) => self.state.view = view,
            Action::Analysis(a) => self.apply_analysis(a),
            Action::CloseAnswer(answer) => {
                self.confirm_close = false;
                match answer {
                    CloseAnswer::SaveAll => {
                        let mut all_saved = true;
                        for doc in self.docs.iter_mut().filter(|d| d.is_dirty()) {
                            if let Err(e) = doc.save(false) {
                                all_saved = false;
                                self.notice = Some(Notice {
                                    text: format!("{}: {e}", doc.file_name()),
                                    is_error: true,
                                });
                            }
                        }
                        if all_saved {
                            self.allow_close = true;
                            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                        }
                    }
                    CloseAnswer::Discard => {
                        if let Some(r) = &mut self.recovery {
                            r.close_cleanly();
                        }
                        self.allow_close = true;
                        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    }
                    CloseAnswer::Cancel => {}
                }
            }
            Action::RestoreEdits(path) => {
                let Some(offer) = self
                    .recovery
                    .as_mut()
                    .and_then(|r| r.take_offer(&path, true))
                else {
                    return;
                };
                self.open_file(&path);
                if let Some(i) = self.doc_index(&normalise(&path)) {
                    let text = recovery::restore(&offer, &mut self.docs[i]);
                    self.notice = Some(Notice {
                        text,
                        is_error: false,
                    });
                }
            }
            Action::DiscardRecovery(path) => {
                if let Some(r) = &mut self.recovery {
                    r.take_offer(&path, true);
                }
            }
        }
    }

    fn run_command(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Open => {
                let picked = rfd::FileDialog::new()
                    .set_title("Open scenario")
                    .add_filter("Corridor scenario", &["toml"])
                    .pick_files();
                for path in picked.unwrap_or_default() {
                    self.open_file(&path);
                }
            }
            Command::Save => {
                if let Some(doc) = self.selected_doc_mut() {
                    let result = doc.save(false);
                    if result == Err(SaveError::ReadOnly) {
                        self.run_command(ctx, Command::SaveAs);
                    } else {
                        self.report_save(result);
                    }
                }
            }
            Command::SaveAs => {
                let Some(doc) = self.selected_doc() else {
                    return;
                };
                let old = doc.path.clone();
                let file_name = doc.file_name();
                let target = self.test_save_path.take().or_else(|| {
                    rfd::FileDialog::new()
                        .set_title("Save scenario as")
                        .add_filter("Corridor scenario", &["toml"])
                        .set_file_name(file_name)
                        .save_file()
                });
                let Some(target) = target else { return };
                let target = normalise(&target);
                if let Some(doc) = self.selected_doc_mut() {
                    let result = doc.save_as(&target);
                    let ok = result.is_ok();
                    self.report_save(result);
                    if ok {
                        for c in &mut self.columns {
                            if c.spec.path == old {
                                c.spec.path = target.clone();
                            }
                        }
                        self.state.selected = Some(target.clone());
                        self.state.remember_recent(&target);
                        self.state.open = self.docs.iter().map(|d| d.path.clone()).collect();
                        if let Some(w) = &mut self.watcher {
                            w.watch(&target);
                        }
                    }
                }
            }
            Command::Revert => {
                if let Some(doc) = self.selected_doc_mut() {
                    doc.revert();
                }
            }
            Command::Reload => {
                if let Some(doc) = self.selected_doc_mut() {
                    doc.reload();
                }
            }
            Command::Undo => {
                if let Some(doc) = self.selected_doc_mut() {
                    doc.undo();
                }
            }
            Command::Redo => {
                if let Some(doc) = self.selected_doc_mut() {
                    doc.redo();
                }
            }
            Command::RunMonteCarlo => {
                for c in &mut self.columns {
                    c.cancel();
                    c.wants_runs = true;
                }
            }
            Command::CancelRuns => {
                for c in &mut self.columns {
                    c.cancel();
                    c.wants_runs = false;
                }
            }
            Command::AddToComparison => {
                if let Some(path) = self.state.selected.clone() {
                    let shown: Vec<EngineKind> = self
                        .columns
                        .iter()
                        .filter(|c| c.spec.path == path)
                        .map(|c| c.spec.engine)
                        .collect();
                    let engine = if shown.contains(&EngineKind::Pe) {
                        EngineKind::Ge
                    } else {
                        EngineKind::Pe
                    };
                    if shown.len() < 2 {
                        self.apply(ctx, Action::AddColumn(ColumnSpec { path, engine }));
                    }
                }
            }
            Command::ExportCsv => {
                let target = self.test_save_path.take().or_else(|| {
                    rfd::FileDialog::new()
                        .set_title("Export results as CSV")
                        .add_filter("CSV", &["csv"])
                        .set_file_name("corridor-results.csv")
                        .save_file()
                });
                if let Some(target) = target {
                    self.notice = Some(match export::write_csv(&target, &self.columns) {
                        Ok(rows) => Notice {
                            text: format!("Wrote {rows} rows to {}", target.display()),
                            is_error: false,
                        },
                        Err(e) => Notice {
                            text: format!("CSV export failed: {e}"),
                            is_error: true,
                        },
                    });
                }
            }
            Command::ExportPng => {
                let target = self.test_save_path.take().or_else(|| {
                    rfd::FileDialog::new()
                        .set_title("Export plots as PNG")
                        .add_filter("PNG image", &["png"])
                        .set_file_name("corridor-plots.png")
                        .save_file()
                });
                if let (Some(target), Some(rect)) = (target, self.plots_rect) {
                    self.export.request_png(ctx, target, rect);
                }
            }
            Command::ToggleTheme => {
                self.state.dark = !self.state.dark;
                apply_theme(ctx, self.state.dark);
            }
            Command::ToggleLibrary => self.state.show_library = !self.state.show_library,
            Command::ToggleEditor => self.state.show_editor = !self.state.show_editor,
            Command::About => self.about.show(Topic::Overview),
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    fn report_save(&mut self, result: Result<(), SaveError>) {
        self.notice = Some(match result {
            Ok(()) => Notice {
                text: "Saved.".into(),
                is_error: false,
            },
            Err(e) => Notice {
                text: e.to_string(),
                is_error: true,
            },
        });
    }

    /// Brings every column's results up to date with its document and the pickers, and
    /// starts Monte Carlo jobs once the user is not in the middle of a drag.
    pub fn refresh_columns(&mut self, interacting: bool) {
        let reference = self.columns.iter().find_map(|col| {
            let doc = doc_at(&self.docs, &col.spec.path)?;
            doc.scenario.as_ref()
        });
        self.state.pickers.set_reference(reference);
        for col in &mut self.columns {
            let Some(doc) = doc_at(&self.docs, &col.spec.path) else {
                col.error = Some("the file is not open".into());
                continue;
            };
            let Some(scenario) = &doc.scenario else {
                continue;
            };
            let region = self.state.pickers.resolve(scenario).region;
            let wanted = (doc.revision, region, col.spec.engine);
            let current = col
                .results
                .as_ref()
                .is_some_and(|r| (r.revision, r.region, r.engine) == wanted);
            if !current && col.failed != Some(wanted) {
                match Results::compute(scenario, col.spec.engine, region, doc.revision) {
                    Ok(mut fresh) => {
                        if let Some(old) = &col.results {
                            fresh.inherit_stats(old);
                        }
                        col.results = Some(fresh);
                        col.error = None;
                        col.failed = None;
                        col.cancel();
                        col.wants_runs = true;
                    }
                    Err(e) => {
                        col.error = Some(e);
                        col.failed = Some(wanted);
                    }
                }
            }
            if col.wants_runs && !interacting && col.job.is_none() {
                col.wants_runs = false;
                col.mc_error = None;
                if let Some(results) = col.results.as_ref().filter(|r| r.runs > 0) {
                    match results.too_many_runs() {
                        Some(why) => col.mc_error = Some(why),
                        None => col.job = Some(self.jobs.start(results)),
                    }
                }
            }
        }
    }

    fn collect_finished_jobs(&mut self) {
        for finished in self.jobs.poll() {
            self.apply_finished(finished);
        }
    }

    fn apply_finished(&mut self, finished: compute::Finished) {
        let Some(col) = self
            .columns
            .iter_mut()
            .find(|c| c.job.as_ref().is_some_and(|j| j.id == finished.job))
        else {
            return;
        };
        let Some(job) = col.job.take() else { return };
        match finished.result {
            Ok(outcome) => {
                if let Some(r) = col.results.as_mut().filter(|r| r.revision == job.revision) {
                    r.stats = outcome.stats;
                    r.stats_current = true;
                    r.mc_time = Some(finished.elapsed);
                    self.timings.report(
                        &format!("monte carlo job, {} runs", r.runs),
                        finished.elapsed,
                    );
                    self.timings.runs_shown(r.runs);
                }
            }
            Err(JobError::Cancelled) => {}
            Err(JobError::Failed(e)) => col.mc_error = Some(e),
        }
    }

    /// Whether any Monte Carlo job is running.
    pub fn jobs_running(&self) -> bool {
        self.columns.iter().any(|c| c.job.is_some())
    }

    /// Starts the jobs that are due and blocks until every job has finished (tests and
    /// benchmarks use this to wait deterministically).
    pub fn wait_for_jobs(&mut self) {
        self.refresh_columns(false);
        while self.jobs_running() {
            if let Some(finished) = self.jobs.wait(Duration::from_secs(600)) {
                self.apply_finished(finished);
            } else {
                break;
            }
        }
        self.wait_for_analyses();
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            self.actions.push(Action::Open(path));
        }
    }

    fn handle_file_changes(&mut self) {
        let Some(w) = &self.watcher else { return };
        let changed = w.changed_paths();
        if changed.is_empty() {
            return;
        }
        for doc in &mut self.docs {
            if !changed.iter().any(|p| same_file(p, &doc.path)) {
                continue;
            }
            if let Some(problem) = doc.disk_problem() {
                let kept = if doc.is_dirty() {
                    "Your unsaved edits are kept; Save writes the file again."
                } else {
                    "The scenario stays open; Save As keeps a copy."
                };
                self.notice = Some(Notice {
                    text: format!(
                        "{} was removed or cannot be read ({problem}). {kept}",
                        doc.file_name()
                    ),
                    is_error: true,
                });
            } else if doc.disk_differs() {
                doc.changed_on_disk = true;
            }
        }
    }

    fn handle_close_request(&mut self, ctx: &egui::Context) {
        if !ctx.input(|i| i.viewport().close_requested()) {
            return;
        }
        if !self.allow_close && self.docs.iter().any(OpenScenario::is_dirty) {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        } else if let Some(r) = &mut self.recovery {
            r.close_cleanly();
        }
    }

    /// Writes or removes recovery files as the edits changed, and shows their errors.
    fn sync_recovery(&mut self, ctx: &egui::Context) {
        let Some(r) = &mut self.recovery else { return };
        if let Some(due) = r.sync(&self.docs, Instant::now()) {
            ctx.request_repaint_after(due);
        }
        if let Some(e) = r.take_error() {
            self.notice = Some(Notice {
                text: format!("Could not keep a recovery copy of the unsaved edits: {e}"),
                is_error: true,
            });
        }
    }

    fn confirm_close_ui(&mut self, ctx: &egui::Context) {
        if !self.confirm_close {
            return;
        }
        let dirty: Vec<String> = self
            .docs
            .iter()
            .filter(|d| d.is_dirty())
            .map(OpenScenario::file_name)
            .collect();
        let mut answer = None;
        let modal = egui::Modal::new(egui::Id::unique("confirm-close")).show(ctx, |ui| {
            ui.heading("Save your changes?");
            ui.label(format!(
                "These scenarios have unsaved edits: {}.",
                dirty.join(", ")
            ));
            ui.horizontal(|ui| {
                if ui
                    .button("Save all")
                    .on_hover_text("Save every edited scenario, then close.")
                    .clicked()
                {
                    answer = Some(CloseAnswer::SaveAll);
                }
                if ui
                    .button("Close without saving")
                    .on_hover_text("Drop the edits and close.")
                    .clicked()
                {
                    answer = Some(CloseAnswer::Discard);
                }
                if ui.button("Cancel").on_hover_text("Keep working.").clicked() {
                    answer = Some(CloseAnswer::Cancel);
                }
            });
        });
        if modal.should_close() && answer.is_none() {
            answer = Some(CloseAnswer::Cancel);
        }
        if let Some(a) = answer {
            self.actions.push(Action::CloseAnswer(a));
        }
    }

    fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        let doc = self.selected_doc();
        let dirty = doc.is_some_and(OpenScenario::is_dirty);
        let can_undo = doc.is_some_and(OpenScenario::can_undo);
        let can_redo = doc.is_some_and(OpenScenario::can_redo);
        let has_doc = doc.is_some();
        let running = self.jobs_running();
        let mut clicked = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                for (c, enabled) in [
                    (Command::Open, true),
                    (Command::Save, dirty),
                    (Command::SaveAs, has_doc),
                    (Command::Revert, dirty),
                    (Command::Reload, has_doc),
                    (Command::ExportCsv, true),
                    (Command::ExportPng, true),
                    (Command::Quit, true),
                ] {
                    if c.menu_item_ui(ui, enabled) {
                        clicked.push(c);
                    }
                }
            });
            ui.menu_button("Edit", |ui| {
                for (c, enabled) in [(Command::Undo, can_undo), (Command::Redo, can_redo)] {
                    if c.menu_item_ui(ui, enabled) {
                        clicked.push(c);
                    }
                }
            });
            ui.menu_button("Run", |ui| {
                for (c, enabled) in [
                    (Command::RunMonteCarlo, true),
                    (Command::CancelRuns, running),
                    (Command::AddToComparison, has_doc),
                ] {
                    if c.menu_item_ui(ui, enabled) {
                        clicked.push(c);
                    }
                }
            });
            ui.menu_button("View", |ui| {
                for c in [
                    Command::ToggleLibrary,
                    Command::ToggleEditor,
                    Command::ToggleTheme,
                ] {
                    if c.menu_item_ui(ui, true) {
                        clicked.push(c);
                    }
                }
            });
            ui.menu_button("Help", |ui| {
                if Command::About.menu_item_ui(ui, true) {
                    clicked.push(Command::About);
                }
            });
            ui.separator();
            if Command::Undo.button_ui(ui, can_undo) {
                clicked.push(Command::Undo);
            }
            if Command::Redo.button_ui(ui, can_redo) {
                clicked.push(Command::Redo);
            }
            if Command::Save.button_ui(ui, dirty) {
                clicked.push(Command::Save);
            }
            if Command::AddToComparison.button_ui(ui, has_doc) {
                clicked.push(Command::AddToComparison);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let label = if self.state.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                };
                if ui
                    .button(label)
                    .on_hover_text(Command::ToggleTheme.tooltip())
                    .clicked()
                {
                    clicked.push(Command::ToggleTheme);
                }
                if ui
                    .button("About the model")
                    .on_hover_text(Command::About.tooltip())
                    .clicked()
                {
                    clicked.push(Command::About);
                }
            });
        });
        self.actions
            .extend(clicked.into_iter().map(Action::Command));
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(n) = &self.notice {
                let color = if n.is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                ui.colored_label(color, &n.text);
                if ui.small_button("×").on_hover_text("Dismiss this message").clicked() {
                    self.actions.push(Action::DismissNotice);
                }
            } else {
                ui.weak("Drag a slider on the right to change a parameter; the plots follow. Drop scenario files here to open them.");
            }
        });
    }
}

impl eframe::App for CorridorApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let frame_started = Instant::now();
        self.edited_this_frame = false;
        if self.first_frame.is_none() {
            apply_theme(&ctx, self.state.dark);
            if let Some(started) = self.started {
                let elapsed = started.elapsed();
                self.first_frame = Some(elapsed);
                self.timings.report("start to first frame", elapsed);
            } else {
                self.first_frame = Some(Duration::ZERO);
            }
        }
        self.collect_finished_jobs();
        self.handle_file_changes();
        self.handle_dropped_files(&ctx);
        self.handle_close_request(&ctx);
        self.export.poll(&ctx, &mut self.notice);
        for c in Command::pressed(&ctx) {
            self.actions.push(Action::Command(c));
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar_ui(ui));
        if self.state.show_library {
            egui::Panel::left("library")
                .resizable(true)
                .default_size(250.0)
                .show(ui, |ui| {
                    library::library_ui(
                        ui,
                        &self.state,
                        &self.docs,
                        &self.columns,
                        &mut self.actions,
                    );
                });
        }
        if self.state.show_editor {
            egui::Panel::right("editor")
                .resizable(true)
                .default_size(330.0)
                .show(ui, |ui| {
                    let selected = self
                        .state
                        .selected
                        .as_deref()
                        .and_then(|p| doc_at(&self.docs, p));
                    editor::editor_ui(ui, selected, &mut self.actions);
                });
        }
        // Edits made in the panels reach the plots in this same frame.
        let interacting = ctx.input(|i| i.pointer.any_down()) || ctx.dragged_id().is_some();
        self.apply_actions(&ctx);
        self.refresh_columns(interacting);

        egui::CentralPanel::default().show(ui, |ui| {
            let path = self.state.selected.clone();
            let selected = path.as_deref().and_then(|p| doc_at(&self.docs, p));
            views::central_ui(
                ui,
                selected,
                &self.docs,
                &self.columns,
                &mut self.state,
                &mut self.actions,
            );
            if self.state.view.is_analysis() {
                let found = analysis::subject(&self.docs, &self.columns, &self.state);
                views::analysis::analysis_ui(
                    ui,
                    self.state.view,
                    found,
                    &mut self.analysis,
                    &mut self.actions,
                );
            }
            self.plots_rect = Some(ui.min_rect());
        });
        self.about.window_ui(&ctx);
        if let Some(r) = &self.recovery {
            r.offers_ui(&ctx, &mut self.actions);
        }
        self.confirm_close_ui(&ctx);

        self.apply_actions(&ctx);
        let interacting = ctx.input(|i| i.pointer.any_down()) || ctx.dragged_id().is_some();
        self.refresh_columns(interacting);
        self.refresh_analysis();
        if !interacting && !ctx.egui_wants_keyboard_input() {
            for doc in &mut self.docs {
                doc.mark_undo_point();
            }
        }
        self.sync_recovery(&ctx);
        if self.jobs_running()
            || self.columns.iter().any(|c| c.wants_runs)
            || self.analysis.running()
        {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        self.timings
            .frame(frame_started, interacting, self.edited_this_frame);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            self.sync_columns_state();
            self.state.analysis = self.analysis.settings.to_prefs();
            self.state.save_to(storage, STATE_KEY);
        }
    }
}

/// What an earlier session saved in `storage`, or the defaults.
fn restored_state(storage: Option<&dyn eframe::Storage>) -> State {
    storage.map_or_else(State::default, |s| State::restore_from(s, STATE_KEY))
}

fn apply_theme(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::ThemePreference::Dark
    } else {
        egui::ThemePreference::Light
    });
}

/// Absolute paths for disk files (so the same file opened twice is one document);
/// bundled paths stay as they are.
fn normalise(path: &Path) -> PathBuf {
    if crate::scenario::bundled::is_bundled(path) || path.is_absolute() {
        return path.to_path_buf();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The open scenario at `path`, if any.
fn doc_at<'a>(docs: &'a [OpenScenario], path: &Path) -> Option<&'a OpenScenario> {
    docs.iter().find(|d| d.path == path)
}
