//! JSON output of `run`. The schema is documented in `docs/output.md` and checked by a
//! test: one object per scenario with its series; missing values are `null`.

use serde::Serialize;

use crate::ensemble::{Outcome, STATS};
use crate::metrics::Partner;
use crate::scenario::Scenario;

#[derive(Serialize)]
pub struct ScenarioReport<'a> {
    pub corridor_version: &'static str,
    pub scenario: String,
    pub name: &'a str,
    pub file: String,
    pub engine: &'static str,
    pub unit: &'a str,
    pub runs: u32,
    pub seed: u64,
    pub years: &'a [i32],
    pub series: Vec<SeriesReport<'a>>,
}

#[derive(Serialize)]
pub struct SeriesReport<'a> {
    pub metric: &'static str,
    pub region: &'a str,
    /// Partner region or bloc id; `null` where the metric has none. For
    /// `top_supplier_share` see `top_partner`.
    pub partner: Option<&'a str>,
    pub sector: &'a str,
    pub path: Vec<Option<f64>>,
    /// The top supplier on the path in each year (`top_supplier_share` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_partner: Option<Vec<Option<&'a str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p5: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p25: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p75: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<Vec<Option<f64>>>,
}

fn opt(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
}

pub fn report<'a>(
    scenario: &'a Scenario,
    engine: crate::scenario::EngineKind,
    outcome: &'a Outcome,
) -> ScenarioReport<'a> {
    let mut series = Vec::with_capacity(outcome.keys.len());
    for (i, key) in outcome.keys.iter().enumerate() {
        let path = outcome.path_of(i);
        let has_value = path.iter().any(|v| !v.is_nan())
            || outcome
                .stat_of(0, i)
                .is_some_and(|m| m.iter().any(|v| !v.is_nan()));
        if !has_value {
            continue;
        }
        let t = outcome.years.len();
        let stat = |k: usize| outcome.stat_of(k, i).map(opt);
        let top_partner = (key.partner == Partner::Top).then(|| {
            outcome.path_top[i * t..(i + 1) * t]
                .iter()
                .map(|r| r.map(|r| scenario.regions[r].id.as_str()))
                .collect()
        });
        debug_assert_eq!(STATS.len(), 6);
        series.push(SeriesReport {
            metric: key.metric.name(),
            region: key.region_id(scenario),
            partner: match key.partner {
                Partner::None | Partner::Top => None,
                _ => Some(key.partner_id(scenario)),
            },
            sector: key.sector_id(scenario),
            path: opt(path),
            top_partner,
            mean: stat(0),
            p5: stat(1),
            p25: stat(2),
            p50: stat(3),
            p75: stat(4),
            p95: stat(5),
        });
    }
    ScenarioReport {
        corridor_version: crate::VERSION,
        scenario: scenario.stem(),
        name: &scenario.name,
        file: scenario.path.display().to_string(),
        engine: engine.as_str(),
        unit: &scenario.unit,
        runs: outcome.runs,
        seed: outcome.seed,
        years: &outcome.years,
        series,
    }
}
