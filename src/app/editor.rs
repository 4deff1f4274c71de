//! The parameter editor: one control per tunable parameter of the selected scenario,
//! each with a tooltip saying what it means, its unit and a typical range with a source.

use crate::scenario::Scenario;
use crate::scenario::params::{FieldDoc, ParamValue, Target, ValueKind};

use super::about::Topic;
use super::{Action, Command, OpenScenario};

pub fn editor_ui(ui: &mut egui::Ui, doc: Option<&OpenScenario>, actions: &mut Vec<Action>) {
    ui.heading("Parameters");
    let Some(doc) = doc else {
        ui.label("Open a scenario to edit its parameters.");
        return;
    };
    let Some(scenario) = &doc.scenario else {
        ui.colored_label(
            ui.visuals().error_fg_color,
            "This file has errors; fix them in the file, then reload.",
        );
        return;
    };
    ui.horizontal_wrapped(|ui| {
        let dirty = if doc.is_dirty() { " •" } else { "" };
        ui.label(egui::RichText::new(format!("{}{dirty}", scenario.name)).strong());
    });
    if doc.is_bundled() {
        ui.weak(
            "Bundled scenario: edits are yours to try; Save As keeps them in a file of your own.",
        );
    }
    ui.horizontal(|ui| {
        for c in [Command::Save, Command::SaveAs, Command::Revert] {
            let enabled = match c {
                Command::Save | Command::Revert => doc.is_dirty(),
                _ => true,
            };
            if c.button_ui(ui, enabled) {
                actions.push(Action::Command(c));
            }
        }
    });
    if let Some(e) = &doc.edit_error {
        ui.colored_label(ui.visuals().error_fg_color, format!("Not applied: {e}"));
    }
    ui.separator();
    let targets = scenario.tunable_params();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let mut ed = Editor {
                doc,
                scenario,
                actions,
            };
            let mut help = Vec::new();
            help.push(section_ui(
                ui,
                "Monte Carlo",
                Topic::MonteCarlo,
                true,
                |ui| {
                    for t in targets
                        .iter()
                        .filter(|t| matches!(t, Target::Scenario { .. }))
                    {
                        ed.control_ui(ui, t);
                    }
                },
            ));
            for (k, a) in scenario.agreements.iter().enumerate() {
                help.push(section_ui(
                    ui,
                    &format!("Agreement: {}", a.name),
                    Topic::Agreements,
                    k == 0,
                    |ui| {
                        if let Some(note) = &a.note {
                            ui.weak(note);
                        }
                        for t in targets
                            .iter()
                            .filter(|t| matches!(t, Target::Agreement { id, .. } if *id == a.id))
                        {
                            ed.control_ui(ui, t);
                        }
                    },
                ));
            }
            for s in &scenario.shocks {
                help.push(section_ui(
                    ui,
                    &format!("Shock: {}", s.name),
                    Topic::Shocks,
                    false,
                    |ui| {
                        if let Some(note) = &s.note {
                            ui.weak(note);
                        }
                        for t in targets
                            .iter()
                            .filter(|t| matches!(t, Target::Shock { id, .. } if *id == s.id))
                        {
                            ed.control_ui(ui, t);
                        }
                    },
                ));
            }
            for s in &scenario.sectors {
                help.push(section_ui(
                    ui,
                    &format!("Sector: {}", s.name),
                    Topic::Trade,
                    false,
                    |ui| {
                        for t in targets
                            .iter()
                            .filter(|t| matches!(t, Target::Sector { id, .. } if *id == s.id))
                        {
                            ed.control_ui(ui, t);
                        }
                    },
                ));
            }
            let growth: Vec<&Target> = targets
                .iter()
                .filter(|t| matches!(t, Target::Growth { .. }))
                .collect();
            if !growth.is_empty() {
                help.push(section_ui(
                    ui,
                    "Growth overrides",
                    Topic::Trade,
                    false,
                    |ui| {
                        for t in growth {
                            ed.control_ui(ui, t);
                        }
                    },
                ));
            }
            for topic in help.into_iter().flatten() {
                ed.actions.push(Action::ShowAbout(topic));
            }
        });
}

/// A collapsible group with a "?" that opens the matching part of "About the model".
fn section_ui(
    ui: &mut egui::Ui,
    title: &str,
    topic: Topic,
    default_open: bool,
    body: impl FnOnce(&mut egui::Ui),
) -> Option<Topic> {
    let id = ui.make_persistent_id(title);
    let mut help = None;
    egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, default_open)
        .show_header(ui, |ui| {
            ui.label(egui::RichText::new(title).strong());
            if ui
                .small_button("?")
                .on_hover_text(format!("About the model: {}", topic.title()))
                .clicked()
            {
                help = Some(topic);
            }
        })
        .body(body);
    help
}

struct Editor<'a> {
    doc: &'a OpenScenario,
    scenario: &'a Scenario,
    actions: &'a mut Vec<Action>,
}

impl Editor<'_> {
    fn set(&mut self, target: &Target, value: ParamValue) {
        self.actions.push(Action::SetParam {
            path: self.doc.path.clone(),
            target: target.clone(),
            value,
        });
    }

    /// The control of one parameter: a slider, drag values or a checkbox.
    fn control_ui(&mut self, ui: &mut egui::Ui, target: &Target) {
        let Some(doc) = target.doc() else { return };
        let Some(value) = self.scenario.get_param(target) else {
            return;
        };
        let edited = self.doc.edits.iter().any(|a| &a.target == target);
        let label = if edited {
            format!("{} •", doc.label)
        } else {
            doc.label.to_string()
        };
        let topic = Topic::of(target);
        let mut about_clicked = false;
        let tooltip = |ui: &mut egui::Ui| {
            about_clicked |= tooltip_ui(ui, doc, target, topic);
        };
        let response = match (doc.kind, value) {
            (ValueKind::Bool, ParamValue::Bool(mut on)) => {
                let r = ui.checkbox(&mut on, label);
                if r.changed() {
                    self.set(target, ParamValue::Bool(on));
                }
                r
            }
            (ValueKind::Delay, ParamValue::Delay(lo, hi)) => {
                let (mut lo, mut hi) = (lo, hi);
                let max = u32::try_from(crate::scenario::limits::MAX_DELAY_YEARS).unwrap_or(50);
                let r = ui
                    .horizontal(|ui| {
                        let name = ui.label(&label);
                        let a = ui
                            .add(
                                egui::DragValue::new(&mut lo)
                                    .range(0..=hi)
                                    .prefix("min ")
                                    .suffix(" y"),
                            )
                            .labelled_by(name.id);
                        let b = ui
                            .add(
                                egui::DragValue::new(&mut hi)
                                    .range(lo..=max)
                                    .prefix("max ")
                                    .suffix(" y"),
                            )
                            .labelled_by(name.id);
                        a.on_hover_ui(|ui| {
                            tooltip_ui(ui, doc, target, topic);
                        });
                        b.on_hover_ui(|ui| {
                            tooltip_ui(ui, doc, target, topic);
                        });
                        name
                    })
                    .inner;
                if (lo, hi) != self.delay_of(target) {
                    self.set(target, ParamValue::Delay(lo, hi));
                }
                r
            }
            (ValueKind::Integer, v) => {
                #[allow(clippy::cast_possible_truncation)]
                let mut x = v.as_f64() as i64;
                let (lo, hi) = self.integer_range(target, doc, x);
                let r = if hi - lo <= 40 {
                    ui.add(egui::Slider::new(&mut x, lo..=hi).text(&label))
                } else {
                    ui.horizontal(|ui| {
                        let name = ui.label(&label);
                        ui.add(
                            egui::DragValue::new(&mut x)
                                .range(lo..=hi)
                                .speed(if hi - lo > 1000 { 10.0 } else { 1.0 }),
                        )
                        .labelled_by(name.id)
                    })
                    .inner
                };
                if r.changed() {
                    self.set(target, ParamValue::Integer(x));
                }
                r
            }
            (_, v) => {
                let mut x = v.as_f64();
                let (lo, hi) = (doc.range.0.min(x), doc.range.1.max(x));
                let r = ui.add(
                    egui::Slider::new(&mut x, lo..=hi)
                        .text(&label)
                        .fixed_decimals(decimals(hi - lo))
                        // Round only what the user drags: a value written with more
                        // decimals than the slider shows stays as written.
                        .clamping(egui::SliderClamping::Edits),
                );
                if r.changed() {
                    self.set(target, ParamValue::Real(x));
                }
                r
            }
        };
        response.on_hover_ui(tooltip);
        if about_clicked {
            self.actions.push(Action::ShowAbout(topic));
        }
    }

    fn delay_of(&self, target: &Target) -> (u32, u32) {
        match self.scenario.get_param(target) {
            Some(ParamValue::Delay(a, b)) => (a, b),
            _ => (0, 0),
        }
    }

    /// Slider range of a whole-number parameter: years within the scenario, else the doc's.
    fn integer_range(&self, target: &Target, doc: &FieldDoc, x: i64) -> (i64, i64) {
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (doc.range.0 as i64, doc.range.1 as i64);
        let s = self.scenario;
        match target.field() {
            "start" => (i64::from(s.base_year) + 1, i64::from(s.horizon)),
            "end" => (i64::from(s.base_year) + 1, i64::from(s.horizon).max(x)),
            _ => (lo.min(x), hi.max(x)),
        }
    }
}

fn decimals(span: f64) -> usize {
    if span <= 1.0 {
        2
    } else if span <= 20.0 {
        1
    } else {
        0
    }
}

/// The tooltip of a parameter. Returns whether its "About the model" link was clicked.
fn tooltip_ui(ui: &mut egui::Ui, doc: &FieldDoc, target: &Target, topic: Topic) -> bool {
    ui.set_max_width(360.0);
    ui.label(egui::RichText::new(doc.label).strong());
    ui.label(doc.meaning);
    if !doc.unit.is_empty() {
        ui.label(format!("Unit: {}", doc.unit));
    }
    if !doc.typical.is_empty() {
        ui.label(format!("Typical: {}", doc.typical));
    }
    ui.weak(format!("Path: {target}"));
    if let Target::Agreement { .. } = target
        && target.field() == "cost_cut"
    {
        ui.weak("A cost cut c lowers the trade cost factor to (1 - c); with substitution σ the partner's share rises roughly by (1 - c)^(1 - σ).");
    }
    ui.link(format!("More in “About the model: {}” (F1)", topic.title()))
        .clicked()
}
