//! Optional timing reports on stderr (`CORRIDOR_TIMINGS=1`): start to first frame, frame
//! times while a control is dragged, and the time from the last edit until the Monte
//! Carlo statistics are on screen.

use std::time::{Duration, Instant};

pub struct Timings {
    enabled: bool,
    last_edit: Option<Instant>,
    drag_frames: Vec<Duration>,
}

impl Timings {
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("CORRIDOR_TIMINGS").is_some(),
            last_edit: None,
            drag_frames: Vec::new(),
        }
    }

    pub fn report(&self, what: &str, d: Duration) {
        if self.enabled {
            eprintln!("{what}: {:.1} ms", d.as_secs_f64() * 1e3);
        }
    }

    pub fn edited(&mut self) {
        self.last_edit = Some(Instant::now());
    }

    /// A frame ended. Frames that edited a value while the pointer was down are drag
    /// frames; their summary is printed when the pointer is released.
    pub fn frame(&mut self, started: Instant, interacting: bool, edited: bool) {
        if !self.enabled {
            return;
        }
        if interacting {
            if edited {
                self.drag_frames.push(started.elapsed());
            }
        } else if !self.drag_frames.is_empty() {
            let mut frames = std::mem::take(&mut self.drag_frames);
            frames.sort();
            let median = frames[frames.len() / 2];
            let worst = frames[frames.len() - 1];
            eprintln!(
                "drag: {} frames, median {:.2} ms, max {:.2} ms",
                frames.len(),
                median.as_secs_f64() * 1e3,
                worst.as_secs_f64() * 1e3
            );
        }
    }

    /// Monte Carlo statistics of the current revision reached the screen.
    pub fn runs_shown(&mut self, runs: u32) {
        if let Some(t) = self.last_edit.take() {
            self.report(
                &format!("last edit to {runs} Monte Carlo runs shown"),
                t.elapsed(),
            );
        }
    }
}
