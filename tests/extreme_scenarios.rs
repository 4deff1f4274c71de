//! Valid scenarios at the edges of the format (tiny and huge flows, σ near 0, 1 and large,
//! 200-year horizons, 50 regions, probabilities 0 and 1, 50-year delays) either are
//! refused with a message, or every output of the path and of a few Monte Carlo runs is a
//! finite number or absent.

mod fuzz_harness;

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use corridor::scenario::load_str;
use fuzz_harness::extreme::Extreme;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// Generates the scenario of one seed.
fn extreme(seed: u64) -> Extreme {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 16 * 1024];
    rng.fill_bytes(&mut bytes);
    Extreme::arbitrary(&mut Unstructured::new(&bytes)).expect("bytes suffice")
}

#[derive(Debug, Default)]
struct Tally {
    pe_ran: usize,
    pe_out_of_range: usize,
    ge_ran: usize,
    too_large: usize,
    invalid: usize,
}

#[test]
fn extreme_scenarios_give_finite_outputs_or_are_refused() {
    let cases = std::env::var("CORRIDOR_EXTREME_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60u64);
    let mut tally = Tally::default();
    for seed in 0..cases {
        let case = extreme(seed);
        let loaded = load_str(Path::new("extreme.toml"), &case.text);
        let Some(s) = loaded.scenario else {
            let rendered = loaded.diagnostics.render(&loaded.sources, false);
            assert!(
                rendered.contains("error"),
                "seed {seed}: refused without a message"
            );
            tally.invalid += 1;
            continue;
        };
        match std::panic::catch_unwind(|| fuzz_harness::check_engines(&s, 3)) {
            Ok(seen) => {
                tally.pe_ran += usize::from(seen.pe_ran);
                tally.pe_out_of_range += usize::from(seen.pe_overflow);
                tally.ge_ran += usize::from(seen.ge_ran);
                tally.too_large += usize::from(seen.skipped);
            }
            Err(e) => {
                let kept = std::env::temp_dir().join(format!("extreme-{seed}.toml"));
                let _ = std::fs::write(&kept, &case.text);
                eprintln!("seed {seed}: scenario kept in {}", kept.display());
                std::panic::resume_unwind(e);
            }
        }
    }
    eprintln!("{cases} extreme scenarios: {tally:?}");
    assert_eq!(tally.invalid, 0, "the generator makes only valid scenarios");
    assert!(
        tally.pe_ran > cases as usize / 4,
        "too few extreme scenarios ran to the end: {tally:?}"
    );
}
