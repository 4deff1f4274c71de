//! Readable tables for the terminal: `run --format table` and `compare`.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::ensemble::Outcome;
use crate::metrics::{Metric, Partner};
use crate::scenario::Scenario;

/// A number for people: values with thousands separators (in scientific notation from
/// 1e15 on), shares and indices with four decimals.
pub fn human(v: f64, metric: Metric) -> String {
    if v.is_nan() {
        return "–".to_string();
    }
    if metric.is_value() && v.abs() >= 1e15 {
        // Beyond a thousand trillion, digit groups stop being readable.
        format!("{v:.4e}")
    } else if metric.is_value() {
        let s = format!("{:.1}", v.abs());
        let (int, frac) = s.split_once('.').unwrap_or((&s, "0"));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{}{grouped}.{frac}", if v < 0.0 { "-" } else { "" })
    } else {
        format!("{v:.4}")
    }
}

fn new_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    t
}

/// One row per series: base-year value, then path and bands at `year`.
pub fn run_table(scenario: &Scenario, outcome: &Outcome, year: i32) -> String {
    let Some(t) = outcome.years.iter().position(|y| *y == year) else {
        return String::new();
    };
    let year_s = year.to_string();
    let base_s = outcome.years[0].to_string();
    let mut header = vec![
        "metric",
        "region",
        "partner",
        "sector",
        base_s.as_str(),
        year_s.as_str(),
    ];
    if outcome.stats.is_some() {
        header.extend(["mean", "p5", "p50", "p95"]);
    }
    let mut table = new_table(header);
    let tc = outcome.years.len();
    for (i, key) in outcome.keys.iter().enumerate() {
        let path = outcome.path_of(i);
        if path[0].is_nan() && path[t].is_nan() {
            continue;
        }
        let partner = match key.partner {
            Partner::Top => outcome.path_top[i * tc + t]
                .map_or(String::new(), |r| scenario.regions[r].id.clone()),
            _ => key.partner_id(scenario).to_string(),
        };
        let mut row = vec![
            key.metric.name().to_string(),
            key.region_id(scenario).to_string(),
            partner,
            key.sector_id(scenario).to_string(),
            human(path[0], key.metric),
            human(path[t], key.metric),
        ];
        if outcome.stats.is_some() {
            for stat in [0, 1, 3, 5] {
                row.push(
                    outcome
                        .stat_of(stat, i)
                        .map_or("–".into(), |s| human(s[t], key.metric)),
                );
            }
        }
        table.add_row(row);
    }
    for col in 4..table.column_count() {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// One scenario's line in a comparison.
pub struct CompareRow {
    pub scenario: String,
    pub partner: String,
    pub path: f64,
    pub mean: Option<f64>,
    pub p5: Option<f64>,
    pub p95: Option<f64>,
}

/// The comparison table: each scenario's value with the difference to the first.
pub fn compare_table(metric: Metric, rows: &[CompareRow]) -> String {
    let mut table = new_table(vec![
        "scenario",
        "partner",
        "path",
        "Δ vs first",
        "Δ %",
        "mean",
        "p5",
        "p95",
    ]);
    let first = rows.first().map_or(f64::NAN, |r| r.path);
    for r in rows {
        let diff = r.path - first;
        let pct = if first != 0.0 {
            format!("{:+.2}%", 100.0 * diff / first.abs())
        } else {
            "–".into()
        };
        let signed = if diff.is_nan() {
            "–".to_string()
        } else if diff >= 0.0 {
            format!("+{}", human(diff, metric))
        } else {
            human(diff, metric)
        };
        let opt = |v: Option<f64>| v.map_or("–".into(), |v| human(v, metric));
        table.add_row(vec![
            r.scenario.clone(),
            r.partner.clone(),
            human(r.path, metric),
            signed,
            if r.path.is_nan() || first.is_nan() {
                "–".into()
            } else {
                pct
            },
            opt(r.mean),
            opt(r.p5),
            opt(r.p95),
        ]);
    }
    for col in 2..table.column_count() {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}
