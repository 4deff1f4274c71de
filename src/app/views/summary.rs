//! The summary table: key metrics at the chosen year for every column, with the
//! difference to the first column.

use egui::RichText;
use egui_extras::{Column as TableColumn, TableBuilder};

use crate::metrics::{Metric, Partner, SeriesKey};
use crate::scenario::EngineKind;

use super::super::Column;
use super::super::compute::{Cell, Results};
use super::super::state::{Resolved, State};
use super::{describe_cell, flow_key, fmt};

const ROW_HEIGHT: f32 = 20.0;
const ROWS: usize = 11;

/// Height the table needs.
pub fn height(columns: &[Column]) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let rows = shown_rows(columns) as f32;
    ROW_HEIGHT * (rows + 1.0) + 40.0
}

/// Rows shown: GE rows only with a GE column, PE rows only with a PE column.
fn shown_rows(columns: &[Column]) -> usize {
    let (pe, ge) = engines(columns);
    ROWS - if pe { 0 } else { 2 } - if ge { 0 } else { 2 }
}

fn engines(columns: &[Column]) -> (bool, bool) {
    (
        columns.iter().any(|c| c.spec.engine == EngineKind::Pe),
        columns.iter().any(|c| c.spec.engine == EngineKind::Ge),
    )
}

/// Finds a row's series in a column's results.
type KeyFn = Box<dyn Fn(&Results, &Resolved) -> Option<SeriesKey>>;

/// A row of the table: what it shows, and how to find its series in a column.
struct Row {
    label: String,
    tooltip: String,
    metric: Metric,
    key: KeyFn,
}

fn rows(reference: &Results, p: &Resolved) -> Vec<Row> {
    let s = reference.scenario();
    let pid = p
        .partner
        .map_or_else(|| "partner".to_string(), |i| s.regions[i].id.clone());
    let rid = s.regions[p.region].id.clone();
    let simple = |m: Metric| -> KeyFn {
        Box::new(move |r: &Results, p: &Resolved| Some(r.key(m, Partner::None, p.sector)))
    };
    let all = |m: Metric| -> KeyFn {
        Box::new(move |r: &Results, _: &Resolved| Some(r.key(m, Partner::None, None)))
    };
    vec![
        Row {
            label: format!("Imports from {pid}"),
            tooltip: format!("Flow from {pid} to {rid} ({})", s.unit),
            metric: Metric::Flow,
            key: Box::new(|_, p| p.partner.map(|q| flow_key(q, p.region, p.sector))),
        },
        Row {
            label: format!("Exports to {pid}"),
            tooltip: format!("Flow from {rid} to {pid} ({})", s.unit),
            metric: Metric::Flow,
            key: Box::new(|_, p| p.partner.map(|q| flow_key(p.region, q, p.sector))),
        },
        Row {
            label: format!("{pid} share of imports"),
            tooltip: Metric::ImportShare.describe().into(),
            metric: Metric::ImportShare,
            key: Box::new(|r, p| {
                p.partner
                    .map(|q| r.key(Metric::ImportShare, Partner::Region(q), p.sector))
            }),
        },
        Row {
            label: "Imports, total".into(),
            tooltip: Metric::Imports.describe().into(),
            metric: Metric::Imports,
            key: simple(Metric::Imports),
        },
        Row {
            label: "Supplier HHI".into(),
            tooltip: Metric::SupplierHhi.describe().into(),
            metric: Metric::SupplierHhi,
            key: simple(Metric::SupplierHhi),
        },
        Row {
            label: "Effective suppliers".into(),
            tooltip: Metric::EffectiveSuppliers.describe().into(),
            metric: Metric::EffectiveSuppliers,
            key: simple(Metric::EffectiveSuppliers),
        },
        Row {
            label: "Top supplier share".into(),
            tooltip: Metric::TopSupplierShare.describe().into(),
            metric: Metric::TopSupplierShare,
            key: Box::new(|r, p| Some(r.key(Metric::TopSupplierShare, Partner::Top, p.sector))),
        },
        Row {
            label: "Trade creation (PE)".into(),
            tooltip: Metric::Creation.describe().into(),
            metric: Metric::Creation,
            key: simple(Metric::Creation),
        },
        Row {
            label: "Trade diversion (PE)".into(),
            tooltip: Metric::Diversion.describe().into(),
            metric: Metric::Diversion,
            key: simple(Metric::Diversion),
        },
        Row {
            label: "Welfare (GE)".into(),
            tooltip: Metric::Welfare.describe().into(),
            metric: Metric::Welfare,
            key: all(Metric::Welfare),
        },
        Row {
            label: "Real wage (GE)".into(),
            tooltip: Metric::RealWage.describe().into(),
            metric: Metric::RealWage,
            key: all(Metric::RealWage),
        },
    ]
}

pub fn summary_ui(ui: &mut egui::Ui, columns: &[Column], state: &State) {
    let Some(reference) = columns.iter().find_map(|c| c.results.as_ref()) else {
        return;
    };
    let p0 = state.pickers.resolve(reference.scenario());
    let (pe, ge) = engines(columns);
    let mut rows = rows(reference, &p0);
    rows.retain(|r| match r.metric {
        Metric::Creation | Metric::Diversion => pe,
        Metric::Welfare | Metric::RealWage => ge,
        _ => true,
    });
    ui.label(
        RichText::new(format!(
            "Summary at {} for {} — median of the runs (path if none); Δ = difference to the first column",
            p0.year,
            reference.scenario().regions[p0.region].id
        ))
        .strong(),
    );
    // Values per row and column.
    let cells: Vec<Vec<Option<Cell>>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    let r = c.results.as_ref()?;
                    let p = state.pickers.resolve(r.scenario());
                    let key = (row.key)(r, &p)?;
                    r.cell_of(&key, p.t)
                })
                .collect()
        })
        .collect();
    let mut table = TableBuilder::new(ui)
        .id_salt("summary")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(TableColumn::initial(190.0).at_least(120.0));
    for _ in columns {
        table = table.column(TableColumn::remainder().at_least(120.0));
    }
    table
        .header(ROW_HEIGHT, |mut header| {
            header.col(|ui| {
                ui.strong("Metric");
            });
            for c in columns {
                header.col(|ui| {
                    let engine = if c.spec.engine == EngineKind::Ge {
                        " (GE)"
                    } else {
                        ""
                    };
                    let title = c.results.as_ref().map_or_else(
                        || c.spec.path.display().to_string(),
                        |r| r.scenario().name.clone(),
                    );
                    ui.add(
                        egui::Label::new(RichText::new(format!("{title}{engine}")).strong())
                            .truncate(),
                    );
                });
            }
        })
        .body(|mut body| {
            for (row, values) in rows.iter().zip(&cells) {
                body.row(ROW_HEIGHT, |mut tr| {
                    tr.col(|ui| {
                        ui.label(&row.label).on_hover_text(&row.tooltip);
                    });
                    let first = values.first().copied().flatten();
                    for (k, v) in values.iter().enumerate() {
                        tr.col(|ui| match v {
                            Some(c) => {
                                let mut text = fmt(row.metric, c.headline());
                                if k > 0
                                    && let Some(f) = first
                                {
                                    text.push_str(&format!(
                                        "   Δ {}",
                                        delta(
                                            row.metric,
                                            c.headline() - f.headline(),
                                            f.headline()
                                        )
                                    ));
                                }
                                ui.label(text).on_hover_text(describe_cell(row.metric, c));
                            }
                            None => {
                                ui.weak("–");
                            }
                        });
                    }
                });
            }
        });
}

fn delta(metric: Metric, d: f64, base: f64) -> String {
    let sign = if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "-"
    } else {
        "±"
    };
    let magnitude = fmt(metric, d.abs());
    if metric.is_value() && base.abs() > 0.0 {
        format!(
            "{sign}{magnitude} ({sign}{:.1} %)",
            (d / base).abs() * 100.0
        )
    } else {
        format!("{sign}{magnitude}")
    }
}
