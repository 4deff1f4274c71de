//! Timing harness for the app (not a pass/fail test): prints medians of start to first
//! frame, frame time while a probability slider is dragged on the flagship, and the time
//! from the last edit until 1,000 Monte Carlo runs are on screen.
//!
//! `cargo test --release --test app_perf -- --ignored --nocapture`
#![cfg(feature = "gui")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use corridor::app::{Action, CorridorApp};
use corridor::scenario::params::{ParamValue, Target};
use egui_kittest::Harness;

const FLAGSHIP: &str = "bundled/pak-rus-mous-2024.toml";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pointer(harness: &Harness<'static, CorridorApp>, pressed: bool) {
    harness.event(egui::Event::PointerButton {
        pos: egui::pos2(1200.0, 400.0),
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    });
}

#[test]
#[ignore = "timing harness; run on purpose with --release"]
fn app_timings() {
    let mut startup = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut h = Harness::builder()
            .with_size([1500.0, 950.0])
            .build_eframe(|_cc| CorridorApp::new_for_test(vec![PathBuf::from(FLAGSHIP)]));
        h.step();
        startup.push(t.elapsed());
    }
    println!(
        "start to first frame (no window): median {:.1} ms",
        ms(median(startup))
    );

    let mut h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(|_cc| CorridorApp::new_for_test(vec![PathBuf::from(FLAGSHIP)]));
    h.run_ok();
    h.state_mut().wait_for_jobs();
    let id = h.state().docs[0]
        .scenario
        .as_ref()
        .map(|s| s.agreements[0].id.clone())
        .unwrap_or_default();
    let target = Target::Agreement {
        id,
        field: "probability".into(),
    };
    let path = PathBuf::from(FLAGSHIP);

    // A drag: the pointer is down and the value changes every frame.
    pointer(&h, true);
    let mut frames = Vec::new();
    for k in 0..60 {
        h.state_mut().push(Action::SetParam {
            path: path.clone(),
            target: target.clone(),
            value: ParamValue::Real(0.2 + 0.01 * f64::from(k)),
        });
        let t = Instant::now();
        h.step();
        frames.push(t.elapsed());
    }
    pointer(&h, false);
    h.step();
    h.state_mut().wait_for_jobs();
    println!(
        "frame during a slider drag: median {:.2} ms over {} frames",
        ms(median(frames)),
        60
    );

    // Last edit to the Monte Carlo statistics on screen.
    let mut latency = Vec::new();
    for k in 0..7 {
        let t = Instant::now();
        h.state_mut().push(Action::SetParam {
            path: path.clone(),
            target: target.clone(),
            value: ParamValue::Real(0.3 + 0.05 * f64::from(k)),
        });
        h.step();
        h.state_mut().wait_for_jobs();
        h.step();
        latency.push(t.elapsed());
    }
    println!(
        "last edit to 1,000 Monte Carlo runs shown: median {:.0} ms",
        ms(median(latency))
    );
}
