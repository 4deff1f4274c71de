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
    #[error(
        "the GE solver stalled: after {iterations} iterations the flows no longer change, but region {region} sells {sales_to_output} times its output instead of once; these data have no equilibrium under this deficit rule (for example a region that would have to spend less than nothing, or one cut off from trade while others run imbalances)"
    )]
    NoEquilibrium {
        iterations: usize,
        region: usize,
        /// Σ_{j,s} X'_ijs / (Y_i ŵ_i) where the iteration stalled.
        sales_to_output: f64,
    },
}

/// Controls for [`GeBase::solve_with`].
#[derive(Clone, Debug, PartialEq)]
pub struct SolveOptions {
    /// Stop when max |Δ ln X'_k| between two iterations falls below this (SPEC §4) and
    /// every region's sales are within this of its output in logs.
    pub tol: f64,
    /// Give up with [`GeError::NoConvergence`] (or [`GeError::NoEquilibrium`]) after
    /// this many wage updates.
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
    /// Position in the caller's `entries`.
    entry: usize,
    exporter: usize,
    importer: usize,
    sector: usize,
    /// `exporter * sectors + sector` and `importer * sectors + sector`.
    exporter_cell: usize,
    importer_cell: usize,
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
    /// Sorted by importer cell, so that the flows into cell c are
    /// `flows[cell_start[c]..cell_start[c + 1]]`.
    flows: Vec<Flow>,
    cell_start: Vec<usize>,
    /// Position in `flows` of each caller entry.
    flow_of_entry: Vec<usize>,
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
        let mut flows: Vec<Flow> = entries
            .iter()
            .enumerate()
            .map(|(entry, &(exporter, importer, sector, value))| Flow {
                entry,
                exporter,
                importer,
                sector,
                exporter_cell: cell(exporter, sector),
                importer_cell: cell(importer, sector),
                share: value / sector_expenditure[cell(importer, sector)],
            })
            .collect();
        flows.sort_by_key(|flow| flow.importer_cell);
        let mut cell_start = vec![0; regions * sectors + 1];
        for flow in &flows {
            cell_start[flow.importer_cell + 1] += 1;
        }
        for c in 0..regions * sectors {
            cell_start[c + 1] += cell_start[c];
        }
        let mut flow_of_entry = vec![0; flows.len()];
        for (position, flow) in flows.iter().enumerate() {
            flow_of_entry[flow.entry] = position;
        }

        Ok(Self {
            regions,
            sectors,
            theta: theta.to_vec(),
            deficits,
            flows,
            cell_start,
            flow_of_entry,
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
    /// as the entries; 1.0 = unchanged; domestic entries must have 1.0) with tolerance
    /// [`DEFAULT_TOLERANCE`] (stopping rule in [`GeBase::solve_with`]).
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
    /// **Iteration** (Baier, Yotov & Zylkin 2019, as in `ge_gravity`). From the flows X'
    /// implied by the current wages, each region's wage moves towards market clearing,
    ///
    /// ```text
    /// ŵ_i ← ŵ_i · [Σ_{j,s} X'_ijs / (Y_i ŵ_i)]^(1/(1+θ̄_i)),   θ̄_i = Σ_{j,s} θ_s X'_ijs / Σ_{j,s} X'_ijs,
    /// ```
    ///
    /// all wages are rescaled so that Σ_i Y_i ŵ_i = Σ_i Y_i, and P̂ and E' are
    /// recomputed. With one sector θ̄_i = θ, the ŵ_i^(−θ) inside X' cancels, and the step
    /// is exactly SPEC §4's ŵ_i = [(1/Y_i) Σ_j π_ij B_ij E'_j / P̂_j^(−θ)]^(1/(1+θ)).
    /// With several sectors 1/(1+θ̄_i) is the same damping, sized to how strongly the
    /// region's sales respond to its own wage where it sells now (a base-year θ̄ lets
    /// the wages oscillate when a shock moves sales towards high-θ sectors).
    ///
    /// The solve stops when a plain step changes no flow by more than `tol` in logs,
    /// max |Δ ln X'_k| < `tol` (SPEC §4), and every market clears to the same
    /// tolerance, max_i |ln(Σ_{j,s} X'_ijs / (Y_i ŵ_i))| < `tol`. Where an equilibrium
    /// exists the second test is usually met already; on data without one it turns a
    /// stalled iteration into [`GeError::NoEquilibrium`] instead of a result that does
    /// not clear markets.
    ///
    /// With several sectors the plain steps are Anderson-accelerated (Walker & Ni 2011),
    /// which reaches the same fixed point in about a third of the iterations and
    /// falls back to plain steps where mixing does not help. One sector keeps the
    /// literal SPEC iteration.
    ///
    /// **Closures** the paper leaves open, chosen so that world expenditure always
    /// equals world sales and both adding-up identities hold exactly:
    /// - Multiplicative deficits scale E_j ŵ_j by the common factor
    ///   Ξ = Σ_i Y_i ŵ_i / Σ_j E_j ŵ_j, as in `ge_gravity2` (Campos, Reggio & Timini
    ///   2024). Wages and welfare are those of `ge_gravity`; its flows lack Ξ.
    /// - A region without sales (Y_i = 0) has no wage to solve for: ŵ_i = 1, and it is
    ///   left out of market clearing and of the normalisation.
    /// - A region without base-year expenditure has no basket: E'_j = 0 and P̂_j = 1;
    ///   any change in its additive deficit is spread over world expenditure by Ξ.
    /// - Additive expenditure is floored at 0: a deficit cannot exceed spending.
    /// - A (region, sector) without suppliers keeps P̂_js = 1 and has α_js = 0.
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
        if let Some(wage) = initial_wage {
            state.set_initial_wage(wage)?;
        }
        state.normalise_wage();
        state.update_prices_and_expenditure();

        let mut accelerator = (self.sectors > 1).then(Anderson::new);
        let mut confirm_with_plain_step = false;
        let mut residual = f64::INFINITY;
        // Where the flows stopped moving but a market still does not clear.
        let mut stalled = None;
        for iteration in 1..=max_iter {
            let log_wage = accelerator.as_ref().map(|_| state.log_wage());
            state.update_wage();
            let mut accelerated = false;
            if let (Some(anderson), Some(log_wage)) = (accelerator.as_mut(), log_wage) {
                match anderson.next(&log_wage, &state.log_wage(), !confirm_with_plain_step) {
                    Step::Plain => {}
                    Step::Mixed(next) | Step::Revert(next) => {
                        state.set_log_wage(&next);
                        accelerated = true;
                    }
                }
            }
            residual = state.update_prices_and_expenditure();
            // An accelerated step into overflow is undone by the next call to the
            // accelerator; a plain one is a genuine failure.
            if residual.is_nan() && !accelerated {
                break;
            }
            stalled = None;
            if residual < tol && !accelerated {
                let (region, sales_to_output) = state.worst_clearing();
                if log_change(sales_to_output, 1.0).abs() < tol {
                    return Ok(state.into_solution(iteration, residual));
                }
                stalled = Some((region, sales_to_output));
            }
            confirm_with_plain_step = residual < tol;
        }
        Err(match stalled {
            Some((region, sales_to_output)) => GeError::NoEquilibrium {
                iterations: max_iter,
                region,
                sales_to_output,
            },
            None => GeError::NoConvergence {
                iterations: max_iter,
                residual,
            },
        })
    }

    /// π_ijs B_ijs per flow (in the order of `self.flows`), with B_ijs = φ_ijs^(−θ_s)
    /// (SPEC §2, §4).
    fn demand_weights(&self, phi: &[f64]) -> Result<Vec<f64>, GeError> {
        if phi.len() != self.flows.len() {
            return Err(GeError::CostFactorCount {
                expected: self.flows.len(),
                found: phi.len(),
            });
        }
        for (index, &phi) in phi.iter().enumerate() {
            if !(phi.is_finite() && phi > 0.0) {
                return Err(GeError::InvalidCostFactor { index, phi });
            }
            let flow = &self.flows[self.flow_of_entry[index]];
            if flow.exporter == flow.importer && phi != 1.0 {
                return Err(GeError::DomesticCostFactor {
                    index,
                    region: flow.exporter,
                    phi,
                });
            }
        }
        Ok(self
            .flows
            .iter()
            .map(|flow| flow.share * phi[flow.entry].powf(-self.theta[flow.sector]))
            .collect())
    }
}

/// Rejects two entries for the same (exporter, importer, sector).
fn check_unique(entries: &[(usize, usize, usize, f64)]) -> Result<(), GeError> {
    let key = |k: usize| (entries[k].0, entries[k].1, entries[k].2);
    let mut order: Vec<usize> = (0..entries.len()).collect();
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

/// The iterate of one solve: wages and everything that follows from them. Vectors per
/// (region, sector) are indexed `region * sectors + sector`.
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
    /// α_js E'_j / P̂_js^(−θ_s), so that X'_k = π_k B_k ŵ_i^(−θ_s) · this.
    demand_scale: Vec<f64>,
    /// Σ_{j,s} X'_ijs and Σ_{j,s} θ_s X'_ijs, for the wage step.
    sales: Vec<f64>,
    theta_weighted_sales: Vec<f64>,
    /// New P̂^(−θ) and E' before they replace the old ones.
    price_term_next: Vec<f64>,
    spending_next: Vec<f64>,
    /// Changes in logs over the last update, for max |Δ ln X'|.
    wage_term_change: Vec<f64>,
    price_term_change: Vec<f64>,
    spending_change: Vec<f64>,
}

impl<'a> State<'a> {
    /// The base year: ŵ = 1, P̂ = 1, E' = E.
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
            demand_scale: vec![0.0; cells],
            sales: vec![0.0; regions],
            theta_weighted_sales: vec![0.0; regions],
            price_term_next: vec![0.0; cells],
            spending_next: vec![0.0; regions],
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
            if y > 0.0 {
                *w = start;
            }
        }
        Ok(())
    }

    fn log_wage(&self) -> Vec<f64> {
        self.wage.iter().map(|w| w.ln()).collect()
    }

    /// Sets ŵ = exp(x) for the regions with sales, renormalised.
    fn set_log_wage(&mut self, log_wage: &[f64]) {
        for ((w, x), &y) in self.wage.iter_mut().zip(log_wage).zip(&self.base.output) {
            if y > 0.0 {
                *w = x.exp();
            }
        }
        self.normalise_wage();
    }

    /// Rescales the wages of regions with sales so that Σ_i Y_i ŵ_i = Σ_i Y_i: world
    /// nominal output is the numéraire, as in `ge_gravity`.
    fn normalise_wage(&mut self) {
        let output = &self.base.output;
        let world_output: f64 = output.iter().sum();
        let world_output_new: f64 = output.iter().zip(&self.wage).map(|(y, w)| y * w).sum();
        let scale = world_output / world_output_new;
        for (w, &y) in self.wage.iter_mut().zip(output) {
            if y > 0.0 {
                *w *= scale;
            }
        }
    }

    /// One plain market-clearing step on the wages (see [`GeBase::solve_with`]) from
    /// the flows of the current iterate, then the renormalisation.
    fn update_wage(&mut self) {
        let base = self.base;
        self.sales.fill(0.0);
        self.theta_weighted_sales.fill(0.0);
        for (flow, &weight) in base.flows.iter().zip(self.demand_weight) {
            let x =
                weight * self.wage_term[flow.exporter_cell] * self.demand_scale[flow.importer_cell];
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

    /// The region with sales farthest from market clearing at the current iterate, with
    /// its ratio Σ_{j,s} X'_ijs / (Y_i ŵ_i) (1 when its market clears).
    fn worst_clearing(&mut self) -> (usize, f64) {
        let base = self.base;
        self.sales.fill(0.0);
        for (flow, &weight) in base.flows.iter().zip(self.demand_weight) {
            self.sales[flow.exporter] +=
                weight * self.wage_term[flow.exporter_cell] * self.demand_scale[flow.importer_cell];
        }
        let mut worst = (0, 1.0, 0.0);
        for (region, ((&sales, &y), &w)) in self
            .sales
            .iter()
            .zip(&base.output)
            .zip(&self.wage)
            .enumerate()
        {
            let gap = log_change(sales, y * w).abs();
            if y > 0.0 && (gap.is_nan() || gap > worst.2) {
                worst = (region, sales / (y * w), gap);
            }
        }
        (worst.0, worst.1)
    }

    /// Recomputes ŵ^(−θ), P̂^(−θ) and E' from the wages and returns max |Δ ln X'_k|,
    /// with Δ ln X'_ijs = −θ_s Δ ln ŵ_i − Δ ln P̂_js^(−θ_s) + Δ ln E'_j (π, α, B fixed);
    /// NaN if the wages have left the range of floating point.
    fn update_prices_and_expenditure(&mut self) -> f64 {
        let base = self.base;
        let sectors = base.sectors;

        for (i, &w) in self.wage.iter().enumerate() {
            let ln_w = w.ln();
            for (s, &theta) in base.theta.iter().enumerate() {
                let c = i * sectors + s;
                let next = (-theta * ln_w).exp();
                self.wage_term_change[c] = log_change(next, self.wage_term[c]);
                self.wage_term[c] = next;
            }
        }

        for (c, next) in self.price_term_next.iter_mut().enumerate() {
            let suppliers = base.cell_start[c]..base.cell_start[c + 1];
            *next = base.flows[suppliers.clone()]
                .iter()
                .zip(&self.demand_weight[suppliers])
                .map(|(flow, &weight)| weight * self.wage_term[flow.exporter_cell])
                .sum();
        }
        for ((term, &next), change) in self
            .price_term
            .iter_mut()
            .zip(&self.price_term_next)
            .zip(&mut self.price_term_change)
        {
            let next = if next > 0.0 { next } else { 1.0 };
            *change = log_change(next, *term);
            *term = next;
        }

        self.expenditure_for_wage();
        for ((spending, &next), change) in self
            .spending
            .iter_mut()
            .zip(&self.spending_next)
            .zip(&mut self.spending_change)
        {
            *change = log_change(next, *spending);
            *spending = next;
        }

        for (c, scale) in self.demand_scale.iter_mut().enumerate() {
            *scale = base.sector_share[c] * self.spending[c / sectors] / self.price_term[c];
        }

        let finite = self
            .wage_term
            .iter()
            .chain(&self.price_term)
            .chain(&self.spending)
            .all(|v| v.is_finite());
        if !finite {
            return f64::NAN;
        }
        let changes_finite = self
            .wage_term_change
            .iter()
            .chain(&self.price_term_change)
            .chain(&self.spending_change)
            .all(|v| v.is_finite());
        if !changes_finite {
            return f64::INFINITY;
        }
        let mut largest = 0.0;
        for c in 0..self.price_term.len() {
            let importer_change = self.spending_change[c / sectors] - self.price_term_change[c];
            for flow in &base.flows[base.cell_start[c]..base.cell_start[c + 1]] {
                let change = (self.wage_term_change[flow.exporter_cell] + importer_change).abs();
                if change > largest {
                    largest = change;
                }
            }
        }
        largest
    }

    /// E'_j for the current wages into `spending_next`, scaled by Ξ so that world
    /// expenditure equals world sales Σ_i Y_i ŵ_i (closures in [`GeBase::solve_with`]).
    fn expenditure_for_wage(&mut self) {
        let base = self.base;
        for (j, next) in self.spending_next.iter_mut().enumerate() {
            let (e, y, w) = (base.expenditure[j], base.output[j], self.wage[j]);
            *next = if e <= 0.0 {
                0.0
            } else {
                match base.deficits {
                    Deficits::Additive => (y * w + (e - y)).max(0.0),
                    Deficits::Multiplicative => e * w,
                }
            };
        }
        let world_sales: f64 = base.output.iter().zip(&self.wage).map(|(y, w)| y * w).sum();
        let world_spending: f64 = self.spending_next.iter().sum();
        if world_spending > 0.0 {
            let closure = world_sales / world_spending;
            self.spending_next.iter_mut().for_each(|e| *e *= closure);
        }
    }

    /// Flows, price indices and welfare at the converged wages (SPEC §4 outputs).
    fn into_solution(self, iterations: usize, residual: f64) -> GeSolution {
        let base = self.base;
        let sectors = base.sectors;
        let mut flows = vec![0.0; base.flows.len()];
        for (flow, &weight) in base.flows.iter().zip(self.demand_weight) {
            flows[flow.entry] =
                weight * self.wage_term[flow.exporter_cell] * self.demand_scale[flow.importer_cell];
        }
        // P̂_js = (P̂_js^(−θ_s))^(−1/θ_s)
        let price_index: Vec<f64> = self
            .price_term
            .iter()
            .enumerate()
            .map(|(c, &term)| term.powf(-1.0 / base.theta[c % sectors]))
            .collect();
        // P̂_j = Π_s P̂_js^α_js
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
        // Ŵ_j = (E'_j / E_j) / P̂_j (additive) or ŵ_j / P̂_j (multiplicative).
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

/// Past iterates the Anderson acceleration combines.
const ANDERSON_DEPTH: usize = 5;

/// An accelerated iterate is rejected unless its residual |g(x) − x| is at most this
/// fraction of the residual of the iterate it came from.
const ANDERSON_ACCEPT_RATIO: f64 = 0.9;

/// Accelerated steps change no wage by more than this in logs.
const ANDERSON_MAX_LOG_STEP: f64 = 1.0;

/// After the n-th rejection the iteration takes 2^min(n, this) plain steps before
/// mixing again, so a problem that mixing does not suit costs little more than the
/// plain iteration.
const ANDERSON_MAX_BACKOFF: u32 = 10;

/// What the wage iteration does after a plain step x → g(x).
enum Step {
    /// Keep g(x).
    Plain,
    /// Move to the accelerated iterate instead.
    Mixed(Vec<f64>),
    /// The previous accelerated iterate did not pay off: go to the plain successor of
    /// the iterate it came from.
    Revert(Vec<f64>),
}

/// Anderson acceleration (type II; Walker & Ni 2011, "Anderson acceleration for
/// fixed-point iterations", SIAM J. Numer. Anal. 49(4), 1715–1735) of the wage
/// iteration x ← g(x) on x = ln ŵ: the next iterate is the combination of recent
/// g-values whose residuals g(x) − x cancel best in least squares. It changes the path,
/// not the fixed point. Safeguards: an accelerated iterate whose residual did not fall
/// enough is undone, with exponential back-off before mixing again; steps are capped.
struct Anderson {
    /// (f, g) of the last iterate, f = g − x.
    previous: Option<(Vec<f64>, Vec<f64>)>,
    residual_changes: Vec<Vec<f64>>,
    value_changes: Vec<Vec<f64>>,
    /// g and |f| of the iterate the last accelerated step started from.
    fallback: Option<(Vec<f64>, f64)>,
    rejections: u32,
    /// Plain steps still to take before mixing again.
    cooldown: usize,
}

impl Anderson {
    fn new() -> Self {
        Self {
            previous: None,
            residual_changes: Vec::new(),
            value_changes: Vec::new(),
            fallback: None,
            rejections: 0,
            cooldown: 0,
        }
    }

    fn forget(&mut self) {
        self.previous = None;
        self.residual_changes.clear();
        self.value_changes.clear();
    }

    /// Records x and its plain successor g and says where to go next; with
    /// `allow_mixing` false the answer is a plain step (or a revert).
    fn next(&mut self, x: &[f64], g: &[f64], allow_mixing: bool) -> Step {
        let f: Vec<f64> = g.iter().zip(x).map(|(g, x)| g - x).collect();
        let norm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
        if let Some((fallback, fallback_norm)) = self.fallback.take() {
            // Also catches a NaN residual after a step into overflow.
            if norm.is_nan() || norm > ANDERSON_ACCEPT_RATIO * fallback_norm {
                self.forget();
                self.rejections += 1;
                self.cooldown = 1 << self.rejections.min(ANDERSON_MAX_BACKOFF);
                return Step::Revert(fallback);
            }
        }
        if let Some((f_prev, g_prev)) = self.previous.take() {
            if self.residual_changes.len() == ANDERSON_DEPTH {
                self.residual_changes.remove(0);
                self.value_changes.remove(0);
            }
            self.residual_changes
                .push(f.iter().zip(&f_prev).map(|(a, b)| a - b).collect());
            self.value_changes
                .push(g.iter().zip(&g_prev).map(|(a, b)| a - b).collect());
        }
        self.previous = Some((f.clone(), g.to_vec()));
        if self.cooldown > 0 {
            self.cooldown -= 1;
            return Step::Plain;
        }
        if !allow_mixing || self.residual_changes.is_empty() {
            return Step::Plain;
        }

        // γ = argmin |f − ΔF γ|, next = g − ΔG γ
        let m = self.residual_changes.len();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
        let mut normal_equations = vec![vec![0.0; m + 1]; m];
        for (r, row) in normal_equations.iter_mut().enumerate() {
            for (c, column) in self.residual_changes.iter().enumerate() {
                row[c] = dot(&self.residual_changes[r], column);
            }
            row[m] = dot(&self.residual_changes[r], &f);
        }
        let Some(gamma) = solve_regularised(normal_equations) else {
            return Step::Plain;
        };
        let mut next = g.to_vec();
        for (dg, gamma) in self.value_changes.iter().zip(&gamma) {
            for (n, d) in next.iter_mut().zip(dg) {
                *n -= gamma * d;
            }
        }
        let within_cap = next
            .iter()
            .zip(x)
            .all(|(n, x)| (n - x).abs() <= ANDERSON_MAX_LOG_STEP);
        if !within_cap {
            return Step::Plain;
        }
        self.fallback = Some((g.to_vec(), norm));
        Step::Mixed(next)
    }
}

/// Solves the m×m system given as augmented rows [A | b] by Gaussian elimination with
/// partial pivoting, after a small ridge that keeps nearly collinear histories well
/// posed; `None` if it is singular anyway.
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
        let pivot =
            (col..m).max_by(|&a, &b| system[a][col].abs().total_cmp(&system[b][col].abs()))?;
        system.swap(col, pivot);
        let p = system[col][col];
        if p.abs() <= f64::EPSILON * scale {
            return None;
        }
        let (done, rest) = system.split_at_mut(col + 1);
        let pivot_row = &done[col];
        for row in rest {
            let factor = row[col] / p;
            for (a, b) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *a -= factor * b;
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let tail: f64 = (r + 1..m).map(|c| system[r][c] * x[c]).sum();
        x[r] = (system[r][m] - tail) / system[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}
