//! The PE engine: dynamic Armington partial equilibrium, per importer and sector. SPEC §3.
//!
//! Within a market (importer j, sector s) the base-year suppliers keep their flows in
//! proportion w0 until trade costs change; a cost factor φ scales a supplier's weight by
//! φ^(1−σ). Demand grows with g and the random shock z, and responds to the market's
//! price index with elasticity ε. Zero flows stay zero: the model cannot create trade.

use super::{Draw, Model, YearState};

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
pub fn simulate(model: &Model, draw: &Draw, sink: &mut dyn FnMut(&YearState<'_>)) {
    let s = &model.scenario;
    let st = &model.structure;
    let n_entries = st.entries.len();
    let cells = st.regions * st.sectors;
    let mut phi = vec![1.0; n_entries];
    let mut weight = vec![1.0; n_entries];
    let mut flows = vec![0.0; n_entries];
    let mut creation = vec![0.0; st.markets.len()];
    let mut diversion = vec![0.0; st.markets.len()];
    // L_js(y), the demand level, per market; its growth and volatility per market.
    let mut level = vec![1.0; st.markets.len()];
    let growth: Vec<f64> = st
        .markets
        .iter()
        .map(|m| 1.0 + s.growth_rate(m.importer, m.sector))
        .collect();
    let sigma: Vec<f64> = s.sectors.iter().map(|x| x.substitution).collect();
    let eps: Vec<f64> = s.sectors.iter().map(|x| x.demand_elasticity).collect();
    let vol: Vec<f64> = s.sectors.iter().map(|x| x.volatility).collect();

    for (t, year) in s.years().enumerate() {
        let any_cost = t > 0 && model.cost_factors(year, draw, &mut phi);
        for (m, market) in st.markets.iter().enumerate() {
            let k = market.sector;
            if t > 0 {
                // z ~ N(0, v²) from a standard normal draw; on the path there is no noise and
                // the factor exp(z − v²/2) is exactly 1 (SPEC §3).
                let shock = if vol[k] > 0.0 && !draw.noise.is_empty() {
                    let z = vol[k] * draw.noise[(t - 1) * cells + market.importer * st.sectors + k];
                    (z - vol[k] * vol[k] / 2.0).exp()
                } else {
                    1.0
                };
                level[m] *= growth[m] * shock;
            }
            let range = market.entries.clone();
            let touched = any_cost && phi[range.clone()].iter().any(|&f| f != 1.0);
            let importer = market.importer;
            if !touched {
                // w = w0, P = 1: flows scale with demand alone; no creation or diversion.
                for e in range {
                    flows[e] = st.entries[e].value * level[m];
                }
                creation[m] = 0.0;
                diversion[m] = 0.0;
                continue;
            }
            let exponent = 1.0 - sigma[k];
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
            let (d, price) = if exponent == 0.0 {
                let log_p: f64 = range
                    .clone()
                    .map(|e| st.entries[e].value / e0 * phi[e].ln())
                    .sum();
                (1.0, log_p.exp())
            } else {
                let d: f64 = range
                    .clone()
                    .map(|e| st.entries[e].value / e0 * weight[e])
                    .sum();
                (d, d.powf(1.0 / exponent))
            };
            let expenditure_scale = level[m] * price.powf(1.0 - eps[k]);
            let e_js = e0 * expenditure_scale;
            let (mut imports, mut imports0, mut diverted) = (0.0, 0.0, 0.0);
            for e in range {
                let v = st.entries[e].value;
                let rel = if exponent == 0.0 { 1.0 } else { weight[e] / d };
                flows[e] = v * rel * expenditure_scale;
                if st.entries[e].from != importer {
                    imports += flows[e];
                    imports0 += v * level[m];
                    let w0 = v / e0;
                    let w = w0 * rel;
                    diverted += (-(w - w0) * e_js).max(0.0);
                }
            }
            creation[m] = imports - imports0;
            diversion[m] = diverted;
        }
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
}
