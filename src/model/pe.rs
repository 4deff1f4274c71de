//! The PE engine: dynamic Armington partial equilibrium, per importer and sector. SPEC §3.
//!
//! Within a market (importer j, sector s) the base-year suppliers keep their flows in
//! proportion w0 until trade costs change; a cost factor φ scales a supplier's weight by
//! φ^(1−σ). Demand grows with g and the random shock z, and responds to the market's
//! price index with elasticity ε. Zero flows stay zero: the model cannot create trade.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Draw, Model, ModelError, YearState};

/// PE outputs per market (in [`super::Structure::markets`] order) for one year.
#[derive(Clone, Copy)]
pub struct PeYear<'a> {
    /// creation_js = M_js − M⁰_js.
    pub creation: &'a [f64],
    /// diversion_js = Σ_{i≠j} max(0, −(w_ijs − w0_ijs) E_js).
    pub diversion: &'a [f64],
}

/// Walks the years of one draw. Flows are computed as
/// X_ijs = V_ijs · (φ^(1−σ) / D) · L · P^(1−ε), which equals w · E of SPEC §3 and gives
/// the data exactly in the base year (φ = 1, L = 1).
///
/// Fails with [`ModelError::Overflow`] when a year's numbers exceed what an f64 holds
/// (extreme flows, growth, elasticities or cost changes), rather than report infinities.
pub fn simulate(
    model: &Model,
    draw: &Draw,
    sink: &mut dyn FnMut(&YearState<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<(), ModelError> {
    let s = &model.scenario;
    let st = &model.structure;
    let n_entries = st.entries.len();
    let mut flows = vec![0.0; n_entries];
    let mut creation = vec![0.0; st.markets.len()];
    let mut diversion = vec![0.0; st.markets.len()];
    // L_js(y), the demand level, per market, and how it moves.
    let mut level = vec![1.0; st.markets.len()];
    let demand: Vec<Demand> = (0..st.markets.len())
        .map(|m| Demand::of(model, m))
        .collect();
    let mut state = Vec::with_capacity(model.events.list.len());

    for (t, year) in s.years().enumerate() {
        if stop() {
            return Err(ModelError::Stopped);
        }
        // The base year is the data: no trade-cost effect at all.
        let costs = if t > 0 {
            for (m, demand) in demand.iter().enumerate() {
                level[m] = demand.next(level[m], draw, t);
            }
            model.event_state(year, draw, &mut state);
            Some(year_costs(model, year, draw, &state))
        } else {
            None
        };
        let mut year_out = YearOut {
            flows: &mut flows,
            creation: &mut creation,
            diversion: &mut diversion,
        };
        year_flows(model, year, costs.as_ref(), &level, &mut year_out)?;
        sink(&YearState {
            year,
            t,
            flows: &flows,
            pe: Some(PeYear {
                creation: &creation,
                diversion: &diversion,
            }),
            ge: None,
        });
    }
    Ok(())
}

/// Where [`year_flows`] writes a year's outputs: flows per entry, creation and diversion
/// per market.
pub(crate) struct YearOut<'a> {
    pub flows: &'a mut [f64],
    pub creation: &'a mut [f64],
    pub diversion: &'a mut [f64],
}

/// The outputs of year `year` of a run whose demand levels that year are `levels` (per
/// market), under the year's trade `costs` (`None` in the base year): the one step
/// [`simulate`] takes for a year, so the same bits.
pub(super) fn year_flows(
    model: &Model,
    year: i32,
    costs: Option<&YearCosts>,
    levels: &[f64],
    out: &mut YearOut<'_>,
) -> Result<(), ModelError> {
    let costs = costs.map(|c| &*c.0);
    for (m, &level) in levels.iter().enumerate() {
        (out.creation[m], out.diversion[m]) = market_flows(model, m, costs, level, out.flows);
    }
    check_range(model, year, out.flows, out.creation, out.diversion)
}

/// The trade costs of year `year` under `draw`, whose event strengths that year are `key`
/// ([`Model::event_state`]): every run with those strengths shares them.
pub(super) fn year_costs(model: &Model, year: i32, draw: &Draw, key: &[u64]) -> YearCosts {
    YearCosts(model.pe_costs.get(model, year, draw, key))
}

/// What one year's trade costs do to every market, for runs with the same event
/// strengths that year ([`Model::pe_year_costs`]).
pub(crate) struct YearCosts(Arc<CostEffect>);

impl YearCosts {
    /// The memory these costs hold.
    pub(crate) fn bytes(&self) -> usize {
        self.0.bytes()
    }
}

/// One market's outputs in one year of a run, from [`simulate_markets`].
pub struct MarketYear<'a> {
    /// Year index (1 is the year after the base year).
    pub t: usize,
    /// Position of the market in the list asked for.
    pub p: usize,
    /// Flows per entry; only the market's own entries are current.
    pub flows: &'a [f64],
    pub creation: f64,
    pub diversion: f64,
}

/// The flows of the markets `markets` in every year after the base year under `draw`,
/// exactly as [`simulate`] computes them: `sink` gets each year's outputs of market
/// `markets[p]`. Only these markets' levels and flows are computed.
pub(super) fn simulate_markets(
    model: &Model,
    draw: &Draw,
    markets: &[usize],
    flows: &mut [f64],
    sink: &mut dyn FnMut(&MarketYear<'_>),
) {
    let s = &model.scenario;
    let mut level = vec![1.0; markets.len()];
    let demand: Vec<Demand> = markets.iter().map(|&m| Demand::of(model, m)).collect();
    let mut state = Vec::with_capacity(model.events.list.len());
    for (t, year) in s.years().enumerate().skip(1) {
        model.event_state(year, draw, &mut state);
        let costs = model.pe_costs.get(model, year, draw, &state);
        for (p, &m) in markets.iter().enumerate() {
            level[p] = demand[p].next(level[p], draw, t);
            let (creation, diversion) = market_flows(model, m, Some(&*costs), level[p], flows);
            sink(&MarketYear {
                t,
                p,
                flows,
                creation,
                diversion,
            });
        }
    }
}

/// Flows of market `m` at demand level L = `level` under `costs` (`None`: costs as in
/// the base year), written into `flows`; returns the market's creation and diversion.
pub(super) fn market_flows(
    model: &Model,
    m: usize,
    costs: Option<&CostEffect>,
    level: f64,
    flows: &mut [f64],
) -> (f64, f64) {
    let st = &model.structure;
    let market = &st.markets[m];
    let range = market.entries.clone();
    let (Some(costs), Some(price_term)) = (costs, costs.and_then(|c| c.price_term[m])) else {
        // w = w0, P = 1: flows scale with demand alone; no creation or diversion.
        for (flow, &v) in flows[range.clone()]
            .iter_mut()
            .zip(&model.base_values[range])
        {
            *flow = v * level;
        }
        return (0.0, 0.0);
    };
    let first = costs.first[m];
    let importer = market.importer;
    let expenditure_scale = level * price_term;
    let e_js = market.base_total * expenditure_scale;
    let (mut imports, mut imports0, mut diverted) = (0.0, 0.0, 0.0);
    for (i, e) in range.enumerate() {
        let v = st.entries[e].value;
        flows[e] = costs.scaled[first + i] * expenditure_scale;
        if st.entries[e].from != importer {
            imports += flows[e];
            imports0 += v * level;
            diverted += (-costs.share_change[first + i] * e_js).max(0.0);
        }
    }
    (imports - imports0, diverted)
}

/// Flows of every entry in year `t` under `costs` (`None` in the base year) with demand
/// on its growth path and no noise, exactly as [`simulate`] computes them for a run
/// without demand noise.
pub(super) fn noise_free_flows(
    model: &Model,
    t: usize,
    costs: Option<&CostEffect>,
    flows: &mut [f64],
) {
    let s = &model.scenario;
    for (m, market) in model.structure.markets.iter().enumerate() {
        let growth = 1.0 + s.growth_rate(market.importer, market.sector);
        let vol = s.sectors[market.sector].volatility;
        let level = (0..t).fold(1.0, |level, _| next_level(level, growth, vol, None));
        market_flows(model, m, costs, level, flows);
    }
}

/// L_js(y) from L_js(y − 1): growth g times the demand shock exp(z − v²/2), where
/// z = v · `noise` for a standard normal draw `noise` (SPEC §3). Without noise (the
/// path) the shock is exactly 1.
#[inline]
fn next_level(level: f64, growth: f64, vol: f64, noise: Option<f64>) -> f64 {
    let shock = match noise {
        Some(n) if vol > 0.0 => {
            let z = vol * n;
            (z - vol * vol / 2.0).exp()
        }
        _ => 1.0,
    };
    level * (growth * shock)
}

/// The demand level of every market in every year of `draw`, `[t * markets + m]`, exactly
/// as [`simulate`] computes them.
pub(super) fn demand_levels(model: &Model, draw: &Draw, levels: &mut [f64]) {
    let count = model.structure.markets.len();
    for m in 0..count {
        let demand = Demand::of(model, m);
        let mut level = 1.0;
        levels[m] = level;
        for t in 1..model.scenario.year_count() {
            level = demand.next(level, draw, t);
            levels[t * count + m] = level;
        }
    }
}

/// How one market's demand level moves from year to year (SPEC §3): the one step that
/// [`simulate`], [`simulate_markets`] and [`demand_levels`] all take.
struct Demand {
    /// 1 + g.
    growth: f64,
    volatility: f64,
    /// The market's place among a year's demand shocks in [`Draw::noise`].
    cell: usize,
    /// Demand shocks per year in [`Draw::noise`].
    cells: usize,
}

impl Demand {
    fn of(model: &Model, m: usize) -> Self {
        let (s, st) = (&model.scenario, &model.structure);
        let market = &st.markets[m];
        Demand {
            growth: 1.0 + s.growth_rate(market.importer, market.sector),
            volatility: s.sectors[market.sector].volatility,
            cell: market.importer * st.sectors + market.sector,
            cells: st.regions * st.sectors,
        }
    }

    /// L in year t ≥ 1 from L in year t − 1 under `draw` (no shock without noise).
    #[inline]
    fn next(&self, level: f64, draw: &Draw, t: usize) -> f64 {
        let z = (!draw.noise.is_empty()).then(|| draw.noise[(t - 1) * self.cells + self.cell]);
        next_level(level, self.growth, self.volatility, z)
    }
}

/// What one year's trade costs do to every market. They depend on the events' strengths
/// that year alone, which take few distinct values across the runs of an ensemble (each
/// event is off, ramping or in full force), so each is computed once and shared.
pub(super) struct CostEffect {
    /// Per market: P^(1−ε), or `None` where no cost changed (w = w0, P = 1).
    price_term: Vec<Option<f64>>,
    /// Per market with a price term: where its entries start in `scaled` and
    /// `share_change`, which hold the entries of those markets only.
    first: Vec<usize>,
    /// Per entry of a market with a price term: V · φ^(1−σ) / D, so X = this · L · P^(1−ε).
    scaled: Vec<f64>,
    /// Per entry of a market with a price term: w − w0.
    share_change: Vec<f64>,
}

impl CostEffect {
    fn bytes(&self) -> usize {
        self.price_term.len() * (std::mem::size_of::<Option<f64>>() + 8)
            + (self.scaled.len() + self.share_change.len()) * 8
    }
}

/// Cost effects by event strengths, shared by the threads of an ensemble. The cache
/// stops growing at [`CostCache::MAX_BYTES`]; later strengths are computed per year.
#[derive(Default)]
pub(super) struct CostCache {
    map: std::sync::RwLock<std::collections::HashMap<Vec<u64>, Arc<CostEffect>>>,
    /// Bytes held by the entries of `map`.
    bytes: AtomicUsize,
}

impl CostCache {
    const MAX_BYTES: usize = 32 * 1024 * 1024;

    /// The effect for `key`, the year's [`Model::event_state`].
    pub(super) fn get(
        &self,
        model: &Model,
        year: i32,
        draw: &Draw,
        key: &[u64],
    ) -> Arc<CostEffect> {
        if let Some(hit) = self.map.read().ok().and_then(|m| m.get(key).cloned()) {
            return hit;
        }
        let effect = Arc::new(cost_effect(model, year, draw));
        let bytes = effect.bytes() + key.len() * 8 + 64;
        if let Ok(mut map) = self.map.write()
            && self.bytes.load(Ordering::Relaxed) + bytes <= Self::MAX_BYTES
        {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            map.insert(key.to_vec(), Arc::clone(&effect));
        }
        effect
    }
}

/// The cost effect of one year: φ per entry, then shares and the price index per market
/// (SPEC §3).
fn cost_effect(model: &Model, year: i32, draw: &Draw) -> CostEffect {
    let s = &model.scenario;
    let st = &model.structure;
    let n_entries = st.entries.len();
    let mut phi = vec![1.0; n_entries];
    let mut weight = vec![1.0; n_entries];
    let mut effect = CostEffect {
        price_term: vec![None; st.markets.len()],
        first: vec![0; st.markets.len()],
        scaled: Vec::new(),
        share_change: Vec::new(),
    };
    if !model.cost_factors(year, draw, &mut phi) {
        return effect;
    }
    for (m, market) in st.markets.iter().enumerate() {
        let range = market.entries.clone();
        if phi[range.clone()].iter().all(|&f| f == 1.0) {
            continue;
        }
        let k = market.sector;
        let exponent = 1.0 - s.sectors[k].substitution;
        let eps = s.sectors[k].demand_elasticity;
        let e0 = market.base_total;
        // D = Σ w0 φ^(1−σ); with σ = 1 shares do not move and P = Π φ^w0.
        // φ^(1−σ) per entry; most entries of a touched market are not covered (φ = 1).
        for e in range.clone() {
            weight[e] = if phi[e] == 1.0 {
                1.0
            } else {
                phi[e].powf(exponent)
            };
        }
        let (d, price, log_price) = if exponent == 0.0 {
            let log_p: f64 = range
                .clone()
                .map(|e| st.entries[e].value / e0 * phi[e].ln())
                .sum();
            (1.0, log_p.exp(), log_p)
        } else {
            let d: f64 = range
                .clone()
                .map(|e| st.entries[e].value / e0 * weight[e])
                .sum();
            if d.is_finite() && d > 0.0 {
                let price = d.powf(1.0 / exponent);
                (d, price, price.ln())
            } else {
                // φ^(1−σ) over- or underflowed (σ far from 1, costs near 0 or huge):
                // the same shares and price from weights scaled by the largest one.
                let (d, log_p) = rescaled_weights(
                    &mut weight[range.clone()],
                    &phi[range.clone()],
                    exponent,
                    |e| st.entries[market.entries.start + e].value / e0,
                );
                (d, log_p.exp(), log_p)
            }
        };
        // P^(1−ε), in logs when P itself is out of range.
        effect.price_term[m] = Some(if price.is_finite() && price > 0.0 {
            price.powf(1.0 - eps)
        } else {
            (log_price * (1.0 - eps)).exp()
        });
        effect.first[m] = effect.scaled.len();
        for e in range {
            let v = st.entries[e].value;
            let rel = if exponent == 0.0 { 1.0 } else { weight[e] / d };
            effect.scaled.push(v * rel);
            let w0 = v / e0;
            let w = w0 * rel;
            effect.share_change.push(w - w0);
        }
    }
    effect
}

/// Sets `weight` to φ^(1−σ) / max φ^(1−σ), computed in logs, and returns the scaled
/// D = Σ w0 · weight and ln P = ln D / (1 − σ) with the scale added back.
fn rescaled_weights(
    weight: &mut [f64],
    phi: &[f64],
    exponent: f64,
    base_share: impl Fn(usize) -> f64,
) -> (f64, f64) {
    let log_weight = |e: usize| exponent * phi[e].ln();
    let shift = (0..weight.len())
        .map(log_weight)
        .fold(f64::NEG_INFINITY, f64::max);
    for (e, w) in weight.iter_mut().enumerate() {
        *w = (log_weight(e) - shift).exp();
    }
    let d: f64 = (0..weight.len()).map(|e| base_share(e) * weight[e]).sum();
    (d, (d.ln() + shift) / exponent)
}

/// The sum of `values`, added in eight lanes side by side and then across them: the
/// order differs from a plain left-to-right sum, which does not matter for a check of
/// range, and the lanes do not wait on each other.
fn lane_sum(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f64>() + chunks.remainder().iter().sum::<f64>()
}

/// Every sum the metrics take over a year (flows of all sectors, exports plus imports)
/// stays below twice the year's total, so a finite doubled total keeps every metric finite.
fn check_range(
    model: &Model,
    year: i32,
    flows: &[f64],
    creation: &[f64],
    diversion: &[f64],
) -> Result<(), ModelError> {
    let fine = (2.0 * lane_sum(flows)).is_finite()
        && creation.iter().all(|x| x.is_finite())
        && diversion.iter().all(|x| x.is_finite());
    if fine {
        return Ok(());
    }
    let st = &model.structure;
    let s = &model.scenario;
    let worst = st
        .markets
        .iter()
        .enumerate()
        .max_by(|(a, ma), (b, mb)| {
            let size = |m: usize, r: &std::ops::Range<usize>| {
                let x: f64 =
                    flows[r.clone()].iter().sum::<f64>() + diversion[m] + creation[m].abs();
                if x.is_nan() { f64::INFINITY } else { x }
            };
            size(*a, &ma.entries).total_cmp(&size(*b, &mb.entries))
        })
        .map(|(_, m)| {
            format!(
                " (the largest market: `{}`, sector `{}`)",
                s.regions[m.importer].id, s.sectors[m.sector].id
            )
        })
        .unwrap_or_default();
    Err(ModelError::Overflow(format!(
        "in {year} the simulated trade exceeds the largest number a computer can hold (about 1.8e308){worst}; \
         the scenario's flows, growth rates, demand elasticities or cost changes are too extreme for its horizon"
    )))
}

#[cfg(test)]
mod tests {
    use super::lane_sum;

    #[test]
    fn lane_sum_adds_every_value_whatever_the_length() {
        // Whole numbers add exactly in any order: 0 + 1 + … + (n − 1) = n(n − 1)/2.
        for n in 0..40u32 {
            let values: Vec<f64> = (0..n).map(f64::from).collect();
            assert_eq!(
                lane_sum(&values),
                f64::from(n * n.saturating_sub(1) / 2),
                "n = {n}"
            );
        }
    }

    #[test]
    fn lane_sum_keeps_what_is_out_of_range() {
        let mut values = vec![1.0; 13];
        values[11] = f64::INFINITY;
        assert_eq!(lane_sum(&values), f64::INFINITY);
        values[11] = f64::NAN;
        assert!(lane_sum(&values).is_nan());
        // Values each below the largest f64 whose sum is above it.
        let big = vec![1.0e308; 9];
        assert_eq!(lane_sum(&big), f64::INFINITY);
    }
}
