//! CSV output of `run` (SPEC §7): long format, one header line,
//! `scenario,year,metric,region,partner,sector,stat,value`.

use std::io::Write;

use rayon::prelude::*;

use crate::ensemble::{Outcome, STATS};
use crate::metrics::Partner;
use crate::scenario::Scenario;

pub const HEADER: [&str; 8] = [
    "scenario", "year", "metric", "region", "partner", "sector", "stat", "value",
];

/// Writes the header line.
pub fn write_header(out: &mut (impl Write + ?Sized)) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    w.flush()?;
    Ok(())
}

/// Writes every row of one scenario's outcome: for each series and year the `path` row,
/// then the Monte Carlo statistics; rows without a value are left out. Values use the
/// shortest text that reads back as the same f64.
///
/// Blocks of series are formatted in parallel and written in order, so the bytes are
/// those of writing the rows one by one.
pub fn write_rows(
    out: &mut (impl Write + ?Sized),
    scenario: &Scenario,
    outcome: &Outcome,
) -> csv::Result<()> {
    let series: Vec<usize> = (0..outcome.keys.len()).collect();
    let blocks = series
        .par_chunks(SERIES_PER_BLOCK)
        .map(|block| {
            let mut w = csv::Writer::from_writer(Vec::new());
            for &s in block {
                write_series(&mut w, scenario, outcome, s)?;
            }
            w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
        })
        .collect::<csv::Result<Vec<Vec<u8>>>>()?;
    for block in blocks {
        out.write_all(&block)?;
    }
    Ok(())
}

/// Series formatted together by one thread in [`write_rows`].
const SERIES_PER_BLOCK: usize = 64;

/// The rows of one series of [`write_rows`].
fn write_series<W: Write>(
    out: &mut csv::Writer<W>,
    scenario: &Scenario,
    outcome: &Outcome,
    series: usize,
) -> csv::Result<()> {
    let stem = scenario.stem();
    let t_count = outcome.years.len();
    let mut year_buf = itoa_buf();
    let mut value_buf = String::new();
    let key = &outcome.keys[series];
    let metric = key.metric.name();
    let region = key.region_id(scenario);
    let sector = key.sector_id(scenario);
    for (t, year) in outcome.years.iter().enumerate() {
        let idx = series * t_count + t;
        let partner = match key.partner {
            Partner::Top => outcome.path_top[idx].map_or("", |r| scenario.regions[r].id.as_str()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{self, Options};
    use crate::metrics::Plan;
    use crate::model::Model;

    #[test]
    fn blocks_formatted_in_parallel_give_the_rows_one_by_one() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/pak-rus-mous-2024.toml");
        let (scenario, _, _) = crate::scenario::load(&file)
            .into_result()
            .expect("bundled scenario loads");
        let model = Model::new(&scenario, scenario.engine).expect("model");
        let plan = Plan::new(&model);
        let options = Options {
            runs: 3,
            seed: 1,
            memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
            only: None,
        };
        let outcome = ensemble::run(&model, &plan, &options, &ensemble::Silent).expect("runs");
        assert!(outcome.keys.len() > 4 * SERIES_PER_BLOCK);
        let mut text = Vec::new();
        write_rows(&mut text, &scenario, &outcome).expect("rows");
        let mut one_by_one = csv::Writer::from_writer(Vec::new());
        for series in 0..outcome.keys.len() {
            write_series(&mut one_by_one, &scenario, &outcome, series).expect("rows");
        }
        let one_by_one = one_by_one.into_inner().expect("flushed");
        assert_eq!(text.len(), one_by_one.len());
        assert!(text == one_by_one, "rows differ");
        // A path row and six statistics per series-year with a value.
        let rows = text.iter().filter(|&&b| b == b'\n').count();
        assert!(rows > 6 * outcome.keys.len(), "{rows}");
    }
}
