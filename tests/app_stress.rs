//! The app under load: many files open at once, hundreds of edits while Monte Carlo
//! jobs run, and scenarios at the format's limits.
#![cfg(feature = "gui")]

mod app_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app_common::pointer_button;
use corridor::app::{Action, CorridorApp};
use corridor::ensemble;
use corridor::metrics::Plan;
use corridor::model::Model;
use corridor::scenario::params::{ParamValue, Target};
use corridor::scenario::{EngineKind, load_str};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

const TUTORIAL: &str = "bundled/tutorial-three-regions.toml";

/// The tutorial with uncertainty: the agreement may not happen or come late, and demand
/// is noisy, so every Monte Carlo run differs.
fn uncertain_tutorial(runs: u32) -> String {
    let text = corridor::scenario::bundled::contents(Path::new(TUTORIAL)).expect("bundled");
    let out = text
        .replace("runs = 0 ", &format!("runs = {runs} "))
        .replace("probability = 1.0 ", "probability = 0.5 ")
        .replace("delay = [0, 0]", "delay = [0, 2]")
        .replace("volatility = 0.0 ", "volatility = 0.05 ");
    assert!(
        out.contains("probability = 0.5 "),
        "the probability changed"
    );
    out
}

fn app(files: Vec<PathBuf>) -> Harness<'static, CorridorApp> {
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(move |_cc| CorridorApp::new_for_test(files));
    harness.run_ok();
    harness
}

fn probability(app: &CorridorApp, path: &Path) -> Target {
    let doc = app.doc(path).expect("open");
    Target::Agreement {
        id: doc.scenario.as_ref().expect("valid").agreements[0]
            .id
            .clone(),
        field: "probability".into(),
    }
}

#[test]
fn twenty_files_open_at_once_can_each_be_edited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files: Vec<PathBuf> = (0..20)
        .map(|i| {
            let path = dir.path().join(format!("copy-{i:02}.toml"));
            std::fs::write(&path, uncertain_tutorial(100)).expect("write");
            path
        })
        .collect();
    let mut harness = app(files.clone());
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
    assert_eq!(harness.state().docs.len(), 20);
    assert_eq!(harness.state().columns.len(), 4, "at most four columns");
    assert!(
        harness
            .query_all_by_label_contains("Tutorial: three regions")
            .count()
            >= 20,
        "the library lists every open file"
    );

    for (i, file) in files.iter().enumerate() {
        let target = probability(harness.state(), file);
        harness.state_mut().push(Action::Select(file.clone()));
        harness.state_mut().push(Action::SetParam {
            path: file.clone(),
            target,
            value: ParamValue::Real(0.01 * (i + 1) as f64),
        });
        harness.run_ok();
    }
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
    for (i, file) in files.iter().enumerate() {
        let doc = harness.state().doc(file).expect("still open");
        assert!(doc.is_dirty(), "{}", file.display());
        assert_eq!(
            doc.value(&probability(harness.state(), file)),
            Some(ParamValue::Real(0.01 * (i + 1) as f64))
        );
    }
    for col in &harness.state().columns {
        let doc = harness.state().doc(&col.spec.path).expect("open");
        let r = col.results.as_ref().expect("results");
        assert_eq!(
            r.revision, doc.revision,
            "the column shows the edited scenario"
        );
        assert!(r.stats_current, "and its Monte Carlo runs");
    }
}

#[test]
fn hundreds_of_edits_during_monte_carlo_end_with_the_runs_of_the_last_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("uncertain.toml");
    let text = uncertain_tutorial(400);
    std::fs::write(&file, &text).expect("write");
    let mut harness = app(vec![file.clone()]);
    let target = probability(harness.state(), &file);

    let mut saw_a_job = 0;
    let mut last = 0.0;
    for k in 0..300 {
        // Drags (pointer down: the path follows, runs wait) and single clicks (runs start).
        let pressed = k % 50 < 25;
        pointer_button(&harness, pressed);
        // Two decimals, as the slider shows them.
        last = f64::from(5 + k % 90) / 100.0;
        harness.state_mut().push(Action::SetParam {
            path: file.clone(),
            target: target.clone(),
            value: ParamValue::Real(last),
        });
        harness.step();
        saw_a_job += usize::from(harness.state().jobs_running());
    }
    pointer_button(&harness, false);
    harness.run_ok();
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
    assert!(saw_a_job > 0, "edits arrived while jobs ran");

    let app = harness.state();
    let doc = app.doc(&file).expect("open");
    assert_eq!(doc.value(&target), Some(ParamValue::Real(last)));
    let results = app.columns[0].results.as_ref().expect("results");
    assert_eq!(results.revision, doc.revision);
    assert!(results.stats_current);

    // The same runs computed afresh from the file and the last value.
    let mut scenario = match load_str(&file, &text).into_result() {
        Ok((s, _, _)) => s,
        Err(_) => panic!("the scenario loads"),
    };
    scenario
        .set_param(&target, ParamValue::Real(last))
        .expect("a valid probability");
    let model = Model::new(&scenario, EngineKind::Pe).expect("model");
    let plan = Plan::new(&model);
    let fresh = ensemble::run(
        &model,
        &plan,
        &ensemble::Options {
            runs: scenario.runs,
            seed: scenario.seed,
            memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
            only: Some(results.selected.clone()),
        },
        &ensemble::Silent,
    )
    .expect("the ensemble runs");
    let bits = |s: &[Vec<f64>; 6]| -> Vec<Vec<u64>> {
        s.iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    assert_eq!(
        bits(results.stats.as_ref().expect("stats")),
        bits(fresh.stats.as_ref().expect("stats")),
        "the app shows the runs of the last value"
    );
}

/// `n` regions with one sector: every region buys from itself and from region 0, and
/// regions 0 and 1 may sign an agreement.
fn many_regions(n: usize, horizon_years: i32, runs: u32) -> String {
    let mut t = format!(
        "format = 1\n[scenario]\nname = \"At the limits\"\nbase_year = 2024\nhorizon = {}\n\
         runs = {runs}\nseed = 1\nunit = \"USD million\"\n",
        2024 + horizon_years
    );
    for i in 0..n {
        t.push_str(&format!(
            "[[region]]\nid = \"R{i}\"\nname = \"Region {i}\"\n"
        ));
    }
    t.push_str(
        "[[sector]]\nid = \"goods\"\nname = \"Goods\"\nsubstitution = 3.0\n\
         demand_elasticity = 1.0\ngrowth = 0.01\nvolatility = 0.02\n",
    );
    for i in 0..n {
        t.push_str(&format!(
            "[[flow]]\nfrom = \"R{i}\"\nto = \"R{i}\"\nsector = \"goods\"\nvalue = 800.0\n"
        ));
        if i > 0 {
            t.push_str(&format!(
                "[[flow]]\nfrom = \"R0\"\nto = \"R{i}\"\nsector = \"goods\"\nvalue = 50.0\n"
            ));
        }
    }
    t.push_str(
        "[[agreement]]\nid = \"deal\"\nname = \"Deal\"\nparties = [\"R0\", \"R1\"]\n\
         sectors = [\"*\"]\nstart = 2026\nramp_years = 2\ncost_cut = 0.1\n\
         probability = 0.5\ndelay = [0, 3]\n",
    );
    t
}

#[test]
fn a_million_runs_over_200_years_are_refused_with_a_message_and_the_path_shows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("limits.toml");
    std::fs::write(&file, many_regions(300, 200, 1_000_000)).expect("write");
    let mut harness = app(vec![file]);
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
    let col = &harness.state().columns[0];
    assert!(
        col.results.is_some(),
        "the path is computed: {:?}",
        col.error
    );
    assert!(col.job.is_none());
    let message = col.mc_error.clone().expect("a message about the runs");
    assert!(message.contains("1000000 runs over 201 years"), "{message}");
    assert!(harness.query_by_label_contains("lower `runs`").is_some());
}

#[test]
fn a_long_job_shows_progress_keeps_drawing_and_can_be_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("limits.toml");
    std::fs::write(&file, many_regions(100, 200, 100_000)).expect("write");
    let mut harness = app(vec![file]);
    assert!(harness.state().jobs_running(), "the runs started");

    // Frames keep coming while the job runs, and its progress grows.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut frames = 0;
    let progress = |h: &Harness<'static, CorridorApp>| {
        h.state().columns[0]
            .job
            .as_ref()
            .map_or(0.0, |j| j.progress.fraction())
    };
    while progress(&harness) == 0.0 {
        assert!(
            Instant::now() < deadline,
            "no progress after {frames} frames"
        );
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
        frames += 1;
    }
    assert!(harness.query_all_by_label_contains("Monte Carlo ").count() > 0);
    assert!(harness.state().jobs_running());

    // The column's Cancel button pushes this action.
    harness.state_mut().push(Action::CancelColumn(0));
    harness.run_ok();
    assert!(!harness.state().jobs_running(), "cancel stops the runs");
    harness.state_mut().wait_for_jobs();
    let col = &harness.state().columns[0];
    assert!(
        col.job.is_none(),
        "cancelled runs do not start again by themselves"
    );
    assert!(col.results.as_ref().is_some_and(|r| !r.stats_current));
}
