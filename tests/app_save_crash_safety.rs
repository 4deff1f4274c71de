//! The app's Save, killed at random moments (SIGKILL), never leaves a half-written
//! scenario: the file is always one of the texts a save wrote, and temporary files a
//! killed save left behind are cleaned up by the next save.
//!
//! The test re-runs its own executable as the child: [`saving_child`] opens the scenario
//! with the app's document code, edits it and saves, over and over, until it is killed.
#![cfg(feature = "gui")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{big_scenario, temp_files};
use corridor::app::OpenScenario;
use corridor::scenario::params::{ParamValue, Target};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const TRIALS: usize = 600;
/// The file the child saves to; set only in the child.
const FILE_VAR: &str = "CORRIDOR_TEST_SAVE_FILE";
/// How many saves the child makes before it stops by itself (default: until killed).
const SAVES_VAR: &str = "CORRIDOR_TEST_SAVES";

/// What the child saves: runs = 1, 2, 1, 2, …
fn runs_of_save(i: u64) -> u32 {
    if i.is_multiple_of(2) { 1 } else { 2 }
}

#[test]
#[ignore = "the child of app_save_killed_at_random_leaves_old_or_new_file; runs only with its variable set"]
fn saving_child() {
    let file = PathBuf::from(std::env::var_os(FILE_VAR).expect("run by the parent test"));
    let saves: u64 = std::env::var(SAVES_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let target = Target::Scenario {
        field: "runs".into(),
    };
    let mut doc = OpenScenario::open(&file);
    assert!(!doc.has_errors(), "{:?}", doc.problems);
    for i in 0..saves {
        let runs = runs_of_save(i);
        doc.set(&target, ParamValue::Integer(i64::from(runs)));
        if doc.is_dirty() {
            doc.save(false).expect("the save succeeds");
        }
    }
}

fn child(file: &Path, saves: Option<u32>) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("the test executable"));
    command
        .args(["saving_child", "--exact", "--ignored", "--test-threads=1"])
        .env(FILE_VAR, file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(n) = saves {
        command.env(SAVES_VAR, n.to_string());
    }
    command.spawn().expect("the child starts")
}

#[test]
fn app_save_killed_at_random_leaves_old_or_new_file() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("scenario.toml");
    let texts = [big_scenario(0), big_scenario(1), big_scenario(2)];
    std::fs::write(&file, &texts[0]).expect("the scenario is written");

    // Kill anywhere from the start of the child to the end of its fourth save.
    let mut durations: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let status = child(&file, Some(4)).wait().expect("the child runs");
            assert!(status.success(), "an uninterrupted child saves cleanly");
            t.elapsed()
        })
        .collect();
    durations.sort();
    assert_eq!(
        std::fs::read_to_string(&file).expect("readable"),
        texts[2],
        "four saves end with runs = 2"
    );
    let window_us = u64::try_from(durations[2].as_micros())
        .unwrap_or(u64::MAX)
        .max(1000);

    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut seen = [0usize; 3];
    let mut left_temp = 0;
    let started = Instant::now();
    for trial in 0..TRIALS {
        let mut c = child(&file, None);
        std::thread::sleep(Duration::from_micros(rng.random_range(0..window_us)));
        let _ = c.kill();
        let _ = c.wait();
        let now = std::fs::read_to_string(&file).expect("the scenario is readable");
        let Some(which) = texts.iter().position(|t| *t == now) else {
            panic!(
                "trial {trial}: the file is none of the saved texts ({} bytes)",
                now.len()
            );
        };
        seen[which] += 1;
        left_temp += usize::from(!temp_files(dir.path()).is_empty());
    }
    eprintln!(
        "{TRIALS} saving children killed within {} ms, in {:.1} s: file had runs = 0 / 1 / 2 \
         after {seen:?} of them; temporary files present after {left_temp}",
        window_us / 1000,
        started.elapsed().as_secs_f64()
    );
    assert!(
        seen[1] > 0 && seen[2] > 0,
        "kills should land between saves of both values"
    );

    // Temporary files are stale once a few seconds old; then a save removes them.
    std::thread::sleep(Duration::from_millis(5500));
    let status = child(&file, Some(2)).wait().expect("the child runs");
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&file).expect("readable"), texts[2]);
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}
