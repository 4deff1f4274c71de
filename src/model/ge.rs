//! General-equilibrium engine: multi-sector exact hat algebra (SPEC §4).
//!
//! With one sector this is the model of Baier, Yotov & Zylkin (2019), "On the Widely
//! Differing Effects of Free Trade Agreements: Lessons from Twenty Years of Trade
//! Integration", Journal of International Economics 116, 206–226, solved by the same
//! fixed-point iteration as Zylkin's `ge_gravity`. With several sectors each sector is
//! its own CES/Armington nest with elasticity θ_s, regions spend the fixed base-year
//! share α_js of their expenditure on sector s, and one wage ŵ_i per region clears the
//! market for everything the region sells.
//!
//! The module is pure numerics: [`GeBase::new`] prepares the base-year quantities once,
//! [`GeBase::solve`] computes the counterfactual for a vector of trade-cost factors φ
//! (SPEC §2), one per base-year flow.
//!
//! Notation (SPEC §4): X_ijs base-year flow from exporter i to importer j in sector s,
//!
//! ```text
//! Y_i = Σ_{j,s} X_ijs    E_j = Σ_{i,s} X_ijs    D_j = E_j − Y_j
//! α_js = E_js / E_j      π_ijs = X_ijs / E_js   B_ijs = φ_ijs^(−θ_s)
//! ```
//!
//! and hats are counterfactual/base ratios.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Convergence threshold on max |Δ ln X'| between iterations used by [`GeBase::solve`]
/// (SPEC §4).
pub const DEFAULT_TOLERANCE: f64 = 1e-10;

/// Iteration limit used by [`GeBase::solve`]. Realistic problems converge in a few
/// hundred iterations; the margin covers extreme shocks.
pub const DEFAULT_MAX_ITERATIONS: usize = 100_000;

/// How trade imbalances D_j move in the counterfactual (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Deficits {
    /// D_j is a fixed nominal amount: E'_j = Y_j ŵ_j + D_j (the `ge_gravity` default).
    #[default]
    Additive,
    /// Expenditure is a fixed multiple of output: E'_j ∝ E_j ŵ_j, as in Anderson & Yotov
    /// (2016) and the `multiplicative` option of `ge_gravity`.
    Multiplicative,
}

/// Why a GE problem could not be set up or solved.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum GeError {
    #[error(
        "the GE model needs at least one region and one sector (got {regions} regions, {sectors} sectors)"
    )]
    EmptyModel { regions: usize, sectors: usize },
    #[error("expected one trade elasticity θ per sector ({expected}), got {found}")]
    ElasticityCount { expected: usize, found: usize },
    #[error(
        "sector {sector}: the trade elasticity θ = σ − 1 must be finite and greater than 0, got {theta}"
    )]
    InvalidElasticity { sector: usize, theta: f64 },
    #[error(
        "base-year flow {index} ({exporter} → {importer}, sector {sector}) is outside the model's {regions} regions and {sectors} sectors"
    )]
    FlowOutOfRange {
        index: usize,
        exporter: usize,
        importer: usize,
        sector: usize,
        regions: usize,
        sectors: usize,
    },
    #[error("base-year flow {index} must be finite and greater than 0, got {value}")]
    InvalidFlow { index: usize, value: f64 },
    #[error(
        "base-year flows {first} and {second} are both {exporter} → {importer} in sector {sector}; give each flow once"
    )]
    DuplicateFlow {
        first: usize,
        second: usize,
        exporter: usize,
        importer: usize,
        sector: usize,
    },
    #[error("expected one trade-cost factor per base-year flow ({expected}), got {found}")]
    CostFactorCount { expected: usize, found: usize },
    #[error("trade-cost factor {index} must be finite and greater than 0, got {phi}")]
    InvalidCostFactor { index: usize, phi: f64 },
    #[error(
        "trade-cost factor {index} belongs to the domestic flow of region {region} and must be 1, got {phi}"
    )]
    DomesticCostFactor {
        index: usize,
        region: usize,
        phi: f64,
    },
    #[error("warm-start wages: expected one per region ({expected}), got {found}")]
    WarmStartCount { expected: usize, found: usize },
    #[error("warm-start wage of region {region} must be finite and greater than 0, got {wage}")]
    InvalidWarmStart { region: usize, wage: f64 },
    #[error("solver tolerance must be finite and greater than 0, got {tol}")]
    InvalidTolerance { tol: f64 },
    #[error("the solver needs an iteration limit of at least 1")]
    ZeroIterationLimit,
    #[error(
        "the GE solver did not converge within {iterations} iterations (last max |Δ ln X'| = {residual:e}); raise the iteration limit or check the cost factors"
    )]
    NoConvergence { iterations: usize, residual: f64 },
}

/// Controls for [`GeBase::solve_with`].
#[derive(Clone, Debug, PartialEq)]
pub struct SolveOptions {
    /// Stop when max |Δ ln X'_k| between two iterations falls below this.
    pub tol: f64,
    /// Give up with [`GeError::NoConvergence`] after this many wage updates.
    pub max_iter: usize,
    /// Starting ŵ_i (e.g. last year's solution); `None` starts from ŵ = 1.
    pub initial_wage: Option<Vec<f64>>,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            tol: DEFAULT_TOLERANCE,
            max_iter: DEFAULT_MAX_ITERATIONS,
            initial_wage: None,
        }
    }
}

/// Counterfactual equilibrium, all changes relative to the base year (SPEC §4).
#[derive(Clone, Debug, PartialEq)]
pub struct GeSolution {
    /// X'_k, the counterfactual value of base-year flow k (same order as the entries).
    pub flows: Vec<f64>,
    /// ŵ_i, normalised so that Σ_i Y_i ŵ_i = Σ_i Y_i. Regions without sales keep 1.
    pub wage: Vec<f64>,
    /// P̂_js at index `j * sectors + s`; 1 where region j buys nothing in sector s.
    pub price_index: Vec<f64>,
    /// Ŵ_j: (E'_j / E_j) / P̂_j with additive deficits, ŵ_j / P̂_j with multiplicative
    /// ones; ŵ_j for a region without base-year expenditure.
    pub welfare: Vec<f64>,
    /// ŵ_j / P̂_j with P̂_j = Π_s P̂_js^α_js.
    pub real_wage: Vec<f64>,
    /// Wage updates performed.
    pub iterations: usize,
    /// max |Δ ln X'_k| of the last iteration.
    pub residual: f64,
}

/// One base-year flow, with everything the iteration needs about it.
#[derive(Clone, Copy, Debug)]
struct Flow {
    exporter: usize,
    importer: usize,
    sector: usize,
    /// π_ijs = X_ijs / E_js.
    share: f64,
}

/// Base-year data prepared once for many counterfactuals (SPEC §4).
#[derive(Clone, Debug)]
pub struct GeBase {
    regions: usize,
    sectors: usize,
    theta: Vec<f64>,
    deficits: Deficits,
    flows: Vec<Flow>,
    /// Y_i.
    output: Vec<f64>,
    /// E_j.
    expenditure: Vec<f64>,
    /// α_js at `j * sectors + s`.
    sector_share: Vec<f64>,
}

impl GeBase {
    /// Prepares Y_i, E_j, D_j, α_js and π_ijs (SPEC §4) from the base-year flows.
    ///
    /// `entries`: base-year flows (exporter, importer, sector, value), value > 0, any
    /// order, no duplicates; pairs not listed are zero and stay zero.
    /// `theta[s] = σ_s − 1 > 0`.
    pub fn new(
        regions: usize,
        sectors: usize,
        theta: &[f64],
        deficits: Deficits,
        entries: &[(usize, usize, usize, f64)],
    ) -> Result<Self, GeError> {
        if regions == 0 || sectors == 0 {
            return Err(GeError::EmptyModel { regions, sectors });
        }
        if theta.len() != sectors {
            return Err(GeError::ElasticityCount {
                expected: sectors,
                found: theta.len(),
            });
        }
        if let Some((sector, &theta)) = theta
            .iter()
            .enumerate()
            .find(|(_, t)| !(t.is_finite() && **t > 0.0))
        {
            return Err(GeError::InvalidElasticity { sector, theta });
        }
        for (index, &(exporter, importer, sector, value)) in entries.iter().enumerate() {
            if exporter >= regions || importer >= regions || sector >= sectors {
                return Err(GeError::FlowOutOfRange {
                    index,
                    exporter,
                    importer,
                    sector,
                    regions,
                    sectors,
                });
            }
            if !(value.is_finite() && value > 0.0) {
                return Err(GeError::InvalidFlow { index, value });
            }
        }
        check_unique(entries)?;

        let cell = |region: usize, sector: usize| region * sectors + sector;
        let mut output = vec![0.0; regions];
        let mut expenditure = vec![0.0; regions];
        let mut sector_expenditure = vec![0.0; regions * sectors];
        for &(exporter, importer, sector, value) in entries {
            output[exporter] += value;
            expenditure[importer] += value;
            sector_expenditure[cell(importer, sector)] += value;
        }
        let sector_share = sector_expenditure
            .iter()
            .enumerate()
            .map(|(c, &e_js)| {
                let e_j = expenditure[c / sectors];
                if e_j > 0.0 { e_js / e_j } else { 0.0 }
            })
            .collect();
        let flows = entries
            .iter()
            .map(|&(exporter, importer, sector, value)| Flow {
                exporter,
                importer,
                sector,
                share: value / sector_expenditure[cell(importer, sector)],
            })
            .collect();

        Ok(Self {
            regions,
            sectors,
            theta: theta.to_vec(),
            deficits,
            flows,
            output,
            expenditure,
            sector_share,
        })
    }

    pub fn regions(&self) -> usize {
        self.regions
    }

    pub fn sectors(&self) -> usize {
        self.sectors
    }

    pub fn deficits(&self) -> Deficits {
        self.deficits
    }

    /// Y_i, base-year sales of each region.
    pub fn output(&self) -> &[f64] {
        &self.output
    }

    /// E_j, base-year expenditure of each region.
    pub fn expenditure(&self) -> &[f64] {
        &self.expenditure
    }

    /// α_js = E_js / E_j at `j * sectors + s` (0 where E_j = 0).
    pub fn sector_share(&self) -> &[f64] {
        &self.sector_share
    }

    /// Solves the counterfactual with trade-cost factor `phi[k]` for entry k (same order
    /// as the entries; 1.0 = unchanged; domestic entries must have 1.0), to
    /// max |Δ ln X'| < [`DEFAULT_TOLERANCE`].
    pub fn solve(&self, phi: &[f64]) -> Result<GeSolution, GeError> {
        self.solve_with(phi, &SolveOptions::default())
    }

    /// Solves the counterfactual equilibrium of SPEC §4 for the trade-cost factors
    /// `phi` (one per entry, see [`GeBase::solve`]).
    ///
    /// The unknowns are the wages ŵ_i; everything else follows from them:
    ///
    /// ```text
    /// P̂_js^(−θ_s) = Σ_k π_kjs B_kjs ŵ_k^(−θ_s)                           (price index)
    /// E'_j = Y_j ŵ_j + D_j   or   E'_j = E_j ŵ_j                        (expenditure)
    /// X'_ijs = π_ijs B_ijs ŵ_i^(−θ_s) / P̂_js^(−θ_s) · α_js E'_j           (flows)
    /// Y_i ŵ_i = Σ_{j,s} X'_ijs                                         (market clearing)
    /// ```
    ///
    /// Iteration, generalising `ge_gravity` (Baier, Yotov & Zylkin 2019): from the
    /// flows implied by the current wages, each region's wage moves by
    ///
    /// ```text
    /// ŵ_i ← ŵ_i · [Σ_{j,s} X'_ijs / (Y_i ŵ_i)]^(1/(1+θ̄_i)),   θ̄_i = Σ_{j,s} X_ijs θ_s / Y_i
    /// ```
    ///
    /// then all wages are rescaled so that Σ_i Y_i ŵ_i = Σ_i Y_i and P̂ and E' are
    /// recomputed. With one sector the ŵ_i^(−θ) inside X' cancels and the step is
    /// exactly SPEC §4's ŵ_i = [(1/Y_i) Σ_j π_ij B_ij E'_j / P̂_j^(−θ)]^(1/(1+θ)); with
    /// several sectors 1/(1+θ̄_i) is the same damping, sized to the elasticity of the
    /// region's own sales to its wage. Iteration stops when max |Δ ln X'_k| < `tol`.
    ///
    /// Closures the paper leaves open, chosen so that world expenditure always equals
    /// world sales and both adding-up identities hold exactly:
    /// - Multiplicative deficits scale E_j ŵ_j by the common factor
    ///   Ξ = Σ_i Y_i ŵ_i / Σ_j E_j ŵ_j, as in `ge_gravity2` (Campos, Reggio & Timini
    ///   2024); wages and welfare are those of `ge_gravity`, whose flows omit Ξ.
    /// - A region without sales (Y_i = 0) has no wage to solve for: ŵ_i = 1 and it is
    ///   left out of market clearing and of the normalisation.
    /// - A region without base-year expenditure has no basket: E'_j = 0, P̂_j = 1; any
    ///   change in its additive deficit is spread over world expenditure by Ξ.
    /// - Additive expenditure is floored at 0 (a deficit cannot exceed spending).
    pub fn solve_with(&self, phi: &[f64], options: &SolveOptions) -> Result<GeSolution, GeError> {
        let SolveOptions {
            tol,
            max_iter,
            ref initial_wage,
        } = *options;
        if !(tol.is_finite() && tol > 0.0) {
            return Err(GeError::InvalidTolerance { tol });
        }
        if max_iter == 0 {
            return Err(GeError::ZeroIterationLimit);
        }
        let demand_weight = self.demand_weights(phi)?;
        let mut state = State::new(self, &demand_weight);
        match initial_wage {
            Some(wage) => state.set_initial_wage(wage)?,
            None => state.wage.fill(1.0),
        }
        state.normalise_wage();
        state.update_prices_and_expenditure();

        let mut accelerator = (self.sectors > 1).then(|| Anderson::new(ANDERSON_DEPTH));
        let mut confirm_with_plain_step = false;
        let mut residual = f64::INFINITY;
        for iteration in 1..=max_iter {
            let log_wage: Vec<f64> = state.wage.iter().map(|w| w.ln()).collect();
            state.update_wage();
            let mut accelerated = false;
            if let Some(accelerator) = accelerator.as_mut() {
                let plain: Vec<f64> = state.wage.iter().map(|w| w.ln()).collect();
                let mixed = accelerator.next(&log_wage, &plain);
                if let (Some(mixed), false) = (mixed, confirm_with_plain_step) {
                    for ((w, x), &y) in state.wage.iter_mut().zip(mixed).zip(&self.output) {
                        if y > 0.0 {
                            *w = x.exp();
                        }
                    }
                    state.normalise_wage();
                    accelerated = true;
                }
            }
            residual = state.update_prices_and_expenditure();
            if residual.is_nan() {
                break;
            }
            if residual < tol && !accelerated {
                return Ok(state.into_solution(iteration, residual));
            }
            confirm_with_plain_step = residual < tol;
        }
        Err(GeError::NoConvergence {
            iterations: max_iter,
            residual,
        })
    }

    /// π_ijs B_ijs per entry, with B_ijs = φ_ijs^(−θ_s) (SPEC §2, §4).
    fn demand_weights(&self, phi: &[f64]) -> Result<Vec<f64>, GeError> {
        if phi.len() != self.flows.len() {
            return Err(GeError::CostFactorCount {
                expected: self.flows.len(),
                found: phi.len(),
            });
        }
        self.flows
            .iter()
            .zip(phi)
            .enumerate()
            .map(|(index, (flow, &phi))| {
                if !(phi.is_finite() && phi > 0.0) {
                    return Err(GeError::InvalidCostFactor { index, phi });
                }
                if flow.exporter == flow.importer && phi != 1.0 {
                    return Err(GeError::DomesticCostFactor {
                        index,
                        region: flow.exporter,
                        phi,
                    });
                }
                Ok(flow.share * phi.powf(-self.theta[flow.sector]))
            })
            .collect()
    }
}

/// Rejects two entries for the same (exporter, importer, sector).
fn check_unique(entries: &[(usize, usize, usize, f64)]) -> Result<(), GeError> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    let key = |k: usize| (entries[k].0, entries[k].1, entries[k].2);
    order.sort_unstable_by_key(|&k| key(k));
    match order.windows(2).find(|w| key(w[0]) == key(w[1])) {
        Some(w) => {
            let (exporter, importer, sector) = key(w[0]);
            Err(GeError::DuplicateFlow {
                first: w[0].min(w[1]),
                second: w[0].max(w[1]),
                exporter,
                importer,
                sector,
            })
        }
        None => Ok(()),
    }
}

/// ln(new / old), treating a quantity that stays at zero as unchanged.
fn log_change(new: f64, old: f64) -> f64 {
    if new == old {
        0.0
    } else if new > 0.0 && old > 0.0 {
        (new / old).ln()
    } else {
        f64::INFINITY
    }
}

/// Iterates of one solve. Per-(region, sector) vectors are indexed `region * sectors + sector`.
struct State<'a> {
    base: &'a GeBase,
    /// π_k B_k per entry.
    demand_weight: &'a [f64],
    /// ŵ_i.
    wage: Vec<f64>,
    /// ŵ_i^(−θ_s) per (exporter, sector).
    wage_term: Vec<f64>,
    /// P̂_js^(−θ_s) per (importer, sector).
    price_term: Vec<f64>,
    /// E'_j.
    spending: Vec<f64>,
    /// Σ_{j,s} X'_ijs at the current iterate.
    sales: Vec<f64>,
    /// Σ_{j,s} θ_s X'_ijs at the current iterate.
    theta_weighted_sales: Vec<f64>,
    /// α_js E'_j / P̂_js^(−θ_s), so that X'_k = π_k B_k ŵ_i^(−θ_s) · this.
    demand_scale: Vec<f64>,
    // Changes in logs over the last update, for max |Δ ln X'|.
    wage_term_change: Vec<f64>,
    price_term_change: Vec<f64>,
    spending_change: Vec<f64>,
}

impl<'a> State<'a> {
    fn new(base: &'a GeBase, demand_weight: &'a [f64]) -> Self {
        let regions = base.regions;
        let cells = base.regions * base.sectors;
        Self {
            base,
            demand_weight,
            wage: vec![1.0; regions],
            wage_term: vec![1.0; cells],
            price_term: vec![1.0; cells],
            spending: base.expenditure.clone(),
            sales: vec![0.0; regions],
            theta_weighted_sales: vec![0.0; regions],
            demand_scale: vec![0.0; cells],
            wage_term_change: vec![0.0; cells],
            price_term_change: vec![0.0; cells],
            spending_change: vec![0.0; regions],
        }
    }

    fn set_initial_wage(&mut self, wage: &[f64]) -> Result<(), GeError> {
        if wage.len() != self.base.regions {
            return Err(GeError::WarmStartCount {
                expected: self.base.regions,
                found: wage.len(),
            });
        }
        if let Some((region, &wage)) = wage
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w > 0.0))
        {
            return Err(GeError::InvalidWarmStart { region, wage });
        }
        for ((w, &start), &y) in self.wage.iter_mut().zip(wage).zip(&self.base.output) {
            *w = if y > 0.0 { start } else { 1.0 };
        }
        Ok(())
    }

    /// Rescales the wages of regions with sales so that Σ_i Y_i ŵ_i = Σ_i Y_i: world
    /// nominal output is the numéraire, as in `ge_gravity`.
    fn normalise_wage(&mut self) {
        let base = self.base;
        let world_output: f64 = base.output.iter().sum();
        let world_output_new: f64 = base.output.iter().zip(&self.wage).map(|(y, w)| y * w).sum();
        let scale = world_output / world_output_new;
        for (w, &y) in self.wage.iter_mut().zip(&base.output) {
            if y > 0.0 {
                *w *= scale;
            }
        }
    }

    /// One market-clearing step on the wages (see [`GeBase::solve_with`]), using the
    /// sales of the current iterate, then the renormalisation.
    fn update_wage(&mut self) {
        let base = self.base;
        self.sales.fill(0.0);
        self.theta_weighted_sales.fill(0.0);
        for (flow, &weight) in base.flows.iter().zip(self.demand_weight) {
            let exporter_cell = flow.exporter * base.sectors + flow.sector;
            let importer_cell = flow.importer * base.sectors + flow.sector;
            let x = weight * self.wage_term[exporter_cell] * self.demand_scale[importer_cell];
            self.sales[flow.exporter] += x;
            self.theta_weighted_sales[flow.exporter] += base.theta[flow.sector] * x;
        }
        for (((w, &sales), &theta_sales), &y) in self
            .wage
            .iter_mut()
            .zip(&self.sales)
            .zip(&self.theta_weighted_sales)
            .zip(&base.output)
        {
            if y > 0.0 && sales > 0.0 {
                let step = 1.0 / (1.0 + theta_sales / sales);
                *w *= (sales / (y * *w)).powf(step);
            }
        }
        self.normalise_wage();
    }

    /// Recomputes ŵ^(−θ), P̂^(−θ) and E' from the wages and returns max |Δ ln X'_k|,
    /// where Δ ln X'_ijs = −θ_s Δ ln ŵ_i − Δ ln P̂_js^(−θ_s) + Δ ln E'_j (π, α, B fixed).
    fn update_prices_and_expenditure(&mut self) -> f64 {
        let base = self.base;
        let sectors = base.sectors;

        for (i, &w) in self.wage.iter().enumerate() {
            let ln_w = w.ln();
            for (s, &theta) in base.theta.iter().enumerate() {
                let c = i * sectors + s;
                let new = (-theta * ln_w).exp();
                self.wage_term_change[c] = log_change(new, self.wage_term[c]);
                self.wage_term[c] = new;
            }
        }

        let mut price_term = std::mem::take(&mut self.price_term);
        let mut price_term_new = vec![0.0; price_term.len()];
        for (flow, &weight) in base.flows.iter().zip(self.demand_weight) {
            price_term_new[flow.importer * sectors + flow.sector] +=
                weight * self.wage_term[flow.exporter * sectors + flow.sector];
        }
        for ((old, new), change) in price_term
            .iter_mut()
            .zip(&price_term_new)
            .zip(&mut self.price_term_change)
        {
            // A cell without suppliers keeps P̂ = 1.
            let new = if *new > 0.0 { *new } else { 1.0 };
            *change = log_change(new, *old);
            *old = new;
        }
        self.price_term = price_term;

        let spending_new = self.expenditure_for_wage();
        for ((old, &new), change) in self
            .spending
            .iter_mut()
            .zip(&spending_new)
            .zip(&mut self.spending_change)
        {
            *change = log_change(new, *old);
            *old = new;
        }

        for (c, scale) in self.demand_scale.iter_mut().enumerate() {
            *scale = base.sector_share[c] * self.spending[c / sectors] / self.price_term[c];
        }

        base.flows
            .iter()
            .map(|flow| {
                let change = self.wage_term_change[flow.exporter * sectors + flow.sector]
                    - self.price_term_change[flow.importer * sectors + flow.sector]
                    + self.spending_change[flow.importer];
                change.abs()
            })
            .fold(0.0, f64::max)
    }

    /// E'_j for the current wages, scaled by Ξ so that world expenditure equals world
    /// sales Σ_i Y_i ŵ_i (see the closures in [`GeBase::solve_with`]).
    fn expenditure_for_wage(&self) -> Vec<f64> {
        let base = self.base;
        let unscaled: Vec<f64> = (0..base.regions)
            .map(|j| {
                let e = base.expenditure[j];
                if e <= 0.0 {
                    return 0.0;
                }
                match base.deficits {
                    Deficits::Additive => {
                        let deficit = e - base.output[j];
                        (base.output[j] * self.wage[j] + deficit).max(0.0)
                    }
                    Deficits::Multiplicative => e * self.wage[j],
                }
            })
            .collect();
        let world_sales: f64 = base.output.iter().zip(&self.wage).map(|(y, w)| y * w).sum();
        let world_spending: f64 = unscaled.iter().sum();
        let closure = if world_spending > 0.0 {
            world_sales / world_spending
        } else {
            1.0
        };
        unscaled.into_iter().map(|e| e * closure).collect()
    }

    /// Flows, price indices and welfare at the converged wages (SPEC §4 outputs).
    fn into_solution(self, iterations: usize, residual: f64) -> GeSolution {
        let base = self.base;
        let sectors = base.sectors;
        let flows = base
            .flows
            .iter()
            .zip(self.demand_weight)
            .map(|(flow, &weight)| {
                weight
                    * self.wage_term[flow.exporter * sectors + flow.sector]
                    * self.demand_scale[flow.importer * sectors + flow.sector]
            })
            .collect();
        // P̂_js = (P̂_js^(−θ_s))^(−1/θ_s).
        let price_index: Vec<f64> = self
            .price_term
            .iter()
            .enumerate()
            .map(|(c, &term)| term.powf(-1.0 / base.theta[c % sectors]))
            .collect();
        // P̂_j = Π_s P̂_js^α_js.
        let consumer_price: Vec<f64> = (0..base.regions)
            .map(|j| {
                let cells = j * sectors..(j + 1) * sectors;
                base.sector_share[cells.clone()]
                    .iter()
                    .zip(&price_index[cells])
                    .map(|(&alpha, &p)| alpha * p.ln())
                    .sum::<f64>()
                    .exp()
            })
            .collect();
        let real_wage: Vec<f64> = self
            .wage
            .iter()
            .zip(&consumer_price)
            .map(|(w, p)| w / p)
            .collect();
        let welfare = (0..base.regions)
            .map(|j| {
                let e = base.expenditure[j];
                match base.deficits {
                    Deficits::Additive if e > 0.0 => self.spending[j] / e / consumer_price[j],
                    _ => real_wage[j],
                }
            })
            .collect();
        GeSolution {
            flows,
            wage: self.wage,
            price_index,
            welfare,
            real_wage,
            iterations,
            residual,
        }
    }
}

/// Past iterates kept by the Anderson acceleration.
const ANDERSON_DEPTH: usize = 5;

/// Anderson acceleration (type II, Walker & Ni 2011, SIAM J. Numer. Anal. 49(4)) of the
/// wage iteration x ← g(x) on x = ln ŵ: the next iterate is the combination of recent
/// g-values whose residuals g(x) − x best cancel in least squares.
struct Anderson {
    depth: usize,
    previous: Option<(Vec<f64>, Vec<f64>)>,
    residual_changes: Vec<Vec<f64>>,
    value_changes: Vec<Vec<f64>>,
}

impl Anderson {
    fn new(depth: usize) -> Self {
        Self {
            depth,
            previous: None,
            residual_changes: Vec::new(),
            value_changes: Vec::new(),
        }
    }

    /// Records x and g(x) and proposes the next iterate; `None` means take g(x).
    fn next(&mut self, x: &[f64], g: &[f64]) -> Option<Vec<f64>> {
        let f: Vec<f64> = g.iter().zip(x).map(|(g, x)| g - x).collect();
        if let Some((f_prev, g_prev)) = self.previous.take() {
            if self.residual_changes.len() == self.depth {
                self.residual_changes.remove(0);
                self.value_changes.remove(0);
            }
            self.residual_changes
                .push(f.iter().zip(&f_prev).map(|(a, b)| a - b).collect());
            self.value_changes
                .push(g.iter().zip(&g_prev).map(|(a, b)| a - b).collect());
        }
        self.previous = Some((f.clone(), g.to_vec()));
        if self.residual_changes.is_empty() {
            return None;
        }
        let m = self.residual_changes.len();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        let mut normal = vec![vec![0.0; m + 1]; m];
        for r in 0..m {
            for c in 0..m {
                normal[r][c] = dot(&self.residual_changes[r], &self.residual_changes[c]);
            }
            normal[r][m] = dot(&self.residual_changes[r], &f);
        }
        let gamma = solve_regularised(normal)?;
        let mut next = g.to_vec();
        for (dg, gamma) in self.value_changes.iter().zip(&gamma) {
            for (n, d) in next.iter_mut().zip(dg) {
                *n -= gamma * d;
            }
        }
        next.iter().all(|v| v.is_finite()).then_some(next)
    }
}

/// Solves the m×m system in augmented form [A | b] by Gaussian elimination with partial
/// pivoting, after a small ridge that keeps nearly collinear histories well posed.
fn solve_regularised(mut system: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let m = system.len();
    let scale = (0..m).map(|r| system[r][r]).fold(0.0, f64::max);
    if !(scale > 0.0 && scale.is_finite()) {
        return None;
    }
    for (r, row) in system.iter_mut().enumerate() {
        row[r] += 1e-12 * scale;
    }
    for col in 0..m {
        let pivot = (col..m).max_by(|&a, &b| system[a][col].abs().total_cmp(&system[b][col].abs()))?;
        system.swap(col, pivot);
        let p = system[col][col];
        if p.abs() <= f64::EPSILON * scale {
            return None;
        }
        for r in col + 1..m {
            let factor = system[r][col] / p;
            for c in col..=m {
                system[r][c] -= factor * system[col][c];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let tail: f64 = (r + 1..m).map(|c| system[r][c] * x[c]).sum();
        x[r] = (system[r][m] - tail) / system[r][r];
    }
    Some(x)
}
