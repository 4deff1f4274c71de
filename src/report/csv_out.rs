//! CSV output of `run` (SPEC §7): long format, one header line,
//! `scenario,year,metric,region,partner,sector,stat,value`.

use std::io::Write;

use crate::ensemble::{Outcome, STATS};
use crate::metrics::Partner;
use crate::scenario::Scenario;

pub const HEADER: [&str; 8] = [
    "scenario", "year", "metric", "region", "partner", "sector", "stat", "value",
];

/// Writes the header line.
pub fn write_header<W: Write>(out: &mut csv::Writer<W>) -> csv::Result<()> {
    out.write_record(HEADER)
}

/// Writes every row of one scenario's outcome: for each series and year the `path` row,
/// then the Monte Carlo statistics; rows without a value are left out. Values use the
/// shortest text that reads back as the same f64.
pub fn write_rows<W: Write>(
    out: &mut csv::Writer<W>,
    scenario: &Scenario,
    outcome: &Outcome,
) -> csv::Result<()> {
    let stem = scenario.stem();
    let t_count = outcome.years.len();
    let mut year_buf = itoa_buf();
    let mut value_buf = String::new();
    for (series, key) in outcome.keys.iter().enumerate() {
        let metric = key.metric.name();
        let region = key.region_id(scenario);
        let sector = key.sector_id(scenario);
        for (t, year) in outcome.years.iter().enumerate() {
            let idx = series * t_count + t;
            let partner = match key.partner {
                Partner::Top => {
                    outcome.path_top[idx].map_or("", |r| scenario.regions[r].id.as_str())
                }
                _ => key.partner_id(scenario),
            };
            year_buf.clear();
            year_buf.push_str(&year.to_string());
            let mut row = |stat: &str, v: f64, value_buf: &mut String| -> csv::Result<()> {
                if v.is_nan() {
                    return Ok(());
                }
                value_buf.clear();
                value_buf.push_str(&format_value(v));
                out.write_record([
                    stem.as_str(),
                    year_buf.as_str(),
                    metric,
                    region,
                    partner,
                    sector,
                    stat,
                    value_buf.as_str(),
                ])
            };
            row("path", outcome.path[idx], &mut value_buf)?;
            if let Some(stats) = &outcome.stats {
                for (k, name) in STATS.iter().enumerate() {
                    row(name, stats[k][idx], &mut value_buf)?;
                }
            }
        }
    }
    Ok(())
}

fn itoa_buf() -> String {
    String::with_capacity(8)
}

/// Shortest decimal text that parses back to exactly `v` (Rust's float formatting
/// guarantees the round trip); `-0` is written as `0`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v}")
    }
}
