//! The CSV of `corridor run` reads back with Python's `csv` module (and pandas, when it is
//! installed): one header, eight columns, every value a float, sector ids with `-` intact,
//! and UTF-8 names and notes in the scenario do not disturb the output.

use std::process::Command;

const SCENARIO: &str = r#"
format = 1
[scenario]
name = "Échanges – ünïcode"
description = "Noms en français, 中文, العربية"
base_year = 2024
horizon = 2026
runs = 5
[[region]]
id = "A"
name = "Région A"
[[region]]
id = "B"
name = "Běla"
[[sector]]
id = "agri-food"
name = "Agriculture & food, « bio »"
substitution = 3.0
volatility = 0.1
[[flow]]
from = "A"
to = "B"
sector = "agri-food"
value = 100.0
note = "blé, \"quoted\", comma"
[[flow]]
from = "B"
to = "A"
sector = "agri-food"
value = 50.0
[[flow]]
from = "B"
to = "B"
sector = "agri-food"
value = 500.0
[[agreement]]
id = "a-b"
name = "Accord A–B"
parties = ["A", "B"]
start = 2025
cost_cut = 0.1
"#;

const READER: &str = r#"
import csv, math, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
assert rows[0] == ["scenario", "year", "metric", "region", "partner", "sector", "stat", "value"], rows[0]
for r in rows[1:]:
    assert len(r) == 8, r
    assert not math.isinf(float(r[7])), r
sectors = {r[5] for r in rows[1:]}
assert sectors == {"agri-food", "all"}, sectors
used = "csv"
try:
    import pandas
    df = pandas.read_csv(sys.argv[1], keep_default_na=False)
    assert list(df.columns) == rows[0]
    assert len(df) == len(rows) - 1
    used = "csv+pandas"
except ImportError:
    pass
print(used, len(rows) - 1)
"#;

#[test]
fn run_csv_reads_back_with_python() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("unicode-names.toml");
    std::fs::write(&file, SCENARIO).expect("written");
    let out = dir.path().join("out.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("corridor runs");
    assert!(status.success());
    let reader = dir.path().join("read.py");
    std::fs::write(&reader, READER).expect("written");
    let python = Command::new("python3").arg(&reader).arg(&out).output();
    let Ok(python) = python else {
        panic!("python3 is needed for this test");
    };
    let said = String::from_utf8_lossy(&python.stdout);
    assert!(
        python.status.success(),
        "Python could not read the CSV: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    eprintln!("read with Python's {said}");
    assert!(said.starts_with("csv"));
}
