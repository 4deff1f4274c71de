//! Properties of the PE engine and its metrics on random small scenarios (SPEC §3, §5):
//! 2–6 regions, 1–3 sectors, random flows including zeros, random agreements and shocks.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;

use proptest::prelude::*;

use corridor::ensemble::Outcome;
use corridor::metrics::{Metric, Partner, SectorSel};
use corridor::model::{Draw, Model};
use corridor::scenario::{EngineKind, Scenario};

use common::{load_ok, path_outcome};

const BASE_YEAR: i32 = 2020;

#[derive(Clone, Debug)]
struct AgreementSpec {
    parties: Vec<usize>,
    sectors: Vec<usize>,
    cut: f64,
    start_offset: i32,
    ramp: u32,
    delay: (u32, u32),
}

#[derive(Clone, Debug)]
struct ShockSpec {
    from: Vec<usize>,
    to: Vec<usize>,
    increase: f64,
    start_offset: i32,
    length: Option<i32>,
}

#[derive(Clone, Debug)]
struct Spec {
    regions: usize,
    sectors: usize,
    years: i32,
    /// (σ, ε, g) per sector.
    sector_params: Vec<(f64, f64, f64)>,
    /// V[(i * regions + j) * sectors + s]; zeros are left out of the file.
    flows: Vec<f64>,
    agreements: Vec<AgreementSpec>,
    shocks: Vec<ShockSpec>,
}

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<bool>(), n).prop_map(|mask| {
        let picked: Vec<usize> = mask
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i)
            .collect();
        if picked.is_empty() { vec![0] } else { picked }
    })
}

fn spec(sigma: std::ops::Range<f64>) -> impl Strategy<Value = Spec> {
    (2usize..=6, 1usize..=3, 1i32..=6).prop_flat_map(move |(n, ns, years)| {
        let flow = prop_oneof![2 => Just(0.0), 3 => 0.5f64..1000.0];
        let agreement = (
            subset(n),
            subset(ns),
            0.0f64..0.9,
            1..=years,
            0u32..=3,
            (0u32..=2, 0u32..=2),
        )
            .prop_map(|(parties, sectors, cut, start_offset, ramp, (a, b))| {
                AgreementSpec {
                    parties,
                    sectors,
                    cut,
                    start_offset,
                    ramp,
                    delay: (a.min(b), a.max(b)),
                }
            });
        let shock = (
            subset(n),
            subset(n),
            -0.5f64..1.0,
            1..=years,
            proptest::option::of(0..=3i32),
        )
            .prop_map(|(from, to, increase, start_offset, length)| ShockSpec {
                from,
                to,
                increase,
                start_offset,
                length,
            });
        (
            Just(n),
            Just(ns),
            Just(years),
            proptest::collection::vec((sigma.clone(), 0.0f64..2.0, -0.05f64..0.1), ns),
            proptest::collection::vec(flow, n * n * ns),
            proptest::collection::vec(agreement, 0..=3),
            proptest::collection::vec(shock, 0..=2),
        )
            .prop_map(
                |(regions, sectors, years, sector_params, flows, agreements, shocks)| Spec {
                    regions,
                    sectors,
                    years,
                    sector_params,
                    flows,
                    agreements,
                    shocks,
                },
            )
    })
}

fn region_id(i: usize) -> String {
    format!("R{i}")
}

fn sector_id(s: usize) -> String {
    format!("s{s}")
}

fn ids(list: &[usize], f: fn(usize) -> String) -> String {
    list.iter()
        .map(|&i| format!("\"{}\"", f(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Spec {
    fn value(&self, i: usize, j: usize, s: usize) -> f64 {
        self.flows[(i * self.regions + j) * self.sectors + s]
    }

    /// The scenario file, with agreements' cuts replaced by `cut` when given and
    /// agreements left out when `agreements` is false.
    fn toml(&self, agreements: bool, cut: Option<f64>, shocks: bool) -> String {
        let mut t = String::new();
        let horizon = BASE_YEAR + self.years;
        let _ = writeln!(
            t,
            "format = 1\n[scenario]\nname = \"random\"\nbase_year = {BASE_YEAR}\nhorizon = {horizon}\nruns = 0"
        );
        for i in 0..self.regions {
            let _ = writeln!(t, "[[region]]\nid = \"{}\"", region_id(i));
        }
        for (s, (sigma, eps, g)) in self.sector_params.iter().enumerate() {
            let _ = writeln!(
                t,
                "[[sector]]\nid = \"{}\"\nsubstitution = {sigma:?}\ndemand_elasticity = {eps:?}\ngrowth = {g:?}",
                sector_id(s)
            );
        }
        for i in 0..self.regions {
            for j in 0..self.regions {
                for s in 0..self.sectors {
                    let v = self.value(i, j, s);
                    if v > 0.0 {
                        let _ = writeln!(
                            t,
                            "[[flow]]\nfrom = \"{}\"\nto = \"{}\"\nsector = \"{}\"\nvalue = {v:?}",
                            region_id(i),
                            region_id(j),
                            sector_id(s)
                        );
                    }
                }
            }
        }
        if agreements {
            for (k, a) in self.agreements.iter().enumerate() {
                let _ = writeln!(
                    t,
                    "[[agreement]]\nid = \"a{k}\"\nparties = [{}]\nsectors = [{}]\nstart = {}\nramp_years = {}\ncost_cut = {:?}\ndelay = [{}, {}]",
                    ids(&a.parties, region_id),
                    ids(&a.sectors, sector_id),
                    BASE_YEAR + a.start_offset,
                    a.ramp,
                    cut.unwrap_or(a.cut),
                    a.delay.0,
                    a.delay.1
                );
            }
        }
        if shocks {
            for (k, h) in self.shocks.iter().enumerate() {
                let start = BASE_YEAR + h.start_offset;
                let _ = writeln!(
                    t,
                    "[[shock]]\nid = \"h{k}\"\nfrom = [{}]\nto = [{}]\nstart = {start}\ncost_increase = {:?}",
                    ids(&h.from, region_id),
                    ids(&h.to, region_id),
                    h.increase
                );
                if let Some(len) = h.length {
                    let _ = writeln!(t, "end = {}", start + len);
                }
            }
        }
        t
    }

    /// Number of foreign suppliers with base-year trade with `j` in any sector.
    fn foreign_partners_any_sector(&self, j: usize) -> usize {
        (0..self.regions)
            .filter(|&i| i != j && (0..self.sectors).any(|s| self.value(i, j, s) > 0.0))
            .count()
    }

    /// Number of foreign suppliers with base-year trade in market (j, s).
    fn foreign_suppliers(&self, j: usize, s: usize) -> usize {
        (0..self.regions)
            .filter(|&i| i != j && self.value(i, j, s) > 0.0)
            .count()
    }
}

/// Path values of every series of `metric`, keyed by (region, partner, sector).
fn series_of(o: &Outcome, metric: Metric) -> Vec<(usize, Partner, SectorSel, &[f64])> {
    o.keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.metric == metric)
        .map(|(i, k)| (k.region, k.partner, k.sector, o.path_of(i)))
        .collect()
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn scenario(spec: &Spec) -> Scenario {
    load_ok(&spec.toml(true, None, true))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn import_shares_sum_to_one_per_importer_sector_year(spec in spec(0.2..8.0)) {
        let s = scenario(&spec);
        let o = path_outcome(&s);
        let mut sums: HashMap<(usize, SectorSel), Vec<f64>> = HashMap::new();
        for (region, _, sector, values) in series_of(&o, Metric::ImportShare) {
            let acc = sums.entry((region, sector)).or_insert_with(|| vec![0.0; values.len()]);
            for (a, v) in acc.iter_mut().zip(values) {
                prop_assert!(!v.is_nan(), "a foreign supplier with base-year trade always has a share");
                *a += v;
            }
        }
        for ((region, sector), by_year) in sums {
            for (t, total) in by_year.iter().enumerate() {
                prop_assert!((total - 1.0).abs() < 1e-9, "region {region} {sector:?} year {t}: shares sum to {total}");
            }
        }
    }

    #[test]
    fn a_zero_cost_cut_changes_nothing(spec in spec(0.2..8.0)) {
        let with_zero = load_ok(&spec.toml(true, Some(0.0), true));
        let without = load_ok(&spec.toml(false, None, true));
        let a = path_outcome(&with_zero);
        let b = path_outcome(&without);
        prop_assert_eq!(&a.keys, &b.keys);
        prop_assert!(same_bits(&a.path, &b.path), "a zero cut must leave every series bit for bit");
    }

    /// With σ >= 1 a cheaper supplier never loses share (for σ < 1 suppliers are
    /// complements and a cut lowers the share, which is why σ is drawn from [1, 8] here).
    #[test]
    fn a_cost_cut_never_lowers_a_partners_import_share_in_covered_markets(spec in spec(1.0..8.0), pick in 0usize..3) {
        prop_assume!(!spec.agreements.is_empty());
        let mut one = spec.clone();
        one.agreements = vec![spec.agreements[pick % spec.agreements.len()].clone()];
        let with = load_ok(&one.toml(true, None, false));
        let without = load_ok(&one.toml(false, None, false));
        let a = path_outcome(&with);
        let b = path_outcome(&without);
        let agreement = &one.agreements[0];
        for (i, key) in a.keys.iter().enumerate() {
            let (Metric::ImportShare, Partner::Region(partner), SectorSel::One(sector)) = (key.metric, key.partner, key.sector) else { continue };
            let covered = agreement.parties.contains(&key.region) && agreement.parties.contains(&partner) && agreement.sectors.contains(&sector);
            if !covered {
                continue;
            }
            let j = b.series_index(key).expect("same series without the agreement");
            for (t, (x, y)) in a.path_of(i).iter().zip(b.path_of(j)).enumerate() {
                prop_assert!(*x >= y - 1e-12, "share of {partner} in {} fell in year {t}: {y} → {x}", key.region);
            }
        }
    }

    #[test]
    fn base_year_outputs_equal_the_data_exactly(spec in spec(0.2..8.0), seed in any::<u64>(), run in 0u64..1000) {
        let s = scenario(&spec);
        let o = path_outcome(&s);
        for (i, key) in o.keys.iter().enumerate() {
            if let (Metric::Flow, Partner::Region(j), SectorSel::One(k)) = (key.metric, key.partner, key.sector) {
                prop_assert_eq!(o.path_of(i)[0].to_bits(), spec.value(key.region, j, k).to_bits());
            }
        }
        // And in any Monte Carlo draw, whatever its events and demand noise.
        let model = Model::new(&s, EngineKind::Pe).expect("model");
        let draw = Draw::monte_carlo(&s, &model.events, seed, run);
        let mut checked = false;
        model.simulate(&draw, &mut |state| {
            if state.t == 0 {
                for (e, x) in model.structure.entries.iter().zip(state.flows) {
                    assert_eq!(x.to_bits(), spec.value(e.from, e.to, e.sector).to_bits());
                }
                checked = true;
            }
        }).expect("simulate");
        prop_assert!(checked);
    }

    #[test]
    fn supplier_hhi_lies_between_one_over_n_and_one(spec in spec(0.2..8.0)) {
        let s = scenario(&spec);
        let o = path_outcome(&s);
        for (region, _, sector, values) in series_of(&o, Metric::SupplierHhi) {
            let n = match sector {
                SectorSel::One(k) => spec.foreign_suppliers(region, k),
                SectorSel::All => spec.foreign_partners_any_sector(region),
            };
            prop_assert!(n >= 1);
            #[allow(clippy::cast_precision_loss)]
            let lower = 1.0 / n as f64;
            for h in values {
                prop_assert!(*h >= lower - 1e-12 && *h <= 1.0 + 1e-12, "hhi {h} outside [1/{n}, 1]");
            }
        }
    }

    #[test]
    fn effective_suppliers_is_one_over_hhi(spec in spec(0.2..8.0)) {
        let s = scenario(&spec);
        let o = path_outcome(&s);
        let hhi: HashMap<(usize, SectorSel), &[f64]> =
            series_of(&o, Metric::SupplierHhi).into_iter().map(|(r, _, k, v)| ((r, k), v)).collect();
        let eff = series_of(&o, Metric::EffectiveSuppliers);
        prop_assert_eq!(eff.len(), hhi.len());
        for (region, _, sector, values) in eff {
            let h = hhi[&(region, sector)];
            for (e, h) in values.iter().zip(h) {
                prop_assert_eq!(e.to_bits(), (1.0 / h).to_bits());
            }
        }
    }
}
