//! Events (agreements and shocks) and the trade-cost factors they imply. SPEC §2.

use crate::scenario::{CostEffect, Scenario};

/// One agreement or shock, compiled for the engines.
#[derive(Clone, Debug)]
pub struct Event {
    /// `agreement.<id>` or `shock.<id>` style label: kind and id.
    pub kind: EventKind,
    pub id: String,
    pub name: String,
    pub start: i32,
    /// Last year in force (shocks only), before the delay moves it.
    pub end: Option<i32>,
    pub ramp_years: u32,
    pub probability: f64,
    pub delay: (u32, u32),
    pub enabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Agreement,
    Shock,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Agreement => "agreement",
            EventKind::Shock => "shock",
        }
    }
}

impl Event {
    /// ρ_k(y): the strength in year `year` given the effective start `a = start + δ`.
    pub fn strength(&self, year: i32, delay_years: u32) -> f64 {
        let delay = i32::try_from(delay_years).unwrap_or(i32::MAX);
        let a = self.start.saturating_add(delay);
        if year < a {
            return 0.0;
        }
        if let Some(end) = self.end
            && year > end.saturating_add(delay)
        {
            return 0.0;
        }
        if self.ramp_years == 0 {
            1.0
        } else {
            (f64::from(year - a + 1) / f64::from(self.ramp_years)).min(1.0)
        }
    }
}

/// All events of a scenario (agreements first, then shocks, in file order) with the
/// full-strength change `d` they make to the cost factor of each (exporter, importer,
/// sector) they cover: the factor is Π_k (1 + I_k ρ_k d_k).
#[derive(Clone, Debug, Default)]
pub struct Events {
    pub list: Vec<Event>,
}

impl Events {
    pub fn new(s: &Scenario) -> Self {
        let mut list = Vec::with_capacity(s.agreements.len() + s.shocks.len());
        for a in &s.agreements {
            list.push(Event {
                kind: EventKind::Agreement,
                id: a.id.clone(),
                name: a.name.clone(),
                start: a.start,
                end: None,
                ramp_years: a.ramp_years,
                probability: a.probability,
                delay: a.delay,
                enabled: a.enabled,
            });
        }
        for h in &s.shocks {
            list.push(Event {
                kind: EventKind::Shock,
                id: h.id.clone(),
                name: h.name.clone(),
                start: h.start,
                end: h.end,
                ramp_years: h.ramp_years,
                probability: h.probability,
                delay: h.delay,
                enabled: h.enabled,
            });
        }
        Self { list }
    }

    /// Calls `f(event, exporter, importer, sector, d)` for every covered foreign pair and
    /// sector of every event, where `d` is κ − 1 for an agreement and c for a shock.
    pub fn for_each_cover(s: &Scenario, mut f: impl FnMut(usize, usize, usize, usize, f64)) {
        for (k, a) in s.agreements.iter().enumerate() {
            for (i, j) in a.coverage.pairs() {
                for &sec in &a.sectors {
                    let kappa = match a.effect {
                        CostEffect::CostCut(c) => 1.0 - c,
                        CostEffect::PartialEffect(beta) => {
                            (-beta / (s.sectors[sec].substitution - 1.0)).exp()
                        }
                    };
                    f(k, i, j, sec, kappa - 1.0);
                }
            }
        }
        let offset = s.agreements.len();
        for (k, h) in s.shocks.iter().enumerate() {
            for &i in &h.from {
                for &j in &h.to {
                    if i == j {
                        continue;
                    }
                    for &sec in &h.sectors {
                        f(offset + k, i, j, sec, h.cost_increase);
                    }
                }
            }
        }
    }
}
