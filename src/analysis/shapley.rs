//! Shapley contributions of each event to the change of one output (like GEMPACK
//! subtotals): v(T) is the output on the path with only the events in T, and
//!
//! ```text
//! φ_k = Σ_{T ⊆ E∖{k}} |T|! (|E| − |T| − 1)! / |E|! · (v(T ∪ {k}) − v(T))
//! ```
//!
//! so that Σ_k φ_k = v(E) − v(∅) exactly. Up to [`EXACT_LIMIT`] events every coalition
//! is evaluated; above that, contributions are estimated from random orderings of the
//! events (Castro, Gómez & Tejada 2009): each ordering's marginal contributions add up to
//! the total exactly, so the estimate does too, and each event gets a standard error.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

use super::path_value_with;
use crate::ensemble::{Progress, Silent};
use crate::metrics::{Plan, Scratch};
use crate::model::{Model, ModelError};

/// Events enumerated exactly up to this many (2^12 = 4,096 path simulations).
pub const EXACT_LIMIT: usize = 12;

/// One event's contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// Index into `model.events.list`.
    pub event: usize,
    pub value: f64,
    /// Standard error of a sampled estimate; 0 when exact.
    pub std_error: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// v(∅): the output with no event.
    pub no_events: f64,
    /// v(E): the output as written.
    pub as_written: f64,
    pub contributions: Vec<Contribution>,
    /// Whether every coalition was evaluated.
    pub exact: bool,
    /// Orderings sampled when not exact.
    pub samples: usize,
}

/// Splits the change of series `series` in year index `t` among the enabled events.
pub fn explain(
    model: &Model,
    plan: &Plan,
    series: usize,
    t: usize,
    samples: usize,
    seed: u64,
) -> Result<Explanation, ModelError> {
    explain_with(model, plan, series, t, samples, seed, &Silent)
}

/// [`explain`], reporting each path simulated to `progress` (out of 2 + 2^n paths for n
/// events, or 2 + samples · n when sampled) and stopping with [`ModelError::Stopped`]
/// once it asks to.
pub fn explain_with(
    model: &Model,
    plan: &Plan,
    series: usize,
    t: usize,
    samples: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Explanation, ModelError> {
    let players: Vec<usize> = (0..model.events.list.len())
        .filter(|&k| model.events.list[k].enabled)
        .collect();
    let n = players.len();
    let samples = samples.max(2);
    let total = if n <= EXACT_LIMIT {
        2 + (1u64 << n)
    } else {
        2 + (samples * n) as u64
    };
    let mut done = 0;
    let mut scratch = Scratch::default();
    let mut values = vec![f64::NAN; plan.keys.len()];
    let all_off = vec![false; model.events.list.len()];
    let mut value_of = |members: &[bool]| {
        if progress.cancelled() {
            return Err(ModelError::Stopped);
        }
        let value = path_value_with(model, plan, series, t, members, &mut scratch, &mut values);
        done += 1;
        progress.advance(done, total);
        value
    };
    let no_events = value_of(&all_off)?;
    let mut all_on = all_off.clone();
    for &k in &players {
        all_on[k] = true;
    }
    let as_written = value_of(&all_on)?;
    if n <= EXACT_LIMIT {
        // v over every coalition, indexed by bitmask over `players`.
        let mut v = vec![0.0; 1 << n];
        for (mask, slot) in v.iter_mut().enumerate() {
            let mut members = all_off.clone();
            for (b, &k) in players.iter().enumerate() {
                members[k] = mask & (1 << b) != 0;
            }
            *slot = value_of(&members)?;
        }
        let fact: Vec<f64> = (0..=n)
            .scan(1.0, |acc, i| {
                if i > 0 {
                    *acc *= i as f64;
                }
                Some(*acc)
            })
            .collect();
        let contributions = players
            .iter()
            .enumerate()
            .map(|(b, &k)| {
                let mut phi = 0.0;
                for mask in 0..(1usize << n) {
                    if mask & (1 << b) != 0 {
                        continue;
                    }
                    let size = mask.count_ones() as usize;
                    let weight = fact[size] * fact[n - size - 1] / fact[n];
                    phi += weight * (v[mask | (1 << b)] - v[mask]);
                }
                Contribution {
                    event: k,
                    value: phi,
                    std_error: 0.0,
                }
            })
            .collect();
        return Ok(Explanation {
            no_events,
            as_written,
            contributions,
            exact: true,
            samples: 0,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sum = vec![0.0; n];
    let mut sum_sq = vec![0.0; n];
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..samples {
        order.shuffle(&mut rng);
        let mut members = all_off.clone();
        let mut prev = no_events;
        for &b in &order {
            members[players[b]] = true;
            let next = value_of(&members)?;
            let marginal = next - prev;
            sum[b] += marginal;
            sum_sq[b] += marginal * marginal;
            prev = next;
        }
    }
    let m = samples as f64;
    let contributions = players
        .iter()
        .enumerate()
        .map(|(b, &k)| {
            let mean = sum[b] / m;
            let var = ((sum_sq[b] / m - mean * mean) * m / (m - 1.0)).max(0.0);
            Contribution {
                event: k,
                value: mean,
                std_error: (var / m).sqrt(),
            }
        })
        .collect();
    Ok(Explanation {
        no_events,
        as_written,
        contributions,
        exact: false,
        samples,
    })
}
