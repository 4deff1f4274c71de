//! The analysis views of the app (contributions, sensitivity tornado, sweeps) driven
//! through `egui_kittest` by label and role. Expected numbers come from the library's
//! analysis functions or from reasoning about the model, never from the app.
#![cfg(feature = "gui")]

mod app_common;

use std::path::PathBuf;

use app_common::{Memory, settle, text_of};
use corridor::analysis::sensitivity::{self, Spread, Statistic};
use corridor::analysis::shapley;
use corridor::app::{Action, ColumnSpec, CorridorApp, State, View};
use corridor::ensemble::Silent;
use corridor::metrics::{Metric, Partner, Plan, SectorSel, SeriesKey};
use corridor::model::Model;
use corridor::scenario::params::{ParamValue, Target};
use corridor::scenario::{EngineKind, Scenario};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};

const FLAGSHIP: &str = "bundled/pak-rus-mous-2024.toml";

fn flagship() -> Harness<'static, CorridorApp> {
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(|_cc| CorridorApp::new_for_test(vec![PathBuf::from(FLAGSHIP)]));
    // Fewer Monte Carlo runs for the comparison columns keep unoptimised test builds quick;
    // the analyses below use the as-written path unless a test asks for runs.
    harness.state_mut().push(Action::SetParam {
        path: PathBuf::from(FLAGSHIP),
        target: Target::Scenario {
            field: "runs".into(),
        },
        value: ParamValue::Integer(50),
    });
    settle(&mut harness);
    harness
}

fn open_view(harness: &mut Harness<'static, CorridorApp>, tab: &str) {
    harness.get_by_label(tab).click();
    settle(harness);
}

/// Every label's text, in the order they are drawn.
fn label_texts(harness: &Harness<'static, CorridorApp>) -> Vec<String> {
    harness
        .query_all_by(|n| n.role() == Role::Label)
        .map(|n| text_of(&n))
        .collect()
}

/// The number in a displayed change such as "+0.47 pp" or "-1,234", and half a unit of
/// its last digit (how far rounding for display can move it).
fn parse_shown(text: &str) -> (f64, f64) {
    let number: String = text
        .trim()
        .trim_end_matches("pp")
        .trim_end_matches('%')
        .trim()
        .replace(',', "");
    let value: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number"));
    let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
    let half_ulp = 0.5 * 10f64.powi(-i32::try_from(decimals).expect("few decimals"));
    (value, half_ulp)
}

fn scenario_of(harness: &Harness<'static, CorridorApp>) -> Scenario {
    harness
        .state()
        .selected_doc()
        .and_then(|d| d.scenario.clone())
        .expect("the flagship loads")
}

/// The output the pickers choose by default in the flagship: the share of Pakistan's
/// imports (the focus region) that comes from Russia (the other party of the first
/// agreement), all sectors, six years after the 2024 base year.
fn default_output(s: &Scenario) -> (SeriesKey, usize) {
    let pak = s.region_index("PAK").expect("PAK");
    let rus = s.region_index("RUS").expect("RUS");
    let key = SeriesKey {
        metric: Metric::ImportShare,
        region: pak,
        partner: Partner::Region(rus),
        sector: SectorSel::All,
    };
    assert_eq!(s.base_year, 2024);
    (key, 6)
}

fn explain_default(s: &Scenario) -> (shapley::Explanation, Vec<String>) {
    let (key, t) = default_output(s);
    let model = Model::new(s, EngineKind::Pe).expect("model");
    let plan = Plan::new(&model);
    let series = plan.keys.iter().position(|k| *k == key).expect("series");
    let e = shapley::explain(&model, &plan, series, t, 2000, s.seed).expect("explain");
    let ids = e
        .contributions
        .iter()
        .map(|c| model.events.list[c.event].id.clone())
        .collect();
    (e, ids)
}

/// The contribution shown next to each event id, in percentage points.
fn shown_contributions(harness: &Harness<'static, CorridorApp>, ids: &[String]) -> Vec<(f64, f64)> {
    let texts = label_texts(harness);
    ids.iter()
        .map(|id| {
            let at = texts
                .iter()
                .position(|t| t == id)
                .unwrap_or_else(|| panic!("event {id} is not shown"));
            let value = texts[at + 1..]
                .iter()
                .find(|t| t.ends_with(" pp"))
                .expect("a contribution in percentage points");
            parse_shown(value)
        })
        .collect()
}

#[test]
fn contributions_show_every_event_and_add_up_to_the_total() {
    let mut harness = flagship();
    open_view(&mut harness, "Contributions");
    let s = scenario_of(&harness);
    let (e, ids) = explain_default(&s);
    assert_eq!(ids.len(), 7, "the flagship has seven agreements");
    assert!(e.exact, "seven events are enumerated exactly");
    assert!(
        label_texts(&harness).contains(&"import_share of PAK with RUS, all sectors, 2030".into()),
        "the analysed output is named"
    );

    let shown = shown_contributions(&harness, &ids);
    for ((id, c), (value, half_ulp)) in ids.iter().zip(&e.contributions).zip(&shown) {
        assert!(
            (value - 100.0 * c.value).abs() <= half_ulp + 1e-9,
            "{id}: shown {value} pp, explain gives {} pp",
            100.0 * c.value
        );
    }
    let total_text = label_texts(&harness)
        .into_iter()
        .find_map(|t| {
            t.strip_prefix("Total change ")
                .and_then(|rest| rest.split_once(':'))
                .map(|(n, _)| n.to_string())
        })
        .expect("the total change is shown");
    let (total, half_ulp) = parse_shown(&total_text);
    let sum: f64 = shown.iter().map(|(v, _)| v).sum();
    let rounding: f64 = half_ulp + shown.iter().map(|(_, h)| h).sum::<f64>();
    assert!(
        (total - sum).abs() <= rounding + 1e-9,
        "total {total} pp, sum of the shown contributions {sum} pp"
    );
    assert!((total - 100.0 * (e.as_written - e.no_events)).abs() <= half_ulp + 1e-9);
    assert!(
        total > 0.0,
        "cost cuts between Pakistan and Russia raise Russia's share"
    );
}

/// Runs frames until a button labelled `label` shows, for at most a minute.
fn until_button(harness: &mut Harness<'static, CorridorApp>, label: &str) {
    let started = std::time::Instant::now();
    while harness.query_by_label(label).is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no {label} button: {:?}",
            label_texts(harness)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        harness.step();
    }
}

#[test]
fn long_contributions_show_progress_and_can_be_cancelled_and_computed_again() {
    // The flagship with five more agreements: twelve events, 2^12 + 2 paths to simulate,
    // far longer than the few frames between starting and cancelling.
    let dir = tempfile::tempdir().expect("temp dir");
    let flagship =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pak-rus-mous-2024.toml");
    let mut text = format!(
        "format = 1\nextends = {:?}\n",
        flagship.display().to_string()
    );
    for (k, partner) in ["CHN", "USA", "EU", "GULF", "TUR"].iter().enumerate() {
        text += &format!(
            "\n[[agreement]]\nid = \"extra-{k}\"\nparties = [\"PAK\", \"{partner}\"]\n\
             start = 2026\nramp_years = 2\ncost_cut = 0.05\n"
        );
    }
    let file = dir.path().join("twelve-events.toml");
    std::fs::write(&file, text).expect("write the scenario");
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(|_cc| CorridorApp::new_for_test(vec![file.clone()]));
    harness.state_mut().push(Action::SetParam {
        path: file.clone(),
        target: Target::Scenario {
            field: "runs".into(),
        },
        value: ParamValue::Integer(50),
    });
    settle(&mut harness);
    assert_eq!(scenario_of(&harness).agreements.len(), 12);

    // Not settled: that would wait for the contributions to finish.
    harness.get_by_label("Contributions").click();
    harness.run_ok();
    until_button(&mut harness, "Cancel");
    // The bar (the spinner beside it is a progress indicator too).
    let shown: Vec<String> = harness
        .query_all_by_role(Role::ProgressIndicator)
        .map(|n| text_of(&n))
        .collect();
    assert!(
        shown
            .iter()
            .any(|t| t.starts_with("path ") && t.ends_with(" of 4098")),
        "the progress counts the paths: {shown:?}"
    );
    harness.get_by_label("Cancel").click();
    harness.run_ok();
    assert!(
        harness
            .query_by_label_contains("Contributions cancelled after")
            .is_some(),
        "{:?}",
        label_texts(&harness)
    );
    assert!(harness.query_by_label("Cancel").is_none());

    // Computed again on request: the progress shows again, and can be cancelled again.
    harness.get_by_label("Compute again").click();
    harness.run_ok();
    until_button(&mut harness, "Cancel");
    harness.get_by_label("Cancel").click();
    harness.run_ok();
    assert!(
        harness
            .query_by_label_contains("Contributions cancelled after")
            .is_some()
    );
}

#[test]
fn contributions_follow_an_edit_of_the_scenario() {
    let mut harness = flagship();
    open_view(&mut harness, "Contributions");
    let before = explain_default(&scenario_of(&harness));
    let agri = before
        .1
        .iter()
        .position(|id| id == "agri-mou")
        .expect("agri");

    harness
        .get_all_by_role_and_label(Role::Slider, "Cost cut")
        .next()
        .expect("the agriculture MoU's cost cut slider")
        .set_value_accesskit(0.3);
    settle(&mut harness);
    let edited = scenario_of(&harness);
    assert_eq!(
        edited.get_param(&Target::parse("agreement.agri-mou.cost_cut").expect("path")),
        Some(ParamValue::Real(0.3))
    );
    let (after, ids) = explain_default(&edited);
    assert!(
        after.contributions[agri].value > before.0.contributions[agri].value,
        "a deeper cut gives the agriculture MoU a larger contribution"
    );
    let shown = shown_contributions(&harness, &ids);
    let (value, half_ulp) = shown[agri];
    assert!(
        (value - 100.0 * after.contributions[agri].value).abs() <= half_ulp + 1e-9,
        "the view shows the contribution of the edited scenario: {value} pp"
    );
}

/// The sweep's points and values, checked against the library's output function.
fn assert_sweep_matches_library(harness: &Harness<'static, CorridorApp>, targets: &[Target]) {
    let s = scenario_of(harness);
    let (key, t) = default_output(&s);
    for (point, value) in harness.state().sweep_results() {
        let mut variant = s.clone();
        for (target, v) in targets.iter().zip(&point) {
            variant.set_param(target, *v).expect("a valid point");
        }
        let expected = sensitivity::output(&variant, EngineKind::Pe, &key, t, Statistic::Path)
            .expect("output");
        assert!(
            (value - expected).abs() <= 1e-12,
            "at {point:?}: shown {value}, library {expected}"
        );
    }
}

fn real(v: ParamValue) -> f64 {
    match v {
        ParamValue::Real(x) => x,
        other => panic!("{other:?} is not a real number"),
    }
}

#[test]
fn a_one_parameter_sweep_runs_across_the_documented_range() {
    let mut harness = flagship();
    open_view(&mut harness, "Sweep");
    // The first agreement's cost cut is offered first, over its documented range 0–0.5.
    assert_eq!(
        text_of(&harness.get_by_label("Parameter:")),
        "agreement.agri-mou.cost_cut"
    );
    harness.get_by_label("Run sweep").click();
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("Sweep finished: 11 of 11 points")
            .is_some(),
        "{:?}",
        label_texts(&harness)
    );
    let results = harness.state().sweep_results();
    assert_eq!(results.len(), 11);
    for (i, (point, _)) in results.iter().enumerate() {
        assert!(
            (real(point[0]) - 0.05 * i as f64).abs() < 1e-12,
            "{point:?}"
        );
    }
    // A deeper cut between Pakistan and Russia raises Russia's share of Pakistan's imports.
    for pair in results.windows(2) {
        assert!(pair[1].1 > pair[0].1, "{results:?}");
    }
    let target = Target::parse("agreement.agri-mou.cost_cut").expect("path");
    assert_sweep_matches_library(&harness, &[target]);
}

fn choose_second_parameter(harness: &mut Harness<'static, CorridorApp>, path: &str) {
    harness.get_by_label("Second parameter:").click();
    harness.run_ok();
    // The list is longer than the window: ask for the entry as a screen reader does.
    harness.get_by_label(path).click_accesskit();
    harness.run_ok();
    assert_eq!(text_of(&harness.get_by_label("Second parameter:")), path);
}

fn set_drag_value(harness: &mut Harness<'static, CorridorApp>, label: &str, value: f64) {
    harness
        .get_by_role_and_label(Role::SpinButton, label)
        .set_value_accesskit(value);
    harness.run_ok();
}

#[test]
fn a_two_parameter_sweep_fills_a_grid() {
    let mut harness = flagship();
    open_view(&mut harness, "Sweep");
    choose_second_parameter(&mut harness, "agreement.trade-mou.cost_cut");
    set_drag_value(&mut harness, "Steps", 5.0);
    harness.get_by_label("Run sweep").click();
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("Sweep finished: 25 of 25 points")
            .is_some(),
        "{:?}",
        label_texts(&harness)
    );
    let results = harness.state().sweep_results();
    assert_eq!(results.len(), 25);
    // Grid order: the second parameter varies fastest; both over 0–0.5 in steps of 0.125.
    for (i, (point, value)) in results.iter().enumerate() {
        assert!((real(point[0]) - 0.125 * (i / 5) as f64).abs() < 1e-12);
        assert!((real(point[1]) - 0.125 * (i % 5) as f64).abs() < 1e-12);
        assert!(value.is_finite());
    }
    // Either cut raises Russia's share.
    for i in 0..25 {
        if i % 5 < 4 {
            assert!(results[i + 1].1 > results[i].1);
        }
        if i < 20 {
            assert!(results[i + 5].1 > results[i].1);
        }
    }
    let targets = [
        Target::parse("agreement.agri-mou.cost_cut").expect("path"),
        Target::parse("agreement.trade-mou.cost_cut").expect("path"),
    ];
    assert_sweep_matches_library(&harness, &targets);
}

#[test]
fn a_running_sweep_can_be_cancelled() {
    let mut harness = flagship();
    open_view(&mut harness, "Sweep");
    choose_second_parameter(&mut harness, "agreement.trade-mou.cost_cut");
    // 41 × 41 points with 2000 Monte Carlo runs each: far longer than a few frames.
    set_drag_value(&mut harness, "Steps", 41.0);
    set_drag_value(&mut harness, "Runs per point", 2000.0);
    harness.get_by_label("Run sweep").click();
    harness.run_ok();
    harness.get_by_label("Cancel").click();
    harness.run_ok();
    assert!(
        harness
            .query_by_label_contains("Sweep cancelled after")
            .is_some(),
        "{:?}",
        label_texts(&harness)
    );
    assert!(
        harness.query_by_label("Run sweep").is_some(),
        "the sweep can be started again"
    );
    let results = harness.state().sweep_results();
    assert_eq!(results.len(), 41 * 41);
    assert!(
        results.iter().any(|(_, v)| v.is_nan()),
        "a cancelled sweep leaves points uncomputed"
    );
}

#[test]
fn sensitivity_shows_the_largest_swings_first() {
    let mut harness = flagship();
    open_view(&mut harness, "Sensitivity");
    harness.get_by_label("Run sensitivity").click();
    settle(&mut harness);

    let s = scenario_of(&harness);
    let (key, t) = default_output(&s);
    let report = sensitivity::analyse(
        &s,
        EngineKind::Pe,
        &key,
        t,
        Statistic::Path,
        Spread::Documented,
        &Silent,
    )
    .expect("analyse");
    let texts = label_texts(&harness);
    let base = texts
        .iter()
        .find_map(|t| t.strip_prefix("Base value "))
        .expect("the base value is shown");
    let (shown, half_ulp) = parse_shown(base);
    assert!((shown - 100.0 * report.base).abs() <= half_ulp + 1e-9);

    let moving: Vec<String> = report
        .rows
        .iter()
        .filter(|r| r.swing() > 0.0)
        .map(|r| r.target.to_string())
        .collect();
    assert!(moving.len() >= 3, "{moving:?}");
    let positions: Vec<usize> = moving
        .iter()
        .map(|name| {
            texts
                .iter()
                .position(|t| t == name)
                .unwrap_or_else(|| panic!("{name} is not in the tornado table"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "rows in order of swing: {moving:?}"
    );
    // σ of every sector moves shares; the agreements' cost cuts do too.
    assert!(moving.iter().any(|m| m.ends_with(".substitution")));
    assert!(moving.iter().any(|m| m == "agreement.agri-mou.cost_cut"));
}

/// A picture of the contributions waterfall and its table (refresh with
/// `UPDATE_SNAPSHOTS=1`).
#[test]
fn snapshot_contributions() {
    let mut harness = flagship();
    open_view(&mut harness, "Contributions");
    harness.snapshot("app_contributions");
}

/// The app on the flagship, started with what `storage` kept (if anything).
fn session(storage: Option<&Memory>) -> Harness<'static, CorridorApp> {
    let app = CorridorApp::new_for_test_with_storage(
        vec![PathBuf::from(FLAGSHIP)],
        storage.map(|s| s as &dyn eframe::Storage),
    );
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(move |_cc| app);
    settle(&mut harness);
    harness
}

fn spin_value(harness: &Harness<'static, CorridorApp>, label: &str) -> Option<f64> {
    harness
        .get_by_role_and_label(Role::SpinButton, label)
        .accesskit_node()
        .numeric_value()
}

#[test]
fn analysis_settings_are_remembered_across_sessions() {
    let mut storage = Memory::default();
    {
        let mut harness = session(None);
        open_view(&mut harness, "Sweep");
        choose_second_parameter(&mut harness, "agreement.trade-mou.cost_cut");
        set_drag_value(&mut harness, "Steps", 5.0);
        set_drag_value(&mut harness, "Runs per point", 30.0);
        open_view(&mut harness, "Sensitivity");
        harness.get_by_label("± percent").click();
        harness.run_ok();
        set_drag_value(&mut harness, "by", 25.0);
        eframe::App::save(harness.state_mut(), &mut storage);
    }
    let mut harness = session(Some(&storage));
    open_view(&mut harness, "Sweep");
    assert_eq!(
        text_of(&harness.get_by_label("Parameter:")),
        "agreement.agri-mou.cost_cut"
    );
    assert_eq!(
        text_of(&harness.get_by_label("Second parameter:")),
        "agreement.trade-mou.cost_cut"
    );
    assert_eq!(spin_value(&harness, "Steps"), Some(5.0));
    assert_eq!(spin_value(&harness, "Runs per point"), Some(30.0));
    open_view(&mut harness, "Sensitivity");
    assert_eq!(
        harness.get_by_label("± percent").accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    assert_eq!(spin_value(&harness, "by"), Some(25.0));

    // A new session with nothing kept starts from the defaults.
    let mut fresh = session(None);
    open_view(&mut fresh, "Sweep");
    assert_eq!(spin_value(&fresh, "Steps"), Some(11.0));
    assert_eq!(text_of(&fresh.get_by_label("Second parameter:")), "none");
}

#[test]
fn a_remembered_part_that_cannot_be_read_leaves_the_others_remembered() {
    let mut storage = Memory::default();
    {
        let mut harness = session(None);
        open_view(&mut harness, "Sweep");
        set_drag_value(&mut harness, "Steps", 5.0);
        eframe::App::save(harness.state_mut(), &mut storage);
    }
    // The remembered columns and pickers, as a hand edit or another version may leave
    // them.
    let broken: Vec<String> = storage
        .0
        .keys()
        .filter(|k| k.ends_with(".columns") || k.ends_with(".pickers"))
        .cloned()
        .collect();
    assert_eq!(broken.len(), 2, "{:?}", storage.0.keys());
    for key in broken {
        storage.0.insert(key, "(oops: [".to_owned());
    }
    let mut harness = session(Some(&storage));
    open_view(&mut harness, "Sweep");
    assert_eq!(spin_value(&harness, "Steps"), Some(5.0));
}

const KEY: &str = "state";

/// A state with every part away from its default: every part is kept as something else
/// than the default's.
fn changed_state() -> State {
    let mut state = State::default();
    state.recent = vec![PathBuf::from("a.toml"), PathBuf::from("b.toml")];
    state.open = vec![PathBuf::from("a.toml")];
    state.selected = Some(PathBuf::from("a.toml"));
    state.columns = vec![ColumnSpec {
        path: PathBuf::from("b.toml"),
        engine: EngineKind::Ge,
    }];
    state.dark = !state.dark;
    state.show_library = !state.show_library;
    state.show_editor = !state.show_editor;
    state.view = View::Sweep;
    state.pickers.region = "PAK".into();
    state.share_y = !state.share_y;
    state.analysis.sweep_steps += 3;
    let (mut kept, mut defaults) = (Memory::default(), Memory::default());
    state.save_to(&mut kept, KEY);
    State::default().save_to(&mut defaults, KEY);
    assert!(kept.0.len() > 1);
    assert_eq!(
        kept.0.keys().collect::<std::collections::BTreeSet<_>>(),
        defaults.0.keys().collect()
    );
    for (key, value) in &kept.0 {
        assert_ne!(value, &defaults.0[key], "{key}");
    }
    state
}

#[test]
fn every_part_of_the_state_comes_back_as_it_was_kept() {
    let mut storage = Memory::default();
    let state = changed_state();
    state.save_to(&mut storage, KEY);
    assert_eq!(State::restore_from(&storage, KEY), state);
    assert_eq!(
        State::restore_from(&Memory::default(), KEY),
        State::default()
    );
}

#[test]
fn a_part_of_the_state_that_cannot_be_read_falls_back_to_its_default_alone() {
    let mut storage = Memory::default();
    let state = changed_state();
    state.save_to(&mut storage, KEY);
    // A view that no longer exists, and columns of the wrong form.
    storage.0.insert(format!("{KEY}.view"), "Globe".into());
    storage
        .0
        .insert(format!("{KEY}.columns"), "(path: 3)".into());
    let restored = State::restore_from(&storage, KEY);
    assert_eq!(restored.view, State::default().view);
    assert_eq!(restored.columns, State::default().columns);
    assert_eq!(
        State {
            view: state.view,
            columns: state.columns.clone(),
            ..restored
        },
        state
    );
}

#[test]
fn the_whole_state_as_earlier_versions_kept_it_is_read_then_replaced() {
    let mut storage = Memory::default();
    let state = changed_state();
    eframe::set_value(&mut storage, KEY, &state);
    assert_eq!(State::restore_from(&storage, KEY), state);
    // Saved again, it is kept in parts, and the whole is gone.
    let mut newer = state.clone();
    newer.dark = !state.dark;
    newer.save_to(&mut storage, KEY);
    assert!(!storage.0.contains_key(KEY));
    assert_eq!(State::restore_from(&storage, KEY), newer);
}
