//! Performance of the core on the flagship scenario. Run with `cargo bench --bench perf`.
//! Prints the median of repeated timings; targets are in the issue tracker and README.

use std::path::Path;
use std::time::{Duration, Instant};

use corridor::ensemble::{self, Options, Silent};
use corridor::metrics::{Plan, Scratch};
use corridor::model::{Draw, Model};
use corridor::scenario::load;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed());
    }
    median(times)
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pak-rus-mous-2024.toml");
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let scenario = load(&path)
        .into_result()
        .map(|(s, _, _)| s)
        .unwrap_or_else(|_| panic!("flagship must load"));
    let model = Model::new(&scenario, scenario.engine).expect("model");
    let plan = Plan::new(&model);
    println!(
        "flagship: {} regions, {} sectors, {} entries, {} events, {} series × {} years",
        scenario.regions.len(),
        scenario.sectors.len(),
        model.structure.entries.len(),
        model.events.list.len(),
        plan.keys.len(),
        scenario.year_count()
    );
    if want("load") {
        println!(
            "load + validate flagship:            {:?}",
            time(50, || load(&path))
        );
    }
    if want("path") {
        let d = time(200, || {
            ensemble::as_written_path(&model, &plan).expect("path")
        });
        println!("as-written path, all series:         {d:?}  (target < 1 ms)");
        let d = time(200, || {
            Model::new(&scenario, scenario.engine).map(|m| Plan::new(&m).keys.len())
        });
        println!("compile model + plan:                {d:?}");
    }
    if want("run") {
        let mut scratch = Scratch::default();
        let mut values = vec![0.0; plan.keys.len()];
        let mut m = 0u64;
        let d = time(500, || {
            m += 1;
            let draw = Draw::monte_carlo(&model.scenario, &model.events, 7, m);
            model
                .simulate(&draw, &mut |state| {
                    plan.evaluate(&model, state, &mut scratch, &mut values, None)
                })
                .expect("run");
        });
        println!("one Monte Carlo run + all metrics:   {d:?}");
        let d = time(500, || {
            m += 1;
            let draw = Draw::monte_carlo(&model.scenario, &model.events, 7, m);
            model.simulate(&draw, &mut |_| {}).expect("run");
        });
        println!("one Monte Carlo run, flows only:     {d:?}");
        let d = time(500, || {
            m += 1;
            Draw::monte_carlo(&model.scenario, &model.events, 7, m)
        });
        println!("one Monte Carlo draw:                {d:?}");
    }
    if want("ge") {
        let ge_model =
            Model::new(&scenario, corridor::scenario::EngineKind::Ge).expect("GE-ready flagship");
        let ge_plan = Plan::new(&ge_model);
        let d = time(20, || {
            ensemble::as_written_path(&ge_model, &ge_plan).expect("GE path")
        });
        println!("GE path of the flagship, all years:  {d:?}  (target < 50 ms)");
        let options = Options {
            runs: 1000,
            seed: 1,
            memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
            only: None,
        };
        let d = time(3, || {
            ensemble::run(&ge_model, &ge_plan, &options, &Silent).expect("GE ensemble")
        });
        println!("GE ensemble, 1000 runs, all series:  {d:?}  (target < 10 s)");
    }
    if want("explain") {
        use corridor::metrics::{Metric, Partner, SectorSel, SeriesKey};
        let key = SeriesKey {
            metric: Metric::ImportShare,
            region: scenario.region_index("PAK").expect("PAK"),
            partner: Partner::Region(scenario.region_index("RUS").expect("RUS")),
            sector: SectorSel::All,
        };
        let series = plan.keys.iter().position(|k| *k == key).expect("series");
        let t = scenario.year_count() - 1;
        let d = time(20, || {
            corridor::analysis::shapley::explain(&model, &plan, series, t, 0, 1).expect("explain")
        });
        println!("Shapley contributions, 7 events:     {d:?}  (target < 100 ms)");
    }
    if want("sweep") {
        // 1,000 points × 100 runs of one metric family, as `corridor sweep` does it.
        use corridor::analysis::sweep::{Sampling, parse_dimension, points};
        use rayon::prelude::*;
        let dims = vec![
            parse_dimension("agreement.agri-mou.probability=0:0.99:0.11", &scenario).expect("dim"),
            parse_dimension("agreement.rail-mou.cost_cut=0.01:0.1:0.01", &scenario).expect("dim"),
            parse_dimension("agreement.energy-mou.delay=[0,1],[0,3],[1,3],[2,4],[3,6],[0,0],[1,1],[2,2],[4,8],[5,9]", &scenario).expect("dim"),
        ];
        let pts = points(&dims, Sampling::Grid, 1).expect("points");
        let t = Instant::now();
        let n: usize = pts
            .par_iter()
            .map(|p| {
                let mut v = scenario.clone();
                for (d, x) in dims.iter().zip(p) {
                    v.set_param(&d.target, *x).expect("set");
                }
                let m = Model::new(&v, v.engine).expect("model");
                let pl = Plan::new(&m);
                let only: Vec<usize> = (0..pl.keys.len())
                    .filter(|&i| {
                        pl.keys[i].metric == corridor::metrics::Metric::ImportShare
                            && pl.keys[i].region == 0
                    })
                    .collect();
                let o = Options {
                    runs: 100,
                    seed: 1,
                    memory_budget: ensemble::DEFAULT_MEMORY_BUDGET / 4,
                    only: Some(only),
                };
                ensemble::run(&m, &pl, &o, &Silent).expect("run").keys.len()
            })
            .sum();
        println!(
            "sweep, {} points × 100 runs:        {:?}  ({n} series; target < 60 s)",
            pts.len(),
            t.elapsed()
        );
    }
    if want("ensemble") {
        for runs in [1_000u32, 10_000] {
            let options = Options {
                runs,
                seed: 1,
                memory_budget: ensemble::DEFAULT_MEMORY_BUDGET,
                only: None,
            };
            let d = time(3, || {
                ensemble::run(&model, &plan, &options, &Silent).expect("ensemble")
            });
            println!("ensemble, {runs:>6} runs, all series:  {d:?}");
        }
    }
}
