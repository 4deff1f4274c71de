//! The central area: problems of the selected file, the shared pickers, one column per
//! compared scenario with the chosen view, and the summary table.

use egui::{Color32, RichText};
use egui_plot::{
    Bar, BarChart, BoxElem, BoxPlot, BoxSpread, Corner, FilledArea, HoverPosition, Legend, Line,
    LineStyle, Plot, VLine,
};

use crate::ensemble::STATS;
use crate::metrics::{Metric, Partner, SectorSel, SeriesKey};
use crate::scenario::{EngineKind, Scenario};

use super::about::Topic;
use super::compute::{Cell, Results};
use super::state::{Direction, GeMeasure, Resolved, ShareBasis, State, View};
use super::{Action, Column, OpenScenario};

pub mod analysis;
mod summary;

const BAND: Color32 = Color32::from_rgb(31, 119, 180);
const PATH: Color32 = Color32::from_rgb(214, 39, 40);
const PALETTE: [Color32; 10] = [
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(127, 127, 127),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
];

pub fn central_ui(
    ui: &mut egui::Ui,
    selected: Option<&OpenScenario>,
    docs: &[OpenScenario],
    columns: &[Column],
    state: &mut State,
    actions: &mut Vec<Action>,
) {
    if let Some(doc) = selected {
        file_banners_ui(ui, doc, actions);
    }
    let reference = columns
        .iter()
        .find_map(|c| c.results.as_ref().map(Results::scenario))
        .or_else(|| selected.and_then(|d| d.scenario.as_ref()));
    let Some(reference) = reference else {
        if selected.is_none_or(|d| !d.has_errors()) {
            ui.label("Open a scenario from the library on the left.");
        }
        return;
    };
    toolbar_ui(ui, reference, state, actions);
    ui.separator();
    if state.view.is_analysis() {
        // Drawn by the caller, which owns the analyses.
        return;
    }
    if columns.is_empty() {
        ui.label(
            "Tick scenarios in the library (or press Add to comparison) to show them side by side.",
        );
        return;
    }
    let table_height = summary::height(columns);
    let plots_height = (ui.available_height() - table_height - 8.0).max(220.0);
    let shared = if state.share_y {
        shared_ranges(columns, state)
    } else {
        Vec::new()
    };
    let n = columns.len();
    ui.allocate_ui(egui::vec2(ui.available_width(), plots_height), |ui| {
        ui.columns(n, |cols| {
            for (i, (col, ui)) in columns.iter().zip(cols.iter_mut()).enumerate() {
                ui.push_id(i, |ui| {
                    let doc = docs.iter().find(|d| d.path == col.spec.path);
                    column_ui(ui, i, col, doc, state, &shared, actions);
                });
            }
        });
    });
    ui.separator();
    summary::summary_ui(ui, columns, state);
}

/// Problems of the selected file, and the offer to reload a file that changed on disk.
fn file_banners_ui(ui: &mut egui::Ui, doc: &OpenScenario, actions: &mut Vec<Action>) {
    if doc.changed_on_disk {
        egui::Frame::group(ui.style())
            .fill(ui.visuals().warn_fg_color.gamma_multiply(0.15))
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!("{} changed on disk.", doc.file_name()));
                    if doc.is_dirty() {
                        ui.label("Reloading drops your unsaved edits.");
                    }
                    if ui
                        .button("Reload")
                        .on_hover_text("Read the file again from disk.")
                        .clicked()
                    {
                        actions.push(Action::ReloadFromDisk(doc.path.clone()));
                    }
                    if ui
                        .button("Keep my version")
                        .on_hover_text("Ignore the change on disk for now; Save will ask again.")
                        .clicked()
                    {
                        actions.push(Action::KeepMyEdits(doc.path.clone()));
                    }
                    if doc.is_dirty()
                        && ui
                            .button("Overwrite with my edits")
                            .on_hover_text("Save your edits over the file on disk.")
                            .clicked()
                    {
                        actions.push(Action::OverwriteDisk(doc.path.clone()));
                    }
                });
            });
    }
    if doc.problems.is_empty() {
        return;
    }
    let errors = doc.problems.iter().filter(|p| p.is_error).count();
    let warnings = doc.problems.len() - errors;
    let title = match (errors, warnings) {
        (0, w) => format!("{} — {w} warning(s)", doc.file_name()),
        (e, 0) => format!("{} — {e} error(s)", doc.file_name()),
        (e, w) => format!("{} — {e} error(s), {w} warning(s)", doc.file_name()),
    };
    let color = if errors > 0 {
        ui.visuals().error_fg_color
    } else {
        ui.visuals().warn_fg_color
    };
    egui::CollapsingHeader::new(RichText::new(title).color(color).strong())
        .id_salt(("problems", &doc.path))
        .default_open(errors > 0)
        .show(ui, |ui| {
            if errors > 0 && doc.scenario.is_some() {
                ui.label("The results below are from the last version that loaded without errors.");
            }
            egui::ScrollArea::vertical()
                .max_height(260.0)
                .show(ui, |ui| {
                    for p in &doc.problems {
                        let c = if p.is_error {
                            ui.visuals().error_fg_color
                        } else {
                            ui.visuals().warn_fg_color
                        };
                        ui.label(RichText::new(&p.headline).color(c));
                        ui.label(RichText::new(&p.rendered).monospace().size(12.0));
                        ui.add_space(4.0);
                    }
                });
            ui.horizontal(|ui| {
                if ui
                    .button("Reload")
                    .on_hover_text("Read the file again after fixing it.")
                    .clicked()
                {
                    actions.push(Action::ReloadFromDisk(doc.path.clone()));
                }
            });
        });
}

/// View tabs and the pickers shared by all columns.
fn toolbar_ui(ui: &mut egui::Ui, s: &Scenario, state: &mut State, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        for v in View::ALL {
            if v == View::Contributions {
                ui.separator();
            }
            if ui
                .selectable_label(state.view == v, v.label())
                .on_hover_text(v.tooltip())
                .clicked()
            {
                actions.push(Action::SetView(v));
            }
        }
    });
    let resolved = state.pickers.resolve(s);
    let p = &mut state.pickers;
    ui.horizontal_wrapped(|ui| {
        id_picker_ui(
            ui,
            "Region",
            "The region whose trade and dependence the views describe (default: the scenario's focus).",
            &mut p.region,
            s.regions.iter().map(|r| (r.id.as_str(), r.name.as_str())),
            &s.regions[resolved.region].id,
        );
        let partner_id = resolved.partner.map_or("", |i| s.regions[i].id.as_str());
        id_picker_ui(
            ui,
            "Partner",
            "The trading partner of the bilateral views (default: the other party of the first agreement).",
            &mut p.partner,
            s.regions.iter().filter(|r| r.id != s.regions[resolved.region].id).map(|r| (r.id.as_str(), r.name.as_str())),
            partner_id,
        );
        let sector_label = resolved.sector.map_or("all sectors", |k| s.sectors[k].name.as_str());
        let name = ui.label("Sector:");
        egui::ComboBox::from_id_salt("Sector").selected_text(sector_label).show_ui(ui, |ui| {
            ui.selectable_value(&mut p.sector, String::new(), "all sectors");
            for sec in &s.sectors {
                ui.selectable_value(&mut p.sector, sec.id.clone(), &sec.name);
            }
        })
        .response
        .labelled_by(name.id)
        .on_hover_text("The sector the views use; 'all sectors' sums flows over sectors first.");
        // A slider is several widgets side by side, which the wrapping row does not move
        // as one: start a row for it when it would not fit, or it would overflow the panel
        // and widen everything below. Its width is the one it had last frame.
        let width_id = egui::Id::unique("corridor-year-slider-width");
        let year_width = ui
            .data(|d| d.get_temp::<f32>(width_id))
            .unwrap_or(ui.spacing().slider_width + 2.5 * ui.spacing().interact_size.x);
        if ui.available_size_before_wrap().x < year_width {
            ui.end_row();
        }
        let mut year = resolved.year;
        let r = ui
            .add(egui::Slider::new(&mut year, (s.base_year + 1).min(s.horizon)..=s.horizon).text("Year"))
            .on_hover_text("The chosen year: marked in the plots, used by the bar charts and the summary table.");
        ui.data_mut(|d| d.insert_temp(width_id, r.rect.width()));
        if r.changed() {
            p.year = year;
        }
        ui.checkbox(&mut state.share_y, "Same y axis")
            .on_hover_text("Give every column's plots the same vertical range, so heights compare directly.");
    });
    let p = &mut state.pickers;
    ui.horizontal_wrapped(|ui| match state.view {
        View::Trade => {
            ui.label("Direction:");
            ui.selectable_value(&mut p.direction, Direction::Imports, "imports from partner")
                .on_hover_text("Flow from the partner to the region.");
            ui.selectable_value(&mut p.direction, Direction::Exports, "exports to partner")
                .on_hover_text("Flow from the region to the partner.");
        }
        View::Shares => {
            ui.label("Shares of:");
            ui.selectable_value(&mut p.basis, ShareBasis::Imports, "imports")
                .on_hover_text("Who the region buys from.");
            ui.selectable_value(&mut p.basis, ShareBasis::Trade, "trade (exports + imports)")
                .on_hover_text("Who the region trades with, both directions, all sectors.");
        }
        View::General => {
            ui.label("Show:");
            for m in GeMeasure::ALL {
                ui.selectable_value(&mut p.ge_measure, m, m.label())
                    .on_hover_text(m.metric().describe());
            }
            if ui
                .small_button("?")
                .on_hover_text("About the model: general equilibrium")
                .clicked()
            {
                actions.push(Action::ShowAbout(Topic::General));
            }
        }
        View::AnyMetric | View::Contributions | View::Sensitivity | View::Sweep => {
            let current = resolved.metric;
            let name = ui.label("Metric:");
            egui::ComboBox::from_id_salt("Metric")
                .selected_text(current.name())
                .show_ui(ui, |ui| {
                    for m in Metric::ALL {
                        ui.selectable_value(&mut p.metric, m.name().to_string(), m.name())
                            .on_hover_text(m.describe());
                    }
                })
                .response
                .labelled_by(name.id);
            if !s.blocs.is_empty() {
                let bloc_id = resolved.bloc.map_or("", |b| s.blocs[b].id.as_str());
                id_picker_ui(
                    ui,
                    "Bloc",
                    "The bloc of the bloc share metrics.",
                    &mut p.bloc,
                    s.blocs.iter().map(|b| (b.id.as_str(), b.name.as_str())),
                    bloc_id,
                );
            }
            ui.weak(current.describe());
        }
        View::Concentration | View::CreationDiversion => {
            if ui
                .small_button("?")
                .on_hover_text("About the model: dependency metrics")
                .clicked()
            {
                actions.push(Action::ShowAbout(Topic::Metrics));
            }
        }
    });
}

fn id_picker_ui<'a>(
    ui: &mut egui::Ui,
    label: &str,
    tooltip: &str,
    value: &mut String,
    options: impl Iterator<Item = (&'a str, &'a str)>,
    current: &str,
) {
    let name = ui.label(format!("{label}:"));
    egui::ComboBox::from_id_salt(label)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (id, name) in options {
                ui.selectable_value(value, id.to_string(), format!("{id} — {name}"));
            }
        })
        .response
        .labelled_by(name.id)
        .on_hover_text(tooltip);
}

fn column_ui(
    ui: &mut egui::Ui,
    index: usize,
    col: &Column,
    doc: Option<&OpenScenario>,
    state: &State,
    shared: &[(f64, f64)],
    actions: &mut Vec<Action>,
) {
    column_header_ui(ui, index, col, doc, actions);
    if let Some(e) = &col.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    let Some(r) = &col.results else {
        if col.error.is_none() {
            ui.label("No results yet.");
        }
        return;
    };
    let p = state.pickers.resolve(r.scenario());
    ui.label(headline(r, &p, state))
        .on_hover_text("The headline number of this column at the chosen year.");
    let link = egui::Id::unique(("corridor-x", state.view));
    let height = ui.available_height();
    match state.view {
        View::Trade | View::Concentration | View::AnyMetric => {
            let slots = time_slots(state.view, r, &p, state);
            let each = (height / slots.len().max(1) as f32 - 6.0).max(100.0);
            for (k, (title, series, metric)) in slots.into_iter().enumerate() {
                ui.label(RichText::new(&title).small());
                match series {
                    Some(s) => band_plot_ui(
                        ui,
                        (index, k),
                        link.with(k),
                        r,
                        s,
                        metric,
                        each - 18.0,
                        shared.get(k).copied(),
                        p.year,
                    ),
                    None => {
                        ui.weak("No such series in this scenario (no base-year trade there).");
                    }
                }
            }
        }
        View::Shares => shares_ui(ui, index, r, &p, state, height),
        View::CreationDiversion => creation_ui(ui, index, r, &p, height),
        View::General => general_ui(
            ui,
            index,
            r,
            &p,
            state,
            height,
            shared.first().copied(),
            link,
            actions,
        ),
        View::Contributions | View::Sensitivity | View::Sweep => {}
    }
}

fn column_header_ui(
    ui: &mut egui::Ui,
    index: usize,
    col: &Column,
    doc: Option<&OpenScenario>,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        let title = doc.map_or_else(|| col.spec.path.display().to_string(), OpenScenario::title);
        let dirty = if doc.is_some_and(OpenScenario::is_dirty) { " •" } else { "" };
        // The buttons first, from the right; the title takes what is left, shortened with
        // "…" rather than running under them.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.small_button("×").on_hover_text("Remove this column from the comparison").clicked() {
                actions.push(Action::RemoveColumn(index));
            }
            let ge = col.spec.engine == EngineKind::Ge;
            if ui
                .selectable_label(ge, "GE")
                .on_hover_text("General equilibrium: wages and prices adjust in every region (needs domestic flows and σ > 1).")
                .clicked()
            {
                actions.push(Action::SetEngine(index, EngineKind::Ge));
            }
            if ui
                .selectable_label(!ge, "PE")
                .on_hover_text("Partial equilibrium: each market adjusts on its own, with demand growth and noise.")
                .clicked()
            {
                actions.push(Action::SetEngine(index, EngineKind::Pe));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(format!("{title}{dirty}")).strong()).truncate())
                    .on_hover_text(format!("{title}\n{}{}", col.spec.path.display(), if dirty.is_empty() { "" } else { "\n• = unsaved edits" }));
            });
        });
    });
    ui.horizontal_wrapped(|ui| {
        if let Some(job) = &col.job {
            let f = job.progress.fraction();
            ui.add(
                egui::ProgressBar::new(f)
                    .desired_width(140.0)
                    .text(format!("Monte Carlo {:.0} %", f * 100.0)),
            )
            .on_hover_text(
                "Monte Carlo runs on a background thread; the plots update when they finish.",
            );
            if ui
                .small_button("Cancel")
                .on_hover_text("Stop these runs; the path stays on screen.")
                .clicked()
            {
                actions.push(Action::CancelColumn(index));
            }
        } else if let Some(r) = &col.results {
            match (&r.stats, r.stats_current) {
                (Some(_), true) => {
                    let ms = r.mc_time.map_or(0.0, |d| d.as_secs_f64() * 1e3);
                    ui.weak(format!(
                        "{} Monte Carlo runs, seed {}",
                        r.runs,
                        r.scenario().seed
                    ))
                    .on_hover_text(format!(
                        "Bands and medians come from these runs (computed in {ms:.0} ms)."
                    ));
                }
                (Some(_), false) => {
                    ui.weak("bands from before the last edit").on_hover_text(
                        "The Monte Carlo runs start again when you let go of the control.",
                    );
                }
                (None, _) if r.runs == 0 => {
                    ui.weak("path only (runs = 0)");
                }
                (None, _) => {
                    ui.weak("path only");
                }
            }
        }
        if let Some(e) = &col.mc_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Monte Carlo failed: {e}"),
            );
        }
        if let Some(r) = &col.results
            && r.engine == EngineKind::Ge
        {
            ge_convergence_ui(ui, r);
        }
    });
}

/// A short note on the GE solver, with iterations and residual per year in its tooltip.
fn ge_convergence_ui(ui: &mut egui::Ui, r: &Results) {
    let solved: Vec<_> = r.ge.iter().filter(|g| g.iterations > 0).collect();
    let max_it = solved.iter().map(|g| g.iterations).max().unwrap_or(0);
    let max_res = solved.iter().map(|g| g.residual).fold(0.0, f64::max);
    ui.weak(format!("GE converged, at most {max_it} iterations"))
        .on_hover_ui(|ui| {
            ui.label(RichText::new("GE solver on the path").strong());
            ui.label(format!(
                "Largest residual max |Δ ln X'|: {max_res:.1e} (tolerance 1e-10)"
            ));
            egui::Grid::new("ge-convergence")
                .striped(true)
                .show(ui, |ui| {
                    ui.label("year");
                    ui.label("iterations");
                    ui.label("residual");
                    ui.end_row();
                    for g in &r.ge {
                        ui.label(g.year.to_string());
                        if g.iterations == 0 {
                            ui.label("–");
                            ui.label("no cost change");
                        } else {
                            ui.label(g.iterations.to_string());
                            ui.label(format!("{:.1e}", g.residual));
                        }
                        ui.end_row();
                    }
                });
        });
}

/// The key number of a column, in words.
fn headline(r: &Results, p: &Resolved, state: &State) -> String {
    let s = r.scenario();
    let region = &s.regions[p.region].id;
    let sector = p.sector.map_or("all sectors", |k| s.sectors[k].id.as_str());
    let Some(partner) = p.partner else {
        return format!("{region}: no partner to show");
    };
    let pid = &s.regions[partner].id;
    let (key, what) = match state.pickers.direction {
        Direction::Imports => (
            flow_key(partner, p.region, p.sector),
            format!("{region} imports from {pid}"),
        ),
        Direction::Exports => (
            flow_key(p.region, partner, p.sector),
            format!("{region} exports to {pid}"),
        ),
    };
    match r.cell_of(&key, p.t) {
        Some(c) if !c.p50.is_nan() => format!(
            "{what}, {sector}, {}: {} {} (median of {} runs; path {})",
            p.year,
            fmt(Metric::Flow, c.p50),
            s.unit,
            r.runs,
            fmt(Metric::Flow, c.path)
        ),
        Some(c) => format!(
            "{what}, {sector}, {}: {} {} (path)",
            p.year,
            fmt(Metric::Flow, c.path),
            s.unit
        ),
        None => format!("{what}, {sector}: no base-year trade"),
    }
}

pub fn flow_key(from: usize, to: usize, sector: Option<usize>) -> SeriesKey {
    SeriesKey {
        metric: Metric::Flow,
        region: from,
        partner: Partner::Region(to),
        sector: sel(sector),
    }
}

fn sel(sector: Option<usize>) -> SectorSel {
    sector.map_or(SectorSel::All, SectorSel::One)
}

/// The time-series plots of a view: title, series and metric.
fn time_slots(
    view: View,
    r: &Results,
    p: &Resolved,
    state: &State,
) -> Vec<(String, Option<usize>, Metric)> {
    let s = r.scenario();
    let region = &s.regions[p.region].id;
    let sector = p
        .sector
        .map_or("all sectors", |k| s.sectors[k].name.as_str());
    match view {
        View::Trade => {
            let Some(partner) = p.partner else {
                return Vec::new();
            };
            let pid = &s.regions[partner].id;
            let (key, title) = match state.pickers.direction {
                Direction::Imports => (
                    flow_key(partner, p.region, p.sector),
                    format!("{pid} to {region}, {sector} ({})", s.unit),
                ),
                Direction::Exports => (
                    flow_key(p.region, partner, p.sector),
                    format!("{region} to {pid}, {sector} ({})", s.unit),
                ),
            };
            vec![(title, r.series(&key), Metric::Flow)]
        }
        View::Concentration => [Metric::SupplierHhi, Metric::EffectiveSuppliers]
            .into_iter()
            .map(|m| {
                let title = match m {
                    Metric::SupplierHhi => {
                        format!("Supplier HHI of {region}, {sector} (1 = a single supplier)")
                    }
                    _ => format!("Effective number of suppliers of {region}, {sector} (1 / HHI)"),
                };
                (title, r.series(&r.key(m, Partner::None, p.sector)), m)
            })
            .collect(),
        View::AnyMetric => {
            let m = p.metric;
            let key = p.metric_key();
            let series = r.series(&key).or_else(|| {
                r.series(&SeriesKey {
                    sector: SectorSel::All,
                    ..key
                })
            });
            let title = format!("{} — {region} {}, {sector}", m.name(), key.partner_id(s));
            vec![(title, series, m)]
        }
        _ => Vec::new(),
    }
}

/// The y range of each time-series slot over all columns, for "Same y axis".
fn shared_ranges(columns: &[Column], state: &State) -> Vec<(f64, f64)> {
    let mut ranges: Vec<(f64, f64)> = Vec::new();
    for col in columns {
        let Some(r) = &col.results else { continue };
        let p = state.pickers.resolve(r.scenario());
        let series: Vec<Option<usize>> = if state.view == View::General {
            vec![ge_series(r, &p, state)]
        } else {
            time_slots(state.view, r, &p, state)
                .into_iter()
                .map(|(_, s, _)| s)
                .collect()
        };
        for (k, s) in series.into_iter().enumerate() {
            let Some(s) = s else { continue };
            let mut values: Vec<f64> = r.path_of(s).to_vec();
            for stat in [1, 5] {
                if let Some(v) = r.stat_of(stat, s) {
                    values.extend_from_slice(v);
                }
            }
            let (lo, hi) = values
                .iter()
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            if ranges.len() <= k {
                ranges.resize(k + 1, (f64::INFINITY, f64::NEG_INFINITY));
            }
            ranges[k] = (ranges[k].0.min(lo), ranges[k].1.max(hi));
        }
    }
    ranges
}

/// A series over time: the P5–P95 and P25–P75 bands, the median and the path.
#[allow(clippy::too_many_arguments)]
fn band_plot_ui(
    ui: &mut egui::Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    link: egui::Id,
    r: &Results,
    s: usize,
    metric: Metric,
    height: f32,
    y_range: Option<(f64, f64)>,
    year: i32,
) {
    let xs: Vec<f64> = r.years.iter().map(|&y| f64::from(y)).collect();
    let mut drawn = vec![r.path_of(s)];
    drawn.extend([1, 3, 5].iter().filter_map(|&k| r.stat_of(k, s)));
    let mut plot = Plot::new(("band", id))
        .height(height.max(80.0))
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .legend(
            Legend::default()
                .text_style(egui::TextStyle::Small)
                .position(quiet_corner(&xs, &drawn, y_range)),
        )
        .allow_scroll(false)
        .x_axis_formatter(|mark, _| format!("{:.0}", mark.value))
        .y_axis_formatter(move |mark, _| fmt_axis(metric, mark.value, mark.step_size))
        .label_formatter(move |hover| {
            Some(match hover {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => {
                    format!(
                        "{plot_name}\n{:.0}: {}",
                        position.x,
                        fmt(metric, position.y)
                    )
                }
                HoverPosition::Elsewhere { position } => {
                    format!("{:.0}: {}", position.x, fmt(metric, position.y))
                }
            })
        });
    if let Some((lo, hi)) = y_range.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) {
        plot = plot.include_y(lo).include_y(hi);
    }
    let faded = !r.stats_current;
    plot.show(ui, |pui| {
        for (lo, hi, name, alpha) in [
            (1, 5, "90 % of runs (P5–P95)", 0.18),
            (2, 4, "middle half (P25–P75)", 0.35),
        ] {
            if let (Some(a), Some(b)) = (r.stat_of(lo, s), r.stat_of(hi, s)) {
                let (x, a, b) = finite3(&xs, a, b);
                if !x.is_empty() {
                    let alpha = if faded { alpha * 0.5 } else { alpha };
                    pui.add(
                        FilledArea::new(name, &x, &a, &b).fill_color(BAND.gamma_multiply(alpha)),
                    );
                }
            }
        }
        if let Some(m) = r.stat_of(3, s) {
            pui.line(
                Line::new("median run", points(&xs, m))
                    .color(BAND)
                    .width(2.0)
                    .style(LineStyle::dashed_loose()),
            );
        }
        pui.line(
            Line::new("path (as written)", points(&xs, r.path_of(s)))
                .color(PATH)
                .width(2.0),
        );
        pui.add(
            VLine::new("chosen year", f64::from(year))
                .color(Color32::GRAY)
                .width(1.0),
        );
    });
}

/// The corner of a plot with the fewest of its points nearby, for the legend: a point is
/// near a corner when it lies in that half of the years and in the top or bottom 40 % of
/// the values. Ties go to the top left, then top right, bottom left, bottom right.
fn quiet_corner(xs: &[f64], series: &[&[f64]], y_range: Option<(f64, f64)>) -> Corner {
    let finite = || {
        series
            .iter()
            .flat_map(|ys| xs.iter().zip(ys.iter()))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut lo, mut hi) = y_range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
    let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
    for (&x, &y) in finite() {
        (lo, hi) = (lo.min(y), hi.max(y));
        (x0, x1) = (x0.min(x), x1.max(x));
    }
    if !(hi > lo && x1 > x0) {
        return Corner::LeftTop;
    }
    // LeftTop, RightTop, LeftBottom, RightBottom.
    let mut near = [0usize; 4];
    for (&x, &y) in finite() {
        let right = usize::from((x - x0) / (x1 - x0) >= 0.5);
        let up = (y - lo) / (hi - lo);
        if up > 0.6 {
            near[right] += 1;
        } else if up < 0.4 {
            near[2 + right] += 1;
        }
    }
    let quietest = (0..4).min_by_key(|&c| near[c]).unwrap_or(0);
    [
        Corner::LeftTop,
        Corner::RightTop,
        Corner::LeftBottom,
        Corner::RightBottom,
    ][quietest]
}

fn points(xs: &[f64], ys: &[f64]) -> Vec<[f64; 2]> {
    xs.iter()
        .zip(ys)
        .filter(|(_, y)| y.is_finite())
        .map(|(&x, &y)| [x, y])
        .collect()
}

fn finite3(xs: &[f64], a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for ((&x, &lo), &hi) in xs.iter().zip(a).zip(b) {
        if lo.is_finite() && hi.is_finite() {
            out.0.push(x);
            out.1.push(lo);
            out.2.push(hi);
        }
    }
    out
}

/// Partner shares at the base year and the chosen year (stacked), and bloc shares over time.
fn shares_ui(
    ui: &mut egui::Ui,
    index: usize,
    r: &Results,
    p: &Resolved,
    state: &State,
    height: f32,
) {
    let s = r.scenario();
    let basis = state.pickers.basis;
    let sector = if basis == ShareBasis::Trade {
        None
    } else {
        p.sector
    };
    let mut shares: Vec<(usize, f64, f64)> = Vec::new();
    for partner in (0..s.regions.len()).filter(|&i| i != p.region) {
        let value = |t: usize| -> f64 {
            match basis {
                ShareBasis::Imports => r
                    .cell_of(
                        &r.key(Metric::ImportShare, Partner::Region(partner), sector),
                        t,
                    )
                    .map_or(0.0, |c| c.headline()),
                ShareBasis::Trade => {
                    let v = |k: SeriesKey| r.cell_of(&k, t).map_or(0.0, |c| c.headline());
                    v(flow_key(partner, p.region, None)) + v(flow_key(p.region, partner, None))
                }
            }
        };
        shares.push((partner, value(0), value(p.t)));
    }
    if basis == ShareBasis::Trade {
        let (t0, t1): (f64, f64) = shares
            .iter()
            .fold((0.0, 0.0), |(a, b), x| (a + x.1, b + x.2));
        for x in &mut shares {
            x.1 = if t0 > 0.0 { x.1 / t0 } else { 0.0 };
            x.2 = if t1 > 0.0 { x.2 / t1 } else { 0.0 };
        }
    }
    shares.sort_by(|a, b| b.1.max(b.2).total_cmp(&a.1.max(a.2)));
    let base_year = s.base_year;
    let year = p.year;
    let what = if basis == ShareBasis::Imports {
        "imports"
    } else {
        "trade"
    };
    ui.label(
        RichText::new(format!(
            "Partner shares of {}'s {what}: {base_year} vs {year}",
            s.regions[p.region].id
        ))
        .small(),
    );
    let top = (height * 0.55).max(120.0);
    Plot::new(("shares", index))
        .height(top - 20.0)
        .legend(
            Legend::default()
                .text_style(egui::TextStyle::Small)
                .position(Corner::RightTop),
        )
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(0.0)
        .include_y(1.0)
        .include_x(-0.6)
        .include_x(3.1)
        .x_axis_formatter(move |mark, _| match mark.value {
            v if v.abs() < 1e-9 => base_year.to_string(),
            v if (v - 1.0).abs() < 1e-9 => year.to_string(),
            _ => String::new(),
        })
        .y_axis_formatter(|mark, _| format!("{:.0} %", mark.value * 100.0))
        .show(ui, |pui| {
            let mut charts: Vec<BarChart> = Vec::new();
            let shown = 8.min(shares.len());
            let mut rest = (0.0, 0.0);
            for (k, &(partner, a, b)) in shares.iter().enumerate() {
                if k >= shown {
                    rest.0 += a;
                    rest.1 += b;
                    continue;
                }
                let name = format!(
                    "{} — {}",
                    s.regions[partner].id,
                    legend_name(&s.regions[partner].name)
                );
                charts.push(stacked(
                    &charts,
                    &name,
                    a,
                    b,
                    PALETTE[partner % PALETTE.len()],
                ));
            }
            if shares.len() > shown {
                charts.push(stacked(
                    &charts,
                    "others",
                    rest.0,
                    rest.1,
                    Color32::DARK_GRAY,
                ));
            }
            for c in charts {
                pui.bar_chart(c);
            }
        });
    if s.blocs.is_empty() {
        return;
    }
    let metric = if basis == ShareBasis::Imports {
        Metric::BlocImportShare
    } else {
        Metric::BlocTradeShare
    };
    ui.label(
        RichText::new(format!(
            "Bloc shares of {}'s {what} over time (median, P25–P75)",
            s.regions[p.region].id
        ))
        .small(),
    );
    let xs: Vec<f64> = r.years.iter().map(|&y| f64::from(y)).collect();
    let link = egui::Id::unique(("corridor-x", View::Shares));
    let bloc_series: Vec<Option<usize>> = (0..s.blocs.len())
        .map(|b| r.series(&r.key(metric, Partner::Bloc(b), sector)))
        .collect();
    // The blocs' colours in a row above the plot: a legend inside this small plot would
    // cover its lines and bands.
    let legend_height = ui
        .horizontal_wrapped(|ui| {
            for (b, bloc) in s.blocs.iter().enumerate() {
                if bloc_series[b].is_none() {
                    continue;
                }
                let color = PALETTE[(b + 3) % PALETTE.len()];
                let (swatch, _) =
                    ui.allocate_exact_size(egui::vec2(14.0, 8.0), egui::Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, color);
                ui.label(RichText::new(legend_name(&bloc.name)).small())
                    .on_hover_text(&bloc.name);
                ui.add_space(6.0);
            }
        })
        .response
        .rect
        .height();
    Plot::new(("blocs", index))
        .height((height - top - legend_height - 34.0).max(100.0))
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .allow_scroll(false)
        .x_axis_formatter(|mark, _| format!("{:.0}", mark.value))
        .y_axis_formatter(|mark, _| format!("{:.0} %", mark.value * 100.0))
        .show(ui, |pui| {
            for (b, bloc) in s.blocs.iter().enumerate() {
                let Some(series) = bloc_series[b] else {
                    continue;
                };
                let name = legend_name(&bloc.name);
                let color = PALETTE[(b + 3) % PALETTE.len()];
                if let (Some(a), Some(c)) = (r.stat_of(2, series), r.stat_of(4, series)) {
                    let (x, a, c) = finite3(&xs, a, c);
                    pui.add(
                        FilledArea::new(&name, &x, &a, &c).fill_color(color.gamma_multiply(0.25)),
                    );
                }
                let ys = r.stat_of(3, series).unwrap_or_else(|| r.path_of(series));
                pui.line(Line::new(&name, points(&xs, ys)).color(color).width(2.0));
            }
            pui.add(
                VLine::new("chosen year", f64::from(year))
                    .color(Color32::GRAY)
                    .width(1.0),
            );
        });
}

/// A name short enough for a legend: without a parenthesis, at most 24 characters.
fn legend_name(name: &str) -> String {
    let name = name.split(" (").next().unwrap_or(name).trim();
    if name.chars().count() <= 24 {
        name.to_string()
    } else {
        let cut: String = name.chars().take(23).collect();
        format!("{}…", cut.trim_end())
    }
}

fn stacked(below: &[BarChart], name: &str, a: f64, b: f64, color: Color32) -> BarChart {
    let bars = vec![
        Bar::new(0.0, a).width(0.6).name(name),
        Bar::new(1.0, b).width(0.6).name(name),
    ];
    let refs: Vec<&BarChart> = below.iter().collect();
    BarChart::new(name, bars)
        .color(color)
        .element_formatter(Box::new(|bar, _| {
            format!("{}: {:.1} %", bar.name, bar.value * 100.0)
        }))
        .stack_on(&refs)
}

/// Creation and diversion by sector at the chosen year (PE).
fn creation_ui(ui: &mut egui::Ui, index: usize, r: &Results, p: &Resolved, height: f32) {
    let s = r.scenario();
    if r.engine == EngineKind::Ge {
        ui.label("Creation and diversion are measured against the no-event world of the PE engine; switch this column to PE to see them.");
        return;
    }
    let region = &s.regions[p.region].id;
    let cell = |m: Metric, k: Option<usize>| {
        r.cell_of(&r.key(m, Partner::None, k), p.t)
            .map_or(0.0, |c| c.headline())
    };
    ui.label(RichText::new(format!(
        "{region} in {}: creation {} and diversion {} {} over all sectors (median of runs, or path)",
        p.year,
        fmt(Metric::Creation, cell(Metric::Creation, None)),
        fmt(Metric::Diversion, cell(Metric::Diversion, None)),
        s.unit
    ))
    .small());
    let ids: Vec<String> = s.sectors.iter().map(|x| x.id.clone()).collect();
    Plot::new(("creation", index))
        .height((height - 30.0).max(120.0))
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(0.0)
        .x_axis_formatter(move |mark, _| id_at(&ids, mark.value))
        .show(ui, |pui| {
            for (m, offset, color, name) in [
                (
                    Metric::Creation,
                    -0.2,
                    PALETTE[2],
                    "creation (net new imports)",
                ),
                (
                    Metric::Diversion,
                    0.2,
                    PALETTE[1],
                    "diversion (imports shifted away)",
                ),
            ] {
                #[allow(clippy::cast_precision_loss)]
                let bars: Vec<Bar> = (0..s.sectors.len())
                    .map(|k| {
                        Bar::new(k as f64 + offset, cell(m, Some(k)))
                            .width(0.38)
                            .name(&s.sectors[k].name)
                    })
                    .collect();
                let unit = s.unit.clone();
                pui.bar_chart(
                    BarChart::new(name, bars)
                        .color(color)
                        .element_formatter(Box::new(move |bar, _| {
                            format!("{}: {} {unit}", bar.name, fmt(m, bar.value))
                        })),
                );
            }
        });
}

fn ge_series(r: &Results, p: &Resolved, state: &State) -> Option<usize> {
    let m = state.pickers.ge_measure.metric();
    match m {
        Metric::PriceIndex => r.series(&r.key(m, Partner::None, Some(p.sector.unwrap_or(0)))),
        _ => r.series(&r.key(m, Partner::None, None)),
    }
}

/// GE outcomes: the chosen measure over time for the region, and per region at the year.
#[allow(clippy::too_many_arguments)]
fn general_ui(
    ui: &mut egui::Ui,
    index: usize,
    r: &Results,
    p: &Resolved,
    state: &State,
    height: f32,
    y_range: Option<(f64, f64)>,
    link: egui::Id,
    actions: &mut Vec<Action>,
) {
    let s = r.scenario();
    if r.engine != EngineKind::Ge {
        ui.label("Welfare, real wage and price index come from the GE engine.");
        if ui
            .button("Switch this column to GE")
            .on_hover_text("Run this scenario in the general-equilibrium engine.")
            .clicked()
        {
            actions.push(Action::SetEngine(index, EngineKind::Ge));
        }
        return;
    }
    let measure = state.pickers.ge_measure;
    let metric = measure.metric();
    let sector_note = if metric == Metric::PriceIndex {
        format!(", {}", s.sectors[p.sector.unwrap_or(0)].name)
    } else {
        String::new()
    };
    let region = &s.regions[p.region].id;
    ui.label(
        RichText::new(format!(
            "{} of {region}{sector_note} (1 = as in {})",
            measure.label(),
            s.base_year
        ))
        .small(),
    );
    let top = (height * 0.5).max(120.0);
    match ge_series(r, p, state) {
        Some(series) => band_plot_ui(
            ui,
            (index, "ge"),
            link,
            r,
            series,
            metric,
            top - 24.0,
            y_range,
            p.year,
        ),
        None => {
            ui.weak("No such series.");
        }
    }
    ui.label(
        RichText::new(format!(
            "{} by region in {} (box: P5, P25, median, P75, P95)",
            measure.label(),
            p.year
        ))
        .small(),
    );
    let ids: Vec<String> = s.regions.iter().map(|x| x.id.clone()).collect();
    Plot::new(("ge-regions", index))
        .height((height - top - 30.0).max(100.0))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        // A mark at every region and labels close together, so each box is labelled with
        // its region (the default hides labels less than 60 points apart).
        .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 1.0, 1.0]))
        .custom_x_axes(vec![
            egui_plot::AxisHints::new_x()
                .label_spacing(18.0..=24.0)
                .tick_label_font(egui::FontId::proportional(10.0))
                .formatter(move |mark, _| id_at(&ids, mark.value)),
        ])
        .show(ui, |pui| {
            let mut boxes = Vec::new();
            let mut bars = Vec::new();
            for j in 0..s.regions.len() {
                let key = SeriesKey {
                    metric,
                    region: j,
                    partner: Partner::None,
                    sector: if metric == Metric::PriceIndex {
                        SectorSel::One(p.sector.unwrap_or(0))
                    } else {
                        SectorSel::All
                    },
                };
                let Some(c) = r.cell_of(&key, p.t) else {
                    continue;
                };
                #[allow(clippy::cast_precision_loss)]
                let x = j as f64;
                let color = if j == p.region { PATH } else { BAND };
                if c.p50.is_nan() {
                    bars.push(
                        Bar::new(x, c.path - 1.0)
                            .base_offset(1.0)
                            .width(0.6)
                            .name(&s.regions[j].id)
                            .fill(color),
                    );
                } else {
                    boxes.push(
                        BoxElem::new(x, BoxSpread::new(c.p5, c.p25, c.p50, c.p75, c.p95))
                            .name(&s.regions[j].id)
                            .box_width(0.6)
                            .fill(color.gamma_multiply(0.4))
                            .stroke(egui::Stroke::new(1.5, color)),
                    );
                }
            }
            if !boxes.is_empty() {
                pui.box_plot(BoxPlot::new(measure.label(), boxes));
            }
            if !bars.is_empty() {
                pui.bar_chart(BarChart::new("path", bars));
            }
        });
}

/// A number for people: values with thousands separators, shares in percent.
pub fn fmt(metric: Metric, v: f64) -> String {
    if v.is_nan() {
        return "–".into();
    }
    match metric {
        Metric::Flow | Metric::Imports | Metric::Exports | Metric::Creation | Metric::Diversion => {
            if v.abs() >= 100.0 {
                thousands(v)
            } else {
                format!("{v:.1}")
            }
        }
        Metric::ImportShare
        | Metric::TopSupplierShare
        | Metric::BlocImportShare
        | Metric::BlocTradeShare
        | Metric::SelfSufficiency => {
            format!("{:.1} %", v * 100.0)
        }
        Metric::SupplierHhi | Metric::MarketHhi | Metric::TradeHhi => format!("{v:.3}"),
        Metric::EffectiveSuppliers | Metric::EffectiveMarkets => format!("{v:.2}"),
        Metric::Welfare | Metric::Wage | Metric::RealWage | Metric::PriceIndex => format!("{v:.4}"),
    }
}

fn fmt_axis(metric: Metric, v: f64, step: f64) -> String {
    match metric {
        Metric::ImportShare
        | Metric::TopSupplierShare
        | Metric::BlocImportShare
        | Metric::BlocTradeShare
        | Metric::SelfSufficiency => {
            format!("{:.0} %", v * 100.0)
        }
        m if m.is_value() && v.abs() >= 1000.0 => thousands(v),
        _ => {
            // Enough decimals to tell neighbouring grid marks apart.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let decimals = (-step.log10().floor()).clamp(0.0, 8.0) as usize;
            format!("{v:.decimals$}")
        }
    }
}

/// 1234567.8 → "1 234 568".
pub fn thousands(v: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The statistic names, for tooltips of table cells.
pub fn describe_cell(metric: Metric, c: &Cell) -> String {
    let mut out = format!("path {}", fmt(metric, c.path));
    if !c.p50.is_nan() {
        let vals = [c.mean, c.p5, c.p25, c.p50, c.p75, c.p95];
        for (name, v) in STATS.iter().zip(vals) {
            out.push_str(&format!("\n{name} {}", fmt(metric, v)));
        }
    }
    out
}

/// The id at a whole-number axis position (one region per unit), empty between them.
fn id_at(ids: &[String], value: f64) -> String {
    let v = value.round();
    if (value - v).abs() < 1e-6 && v >= 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        ids.get(v as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}
