//! The analysis views of the scenario in the editor: what each agreement and shock
//! contributes to the chosen metric, a sensitivity tornado, and sweeps of one parameter
//! (a line) or two (a heatmap). The work is in [`crate::app::analysis`]; this draws it.

use std::time::Duration;

use egui::{Color32, RichText};
use egui_plot::{
    AxisHints, Bar, BarChart, Corner, GridInput, GridMark, Heatmap, HoverPosition, Legend, Line,
    Plot, PlotPoint, Points, VLine,
};

use crate::analysis::sensitivity::{Row, Statistic};
use crate::ensemble::STATS;
use crate::metrics::Metric;
use crate::scenario::Scenario;
use crate::scenario::params::{ParamValue, Target, ValueKind};

use super::super::Action;
use super::super::analysis::{
    Analysis, AnalysisAction, Axis, Ended, MAX_SWEEP_RUNS, SENSITIVITY_PCT, SWEEP_STEPS,
    SensitivityRequest, Subject, SweepGrid, default_axis, describe, first_axis, sweepable,
};
use super::super::state::View;
use super::{BAND, PALETTE, PATH, fmt, fmt_axis, thousands};

/// A bar filled with its colour (egui_plot's default fill is faint).
fn solid(bar: Bar, color: Color32) -> Bar {
    bar.fill(color.gamma_multiply(0.8))
        .stroke(egui::Stroke::new(1.0, color))
}

const RAISES: Color32 = Color32::from_rgb(31, 119, 180);
const LOWERS: Color32 = Color32::from_rgb(255, 127, 14);
/// Viridis, low to high: readable in both themes and for colour-blind readers.
const SCALE: [[u8; 3]; 5] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
];

pub fn analysis_ui(
    ui: &mut egui::Ui,
    view: View,
    found: Result<(Subject, &Scenario), String>,
    analysis: &mut Analysis,
    actions: &mut Vec<Action>,
) {
    let (subject, scenario) = match found {
        Ok(x) => x,
        Err(e) => {
            ui.label(e);
            return;
        }
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(&scenario.name).strong()).on_hover_text(
            "The scenario in the parameter editor; select another in the library to analyse it.",
        );
        ui.weak(format!("{} engine", subject.engine.as_str().to_uppercase()))
            .on_hover_text(
                "The engine of this scenario's first column in the comparison (switch it there with PE / GE).",
            );
        ui.weak(describe(scenario, &subject.key, subject.year))
            .on_hover_text(format!(
                "The output analysed: {}. Change it with the pickers above.",
                subject.key.metric.describe()
            ));
    });
    ui.separator();
    // Bar charts get a fixed height per row and the table below them, so they scroll.
    let scroll = |ui: &mut egui::Ui, body: &mut dyn FnMut(&mut egui::Ui)| {
        egui::ScrollArea::vertical()
            .id_salt(("analysis", view))
            .auto_shrink([false, false])
            .show(ui, |ui| body(ui));
    };
    match view {
        View::Contributions => scroll(ui, &mut |ui| {
            contributions_ui(ui, &subject, analysis, actions);
        }),
        View::Sensitivity => scroll(ui, &mut |ui| {
            sensitivity_ui(ui, &subject, scenario, analysis, actions);
        }),
        View::Sweep => sweep_ui(ui, &subject, scenario, analysis, actions),
        _ => {}
    }
}

fn is_share(metric: Metric) -> bool {
    matches!(
        metric,
        Metric::ImportShare
            | Metric::TopSupplierShare
            | Metric::BlocImportShare
            | Metric::BlocTradeShare
            | Metric::SelfSufficiency
    )
}

/// A change of a metric, with its sign: percentage points for shares.
fn fmt_change(metric: Metric, v: f64) -> String {
    if v.is_nan() {
        return "–".into();
    }
    let sign = if v > 0.0 { "+" } else { "" };
    if is_share(metric) {
        format!("{:+.2} pp", v * 100.0)
    } else if metric.is_value() && v.abs() >= 100.0 {
        format!("{sign}{}", thousands(v))
    } else if metric.is_value() {
        format!("{v:+.2}")
    } else {
        format!("{v:+.4}")
    }
}

/// Grid marks at whole numbers only (rows of a bar chart, tiles of a heatmap). Marks at
/// multiples of 5, 10, 50 count as coarser, so their labels stay when rows are close.
fn whole_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    #[allow(clippy::cast_possible_truncation)]
    let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
    (lo..=hi)
        .map(|i| {
            let step = [100, 50, 10, 5, 1]
                .into_iter()
                .find(|s| i % s == 0)
                .unwrap_or(1);
            #[allow(clippy::cast_precision_loss)]
            GridMark {
                value: i as f64,
                step_size: step as f64,
            }
        })
        .collect()
}

/// An axis value of a metric, with enough decimals to tell neighbouring marks apart
/// (shares in percent).
fn axis_value(metric: Metric, v: f64, step: f64) -> String {
    if is_share(metric) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let decimals = (-(step * 100.0).log10().floor()).clamp(0.0, 4.0) as usize;
        format!("{:.decimals$} %", v * 100.0)
    } else {
        fmt_axis(metric, v, step)
    }
}

/// Height of one bar row, enough for its label on the y axis.
const ROW_HEIGHT: f32 = 28.0;
/// Rows drawn in a bar chart; the table below lists all of them.
const MAX_ROWS: usize = 15;

/// The y axis of a bar chart: one label per row.
/// A plot of `n` horizontal bars, one labelled row each (row 0 at the bottom), with the
/// metric's values on the x axis: the layout of the waterfall and of the tornado.
fn rows_plot(id: &'static str, n: usize, labels: Vec<String>, m: Metric) -> Plot<'static> {
    #[allow(clippy::cast_precision_loss)]
    Plot::new(id)
        .height(ROW_HEIGHT * n as f32 + 70.0)
        .legend(Legend::default().position(Corner::RightBottom))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(-0.6)
        .include_y(n as f64 - 0.4)
        .y_grid_spacer(whole_marks)
        .custom_y_axes(vec![rows_axis(labels)])
        .x_axis_formatter(move |mark, _| axis_value(m, mark.value, mark.step_size))
        .x_axis_label(m.name())
}

fn rows_axis(labels: Vec<String>) -> AxisHints<'static> {
    AxisHints::new_y()
        .formatter(move |mark, _| row_label(&labels, mark.value))
        .label_spacing(16.0..=22.0)
}

/// The label of row `value` among `labels` (top row first), for a y axis.
fn row_label(labels: &[String], value: f64) -> String {
    let n = labels.len();
    let v = value.round();
    if (value - v).abs() > 1e-6 || v < 0.0 {
        return String::new();
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = v as usize;
    if i < n {
        labels[n - 1 - i].clone()
    } else {
        String::new()
    }
}

fn busy_ui(ui: &mut egui::Ui, text: &str) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.weak(text);
    });
}

/// A progress bar with a Cancel button. Returns whether Cancel was clicked.
fn progress_ui(ui: &mut egui::Ui, fraction: f32, text: String, what: &str) -> bool {
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(220.0)
            .text(text),
    )
    .on_hover_text(format!(
        "The {what} runs on a background thread; the app stays usable meanwhile."
    ));
    ui.button("Cancel")
        .on_hover_text(format!(
            "Stop the {what}; what was computed so far stays on screen."
        ))
        .clicked()
}

fn contributions_ui(
    ui: &mut egui::Ui,
    subject: &Subject,
    analysis: &Analysis,
    actions: &mut Vec<Action>,
) {
    let task = &analysis.contributions;
    let busy = task.running.is_some();
    // A long computation (many events, a large scenario) shows how far it is and can be
    // stopped; the last contributions stay on screen meanwhile.
    let long = task
        .running
        .as_ref()
        .filter(|r| r.started.elapsed() > Duration::from_millis(300));
    if let Some(r) = long {
        let (done, total) = r.progress.counts();
        ui.horizontal_wrapped(|ui| {
            let text = format!("path {done} of {total}");
            if progress_ui(ui, r.progress.fraction(), text, "contributions") {
                actions.push(Action::Analysis(AnalysisAction::CancelContributions));
            }
        });
    }
    match &task.ended {
        Some(Ended::Failed(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(Ended::Cancelled { done, total }) => {
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Contributions cancelled after {done} of {total} paths."),
                );
                if ui
                    .button("Compute again")
                    .on_hover_text("Compute the contributions of the chosen output from the start.")
                    .clicked()
                {
                    actions.push(Action::Analysis(AnalysisAction::RetryContributions));
                }
            });
        }
        None => {}
    }
    let Some(finished) = &task.result else {
        if busy && long.is_none() {
            busy_ui(ui, "Computing the contributions…");
        }
        return;
    };
    let c = &finished.value;
    let e = &c.explanation;
    let m = c.key.metric;
    let total = e.as_written - e.no_events;
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "Total change {}: from {} without any event to {} as written.",
            fmt_change(m, total),
            fmt(m, e.no_events),
            fmt(m, e.as_written)
        ))
        .on_hover_text(format!(
            "{}: the as-written path against the same path with every agreement and shock switched off.",
            c.description
        ));
        if e.exact {
            ui.weak("Every combination of events was evaluated, so the contributions add up exactly.")
        } else {
            ui.weak(format!(
                "Estimated from {} random orders of the events; ± is one standard error.",
                e.samples
            ))
        }
        .on_hover_text("Each contribution is the event's Shapley value: its average effect over every order in which the events could be switched on (as GEMPACK subtotals).");
        if busy || finished.request != *subject {
            ui.spinner();
            ui.weak("updating…");
        }
    });
    if e.contributions.is_empty() {
        ui.label("This scenario has no enabled agreement or shock, so nothing changes.");
        return;
    }
    let mut order: Vec<usize> = (0..e.contributions.len()).collect();
    order.sort_by(|&a, &b| {
        e.contributions[b]
            .value
            .abs()
            .total_cmp(&e.contributions[a].value.abs())
    });
    // The largest contributions get a row each; the rest share one.
    let mut rows: Vec<(String, f64, f64)> = order
        .iter()
        .map(|&i| {
            let k = &e.contributions[i];
            (c.events[i].0.clone(), k.value, k.std_error)
        })
        .collect();
    if rows.len() > MAX_ROWS {
        let rest = rows.split_off(MAX_ROWS - 1);
        let value = rest.iter().map(|r| r.1).sum();
        rows.push((format!("{} other events", rest.len()), value, 0.0));
    }
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let (mut up, mut down, mut whiskers) = (Vec::new(), Vec::new(), Vec::new());
    let mut level = e.no_events;
    for (row, (name, value, std_error)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = (n - 1 - row) as f64;
        let bar = Bar::new(y, *value).base_offset(level).width(0.6).name(name);
        if *value >= 0.0 {
            up.push(solid(bar, RAISES));
        } else {
            down.push(solid(bar, LOWERS));
        }
        level += value;
        if *std_error > 0.0 {
            whiskers.push([[level - std_error, y], [level + std_error, y]]);
        }
    }
    let formatter =
        move |bar: &Bar, _: &BarChart| format!("{}: {}", bar.name, fmt_change(m, bar.value));
    ui.label(
        RichText::new(
            "Waterfall: each bar starts where the one above ends, from the world without any event (grey line) to the value as written (red line).",
        )
        .small(),
    );
    rows_plot("contributions-waterfall", n, labels, m).show(ui, |pui| {
        pui.bar_chart(
            BarChart::new("raises the metric", up)
                .horizontal()
                .color(RAISES)
                .element_formatter(Box::new(formatter)),
        );
        pui.bar_chart(
            BarChart::new("lowers the metric", down)
                .horizontal()
                .color(LOWERS)
                .element_formatter(Box::new(formatter)),
        );
        for w in whiskers {
            pui.line(Line::new("± one standard error", w.to_vec()).color(Color32::GRAY));
        }
        pui.add(
            VLine::new("no-event world", e.no_events)
                .color(Color32::GRAY)
                .width(1.5),
        );
        pui.add(
            VLine::new("as written", e.as_written)
                .color(PATH)
                .width(1.5),
        );
    });
    ui.separator();
    egui::Grid::new("contributions-grid")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            ui.strong("event");
            ui.strong("name");
            ui.strong("contribution")
                .on_hover_text("The event's Shapley contribution to the change of the metric.");
            ui.strong("share of the change");
            ui.end_row();
            for &i in &order {
                let k = &e.contributions[i];
                let (id, kind, name) = &c.events[i];
                ui.label(id.as_str())
                    .on_hover_text(format!("{kind} {id}: {name}"));
                ui.label(name.as_str());
                let value = if k.std_error > 0.0 {
                    format!(
                        "{} ± {}",
                        fmt_change(m, k.value),
                        fmt_change(m, k.std_error).trim_start_matches('+')
                    )
                } else {
                    fmt_change(m, k.value)
                };
                ui.label(value);
                ui.label(if total == 0.0 {
                    "–".to_string()
                } else {
                    format!("{:.1} %", 100.0 * k.value / total)
                });
                ui.end_row();
            }
            ui.strong("total change");
            ui.label("");
            ui.strong(fmt_change(m, total));
            ui.label("100 %");
            ui.end_row();
        });
}

fn statistic_label(s: Statistic) -> String {
    match s {
        Statistic::Path => "as-written path".into(),
        Statistic::Stat(k) => stat_name(k),
    }
}

fn stat_name(k: usize) -> String {
    match STATS.get(k) {
        Some(&"p50") => "median of runs".into(),
        Some(&"mean") => "mean of runs".into(),
        Some(name) => format!("{} of runs", name.to_uppercase()),
        None => String::new(),
    }
}

fn sensitivity_ui(
    ui: &mut egui::Ui,
    subject: &Subject,
    scenario: &Scenario,
    analysis: &mut Analysis,
    actions: &mut Vec<Action>,
) {
    let settings = &mut analysis.settings;
    ui.horizontal_wrapped(|ui| {
        let name = ui.label("Output:");
        egui::ComboBox::from_id_salt("sensitivity-statistic")
            .selected_text(statistic_label(settings.sensitivity_statistic))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut settings.sensitivity_statistic, Statistic::Path, statistic_label(Statistic::Path))
                    .on_hover_text("Every event on schedule, no noise: fast.");
                for k in 0..STATS.len() {
                    ui.selectable_value(&mut settings.sensitivity_statistic, Statistic::Stat(k), stat_name(k))
                        .on_hover_text(format!("Over the scenario's {} Monte Carlo runs, with the same random numbers for every variant. Slower.", scenario.runs.max(1)));
                }
            })
            .response
            .labelled_by(name.id)
            .on_hover_text("Which number of the chosen metric is compared: the as-written path, or a statistic over the scenario's Monte Carlo runs (each variant uses the same random numbers, so differences are not noise).");
        ui.separator();
        let mut pct = settings.sensitivity_pct.is_some();
        ui.radio_value(&mut pct, false, "Typical range")
            .on_hover_text("Move each parameter from the low to the high end of its documented typical range (the editor's slider range); years, ramps and delays move by one year.");
        ui.radio_value(&mut pct, true, "± percent")
            .on_hover_text("Move each parameter down and up by a percentage of its current value; years, ramps and delays move by one year.");
        if pct {
            let mut p = settings.sensitivity_pct.unwrap_or(10.0);
            let name = ui.label("by");
            ui.add(egui::DragValue::new(&mut p).range(SENSITIVITY_PCT).speed(0.5).suffix(" %"))
                .labelled_by(name.id)
                .on_hover_text("How far each parameter moves down and up, in percent of its current value.");
            settings.sensitivity_pct = Some(p);
        } else {
            settings.sensitivity_pct = None;
        }
    });
    let task = &analysis.sensitivity;
    ui.horizontal_wrapped(|ui| {
        if let Some(r) = &task.running {
            let (done, total) = r.progress.counts();
            if progress_ui(ui, r.progress.fraction(), format!("parameter {done} of {total}"), "sensitivity analysis") {
                actions.push(Action::Analysis(AnalysisAction::CancelSensitivity));
            }
        } else if ui
            .button("Run sensitivity")
            .on_hover_text("Move every numeric parameter to its low and its high value, one at a time, and recompute the chosen output. Runs in the background.")
            .clicked()
        {
            actions.push(Action::Analysis(AnalysisAction::RunSensitivity));
        }
        match &task.ended {
            Some(Ended::Cancelled { done, total }) => {
                ui.colored_label(ui.visuals().warn_fg_color, format!("Sensitivity cancelled after {done} of {total} parameters."));
            }
            Some(Ended::Failed(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    });
    let Some(finished) = &task.result else {
        if task.running.is_none() && task.ended.is_none() {
            ui.weak("Press Run sensitivity to see which parameters move the chosen output most.");
        }
        return;
    };
    let current = SensitivityRequest {
        subject: subject.clone(),
        statistic: analysis.settings.sensitivity_statistic,
        spread: finished.request.spread,
    };
    let sens = &finished.value;
    let report = &sens.report;
    let m = sens.key.metric;
    let base = report.base;
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("Base value {}", fmt(m, base)))
            .on_hover_text(format!(
                "{}, {}, with every parameter as written.",
                sens.description,
                statistic_label(finished.request.statistic)
            ));
        ui.weak(format!(
            "{}, {}; computed in {:.1} s. Largest swing first.",
            sens.description,
            match finished.request.statistic {
                Statistic::Path => statistic_label(Statistic::Path),
                s => format!("{} ({} runs)", statistic_label(s), sens.runs),
            },
            finished.elapsed.as_secs_f64()
        ));
        if current.subject != finished.request.subject
            || current.statistic != finished.request.statistic
        {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Computed before the last change; press Run sensitivity to update.",
            );
        }
    });
    let moving: Vec<&Row> = report.rows.iter().filter(|r| r.swing() > 0.0).collect();
    if moving.is_empty() {
        ui.label("No parameter moves this output.");
        return;
    }
    let shown: Vec<&Row> = moving.iter().copied().take(MAX_ROWS).collect();
    let n = shown.len();
    let labels: Vec<String> = shown.iter().map(|r| r.target.to_string()).collect();
    if moving.len() > n {
        ui.weak(format!(
            "The {n} largest swings of {}; the table lists all.",
            moving.len()
        ));
    }
    let (mut lows, mut highs) = (Vec::new(), Vec::new());
    for (row, r) in shown.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = (n - 1 - row) as f64;
        lows.push(solid(
            Bar::new(y, r.low - base)
                .base_offset(base)
                .width(0.7)
                .name(format!("{} = {}: {}", r.target, r.low_value, fmt(m, r.low))),
            BAND,
        ));
        highs.push(solid(
            Bar::new(y, r.high - base)
                .base_offset(base)
                .width(0.4)
                .name(format!(
                    "{} = {}: {}",
                    r.target,
                    r.high_value,
                    fmt(m, r.high)
                )),
            PALETTE[1],
        ));
    }
    let tip = |bar: &Bar, _: &BarChart| bar.name.clone();
    rows_plot("sensitivity-tornado", n, labels, m).show(ui, |pui| {
        pui.bar_chart(
            BarChart::new("parameter at its low value", lows)
                .horizontal()
                .color(BAND)
                .element_formatter(Box::new(tip)),
        );
        pui.bar_chart(
            BarChart::new("parameter at its high value", highs)
                .horizontal()
                .color(PALETTE[1])
                .element_formatter(Box::new(tip)),
        );
        pui.add(
            VLine::new("base value", base)
                .color(Color32::GRAY)
                .width(1.5),
        );
    });
    ui.separator();
    egui::Grid::new("sensitivity-grid")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in crate::analysis::sensitivity::COLUMNS {
                ui.strong(h);
            }
            ui.end_row();
            for r in &moving {
                let label = ui.label(r.target.to_string());
                if let Some(doc) = r.target.doc() {
                    label.on_hover_text(format!("{}: {}", doc.label, doc.meaning));
                }
                ui.label(r.low_value.to_string());
                ui.label(r.high_value.to_string());
                ui.label(fmt(m, r.low));
                ui.label(fmt(m, r.high));
                ui.label(fmt_change(m, r.swing()).trim_start_matches('+').to_string());
                ui.end_row();
            }
        });
    let flat: Vec<String> = report
        .rows
        .iter()
        .filter(|r| r.swing() == 0.0)
        .map(|r| r.target.to_string())
        .collect();
    if !flat.is_empty() {
        ui.weak(format!("No effect on this output: {}", flat.join(", ")));
    }
    for (target, why) in &report.skipped {
        ui.weak(format!("Left out {target}: {why}"));
    }
}

fn param_tooltip(target: &Target) -> String {
    target.doc().map_or_else(
        || target.to_string(),
        |d| {
            let mut out = format!("{}: {}", d.label, d.meaning);
            if !d.unit.is_empty() {
                out.push_str(&format!("\nUnit: {}", d.unit));
            }
            if !d.typical.is_empty() {
                out.push_str(&format!("\nTypical: {}", d.typical));
            }
            out
        },
    )
}

/// The picker and range of one swept parameter.
fn axis_ui(
    ui: &mut egui::Ui,
    which: &str,
    tooltip: &str,
    axis: &mut Option<Axis>,
    options: &[Target],
    scenario: &Scenario,
    optional: bool,
) {
    ui.horizontal_wrapped(|ui| {
        let name = ui.label(format!("{which}:"));
        let current = axis.as_ref().map(|a| a.target.clone());
        let mut chosen = None;
        egui::ComboBox::from_id_salt(which)
            .width(260.0)
            .selected_text(current.as_ref().map_or_else(|| "none".to_string(), ToString::to_string))
            .height(420.0)
            .show_ui(ui, |ui| {
                if optional
                    && ui
                        .selectable_label(current.is_none(), "none")
                        .on_hover_text("Sweep one parameter only (a line plot).")
                        .clicked()
                {
                    chosen = Some(None);
                }
                for t in options {
                    if ui
                        .selectable_label(current.as_ref() == Some(t), t.to_string())
                        .on_hover_text(param_tooltip(t))
                        .clicked()
                    {
                        chosen = Some(Some(t.clone()));
                    }
                }
            })
            .response
            .labelled_by(name.id)
            .on_hover_text(tooltip);
        if let Some(c) = chosen
            && c != current
        {
            *axis = c.map(|t| default_axis(scenario, &t));
        }
        let Some(a) = axis else { return };
        let doc = a.target.doc();
        let integer = doc.is_some_and(|d| d.kind == ValueKind::Integer);
        let unit = doc.map_or("", |d| d.unit);
        let speed = ((a.to - a.from).abs() / 200.0).max(if integer { 1.0 } else { 1e-4 });
        let about = param_tooltip(&a.target);
        for (label, value, what) in [
            ("from", &mut a.from, "first"),
            ("to", &mut a.to, "last"),
        ] {
            let name = ui.label(label);
            let mut drag = egui::DragValue::new(value).speed(speed);
            if integer {
                drag = drag.fixed_decimals(0);
            }
            ui.add(drag).labelled_by(name.id).on_hover_text(format!(
                "The {what} value of the sweep{}. Default: the documented typical range.\n\n{about}",
                if unit.is_empty() { String::new() } else { format!(" ({unit})") }
            ));
        }
    });
}

fn sweep_ui(
    ui: &mut egui::Ui,
    subject: &Subject,
    scenario: &Scenario,
    analysis: &mut Analysis,
    actions: &mut Vec<Action>,
) {
    let options = sweepable(scenario);
    let s = &mut analysis.settings;
    if s.sweep_axes[0]
        .as_ref()
        .is_none_or(|a| !options.contains(&a.target))
    {
        s.sweep_axes[0] = first_axis(scenario);
    }
    if s.sweep_axes[1]
        .as_ref()
        .is_some_and(|a| !options.contains(&a.target))
    {
        s.sweep_axes[1] = None;
    }
    let [first, second] = &mut s.sweep_axes;
    axis_ui(
        ui,
        "Parameter",
        "The parameter to sweep: the chosen metric is computed at evenly spaced values between 'from' and 'to'.",
        first,
        &options,
        scenario,
        false,
    );
    axis_ui(
        ui,
        "Second parameter",
        "Optionally a second parameter: every combination of the two is computed and shown as a heatmap.",
        second,
        &options,
        scenario,
        true,
    );
    ui.horizontal_wrapped(|ui| {
        let name = ui.label("Steps");
        ui.add(egui::DragValue::new(&mut s.sweep_steps).range(SWEEP_STEPS))
            .labelled_by(name.id)
            .on_hover_text("How many evenly spaced values of each parameter, 'from' and 'to' included (whole-number parameters keep the distinct values). Two parameters make steps × steps points.");
        let name = ui.label("Runs per point");
        ui.add(egui::DragValue::new(&mut s.sweep_runs).range(0..=MAX_SWEEP_RUNS).speed(10.0))
            .labelled_by(name.id)
            .on_hover_text("Monte Carlo runs at each point, all with the scenario's seed. 0 = the as-written path only, which is fast.");
        ui.add_enabled_ui(s.sweep_runs > 0, |ui| {
            let name = ui.label("Statistic");
            egui::ComboBox::from_id_salt("sweep-statistic")
                .selected_text(stat_name(s.sweep_stat))
                .show_ui(ui, |ui| {
                    for k in 0..STATS.len() {
                        ui.selectable_value(&mut s.sweep_stat, k, stat_name(k));
                    }
                })
                .response
                .labelled_by(name.id)
                .on_hover_text("Which statistic of each point's Monte Carlo runs is shown (with runs per point above 0).");
        });
        let per_axis = s.sweep_steps;
        let count = if s.sweep_axes[1].is_some() { per_axis * per_axis } else { per_axis };
        ui.weak(format!("up to {count} points"));
    });
    let task = &analysis.sweep;
    ui.horizontal_wrapped(|ui| {
        if let Some(r) = &task.running {
            let (done, total) = r.progress.counts();
            if progress_ui(ui, r.progress.fraction(), format!("{done} of {total} points"), "sweep") {
                actions.push(Action::Analysis(AnalysisAction::CancelSweep));
            }
        } else if ui
            .button("Run sweep")
            .on_hover_text("Compute the chosen metric at every point of the sweep, in the background.")
            .clicked()
        {
            actions.push(Action::Analysis(AnalysisAction::RunSweep));
        }
        match (&task.ended, &task.result, &task.running) {
            (Some(Ended::Cancelled { done, total }), _, _) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("Sweep cancelled after {done} of {total} points; the points computed so far are shown."),
                );
            }
            (Some(Ended::Failed(e)), _, _) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            (None, Some(f), None) => {
                let n = analysis.sweep_grid.as_ref().map_or(0, |g| g.points.len());
                ui.label(format!(
                    "Sweep finished: {n} of {n} points in {:.1} s.",
                    f.elapsed.as_secs_f64()
                ));
                if f.request.subject != *subject {
                    ui.colored_label(ui.visuals().warn_fg_color, "Computed before the last change; run it again to update.");
                }
            }
            _ => {}
        }
    });
    let Some(grid) = &analysis.sweep_grid else {
        ui.weak("Choose one or two parameters and press Run sweep.");
        return;
    };
    let failures = grid.failures();
    if let Some((i, why)) = failures.first() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{} point(s) could not be computed, e.g. point {}: {why}",
                failures.len(),
                i + 1
            ),
        );
    }
    let values = grid.values();
    match grid.axes.len() {
        1 => sweep_line_ui(ui, grid, &values, scenario),
        2 => sweep_heatmap_ui(ui, grid, &values),
        _ => {}
    }
}

fn sweep_line_ui(ui: &mut egui::Ui, grid: &SweepGrid, values: &[f64], scenario: &Scenario) {
    let m = grid.request.subject.key.metric;
    let target = &grid.request.axes[0].target;
    let xs: Vec<f64> = grid.axes[0].iter().map(|v| v.as_f64()).collect();
    let pts: Vec<[f64; 2]> = xs
        .iter()
        .zip(values)
        .filter(|(_, y)| y.is_finite())
        .map(|(&x, &y)| [x, y])
        .collect();
    ui.label(
        RichText::new(format!(
            "{} against {target} ({})",
            grid.description,
            statistic_label(grid.request.statistic)
        ))
        .small(),
    );
    let name = target.to_string();
    let current = scenario.get_param(target).map(ParamValue::as_f64);
    Plot::new("sweep-line")
        .height((ui.available_height() - 8.0).max(160.0))
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_scroll(false)
        .x_axis_label(name.clone())
        .y_axis_label(m.name())
        .y_axis_formatter(move |mark, _| axis_value(m, mark.value, mark.step_size))
        .label_formatter(move |hover| {
            let p = match hover {
                HoverPosition::NearDataPoint { position, .. }
                | HoverPosition::Elsewhere { position } => position,
            };
            Some(format!(
                "{name} = {}\n{}: {}",
                round_for_label(p.x),
                m.name(),
                fmt(m, p.y)
            ))
        })
        .show(ui, |pui| {
            pui.line(Line::new(m.name(), pts.clone()).color(PATH).width(2.0));
            pui.points(Points::new("computed points", pts).color(PATH).radius(3.0));
            if let Some(x) = current {
                pui.add(
                    VLine::new("as in the scenario", x)
                        .color(Color32::GRAY)
                        .width(1.0),
                );
            }
        });
}

fn round_for_label(x: f64) -> String {
    let r = (x * 1e6).round() / 1e6;
    format!("{r}")
}

/// A colour on the heatmap scale for `v` between `lo` and `hi`; grey when there is no
/// value.
fn scale_colour(v: f64, lo: f64, hi: f64) -> Color32 {
    if !v.is_finite() {
        return Color32::from_gray(128);
    }
    let t = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let x = t * (SCALE.len() - 1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = (x.floor() as usize).min(SCALE.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let c = (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
        c
    };
    let (a, b) = (SCALE[i], SCALE[i + 1]);
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

fn sweep_heatmap_ui(ui: &mut egui::Ui, grid: &SweepGrid, values: &[f64]) {
    let m = grid.request.subject.key.metric;
    let (xs, ys) = (&grid.axes[0], &grid.axes[1]);
    let (nx, ny) = (xs.len(), ys.len());
    // Tiles row by row: the second parameter upwards, the first to the right.
    let mut tiles = vec![f64::NAN; nx * ny];
    for ix in 0..nx {
        for iy in 0..ny {
            tiles[iy * nx + ix] = values.get(ix * ny + iy).copied().unwrap_or(f64::NAN);
        }
    }
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    let (x_name, y_name) = (
        grid.request.axes[0].target.to_string(),
        grid.request.axes[1].target.to_string(),
    );
    ui.label(
        RichText::new(format!(
            "{} ({}) over {x_name} (across) and {y_name} (up)",
            grid.description,
            statistic_label(grid.request.statistic)
        ))
        .small(),
    );
    let x_labels: Vec<String> = xs.iter().map(ToString::to_string).collect();
    let y_labels: Vec<String> = ys.iter().map(ToString::to_string).collect();
    let label_at = |labels: &[String], v: f64| -> Option<String> {
        let r = v.round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        ((v - r).abs() < 1e-6 && r >= 0.0)
            .then(|| labels.get(r as usize).cloned())
            .flatten()
    };
    let (xl, yl) = (x_labels.clone(), y_labels.clone());
    let (hx, hy) = (x_name.clone(), y_name.clone());
    let hover_tiles = tiles.clone();
    let heatmap = Heatmap::new(tiles, nx)
        .at(PlotPoint::new(-0.5, -0.5))
        .name(m.name())
        .show_labels(nx <= 12 && ny <= 12)
        .formatter(Box::new(move |v| {
            if v.is_finite() {
                fmt(m, v)
            } else {
                String::new()
            }
        }))
        .custom_mapping(Box::new(move |v| scale_colour(v, lo, hi)));
    Plot::new("sweep-heatmap")
        .height((ui.available_height() - 36.0).max(160.0))
        .allow_scroll(false)
        .x_grid_spacer(whole_marks)
        .y_grid_spacer(whole_marks)
        .custom_x_axes(vec![
            AxisHints::new_x()
                .formatter(move |mark, _| label_at(&xl, mark.value).unwrap_or_default())
                .label_spacing(34.0..=48.0)
                .label(x_name),
        ])
        .custom_y_axes(vec![
            AxisHints::new_y()
                .formatter(move |mark, _| label_at(&yl, mark.value).unwrap_or_default())
                .label_spacing(16.0..=22.0)
                .label(y_name),
        ])
        .label_formatter(move |hover| {
            let p = match hover {
                HoverPosition::NearDataPoint { position, .. }
                | HoverPosition::Elsewhere { position } => position,
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let (ix, iy) = (p.x.round().max(0.0) as usize, p.y.round().max(0.0) as usize);
            let (x, y) = (x_labels.get(ix)?, y_labels.get(iy)?);
            let v = hover_tiles.get(iy * nx + ix).copied().unwrap_or(f64::NAN);
            Some(format!(
                "{hx} = {x}\n{hy} = {y}\n{}: {}",
                m.name(),
                fmt(m, v)
            ))
        })
        .show(ui, |pui| pui.heatmap(heatmap));
    ui.horizontal(|ui| {
        ui.label(if lo.is_finite() { fmt(m, lo) } else { "–".into() });
        let (rect, response) = ui.allocate_exact_size(egui::vec2(240.0, 14.0), egui::Sense::hover());
        let steps = 48;
        for k in 0..steps {
            #[allow(clippy::cast_precision_loss)]
            let (a, b) = (k as f32 / steps as f32, (k + 1) as f32 / steps as f32);
            let cell = egui::Rect::from_min_max(
                egui::pos2(rect.left() + a * rect.width(), rect.top()),
                egui::pos2(rect.left() + b * rect.width(), rect.bottom()),
            );
            ui.painter().rect_filled(cell, 0.0, scale_colour(f64::from(a), 0.0, 1.0));
        }
        response.on_hover_text(format!(
            "Colour scale: {} from the lowest to the highest value of the sweep; grey tiles have no value (yet).",
            m.name()
        ));
        ui.label(if hi.is_finite() { fmt(m, hi) } else { "–".into() });
    });
}
