//! Batch sweeps over parameters: every combination of the given values (a grid) or a
//! Latin hypercube sample, each point simulated with the same seed. Points are numbered
//! in a fixed order, and `shard I/N` takes the I-th contiguous slice, so shards can run
//! on many machines and their outputs, concatenated in order, equal the unsharded output.

use rand::RngExt;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

use crate::scenario::Scenario;
use crate::scenario::params::{ParamValue, Target, ValueKind};

/// One swept parameter and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub target: Target,
    /// The grid values, in order.
    pub values: Vec<ParamValue>,
    /// For a FROM:TO:STEP range, the interval a Latin hypercube samples continuously.
    pub interval: Option<(f64, f64)>,
    /// Decimals to keep when sampling a continuous interval (from the text of the range).
    pub decimals: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    Grid,
    /// A Latin hypercube of this many points.
    Lhs(usize),
}

impl Sampling {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "grid" => Ok(Sampling::Grid),
            _ => text
                .strip_prefix("lhs:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .map(Sampling::Lhs)
                .ok_or_else(|| {
                    format!("`{text}` is not a sampling: use grid or lhs:N (e.g. lhs:200)")
                }),
        }
    }
}

/// A shard `I/N` (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    pub fn parse(text: &str) -> Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard like 2/8"))?;
        let (index, count) = (i.trim().parse::<usize>(), n.trim().parse::<usize>());
        match (index, count) {
            (Ok(index), Ok(count)) if count >= 1 && (1..=count).contains(&index) => {
                Ok(Shard { index, count })
            }
            _ => Err(format!("`{text}` is not a shard I/N with 1 <= I <= N")),
        }
    }

    /// The points of this shard among `total`.
    pub fn range(self, total: usize) -> std::ops::Range<usize> {
        (self.index - 1) * total / self.count..self.index * total / self.count
    }
}

fn decimals_of(text: &str) -> u32 {
    text.trim().split_once('.').map_or(0, |(_, d)| {
        u32::try_from(d.trim_end_matches(|c: char| !c.is_ascii_digit()).len()).unwrap_or(0)
    })
}

fn round_to(x: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(i32::try_from(decimals.min(15)).unwrap_or(15));
    (x * scale).round() / scale
}

/// Splits a value list at commas outside brackets: `[0,2],[1,3]` is two values.
fn split_values(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Parses `PATH=FROM:TO:STEP` or `PATH=V1,V2,…` against a scenario.
pub fn parse_dimension(spec: &str, scenario: &Scenario) -> Result<Dimension, String> {
    let (path, values) = spec
        .split_once('=')
        .ok_or_else(|| format!("`{spec}` is not PATH=FROM:TO:STEP or PATH=V1,V2,…"))?;
    let target = Target::parse(path.trim())?;
    if scenario.get_param(&target).is_none() {
        return Err(format!(
            "{target} does not name a parameter of this scenario"
        ));
    }
    let kind = target.doc().map_or(ValueKind::Real, |d| d.kind);
    let parts: Vec<&str> = values.split(':').collect();
    if parts.len() == 3 && kind != ValueKind::Delay {
        let num = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        let (Some(from), Some(to), Some(step)) = (num(parts[0]), num(parts[1]), num(parts[2]))
        else {
            return Err(format!(
                "{target}: `{values}` is not FROM:TO:STEP with numbers"
            ));
        };
        if step <= 0.0 || to < from {
            return Err(format!("{target}: a range needs FROM <= TO and STEP > 0"));
        }
        let decimals = parts.iter().map(|p| decimals_of(p)).max().unwrap_or(0);
        let count = ((to - from) / step + 1e-9).floor() as usize + 1;
        if count > 1_000_000 {
            return Err(format!(
                "{target}: {count} values is too many for one parameter"
            ));
        }
        let values = (0..count)
            .map(|i| {
                let x = round_to(from + i as f64 * step, decimals);
                to_value(kind, x)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{target}: {e}"))?;
        return Ok(Dimension {
            target,
            values,
            interval: Some((from, to)),
            decimals,
        });
    }
    let values = split_values(values)
        .into_iter()
        .map(|v| target.parse_value(v).map_err(|e| format!("{target}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dimension {
        target,
        values,
        interval: None,
        decimals: 0,
    })
}

fn to_value(kind: ValueKind, x: f64) -> Result<ParamValue, String> {
    match kind {
        ValueKind::Real => Ok(ParamValue::Real(x)),
        ValueKind::Integer if x.fract() == 0.0 => Ok(ParamValue::Integer(x as i64)),
        ValueKind::Integer => Err(format!("{x} is not a whole number")),
        ValueKind::Bool | ValueKind::Delay => {
            Err("a range needs a numeric parameter; list the values instead".into())
        }
    }
}

/// Every point of the sweep, in a fixed order: a grid varies the last dimension fastest;
/// a Latin hypercube draws its strata from `seed` alone.
pub fn points(
    dims: &[Dimension],
    sampling: Sampling,
    seed: u64,
) -> Result<Vec<Vec<ParamValue>>, String> {
    match sampling {
        Sampling::Grid => {
            let total = dims.iter().try_fold(1usize, |acc, d| {
                acc.checked_mul(d.values.len()).filter(|n| *n <= 10_000_000)
            });
            let total =
                total.ok_or("the grid has more than 10 million points; use --sample lhs:N")?;
            Ok((0..total)
                .map(|mut i| {
                    let mut point = vec![ParamValue::Bool(false); dims.len()];
                    for (d, dim) in dims.iter().enumerate().rev() {
                        point[d] = dim.values[i % dim.values.len()];
                        i /= dim.values.len();
                    }
                    point
                })
                .collect())
        }
        Sampling::Lhs(n) => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u64::MAX);
            let mut columns = Vec::with_capacity(dims.len());
            for dim in dims {
                let mut strata: Vec<usize> = (0..n).collect();
                strata.shuffle(&mut rng);
                let kind = dim.target.doc().map_or(ValueKind::Real, |d| d.kind);
                let mut column = Vec::with_capacity(n);
                for &s in &strata {
                    let u = (s as f64 + rng.random::<f64>()) / n as f64;
                    let value = match dim.interval {
                        Some((from, to)) => {
                            let x = from + u * (to - from);
                            match kind {
                                ValueKind::Integer => ParamValue::Integer(x.round() as i64),
                                _ => ParamValue::Real(round_to(x, dim.decimals.max(6))),
                            }
                        }
                        None => {
                            dim.values
                                [((u * dim.values.len() as f64) as usize).min(dim.values.len() - 1)]
                        }
                    };
                    column.push(value);
                }
                columns.push(column);
            }
            Ok((0..n)
                .map(|i| columns.iter().map(|c| c[i]).collect())
                .collect())
        }
    }
}
