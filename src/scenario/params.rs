//! Parameter paths (SPEC §1): `scenario.runs`, `sector.<id>.<field>`,
//! `agreement.<id>.<field>`, `shock.<id>.<field>`, `growth.<region>.<sector>`,
//! `flow.<from>.<to>.<sector>`. Used by `corridor set`, the app's controls, sweeps and
//! reports. Each parameter carries its meaning, unit and typical range for tooltips.

use std::fmt;

use super::{CostEffect, GrowthOverride, Scenario};

/// What a path points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Scenario {
        field: String,
    },
    Sector {
        id: String,
        field: String,
    },
    Agreement {
        id: String,
        field: String,
    },
    Shock {
        id: String,
        field: String,
    },
    Growth {
        region: String,
        sector: String,
    },
    Flow {
        from: String,
        to: String,
        sector: String,
    },
}

/// The kind of value a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Real,
    Integer,
    Bool,
    Delay,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamValue {
    Real(f64),
    Integer(i64),
    Bool(bool),
    Delay(u32, u32),
}

impl ParamValue {
    pub fn as_f64(self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        match self {
            ParamValue::Real(x) => x,
            ParamValue::Integer(i) => i as f64,
            ParamValue::Bool(b) => f64::from(u8::from(b)),
            ParamValue::Delay(lo, hi) => f64::from(lo + hi) / 2.0,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Real(x) => write!(f, "{x}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Delay(lo, hi) => write!(f, "[{lo}, {hi}]"),
        }
    }
}

/// Documentation of one field: shown as a tooltip, in `--help` and in docs.
#[derive(Clone, Copy, Debug)]
pub struct FieldDoc {
    pub section: &'static str,
    pub field: &'static str,
    pub kind: ValueKind,
    pub label: &'static str,
    pub unit: &'static str,
    pub meaning: &'static str,
    /// Typical range and its source, in words.
    pub typical: &'static str,
    /// Slider range (also the low/high of a sensitivity analysis).
    pub range: (f64, f64),
}

#[allow(clippy::too_many_arguments)]
const fn doc(
    section: &'static str,
    field: &'static str,
    kind: ValueKind,
    label: &'static str,
    unit: &'static str,
    meaning: &'static str,
    typical: &'static str,
    range: (f64, f64),
) -> FieldDoc {
    FieldDoc {
        section,
        field,
        kind,
        label,
        unit,
        meaning,
        typical,
        range,
    }
}

use ValueKind::{Bool, Delay, Integer, Real};

/// Every field a path can name.
pub const FIELDS: &[FieldDoc] = &[
    doc(
        "scenario",
        "runs",
        Integer,
        "Monte Carlo runs",
        "runs",
        "How many random draws of implementation, delays and demand noise are simulated; 0 shows only the as-written path.",
        "500–10 000; bands settle by about 1 000 runs",
        (0.0, 10_000.0),
    ),
    doc(
        "scenario",
        "seed",
        Integer,
        "Random seed",
        "",
        "Start of the random numbers. The same file and seed give the same results on every machine.",
        "any whole number",
        (0.0, 1_000_000.0),
    ),
    doc(
        "scenario",
        "horizon",
        Integer,
        "Horizon",
        "year",
        "Last simulated year, inclusive.",
        "10–20 years after the base year",
        (1.0, 3000.0),
    ),
    doc(
        "sector",
        "substitution",
        Real,
        "Substitution elasticity σ",
        "",
        "How easily buyers switch between suppliers when relative trade costs change. Higher σ means a cost cut moves more trade.",
        "2–10 for goods (Broda–Weinstein, GTAP ESUBM ≈ 2× ESUBD); ~4–5 as a gravity average (Simonovska & Waugh 2014; Head & Mayer 2014)",
        (0.5, 12.0),
    ),
    doc(
        "sector",
        "demand_elasticity",
        Real,
        "Demand elasticity ε",
        "",
        "How much total spending on the sector responds to its average import price (PE engine). 0 keeps spending fixed; 1 keeps quantity × price unit-elastic.",
        "0.5–1.5 (WITS SMART uses product-specific import-demand elasticities)",
        (0.0, 3.0),
    ),
    doc(
        "sector",
        "growth",
        Real,
        "Demand growth g",
        "per year",
        "Annual growth of the sector's demand in every region without an override.",
        "0–0.06 (nominal growth of trade, 2015–2024)",
        (-0.05, 0.10),
    ),
    doc(
        "sector",
        "volatility",
        Real,
        "Demand volatility v",
        "s.d. of log",
        "Size of the random year-to-year demand shocks in Monte Carlo runs.",
        "0.02–0.15 (annual swings in sector trade)",
        (0.0, 0.3),
    ),
    doc(
        "agreement",
        "cost_cut",
        Real,
        "Cost cut",
        "share",
        "Cut in the bilateral trade cost at full effect: 0.10 makes trading 10 % cheaper between the parties in the covered sectors.",
        "0.02–0.15 for MoUs and facilitation; tariff-equivalent of an FTA ≈ 0.05–0.25",
        (0.0, 0.5),
    ),
    doc(
        "agreement",
        "partial_effect",
        Real,
        "Partial effect β",
        "log points",
        "Gravity coefficient of the agreement: trade between parties rises by exp(β) − 1 at constant prices.",
        "0.1–0.5 for FTAs (Baier, Yotov & Zylkin 2019)",
        (0.0, 1.0),
    ),
    doc(
        "agreement",
        "start",
        Integer,
        "Start year",
        "year",
        "First year the agreement can act (before any random delay).",
        "the year after signing, or as announced",
        (1900.0, 2200.0),
    ),
    doc(
        "agreement",
        "ramp_years",
        Integer,
        "Ramp",
        "years",
        "Years to reach full effect after the start; 0 = full effect at once.",
        "0–5; rail and flights need build-up",
        (0.0, 10.0),
    ),
    doc(
        "agreement",
        "probability",
        Real,
        "Probability",
        "share",
        "Chance the agreement is implemented at all in a Monte Carlo run.",
        "0.3–0.4 for any tangible delivery of trade/energy MoUs; 0.5–0.6 for market-access and technical MoUs; ≈0.2 for investment pledges (implementation record of Pakistan's MoUs)",
        (0.0, 1.0),
    ),
    doc(
        "agreement",
        "delay",
        Delay,
        "Delay",
        "years",
        "Random delay [min, max] in whole years added to the start in Monte Carlo runs; the as-written path uses min.",
        "announced timelines slip 2–3× (rail trial ≥ 7 months, pipeline > 7 years)",
        (0.0, 10.0),
    ),
    doc(
        "agreement",
        "enabled",
        Bool,
        "Enabled",
        "",
        "Switch the agreement on or off everywhere.",
        "",
        (0.0, 1.0),
    ),
    doc(
        "shock",
        "cost_increase",
        Real,
        "Cost increase",
        "share",
        "Rise in trade cost at full force: 0.25 multiplies the trade cost by 1.25 on the covered flows.",
        "0.05–0.3 for payment and shipping frictions; a tariff t raises costs by t",
        (-0.5, 1.0),
    ),
    doc(
        "shock",
        "start",
        Integer,
        "Start year",
        "year",
        "First year the shock can act (before any random delay).",
        "",
        (1900.0, 2200.0),
    ),
    doc(
        "shock",
        "end",
        Integer,
        "End year",
        "year",
        "Last year in force, inclusive (moves with the delay).",
        "",
        (1900.0, 2200.0),
    ),
    doc(
        "shock",
        "ramp_years",
        Integer,
        "Ramp",
        "years",
        "Years to reach full force after the start.",
        "0–3",
        (0.0, 10.0),
    ),
    doc(
        "shock",
        "probability",
        Real,
        "Probability",
        "share",
        "Chance the shock happens at all in a Monte Carlo run.",
        "0–1",
        (0.0, 1.0),
    ),
    doc(
        "shock",
        "delay",
        Delay,
        "Delay",
        "years",
        "Random delay [min, max] in whole years added to the start (and end).",
        "0–3",
        (0.0, 10.0),
    ),
    doc(
        "shock",
        "enabled",
        Bool,
        "Enabled",
        "",
        "Switch the shock on or off everywhere.",
        "",
        (0.0, 1.0),
    ),
    doc(
        "growth",
        "rate",
        Real,
        "Growth override",
        "per year",
        "Annual demand growth for one region (and sector), replacing the sector's growth.",
        "GDP growth forecasts: 0.02–0.07",
        (-0.05, 0.12),
    ),
    doc(
        "flow",
        "value",
        Real,
        "Base-year flow",
        "unit of the scenario",
        "Value of trade from exporter to importer in the base year.",
        "as in the data",
        (0.0, 1e12),
    ),
];

/// The documentation of a field, if the section has it.
pub fn field_doc(section: &str, field: &str) -> Option<&'static FieldDoc> {
    FIELDS
        .iter()
        .find(|d| d.section == section && d.field == field)
}

impl Target {
    pub fn section(&self) -> &'static str {
        match self {
            Target::Scenario { .. } => "scenario",
            Target::Sector { .. } => "sector",
            Target::Agreement { .. } => "agreement",
            Target::Shock { .. } => "shock",
            Target::Growth { .. } => "growth",
            Target::Flow { .. } => "flow",
        }
    }

    pub fn field(&self) -> &str {
        match self {
            Target::Scenario { field }
            | Target::Sector { field, .. }
            | Target::Agreement { field, .. }
            | Target::Shock { field, .. } => field,
            Target::Growth { .. } => "rate",
            Target::Flow { .. } => "value",
        }
    }

    pub fn doc(&self) -> Option<&'static FieldDoc> {
        field_doc(self.section(), self.field())
    }

    /// Parses a path such as `agreement.agri-mou.probability`.
    pub fn parse(path: &str) -> Result<Target, String> {
        let parts: Vec<&str> = path.split('.').collect();
        let fields_of = |section: &str| -> String {
            FIELDS
                .iter()
                .filter(|d| d.section == section)
                .map(|d| d.field)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let known_field = |section: &str, field: &str| -> Result<String, String> {
            if field_doc(section, field).is_some() {
                Ok(field.to_string())
            } else {
                let hint = super::diagnostic::did_you_mean(
                    field,
                    FIELDS
                        .iter()
                        .filter(|d| d.section == section)
                        .map(|d| d.field),
                )
                .map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"));
                Err(format!(
                    "`{field}` is not a parameter of {section}{hint}; the parameters are: {}",
                    fields_of(section)
                ))
            }
        };
        match parts.as_slice() {
            ["scenario", field] => Ok(Target::Scenario {
                field: known_field("scenario", field)?,
            }),
            ["sector", id, field] => Ok(Target::Sector {
                id: (*id).to_string(),
                field: known_field("sector", field)?,
            }),
            ["agreement", id, field] => Ok(Target::Agreement {
                id: (*id).to_string(),
                field: known_field("agreement", field)?,
            }),
            ["shock", id, field] => Ok(Target::Shock {
                id: (*id).to_string(),
                field: known_field("shock", field)?,
            }),
            ["growth", region, sector] => Ok(Target::Growth {
                region: (*region).to_string(),
                sector: (*sector).to_string(),
            }),
            ["flow", from, to, sector] => Ok(Target::Flow {
                from: (*from).to_string(),
                to: (*to).to_string(),
                sector: (*sector).to_string(),
            }),
            _ => Err(format!(
                "`{path}` is not a parameter path; paths look like scenario.runs, sector.<id>.<field>, agreement.<id>.<field>, shock.<id>.<field>, growth.<region>.<sector> or flow.<from>.<to>.<sector>"
            )),
        }
    }

    /// Parses a value written on the command line for this target.
    pub fn parse_value(&self, text: &str) -> Result<ParamValue, String> {
        let kind = self.doc().map_or(Real, |d| d.kind);
        let text = text.trim();
        match kind {
            Real => text
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(ParamValue::Real)
                .ok_or_else(|| format!("`{text}` is not a finite number")),
            Integer => text
                .parse::<i64>()
                .map(ParamValue::Integer)
                .map_err(|_| format!("`{text}` is not a whole number")),
            Bool => match text {
                "true" => Ok(ParamValue::Bool(true)),
                "false" => Ok(ParamValue::Bool(false)),
                _ => Err(format!("`{text}` is not true or false")),
            },
            Delay => {
                let inner = text.trim_start_matches('[').trim_end_matches(']');
                let parts: Vec<&str> = inner.split([',', ':']).map(str::trim).collect();
                match parts.as_slice() {
                    [lo, hi] => match (lo.parse::<u32>(), hi.parse::<u32>()) {
                        (Ok(lo), Ok(hi)) => Ok(ParamValue::Delay(lo, hi)),
                        _ => Err(format!("`{text}` is not a delay like [0, 2]")),
                    },
                    [one] => one
                        .parse::<u32>()
                        .map(|d| ParamValue::Delay(d, d))
                        .map_err(|_| format!("`{text}` is not a delay like [0, 2]")),
                    _ => Err(format!("`{text}` is not a delay like [0, 2]")),
                }
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Scenario { field } => write!(f, "scenario.{field}"),
            Target::Sector { id, field } => write!(f, "sector.{id}.{field}"),
            Target::Agreement { id, field } => write!(f, "agreement.{id}.{field}"),
            Target::Shock { id, field } => write!(f, "shock.{id}.{field}"),
            Target::Growth { region, sector } => write!(f, "growth.{region}.{sector}"),
            Target::Flow { from, to, sector } => write!(f, "flow.{from}.{to}.{sector}"),
        }
    }
}

impl Scenario {
    /// The current value at a path, or `None` if the path names nothing in this scenario.
    pub fn get_param(&self, target: &Target) -> Option<ParamValue> {
        use ParamValue as V;
        match target {
            Target::Scenario { field } => match field.as_str() {
                "runs" => Some(V::Integer(i64::from(self.runs))),
                "seed" => i64::try_from(self.seed).ok().map(V::Integer),
                "horizon" => Some(V::Integer(i64::from(self.horizon))),
                _ => None,
            },
            Target::Sector { id, field } => {
                let s = self.sectors.iter().find(|s| &s.id == id)?;
                Some(V::Real(match field.as_str() {
                    "substitution" => s.substitution,
                    "demand_elasticity" => s.demand_elasticity,
                    "growth" => s.growth,
                    "volatility" => s.volatility,
                    _ => return None,
                }))
            }
            Target::Agreement { id, field } => {
                let a = self.agreements.iter().find(|a| &a.id == id)?;
                match (field.as_str(), a.effect) {
                    ("cost_cut", CostEffect::CostCut(c)) => Some(V::Real(c)),
                    ("partial_effect", CostEffect::PartialEffect(b)) => Some(V::Real(b)),
                    ("start", _) => Some(V::Integer(i64::from(a.start))),
                    ("ramp_years", _) => Some(V::Integer(i64::from(a.ramp_years))),
                    ("probability", _) => Some(V::Real(a.probability)),
                    ("delay", _) => Some(V::Delay(a.delay.0, a.delay.1)),
                    ("enabled", _) => Some(V::Bool(a.enabled)),
                    _ => None,
                }
            }
            Target::Shock { id, field } => {
                let s = self.shocks.iter().find(|s| &s.id == id)?;
                match field.as_str() {
                    "cost_increase" => Some(V::Real(s.cost_increase)),
                    "start" => Some(V::Integer(i64::from(s.start))),
                    "end" => s.end.map(|e| V::Integer(i64::from(e))),
                    "ramp_years" => Some(V::Integer(i64::from(s.ramp_years))),
                    "probability" => Some(V::Real(s.probability)),
                    "delay" => Some(V::Delay(s.delay.0, s.delay.1)),
                    "enabled" => Some(V::Bool(s.enabled)),
                    _ => None,
                }
            }
            Target::Growth { region, sector } => {
                let r = self.region_index(region)?;
                if sector == "*" {
                    return self
                        .growth_overrides
                        .iter()
                        .find(|g| g.region == r && g.sector.is_none())
                        .map(|g| V::Real(g.rate));
                }
                let s = self.sector_index(sector)?;
                Some(V::Real(self.growth_rate(r, s)))
            }
            Target::Flow { from, to, sector } => {
                let (i, j, s) = (
                    self.region_index(from)?,
                    self.region_index(to)?,
                    self.sector_index(sector)?,
                );
                Some(V::Real(
                    self.flows
                        .iter()
                        .find(|f| f.from == i && f.to == j && f.sector == s)
                        .map_or(0.0, |f| f.value),
                ))
            }
        }
    }

    /// Sets a value in the validated scenario, with the same rules as the file format.
    /// The app uses this for instant feedback; files are changed through [`super::edit`].
    pub fn set_param(&mut self, target: &Target, value: ParamValue) -> Result<(), String> {
        let real = |v: ParamValue| -> Result<f64, String> {
            match v {
                ParamValue::Real(x) if x.is_finite() => Ok(x),
                ParamValue::Integer(i) => Ok(ParamValue::Integer(i).as_f64()),
                _ => Err(format!("{target} takes a number")),
            }
        };
        let int = |v: ParamValue| -> Result<i64, String> {
            match v {
                ParamValue::Integer(i) => Ok(i),
                #[allow(clippy::cast_possible_truncation)]
                ParamValue::Real(x) if x.fract() == 0.0 && x.abs() < 1e15 => Ok(x as i64),
                _ => Err(format!("{target} takes a whole number")),
            }
        };
        let check = |ok: bool, rule: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("{target} must be {rule}"))
            }
        };
        let (base, horizon) = (self.base_year, self.horizon);
        let year = |y: i64| -> Result<i32, String> {
            if i64::from(base) < y && y <= i64::from(horizon) {
                i32::try_from(y).map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "{target} must be a year after {base} and no later than {horizon}"
                ))
            }
        };
        match target {
            Target::Scenario { field } => match field.as_str() {
                "runs" => {
                    let r = int(value)?;
                    check((0..=super::limits::MAX_RUNS).contains(&r), "0 to 1 000 000")?;
                    self.runs = u32::try_from(r).map_err(|e| e.to_string())?;
                }
                "seed" => {
                    self.seed = u64::try_from(int(value)?)
                        .map_err(|_| "the seed must be >= 0".to_string())?
                }
                "horizon" => {
                    let h = int(value)?;
                    check(
                        (1..=super::limits::MAX_YEARS).contains(&(h - i64::from(base))),
                        "1 to 200 years after base_year",
                    )?;
                    self.horizon = i32::try_from(h).map_err(|e| e.to_string())?;
                }
                _ => return Err(format!("unknown parameter {target}")),
            },
            Target::Sector { id, field } => {
                let s = self
                    .sectors
                    .iter_mut()
                    .find(|s| &s.id == id)
                    .ok_or_else(|| format!("no sector `{id}`"))?;
                let x = real(value)?;
                match field.as_str() {
                    "substitution" => {
                        check(x > 0.0, "> 0")?;
                        s.substitution = x;
                    }
                    "demand_elasticity" => {
                        check(x >= 0.0, ">= 0")?;
                        s.demand_elasticity = x;
                    }
                    "growth" => {
                        check(x > -1.0, "> -1")?;
                        s.growth = x;
                    }
                    "volatility" => {
                        check((0.0..=1.0).contains(&x), "in [0, 1]")?;
                        s.volatility = x;
                    }
                    _ => return Err(format!("unknown parameter {target}")),
                }
            }
            Target::Agreement { id, field } => {
                let sectors = self.sectors.clone();
                let a = self
                    .agreements
                    .iter_mut()
                    .find(|a| &a.id == id)
                    .ok_or_else(|| format!("no agreement `{id}`"))?;
                match field.as_str() {
                    "cost_cut" => {
                        let x = real(value)?;
                        check((0.0..1.0).contains(&x), "in [0, 1)")?;
                        a.effect = CostEffect::CostCut(x);
                    }
                    "partial_effect" => {
                        let b = real(value)?;
                        check(
                            a.sectors.iter().all(|&s| sectors[s].substitution > 1.0),
                            "used only where σ > 1",
                        )?;
                        a.effect = CostEffect::PartialEffect(b);
                    }
                    "start" => a.start = year(int(value)?)?,
                    "ramp_years" => {
                        let r = int(value)?;
                        check((0..=200).contains(&r), "0 to 200 years")?;
                        a.ramp_years = u32::try_from(r).map_err(|e| e.to_string())?;
                    }
                    "probability" => {
                        let p = real(value)?;
                        check((0.0..=1.0).contains(&p), "in [0, 1]")?;
                        a.probability = p;
                    }
                    "delay" => a.delay = delay(value, target)?,
                    "enabled" => a.enabled = boolean(value, target)?,
                    _ => return Err(format!("unknown parameter {target}")),
                }
            }
            Target::Shock { id, field } => {
                let s = self
                    .shocks
                    .iter_mut()
                    .find(|s| &s.id == id)
                    .ok_or_else(|| format!("no shock `{id}`"))?;
                match field.as_str() {
                    "cost_increase" => {
                        let x = real(value)?;
                        check(x > -1.0, "> -1")?;
                        s.cost_increase = x;
                    }
                    "start" => s.start = year(int(value)?)?,
                    "end" => {
                        let e = int(value)?;
                        check(e >= i64::from(s.start), "on or after start")?;
                        s.end = Some(i32::try_from(e).map_err(|e| e.to_string())?);
                    }
                    "ramp_years" => {
                        let r = int(value)?;
                        check((0..=200).contains(&r), "0 to 200 years")?;
                        s.ramp_years = u32::try_from(r).map_err(|e| e.to_string())?;
                    }
                    "probability" => {
                        let p = real(value)?;
                        check((0.0..=1.0).contains(&p), "in [0, 1]")?;
                        s.probability = p;
                    }
                    "delay" => s.delay = delay(value, target)?,
                    "enabled" => s.enabled = boolean(value, target)?,
                    _ => return Err(format!("unknown parameter {target}")),
                }
            }
            Target::Growth { region, sector } => {
                let x = real(value)?;
                check(x > -1.0, "> -1")?;
                let r = self
                    .region_index(region)
                    .ok_or_else(|| format!("no region `{region}`"))?;
                let s = if sector == "*" {
                    None
                } else {
                    Some(
                        self.sector_index(sector)
                            .ok_or_else(|| format!("no sector `{sector}`"))?,
                    )
                };
                match self
                    .growth_overrides
                    .iter_mut()
                    .find(|g| g.region == r && g.sector == s)
                {
                    Some(g) => g.rate = x,
                    None => self.growth_overrides.push(GrowthOverride {
                        region: r,
                        sector: s,
                        rate: x,
                    }),
                }
            }
            Target::Flow { from, to, sector } => {
                let x = real(value)?;
                check(x >= 0.0, ">= 0")?;
                let i = self
                    .region_index(from)
                    .ok_or_else(|| format!("no region `{from}`"))?;
                let j = self
                    .region_index(to)
                    .ok_or_else(|| format!("no region `{to}`"))?;
                let s = self
                    .sector_index(sector)
                    .ok_or_else(|| format!("no sector `{sector}`"))?;
                match self
                    .flows
                    .iter_mut()
                    .find(|f| f.from == i && f.to == j && f.sector == s)
                {
                    Some(f) => f.value = x,
                    None => self.flows.push(super::Flow {
                        from: i,
                        to: j,
                        sector: s,
                        value: x,
                        note: None,
                    }),
                }
            }
        }
        Ok(())
    }

    /// Every parameter path a user would tune in this scenario, in a stable order.
    pub fn tunable_params(&self) -> Vec<Target> {
        let mut out = vec![
            Target::Scenario {
                field: "runs".into(),
            },
            Target::Scenario {
                field: "seed".into(),
            },
        ];
        for s in &self.sectors {
            for field in ["substitution", "demand_elasticity", "growth", "volatility"] {
                out.push(Target::Sector {
                    id: s.id.clone(),
                    field: field.into(),
                });
            }
        }
        for a in &self.agreements {
            let effect = match a.effect {
                CostEffect::CostCut(_) => "cost_cut",
                CostEffect::PartialEffect(_) => "partial_effect",
            };
            for field in [
                effect,
                "start",
                "ramp_years",
                "probability",
                "delay",
                "enabled",
            ] {
                out.push(Target::Agreement {
                    id: a.id.clone(),
                    field: field.into(),
                });
            }
        }
        for s in &self.shocks {
            for field in [
                "cost_increase",
                "start",
                "end",
                "ramp_years",
                "probability",
                "delay",
                "enabled",
            ] {
                if field == "end" && s.end.is_none() {
                    continue;
                }
                out.push(Target::Shock {
                    id: s.id.clone(),
                    field: field.into(),
                });
            }
        }
        for g in &self.growth_overrides {
            out.push(Target::Growth {
                region: self.regions[g.region].id.clone(),
                sector: g
                    .sector
                    .map_or_else(|| "*".to_string(), |s| self.sectors[s].id.clone()),
            });
        }
        out
    }
}

fn delay(v: ParamValue, target: &Target) -> Result<(u32, u32), String> {
    match v {
        ParamValue::Delay(lo, hi)
            if lo <= hi && i64::from(hi) <= super::limits::MAX_DELAY_YEARS =>
        {
            Ok((lo, hi))
        }
        _ => Err(format!(
            "{target} must be [min, max] with 0 <= min <= max <= 50"
        )),
    }
}

fn boolean(v: ParamValue, target: &Target) -> Result<bool, String> {
    match v {
        ParamValue::Bool(b) => Ok(b),
        _ => Err(format!("{target} takes true or false")),
    }
}
