#![no_main]

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use std::path::Path;

use fuzz_harness::extreme::Extreme;

libfuzzer_sys::fuzz_target!(|case: Extreme| {
    if let Some(s) = corridor::scenario::load_str(Path::new("extreme.toml"), &case.text).scenario {
        let _ = fuzz_harness::check_engines(&s, 3);
    }
});
