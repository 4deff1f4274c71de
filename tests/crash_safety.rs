//! `corridor set` killed at random moments (SIGKILL) never leaves a half-written scenario:
//! the file is always exactly the old or the new text (SPEC §7), and temporary files a
//! killed run left behind are cleaned up by the next successful `set`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{big_scenario, temp_files};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const TRIALS: usize = 1000;

fn set(file: &Path, runs: u32) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("set")
        .arg(file)
        .arg(format!("scenario.runs={runs}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("corridor starts")
}

#[test]
fn killed_set_leaves_old_or_new_file_and_next_set_cleans_up() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("scenario.toml");
    let texts = [big_scenario(0), big_scenario(1)];
    std::fs::write(&file, &texts[0]).expect("the scenario is written");
    // Kill anywhere from the start to just past the end of an uninterrupted run.
    let mut durations: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            assert!(set(&file, 0).wait().expect("corridor runs").success());
            t.elapsed()
        })
        .collect();
    durations.sort();
    let window_us = u64::try_from(durations[2].as_micros() * 6 / 5)
        .unwrap_or(u64::MAX)
        .max(1000);
    let mut current = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut changed, mut unchanged, mut left_temp) = (0, 0, 0);
    let started = Instant::now();
    for trial in 0..TRIALS {
        let target = 1 - current;
        let mut child = set(&file, u32::try_from(target).expect("0 or 1"));
        std::thread::sleep(Duration::from_micros(rng.random_range(0..window_us)));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read_to_string(&file).expect("the scenario is readable");
        if now == texts[target] {
            current = target;
            changed += 1;
        } else {
            assert!(
                now == texts[current],
                "trial {trial}: the file is neither the old nor the new text ({} bytes)",
                now.len()
            );
            unchanged += 1;
        }
        left_temp += usize::from(!temp_files(dir.path()).is_empty());
    }
    eprintln!(
        "{TRIALS} runs killed within {} ms, in {:.1} s: {changed} had written the new file, \
         {unchanged} had not; temporary files present after {left_temp} of them",
        window_us / 1000,
        started.elapsed().as_secs_f64()
    );
    // Temporary files are stale once a few seconds old; then a successful set removes them.
    std::thread::sleep(Duration::from_millis(5500));
    let status = set(&file, 5).wait().expect("corridor runs");
    assert!(status.success(), "a plain set succeeds");
    assert_eq!(
        std::fs::read_to_string(&file).expect("readable"),
        big_scenario(5)
    );
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
    assert!(
        changed > 0 && unchanged > 0,
        "kills should land before and after the write"
    );
}
