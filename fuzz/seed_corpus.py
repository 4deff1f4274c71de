#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the bundled scenarios and the
broken-file corpus. Run from the `fuzz` folder: python3 seed_corpus.py"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEP = b"\n%%%%\n"
OUT = pathlib.Path(__file__).resolve().parent / "corpus"


def csv_of(toml_path):
    """The flows CSV a scenario file names, if any."""
    m = re.search(r'^flows\s*=\s*"([^"]+)"', toml_path.read_text("utf-8", "replace"), re.M)
    if m:
        p = toml_path.parent / m.group(1)
        if p.exists():
            return p.read_bytes()
    return None


def parent_of(toml_path):
    m = re.search(r'^extends\s*=\s*"([^"]+)"', toml_path.read_text("utf-8", "replace"), re.M)
    return (toml_path.parent / m.group(1)) if m else None


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


tomls = sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "tests/broken").rglob("*.toml"))
for p in tomls:
    data = p.read_bytes()
    csv = csv_of(p)
    parent = parent_of(p)
    if csv is None and parent is not None and parent.exists():
        csv = csv_of(parent)
    one = data + (SEP + csv if csv is not None else b"")
    name = p.stem
    write("load_scenario", name, one)
    write("engines", name, one)
    # extends_chain: a.toml, b.toml, c.toml, d.toml, flows.csv
    chain = [p]
    while len(chain) < 4:
        q = parent_of(chain[-1])
        if q is None or not q.exists() or q in chain:
            break
        chain.append(q)
    names = ["a.toml", "b.toml", "c.toml", "d.toml"]
    texts = []
    for i, q in enumerate(chain):
        t = q.read_bytes()
        t = re.sub(rb'^extends\s*=\s*"[^"]+"', b'extends = "%s"' % names[min(i + 1, 3)].encode(), t, flags=re.M)
        t = re.sub(rb'^flows\s*=\s*"[^"]+"', b'flows = "flows.csv"', t, flags=re.M)
        texts.append(t)
    while len(texts) < 4:
        texts.append(b"")
    last_csv = None
    for q in chain:
        last_csv = csv_of(q) or last_csv
    texts.append(last_csv or b"from,to,sector,value\n")
    write("extends_chain", name, SEP.join(texts))

for i, lines in enumerate([
    b"scenario.runs=10\nscenario.seed=3",
    b"sector.goods.substitution=4.5\nagreement.ab.probability=0.5",
    b"flow.B.A.goods=150\nflow.A.B.goods=0",
    b"agreement.agri-mou.delay=[1, 3]\nagreement.agri-mou.enabled=false",
    b"shock.payment-friction.cost_increase=0.4\nshock.payment-friction.end=2031",
    b"growth.PAK.agri=0.05\ngrowth.PAK.*=0.02",
    b"flow.RUS.PAK.agri=600\nflow.PAK.PAK.agri=1",
    b"agreement.eu-enlargement.partial_effect=0.3\nflow.DEU.SVK.all=1",
]):
    for choice in range(7):
        write("set_editor", f"edit-{i}-{choice}", bytes([choice]) + lines)
print("corpora written to", OUT)
