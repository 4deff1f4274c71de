//! Pictures of the app's main views, rendered on the CPU (wgpu on Mesa) and compared
//! with the images in `tests/snapshots/`. Refresh them with `UPDATE_SNAPSHOTS=1`.
//! Files given to the app open side by side, one column each.
#![cfg(feature = "gui")]

use std::path::PathBuf;

use corridor::app::{Action, CorridorApp, View};
use corridor::scenario::params::{ParamValue, Target};
use egui_kittest::Harness;

fn comparison(files: &[&str], view: View) -> Harness<'static, CorridorApp> {
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let mut harness = Harness::builder()
        .with_size([1500.0, 950.0])
        .with_max_steps(16)
        .build_eframe(move |_cc| CorridorApp::new_for_test(files));
    harness.state_mut().push(Action::SetView(view));
    harness.run_ok();
    harness.state_mut().wait_for_jobs();
    harness.run_ok();
    harness
}

#[test]
fn snapshot_comparison_of_bilateral_trade() {
    let mut h = comparison(
        &[
            "bundled/pak-rus-mous-2024.toml",
            "bundled/pak-rus-on-schedule.toml",
        ],
        View::Trade,
    );
    h.snapshot("app_compare_trade");
}

#[test]
fn snapshot_supplier_concentration() {
    let mut h = comparison(
        &[
            "bundled/pak-rus-mous-2024.toml",
            "bundled/pak-rus-sanctions-friction.toml",
        ],
        View::Concentration,
    );
    h.snapshot("app_concentration");
}

#[test]
fn snapshot_partner_shares() {
    let mut h = comparison(&["bundled/pak-rus-mous-2024.toml"], View::Shares);
    h.snapshot("app_partner_shares");
}

#[test]
fn snapshot_pe_and_ge_side_by_side() {
    let mut h = comparison(&["bundled/pak-rus-mous-2024.toml"], View::General);
    // Fewer runs keep the GE ensemble quick in unoptimised test builds.
    h.state_mut().push(Action::SetParam {
        path: PathBuf::from("bundled/pak-rus-mous-2024.toml"),
        target: Target::Scenario {
            field: "runs".into(),
        },
        value: ParamValue::Integer(200),
    });
    h.state_mut()
        .push(Action::Command(corridor::app::Command::AddToComparison));
    h.run_ok();
    h.state_mut().wait_for_jobs();
    h.run_ok();
    h.snapshot("app_pe_ge");
}
