//! Time one GE solve of the 44-region EU-enlargement case (SPEC §4); target < 10 ms.
//!
//! Run with `cargo bench --no-default-features --bench ge_bench`.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use corridor::model::ge::{Deficits, GeBase};

const REPETITIONS: usize = 101;
const THETA: f64 = 4.0;
const BETA: f64 = 0.224249005317688;
const NEW_MEMBERS: [&str; 13] = [
    "BGR", "CYP", "CZE", "EST", "HRV", "HUN", "LTU", "LVA", "MLT", "POL", "ROU", "SVK", "SVN",
];
const OLD_MEMBERS: [&str; 16] = [
    "AUT", "BEL", "DEU", "DNK", "ESP", "FIN", "FRA", "GBR", "GRC", "IRL", "ITA", "LUX", "NLD",
    "NOR", "PRT", "SWE",
];

fn main() -> Result<(), Box<dyn Error>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/data/wiod-44-countries-2000.csv");
    let mut reader = csv::Reader::from_path(&path)?;
    let headers = reader.headers()?.clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim()))
            .ok_or_else(|| format!("{}: no column named {names:?}", path.display()))
    };
    let (from, to, value) = (
        column(&["exporter", "from"])?,
        column(&["importer", "to"])?,
        column(&["trade", "value"])?,
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let flow: f64 = record[value].trim().parse()?;
        if flow > 0.0 {
            rows.push((
                record[from].trim().to_string(),
                record[to].trim().to_string(),
                flow,
            ));
        }
    }
    let mut index = BTreeMap::new();
    for (exporter, _, _) in &rows {
        let next = index.len();
        index.entry(exporter.clone()).or_insert(next);
    }
    let region = |code: &str| {
        index
            .get(code)
            .copied()
            .ok_or(format!("unknown region {code}"))
    };
    let mut entries = Vec::with_capacity(rows.len());
    let mut phi = Vec::with_capacity(rows.len());
    for (exporter, importer, flow) in &rows {
        entries.push((region(exporter)?, region(importer)?, 0, *flow));
        let new = |c: &str| NEW_MEMBERS.contains(&c);
        let old = |c: &str| OLD_MEMBERS.contains(&c);
        let (i, j) = (exporter.as_str(), importer.as_str());
        let covered = (new(i) && old(j)) || (old(i) && new(j)) || (new(i) && new(j) && i != j);
        phi.push(if covered { (-BETA / THETA).exp() } else { 1.0 });
    }

    let base = GeBase::new(index.len(), 1, &[THETA], Deficits::Additive, &entries)?;
    let mut times = Vec::with_capacity(REPETITIONS);
    let mut iterations = 0;
    for _ in 0..REPETITIONS {
        let start = Instant::now();
        let solution = base.solve(std::hint::black_box(&phi))?;
        times.push(start.elapsed());
        iterations = solution.iterations;
    }
    times.sort();
    let median = times[REPETITIONS / 2];
    println!(
        "ge_solve_44_regions: median {:.3} ms over {REPETITIONS} runs (min {:.3} ms, max {:.3} ms), {iterations} iterations",
        ms(median),
        ms(times[0]),
        ms(times[REPETITIONS - 1]),
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
