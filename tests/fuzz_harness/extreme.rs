//! Valid scenarios at the edges of what the format allows: flows from 1e-300 to 1e300,
//! σ near 0, at 1 and large, growth near −1, probabilities 0 and 1, delays of 50 years,
//! horizons of up to 200 years and up to 50 regions. Built with `arbitrary` from any bytes,
//! written as scenario text, so they go through the loader and validator like a user's file.

use std::fmt::Write as _;

use arbitrary::{Result, Unstructured};

/// Up to this many regions, so a test of many inputs stays fast.
pub const MAX_REGIONS: usize = 50;

const FLOW_VALUES: [f64; 10] = [
    0.0, 5e-324, 1e-300, 1e-12, 0.5, 1.0, 1e6, 1e15, 1e150, 1e300,
];
const SIGMAS: [f64; 10] = [
    1e-9, 0.01, 0.5, 0.999_999, 1.0, 1.000_001, 2.0, 5.0, 50.0, 1e6,
];
const ELASTICITIES: [f64; 6] = [0.0, 0.5, 1.0, 2.0, 20.0, 1e6];
const GROWTHS: [f64; 8] = [-0.999_999, -0.5, -0.01, 0.0, 0.03, 0.5, 3.0, 1e6];
const VOLATILITIES: [f64; 5] = [0.0, 1e-9, 0.05, 0.5, 1.0];
const CUTS: [f64; 6] = [0.0, 1e-12, 0.1, 0.5, 0.999_999, 0.999_999_999_999];
const PARTIAL_EFFECTS: [f64; 6] = [-50.0, -1.0, 0.0, 0.22, 5.0, 700.0];
const INCREASES: [f64; 7] = [-0.999_999_999, -0.5, 0.0, 0.25, 10.0, 1e6, 1e300];
const PROBABILITIES: [f64; 5] = [0.0, 1e-9, 0.5, 0.999_999, 1.0];

/// A scenario as text, with a short summary of what it is for messages.
#[derive(Debug)]
pub struct Extreme {
    pub text: String,
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> Result<T> {
    Ok(*u.choose(from)?)
}

/// Writes a float as TOML (always with a decimal point or exponent).
fn num(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

impl<'a> arbitrary::Arbitrary<'a> for Extreme {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut t = String::from("format = 1\n\n[scenario]\nname = \"extreme\"\n");
        let base_year = u.int_in_range(1900..=2100)?;
        let years: i32 = if u.ratio(1, 3)? {
            200
        } else {
            u.int_in_range(1..=200)?
        };
        let horizon = base_year + years;
        let runs = u.int_in_range(0..=4)?;
        // TOML integers are signed 64-bit: a file can hold seeds up to 2^63 − 1.
        let seed = u.int_in_range(0..=i64::MAX)?;
        writeln!(
            t,
            "base_year = {base_year}\nhorizon = {horizon}\nruns = {runs}\nseed = {seed}\n"
        )
        .ok();
        let n = if u.ratio(1, 8)? {
            MAX_REGIONS
        } else {
            u.int_in_range(1..=8)?
        };
        let sectors = u.int_in_range(1..=3)?;
        for r in 0..n {
            writeln!(t, "[[region]]\nid = \"R{r}\"\nname = \"Région {r} – ü\"\n").ok();
        }
        let mut sigmas = Vec::new();
        for k in 0..sectors {
            let sigma = pick(u, &SIGMAS)?;
            sigmas.push(sigma);
            writeln!(
                t,
                "[[sector]]\nid = \"s-{k}\"\nsubstitution = {}\ndemand_elasticity = {}\ngrowth = {}\nvolatility = {}\n",
                num(sigma),
                num(pick(u, &ELASTICITIES)?),
                num(pick(u, &GROWTHS)?),
                num(pick(u, &VOLATILITIES)?),
            )
            .ok();
        }
        if u.ratio(1, 3)? {
            writeln!(
                t,
                "[[growth]]\nregion = \"R0\"\nsector = \"*\"\nrate = {}\n",
                num(pick(u, &GROWTHS)?)
            )
            .ok();
        }
        // Dense or sparse flows; a domestic flow in every sector keeps some scenarios GE-ready.
        let dense = u.arbitrary::<bool>()?;
        let mut any_flow = false;
        for i in 0..n {
            for j in 0..n {
                for k in 0..sectors {
                    let keep = i == j || dense || u.ratio(1, 4)?;
                    if !keep {
                        continue;
                    }
                    let value = if u.ratio(1, 2)? {
                        pick(u, &FLOW_VALUES)?
                    } else {
                        1.0 + f64::from(u.int_in_range(0u16..=1000)?)
                    };
                    any_flow = true;
                    writeln!(
                        t,
                        "[[flow]]\nfrom = \"R{i}\"\nto = \"R{j}\"\nsector = \"s-{k}\"\nvalue = {}\n",
                        num(value)
                    )
                    .ok();
                }
            }
        }
        debug_assert!(any_flow);
        let agreements = u.int_in_range(0..=3)?;
        for a in 0..agreements {
            let start = base_year + u.int_in_range(1..=years)?;
            let lo = u.int_in_range(0..=50)?;
            let hi = u.int_in_range(lo..=50)?;
            let use_partial = sigmas.iter().all(|&s| s > 1.0) && u.arbitrary::<bool>()?;
            let effect = if use_partial {
                format!("partial_effect = {}", num(pick(u, &PARTIAL_EFFECTS)?))
            } else {
                format!("cost_cut = {}", num(pick(u, &CUTS)?))
            };
            writeln!(
                t,
                "[[agreement]]\nid = \"a{a}\"\nparties = [\"*\"]\nstart = {start}\nramp_years = {}\n{effect}\nprobability = {}\ndelay = [{lo}, {hi}]\n",
                u.int_in_range(0..=60)?,
                num(pick(u, &PROBABILITIES)?),
            )
            .ok();
        }
        let shocks = u.int_in_range(0..=3)?;
        for h in 0..shocks {
            let start = base_year + u.int_in_range(1..=years)?;
            let end = if u.arbitrary::<bool>()? {
                format!("end = {}\n", start + u.int_in_range(0..=years)?)
            } else {
                String::new()
            };
            let lo = u.int_in_range(0..=50)?;
            let hi = u.int_in_range(lo..=50)?;
            let from = u.int_in_range(0..=n - 1)?;
            writeln!(
                t,
                "[[shock]]\nid = \"h{h}\"\nfrom = [\"R{from}\"]\nto = [\"*\"]\nstart = {start}\n{end}ramp_years = {}\ncost_increase = {}\nprobability = {}\ndelay = [{lo}, {hi}]\n",
                u.int_in_range(0..=5)?,
                num(pick(u, &INCREASES)?),
                num(pick(u, &PROBABILITIES)?),
            )
            .ok();
        }
        Ok(Extreme { text: t })
    }
}
