//! Dependency and trade metrics of SPEC §5, per year, per sector and for `all`.
//!
//! A [`Plan`] fixes, once per model, which series exist (from the base-year structure,
//! so the same series exist in every run) and evaluates all of them for one year's
//! flows. Series are listed metric by metric in the order of the SPEC's table.

use std::fmt;

use crate::model::{Model, YearState};
use crate::scenario::{EngineKind, Scenario};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Flow,
    Imports,
    Exports,
    SupplierHhi,
    EffectiveSuppliers,
    TopSupplierShare,
    ImportShare,
    MarketHhi,
    EffectiveMarkets,
    TradeHhi,
    BlocImportShare,
    BlocTradeShare,
    SelfSufficiency,
    Creation,
    Diversion,
    Welfare,
    Wage,
    RealWage,
    PriceIndex,
}

impl Metric {
    pub const ALL: [Metric; 19] = [
        Metric::Flow,
        Metric::Imports,
        Metric::Exports,
        Metric::SupplierHhi,
        Metric::EffectiveSuppliers,
        Metric::TopSupplierShare,
        Metric::ImportShare,
        Metric::MarketHhi,
        Metric::EffectiveMarkets,
        Metric::TradeHhi,
        Metric::BlocImportShare,
        Metric::BlocTradeShare,
        Metric::SelfSufficiency,
        Metric::Creation,
        Metric::Diversion,
        Metric::Welfare,
        Metric::Wage,
        Metric::RealWage,
        Metric::PriceIndex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Flow => "flow",
            Metric::Imports => "imports",
            Metric::Exports => "exports",
            Metric::SupplierHhi => "supplier_hhi",
            Metric::EffectiveSuppliers => "effective_suppliers",
            Metric::TopSupplierShare => "top_supplier_share",
            Metric::ImportShare => "import_share",
            Metric::MarketHhi => "market_hhi",
            Metric::EffectiveMarkets => "effective_markets",
            Metric::TradeHhi => "trade_hhi",
            Metric::BlocImportShare => "bloc_import_share",
            Metric::BlocTradeShare => "bloc_trade_share",
            Metric::SelfSufficiency => "self_sufficiency",
            Metric::Creation => "creation",
            Metric::Diversion => "diversion",
            Metric::Welfare => "welfare",
            Metric::Wage => "wage",
            Metric::RealWage => "real_wage",
            Metric::PriceIndex => "price_index",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// What the metric means, for help texts and tooltips.
    pub fn describe(self) -> &'static str {
        match self {
            Metric::Flow => "value of trade from the region (exporter) to the partner (importer)",
            Metric::Imports => "the region's imports from all foreign suppliers",
            Metric::Exports => "the region's exports to all foreign markets",
            Metric::SupplierHhi => {
                "Herfindahl index of the region's import suppliers: 1 = one supplier, 1/n = n equal suppliers"
            }
            Metric::EffectiveSuppliers => {
                "1 / supplier HHI: the number of equal-sized suppliers with the same concentration"
            }
            Metric::TopSupplierShare => {
                "share of imports from the largest supplier (the partner column names it)"
            }
            Metric::ImportShare => "share of the region's imports that come from the partner",
            Metric::MarketHhi => "Herfindahl index of the region's export markets",
            Metric::EffectiveMarkets => "1 / market HHI: the number of equal-sized export markets",
            Metric::TradeHhi => {
                "Herfindahl index of the region's partners by exports + imports, all sectors"
            }
            Metric::BlocImportShare => {
                "share of the region's imports that come from members of the bloc"
            }
            Metric::BlocTradeShare => {
                "share of the region's exports + imports that are with the bloc, all sectors"
            }
            Metric::SelfSufficiency => {
                "share of the region's own supply in its total absorption (domestic + imports)"
            }
            Metric::Creation => {
                "net new imports versus the no-event world with the same demand (PE)"
            }
            Metric::Diversion => "imports shifted away from suppliers that lose share (PE)",
            Metric::Welfare => "GE welfare change (1 = unchanged): real expenditure",
            Metric::Wage => "GE change in the region's wage / output price",
            Metric::RealWage => "GE change in the wage deflated by the consumer price index",
            Metric::PriceIndex => "GE change in the sector's consumer price index",
        }
    }

    /// Whether the metric is a share, HHI or index rather than a value in the scenario's unit.
    pub fn is_value(self) -> bool {
        matches!(
            self,
            Metric::Flow | Metric::Imports | Metric::Exports | Metric::Creation | Metric::Diversion
        )
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The partner column of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partner {
    None,
    Region(usize),
    Bloc(usize),
    /// The top supplier, which can change from year to year.
    Top,
}

/// One sector or the sum over sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectorSel {
    One(usize),
    All,
}

/// Identifies one time series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub metric: Metric,
    pub region: usize,
    pub partner: Partner,
    pub sector: SectorSel,
}

impl SeriesKey {
    pub fn region_id<'a>(&self, s: &'a Scenario) -> &'a str {
        &s.regions[self.region].id
    }

    /// Partner id as written in CSV (`top` partners are resolved per year by the caller).
    pub fn partner_id<'a>(&self, s: &'a Scenario) -> &'a str {
        match self.partner {
            Partner::None | Partner::Top => "",
            Partner::Region(r) => &s.regions[r].id,
            Partner::Bloc(b) => &s.blocs[b].id,
        }
    }

    pub fn sector_id<'a>(&self, s: &'a Scenario) -> &'a str {
        match self.sector {
            SectorSel::One(k) => &s.sectors[k].id,
            SectorSel::All => "all",
        }
    }
}

/// The series of a model and how to evaluate them.
pub struct Plan {
    pub keys: Vec<SeriesKey>,
    regions: usize,
    sectors: usize,
    engine: EngineKind,
    /// Bloc membership per region.
    region_blocs: Vec<Vec<usize>>,
    /// Whether no base-year value is −0, so that no flow is ([`Plan::twin_of`]).
    no_negative_zero: bool,
    blocs: usize,
    /// Structural flags, [j * sectors + s].
    has_market: Vec<bool>,
    has_foreign_supplier: Vec<bool>,
    has_foreign_market: Vec<bool>,
    has_domestic: Vec<bool>,
    has_exports_any: Vec<bool>,
    /// All-sector pairs with trade, [i * n + j].
    pair_all: Vec<bool>,
    /// The range of `keys` each metric occupies (keys are grouped by metric).
    blocks: Vec<std::ops::Range<usize>>,
    /// The entries of each sector (the structure sorts entries by sector first).
    sector_entries: Vec<std::ops::Range<usize>>,
    /// How many of the first i keys are all-sector series, for i = 0..=keys.
    all_before: Vec<usize>,
    /// The exporter of each entry.
    entry_from: Vec<usize>,
    /// Each entry's pair, `from * n + to`.
    entry_pair: Vec<usize>,
    /// Each foreign entry's exporter cell, `from * (sectors + 1) + sector`; a domestic
    /// entry's is one past the cells.
    entry_out: Vec<usize>,
    /// The pairs with trade, as i * n + j, in the order of their all-sector flow series.
    pairs: Vec<usize>,
    /// The all-sector flow series of `pairs`, as indices into `keys`.
    pair_series: Vec<usize>,
    /// How many import shares each sector has (its foreign entries), and `all` last (the
    /// foreign pairs with trade).
    import_shares: Vec<usize>,
    /// How each series' value follows from the year's flows, in the order of `keys`.
    formulas: Vec<Formula>,
}

/// A set of metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricMask(pub u32);

impl MetricMask {
    pub const ALL: MetricMask = MetricMask(u32::MAX);

    pub fn contains(self, m: Metric) -> bool {
        self.0 & (1 << m as u32) != 0
    }

    pub const NONE: MetricMask = MetricMask(0);

    /// The mask of these metrics.
    pub const fn of(metrics: &[Metric]) -> MetricMask {
        let mut mask = 0;
        let mut i = 0;
        while i < metrics.len() {
            mask |= 1 << metrics[i] as u32;
            i += 1;
        }
        MetricMask(mask)
    }

    /// Whether any of the metrics is in the mask.
    pub fn any(self, metrics: &[Metric]) -> bool {
        metrics.iter().any(|&m| self.contains(m))
    }
}

/// Receives the series of one year from [`Plan::walk`].
trait Emit {
    /// Whether the metric's block is wanted; if not, the walker skips it.
    fn wants(&mut self, metric: Metric) -> bool;
    /// Every metric this receiver may want, so the walker can skip unused aggregates.
    fn mask(&self) -> MetricMask;
    /// The next series, whose value `formula` gives from `ctx`.
    fn emit(&mut self, key: SeriesKey, formula: Formula, ctx: &Ctx<'_>);
    /// Whether per-sector series, and whether all-sector series, may be emitted (wanted
    /// or not), so the walker can skip the aggregates of the other kind.
    fn sectors(&self) -> (bool, bool) {
        (true, true)
    }
    /// Whether the next series is not wanted, so the walker need not compute it; if so,
    /// the receiver counts it as emitted.
    fn skip(&mut self) -> bool {
        false
    }
    /// Whether none of the next `count` series is wanted; if so, the receiver counts them
    /// all as emitted and the walker goes past them without computing any.
    fn skip_span(&mut self, count: usize) -> bool {
        let _ = count;
        false
    }
}

/// Collects every series and its formula.
struct CollectKeys<'a>(&'a mut Vec<SeriesKey>, &'a mut Vec<Formula>);

impl Emit for CollectKeys<'_> {
    fn wants(&mut self, _: Metric) -> bool {
        true
    }

    fn mask(&self) -> MetricMask {
        MetricMask::ALL
    }

    fn emit(&mut self, key: SeriesKey, formula: Formula, _: &Ctx<'_>) {
        self.0.push(key);
        self.1.push(formula);
    }
}

struct WriteValues<'a, 'b> {
    out: &'a mut [f64],
    top: Option<&'b mut [Option<usize>]>,
    cursor: usize,
    mask: MetricMask,
    /// Series outside this range are skipped.
    range: std::ops::Range<usize>,
    blocks: &'a [std::ops::Range<usize>],
    /// Whether `range` holds per-sector series, and all-sector series.
    sectors: (bool, bool),
}

impl Emit for WriteValues<'_, '_> {
    fn wants(&mut self, metric: Metric) -> bool {
        // Into the metric's block of keys if it is wanted, else past it.
        let block = &self.blocks[metric as usize];
        let wanted = self.mask.contains(metric);
        self.cursor = if wanted { block.start } else { block.end };
        wanted
    }

    fn mask(&self) -> MetricMask {
        self.mask
    }

    fn sectors(&self) -> (bool, bool) {
        self.sectors
    }

    #[inline]
    fn skip(&mut self) -> bool {
        let skip = !self.range.contains(&self.cursor);
        self.cursor += usize::from(skip);
        skip
    }

    fn skip_span(&mut self, count: usize) -> bool {
        let end = self.cursor + count;
        let skip = end <= self.range.start || self.cursor >= self.range.end;
        if skip {
            self.cursor = end;
        }
        skip
    }

    // Inlined into the walk, where each call's kind of formula is known.
    #[inline(always)]
    fn emit(&mut self, _: SeriesKey, formula: Formula, ctx: &Ctx<'_>) {
        let (value, top) = formula.value(ctx);
        self.out[self.cursor] = value;
        if let Some(t) = self.top.as_deref_mut() {
            t[self.cursor] = top;
        }
        self.cursor += 1;
    }
}

/// The all-sector series that follow from a year's pair totals ([`Plan::pair_kernel`]),
/// evaluated straight from them: the same aggregates, summed in the same order, and the
/// same formulas as [`Plan::evaluate`] uses, so the same values bit for bit, without the
/// per-sector aggregates or a formula chosen per series.
pub(crate) struct PairKernel {
    n: usize,
    /// Where each pair total goes in the pair matrix ([i * n + j]).
    at: Vec<usize>,
    /// The foreign pairs with trade `(i, j, blocs of i in bloc_of)`, i first, then j.
    foreign: Vec<(usize, usize, std::ops::Range<usize>)>,
    bloc_of: Vec<usize>,
    /// Each bloc's members.
    members: Vec<Vec<usize>>,
    /// `(slot in the output, region, value)` for the series of one importer, one exporter,
    /// and `(slot, pair [i * n + j], importer)` for import shares, `(slot, bloc × n +
    /// importer, importer)` for bloc import shares, `(slot, region)` for trade HHIs and
    /// `(slot, region, bloc)` for bloc trade shares.
    by_importer: Vec<(usize, usize, ByImporter)>,
    by_exporter: Vec<(usize, usize, ByExporter)>,
    shares: Vec<(usize, usize, usize)>,
    bloc_imports: Vec<(usize, usize, usize)>,
    by_region: Vec<(usize, usize)>,
    bloc_trade: Vec<(usize, usize, usize)>,
}

#[derive(Clone, Copy)]
enum ByImporter {
    Imports,
    Hhi,
    Effective,
    Top,
    SelfSufficiency,
}

#[derive(Clone, Copy)]
enum ByExporter {
    Exports,
    Hhi,
    Effective,
}

impl ByExporter {
    /// The series of `formula` if it is one of an exporter's, with its cell.
    fn of(formula: Formula) -> Option<(usize, ByExporter)> {
        match formula {
            Formula::Exports(c) => Some((c, ByExporter::Exports)),
            Formula::MarketHhi(c) => Some((c, ByExporter::Hhi)),
            Formula::EffectiveMarkets(c) => Some((c, ByExporter::Effective)),
            _ => None,
        }
    }

    /// Its value from the exporter's exports and their sum of squares.
    fn value(self, exports: f64, ssq: f64) -> f64 {
        match self {
            ByExporter::Exports => exports,
            ByExporter::Hhi => hhi(ssq, exports),
            ByExporter::Effective => 1.0 / hhi(ssq, exports),
        }
    }
}

/// Space for [`PairKernel::evaluate`]; reuse across years and runs.
#[derive(Default)]
pub(crate) struct PairScratch {
    sums: PairSums<f64>,
    trade: Vec<f64>,
}

/// What [`PairKernel`] sums over the pair totals: of one run (`T` is `f64`), or of runs
/// side by side (`T` is [`Lanes`]).
struct PairSums<T> {
    all: Vec<T>,
    total: Vec<T>,
    domestic: Vec<T>,
    imports: Vec<T>,
    exports: Vec<T>,
    ssq_sup: Vec<T>,
    ssq_mkt: Vec<T>,
    top: Vec<T>,
    bloc_imports: Vec<T>,
}

impl<T> Default for PairSums<T> {
    fn default() -> Self {
        PairSums {
            all: Vec::new(),
            total: Vec::new(),
            domestic: Vec::new(),
            imports: Vec::new(),
            exports: Vec::new(),
            ssq_sup: Vec::new(),
            ssq_mkt: Vec::new(),
            top: Vec::new(),
            bloc_imports: Vec::new(),
        }
    }
}

impl<T: Copy> PairSums<T> {
    /// Every sum at `zero` and the tops at `low`, for `n` regions and `blocs` blocs, and
    /// the pair matrix with the pair totals `pairs` at `at` and `zero` elsewhere.
    fn start(
        &mut self,
        (n, blocs): (usize, usize),
        (at, pairs): (&[usize], &[T]),
        zero: T,
        low: T,
    ) {
        let sized = [
            (&mut self.total, n, zero),
            (&mut self.domestic, n, zero),
            (&mut self.imports, n, zero),
            (&mut self.exports, n, zero),
            (&mut self.ssq_sup, n, zero),
            (&mut self.ssq_mkt, n, zero),
            (&mut self.top, n, low),
            (&mut self.bloc_imports, blocs * n, zero),
            (&mut self.all, n * n, zero),
        ];
        for (v, len, value) in sized {
            v.clear();
            v.resize(len, value);
        }
        for (&k, &v) in at.iter().zip(pairs) {
            self.all[k] = v;
        }
    }
}

impl PairKernel {
    /// Writes the value of the kernel's `series[d]` into `out[d]`, from one year's pair
    /// totals `pairs`, given in the order of [`Plan::pair_series`].
    pub(crate) fn evaluate(&self, pairs: &[f64], sc: &mut PairScratch, out: &mut [f64]) {
        let n = self.n;
        let (sums, trade) = (&mut sc.sums, &mut sc.trade);
        let blocs = self.members.len();
        sums.start((n, blocs), (&self.at, pairs), 0.0, f64::NEG_INFINITY);
        let all = sums.all.as_slice();
        // Each sum over its terms in the order of `Plan::aggregate`: a region's column of
        // the pair matrix from the first exporter down, its row from the first importer on.
        let (total, domestic) = (sums.total.as_mut_slice(), sums.domestic.as_mut_slice());
        for row in all.chunks_exact(n) {
            for (t, &v) in total.iter_mut().zip(row) {
                *t += v;
            }
        }
        for (j, d) in domestic.iter_mut().enumerate() {
            *d += all[j * n + j];
        }
        let (imports, exports) = (sums.imports.as_mut_slice(), sums.exports.as_mut_slice());
        let (ssq_sup, ssq_mkt) = (sums.ssq_sup.as_mut_slice(), sums.ssq_mkt.as_mut_slice());
        let (top, bloc_imports) = (sums.top.as_mut_slice(), sums.bloc_imports.as_mut_slice());
        for &(i, j, ref blocs) in &self.foreign {
            let v = all[i * n + j];
            imports[j] += v;
            exports[i] += v;
            ssq_sup[j] += v * v;
            ssq_mkt[i] += v * v;
            if v > top[j] {
                top[j] = v;
            }
            for &b in &self.bloc_of[blocs.clone()] {
                bloc_imports[b * n + j] += v;
            }
        }
        // Each region's trade with every partner, if a series reads it.
        if !self.by_region.is_empty() || !self.bloc_trade.is_empty() {
            trade.clear();
            trade.extend((0..n).map(|r| trade_of(all, n, r)));
        }
        for &(slot, j, value) in &self.by_importer {
            out[slot] = match value {
                ByImporter::Imports => imports[j],
                ByImporter::Hhi => hhi(ssq_sup[j], imports[j]),
                ByImporter::Effective => 1.0 / hhi(ssq_sup[j], imports[j]),
                ByImporter::Top => ratio(top[j], imports[j]),
                ByImporter::SelfSufficiency => ratio(domestic[j], total[j]),
            };
        }
        for &(slot, i, value) in &self.by_exporter {
            out[slot] = value.value(exports[i], ssq_mkt[i]);
        }
        for &(slot, p, j) in &self.shares {
            out[slot] = ratio(all[p], imports[j]);
        }
        for &(slot, at, j) in &self.bloc_imports {
            out[slot] = ratio(bloc_imports[at], imports[j]);
        }
        for &(slot, r) in &self.by_region {
            out[slot] = trade_hhi(all, n, r, trade[r]);
        }
        for &(slot, r, b) in &self.bloc_trade {
            out[slot] = bloc_trade_share(all, n, r, &self.members[b], trade[r]);
        }
    }
}

/// Runs that [`PairKernel::evaluate_lanes`] evaluates side by side.
pub(crate) const LANES: usize = 64;

/// One value per run of [`LANES`] runs.
pub(crate) type Lanes = [f64; LANES];

/// Space for [`PairKernel::evaluate_lanes`]; reuse across years and runs.
#[derive(Default)]
pub(crate) struct PairLanes {
    sums: PairSums<Lanes>,
    trade: Vec<f64>,
    /// One run's pair matrix, for the series of one region's trade.
    matrix: Vec<f64>,
}

fn add_lanes(into: &mut Lanes, v: &Lanes) {
    for (sum, &x) in into.iter_mut().zip(v) {
        *sum += x;
    }
}

fn add_squares(into: &mut Lanes, v: &Lanes) {
    for (sum, &x) in into.iter_mut().zip(v) {
        *sum += x * x;
    }
}

impl PairKernel {
    /// [`PairKernel::evaluate`] for [`LANES`] runs side by side: `pairs[k][l]` is run l's
    /// k-th pair total, and run l's value of the kernel's `series[d]` goes to `out[d][l]`.
    /// Each lane takes the steps of [`PairKernel::evaluate`] in the same order, so each
    /// run gets the same bits; side by side, the runs share the loops over the pairs and
    /// the series.
    pub(crate) fn evaluate_lanes(&self, pairs: &[Lanes], sc: &mut PairLanes, out: &mut [Lanes]) {
        let n = self.n;
        let s = &mut sc.sums;
        let (zero, low) = ([0.0; LANES], [f64::NEG_INFINITY; LANES]);
        s.start((n, self.members.len()), (&self.at, pairs), zero, low);
        let all = &s.all;
        for row in all.chunks_exact(n) {
            for (t, v) in s.total.iter_mut().zip(row) {
                add_lanes(t, v);
            }
        }
        for (j, d) in s.domestic.iter_mut().enumerate() {
            add_lanes(d, &all[j * n + j]);
        }
        for &(i, j, ref blocs) in &self.foreign {
            let v = &all[i * n + j];
            add_lanes(&mut s.imports[j], v);
            add_lanes(&mut s.exports[i], v);
            add_squares(&mut s.ssq_sup[j], v);
            add_squares(&mut s.ssq_mkt[i], v);
            for (t, &x) in s.top[j].iter_mut().zip(v) {
                if x > *t {
                    *t = x;
                }
            }
            for &b in &self.bloc_of[blocs.clone()] {
                add_lanes(&mut s.bloc_imports[b * n + j], v);
            }
        }
        let (imports, total, domestic) = (&s.imports, &s.total, &s.domestic);
        for &(slot, j, value) in &self.by_importer {
            let (o, m) = (&mut out[slot], &imports[j]);
            match value {
                ByImporter::Imports => *o = *m,
                ByImporter::Hhi => {
                    for ((o, &ssq), &m) in o.iter_mut().zip(&s.ssq_sup[j]).zip(m) {
                        *o = hhi(ssq, m);
                    }
                }
                ByImporter::Effective => {
                    for ((o, &ssq), &m) in o.iter_mut().zip(&s.ssq_sup[j]).zip(m) {
                        *o = 1.0 / hhi(ssq, m);
                    }
                }
                ByImporter::Top => {
                    for ((o, &top), &m) in o.iter_mut().zip(&s.top[j]).zip(m) {
                        *o = ratio(top, m);
                    }
                }
                ByImporter::SelfSufficiency => {
                    for ((o, &own), &sum) in o.iter_mut().zip(&domestic[j]).zip(&total[j]) {
                        *o = ratio(own, sum);
                    }
                }
            }
        }
        for &(slot, i, value) in &self.by_exporter {
            let lanes = out[slot].iter_mut().zip(&s.exports[i]).zip(&s.ssq_mkt[i]);
            for ((o, &exports), &ssq) in lanes {
                *o = value.value(exports, ssq);
            }
        }
        for &(slot, p, j) in &self.shares {
            for ((o, &v), &m) in out[slot].iter_mut().zip(&all[p]).zip(&imports[j]) {
                *o = ratio(v, m);
            }
        }
        for &(slot, at, j) in &self.bloc_imports {
            let lanes = out[slot]
                .iter_mut()
                .zip(&s.bloc_imports[at])
                .zip(&imports[j]);
            for ((o, &v), &m) in lanes {
                *o = ratio(v, m);
            }
        }
        // Each region's trade with every partner, if a series reads it, run by run.
        if self.by_region.is_empty() && self.bloc_trade.is_empty() {
            return;
        }
        for l in 0..LANES {
            sc.matrix.clear();
            sc.matrix.extend(all.iter().map(|v| v[l]));
            let matrix = &sc.matrix;
            sc.trade.clear();
            sc.trade.extend((0..n).map(|r| trade_of(matrix, n, r)));
            for &(slot, r) in &self.by_region {
                out[slot][l] = trade_hhi(matrix, n, r, sc.trade[r]);
            }
            for &(slot, r, b) in &self.bloc_trade {
                out[slot][l] = bloc_trade_share(matrix, n, r, &self.members[b], sc.trade[r]);
            }
        }
    }
}

/// Series that the year's flows fix through the pair totals, the sums by exporter and
/// the sums of creation and diversion ([`Plan::flow_kernel`]): the series held for every
/// run. Evaluated with the same sums, in the same order, and the same formulas as
/// [`Plan::evaluate`] uses, so the same values bit for bit, without the other sums.
pub(crate) struct FlowKernel {
    /// Regions × regions.
    pairs: usize,
    /// Regions × (sectors + 1): the cells by region and sector, then `all`.
    cells: usize,
    /// Each entry's pair and exporter cell ([`Plan::aggregate`]).
    entry_pair: Vec<usize>,
    entry_out: Vec<usize>,
    /// Each market's cell and its importer's all-sector cell, if a series reads
    /// creation or diversion.
    market_cells: Option<Vec<[usize; 2]>>,
    /// `(slot in the output, value)`, one per series.
    outputs: Vec<(usize, FlowValue)>,
}

#[derive(Clone, Copy)]
enum FlowValue {
    Entry(usize),
    Pair(usize),
    /// An exporter's series of one sector, in its cell.
    ByExporter(usize, ByExporter),
    Creation(usize),
    Diversion(usize),
}

/// Space for [`FlowKernel::evaluate`]; reuse across years and runs.
#[derive(Default)]
pub(crate) struct FlowScratch {
    all: Vec<f64>,
    exports: Vec<f64>,
    ssq_mkt: Vec<f64>,
    creation: Vec<f64>,
    diversion: Vec<f64>,
}

impl FlowKernel {
    /// Writes the value of the kernel's `series[d]` in the year of `state` into `out[d]`.
    pub(crate) fn evaluate(&self, state: &YearState<'_>, sc: &mut FlowScratch, out: &mut [f64]) {
        sc.all.clear();
        sc.all.resize(self.pairs, 0.0);
        // One slot more than the cells: the domestic entries' exporter cell.
        for v in [&mut sc.exports, &mut sc.ssq_mkt] {
            v.clear();
            v.resize(self.cells + 1, 0.0);
        }
        let (all, exports, ssq_mkt) = (
            sc.all.as_mut_slice(),
            sc.exports.as_mut_slice(),
            sc.ssq_mkt.as_mut_slice(),
        );
        let by = self.entry_pair.iter().zip(&self.entry_out);
        for (&v, (&pair, &out)) in state.flows.iter().zip(by) {
            all[pair] += v;
            exports[out] += v;
            ssq_mkt[out] += v * v;
        }
        if let Some(market_cells) = &self.market_cells {
            for v in [&mut sc.creation, &mut sc.diversion] {
                v.clear();
                v.resize(self.cells, 0.0);
            }
            if let Some(pe) = &state.pe {
                for (m, cells) in market_cells.iter().enumerate() {
                    for &c in cells {
                        sc.creation[c] += pe.creation[m];
                        sc.diversion[c] += pe.diversion[m];
                    }
                }
            }
        }
        for &(slot, value) in &self.outputs {
            out[slot] = match value {
                FlowValue::Entry(e) => state.flows[e],
                FlowValue::Pair(p) => all[p],
                FlowValue::ByExporter(c, value) => value.value(exports[c], ssq_mkt[c]),
                FlowValue::Creation(c) => sc.creation[c],
                FlowValue::Diversion(c) => sc.diversion[c],
            };
        }
    }
}

/// A set of series to evaluate ([`Plan::wanted`]), prepared once for many years.
pub(crate) struct Wanted {
    /// The series, as indices into the plan's keys, in order.
    list: Vec<usize>,
    needs: Needs,
}

/// Which series [`Plan::aggregate`] sums the year's flows for: the metrics of the
/// per-sector series and those of the all-sector series.
#[derive(Clone, Copy, Debug)]
struct Needs {
    one: MetricMask,
    all: MetricMask,
}

impl Needs {
    /// Every metric of `mask`, per sector if `sectors.0`, over all sectors if `sectors.1`.
    fn of(mask: MetricMask, (one, all): (bool, bool)) -> Self {
        let pick = |wanted: bool| if wanted { mask } else { MetricMask::NONE };
        Needs {
            one: pick(one),
            all: pick(all),
        }
    }
}

/// How a series' value in a year follows from the year's flows and the aggregates of
/// [`Plan::aggregate`]. Indices are into the flows (entries), the pair matrix
/// (`i * n + j`), or the aggregates' cells (`region * (sectors + 1) + sector`, the last
/// sector being `all`).
#[derive(Clone, Copy, Debug)]
enum Formula {
    /// The flow of an entry.
    Entry(usize),
    /// The all-sector flow of a pair.
    Pair(usize),
    /// An entry's share of its importer's imports in the cell.
    EntryShare(usize, usize),
    /// A pair's share of its importer's imports in the cell.
    PairShare(usize, usize),
    Imports(usize),
    Exports(usize),
    SupplierHhi(usize),
    EffectiveSuppliers(usize),
    TopSupplierShare(usize),
    MarketHhi(usize),
    EffectiveMarkets(usize),
    /// Of a region.
    TradeHhi(usize),
    /// Imports from a bloc (index into the bloc imports) over the cell's imports.
    BlocImportShare(usize, usize),
    /// Of a region with a bloc.
    BlocTradeShare(usize, usize),
    SelfSufficiency(usize),
    Creation(usize),
    Diversion(usize),
    /// GE, of a region.
    Welfare(usize),
    Wage(usize),
    RealWage(usize),
    /// GE, of a region and sector (`j * sectors + s`).
    PriceIndex(usize),
}

/// What a [`Formula`] reads: one year's flows, their aggregates and the GE solution.
struct Ctx<'a> {
    flows: &'a [f64],
    sc: &'a Scratch,
    ge: Option<&'a crate::model::ge::GeSolution>,
    model: &'a Model,
    plan: &'a Plan,
}

/// a / b, or no value if b is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// The HHI from a sum of squared flows and their total. Squares of flows below ~1e-154
/// or above ~1e154 leave f64's range; such an HHI cannot be computed and has no value
/// rather than a value of 0 or infinity.
fn hhi(ssq: f64, total: f64) -> f64 {
    let h = ssq / (total * total);
    if total > 0.0 && h.is_finite() && h > 0.0 {
        h
    } else {
        f64::NAN
    }
}

/// Exports plus imports between region `r` and partner `p`, all sectors, from the pair
/// matrix `all` ([i * n + j]).
fn partner_trade(all: &[f64], n: usize, r: usize, p: usize) -> f64 {
    all[r * n + p] + all[p * n + r]
}

/// Region `r`'s exports plus imports with every partner, all sectors.
fn trade_of(all: &[f64], n: usize, r: usize) -> f64 {
    (0..n)
        .filter(|&p| p != r)
        .map(|p| partner_trade(all, n, r, p))
        .sum()
}

/// Region `r`'s trade HHI over its partners, from the pair matrix `all` and its trade
/// with every partner, `trade`.
fn trade_hhi(all: &[f64], n: usize, r: usize, trade: f64) -> f64 {
    let ssq: f64 = (0..n)
        .filter(|&p| p != r)
        .map(|p| partner_trade(all, n, r, p).powi(2))
        .sum();
    hhi(ssq, trade)
}

/// Region `r`'s share of its trade, `trade`, that is with the bloc of `members`.
fn bloc_trade_share(all: &[f64], n: usize, r: usize, members: &[usize], trade: f64) -> f64 {
    let with: f64 = members
        .iter()
        .filter(|&&p| p != r)
        .map(|&p| partner_trade(all, n, r, p))
        .sum();
    ratio(with, trade)
}

impl Formula {
    /// The value, and for a top supplier share the top supplier. Inlined, so that where
    /// the walk emits a series of known kind only that kind's arithmetic remains.
    #[inline(always)]
    fn value(self, ctx: &Ctx<'_>) -> (f64, Option<usize>) {
        let sc = ctx.sc;
        let n = ctx.plan.regions;
        let ge = |field: fn(&crate::model::ge::GeSolution) -> &Vec<f64>, at: usize| {
            ctx.ge.map_or(1.0, |g| field(g)[at])
        };
        let value = match self {
            Formula::Entry(e) => ctx.flows[e],
            Formula::Pair(p) => sc.all[p],
            Formula::EntryShare(e, c) => ratio(ctx.flows[e], sc.imports[c]),
            Formula::PairShare(p, c) => ratio(sc.all[p], sc.imports[c]),
            Formula::Imports(c) => sc.imports[c],
            Formula::Exports(c) => sc.exports[c],
            Formula::SupplierHhi(c) => hhi(sc.ssq_sup[c], sc.imports[c]),
            Formula::EffectiveSuppliers(c) => 1.0 / hhi(sc.ssq_sup[c], sc.imports[c]),
            Formula::TopSupplierShare(c) => {
                let ((v, who), m) = (sc.top[c], sc.imports[c]);
                return (ratio(v, m), (m > 0.0).then_some(who));
            }
            Formula::MarketHhi(c) => hhi(sc.ssq_mkt[c], sc.exports[c]),
            Formula::EffectiveMarkets(c) => 1.0 / hhi(sc.ssq_mkt[c], sc.exports[c]),
            Formula::TradeHhi(r) => trade_hhi(&sc.all, n, r, sc.trade[r]),
            Formula::BlocImportShare(at, c) => ratio(sc.bloc_imports[at], sc.imports[c]),
            Formula::BlocTradeShare(r, b) => {
                let members = &ctx.model.scenario.blocs[b].members;
                bloc_trade_share(&sc.all, n, r, members, sc.trade[r])
            }
            Formula::SelfSufficiency(c) => ratio(sc.domestic[c], sc.total[c]),
            Formula::Creation(c) => sc.creation[c],
            Formula::Diversion(c) => sc.diversion[c],
            Formula::Welfare(j) => ge(|g| &g.welfare, j),
            Formula::Wage(j) => ge(|g| &g.wage, j),
            Formula::RealWage(j) => ge(|g| &g.real_wage, j),
            Formula::PriceIndex(at) => ge(|g| &g.price_index, at),
        };
        (value, None)
    }
}

/// A series that one market's flows fix ([`Plan::of_one_market`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OneMarket {
    /// Index into [`crate::model::Structure::markets`].
    pub market: usize,
    pub value: MarketValue,
}

/// Which of its market's values a [`OneMarket`] series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarketValue {
    /// The flow of this entry.
    Flow(usize),
    Imports,
    Creation,
    Diversion,
}

/// A market's total, domestic purchases, imports and sum of squared imports, from its
/// entries' flows `values` and exporters `from`, for importer `j`: each summed in the
/// order of the entries.
fn market_sums(values: &[f64], from: &[usize], j: usize) -> (f64, f64, f64, f64) {
    let (mut total, mut domestic, mut imports, mut ssq) = (0.0, 0.0, 0.0, 0.0);
    for (&v, &i) in values.iter().zip(from) {
        total += v;
        if i == j {
            domestic += v;
        } else {
            imports += v;
            ssq += v * v;
        }
    }
    (total, domestic, imports, ssq)
}

/// Scratch space for evaluating one year; reuse across years and runs.
#[derive(Default)]
pub struct Scratch {
    imports: Vec<f64>,
    exports: Vec<f64>,
    total: Vec<f64>,
    domestic: Vec<f64>,
    ssq_sup: Vec<f64>,
    ssq_mkt: Vec<f64>,
    top: Vec<(f64, usize)>,
    bloc_imports: Vec<f64>,
    all: Vec<f64>,
    creation: Vec<f64>,
    diversion: Vec<f64>,
    /// Per region: its exports plus imports with every partner, all sectors.
    trade: Vec<f64>,
}

impl Plan {
    pub fn new(model: &Model) -> Self {
        let s = &model.scenario;
        let st = &model.structure;
        let (n, ns) = (st.regions, st.sectors);
        let mut region_blocs = vec![Vec::new(); n];
        for (b, bloc) in s.blocs.iter().enumerate() {
            for &r in &bloc.members {
                region_blocs[r].push(b);
            }
        }

        let mut plan = Plan {
            keys: Vec::new(),
            regions: n,
            sectors: ns,
            engine: model.engine,
            region_blocs,
            no_negative_zero: model
                .structure
                .entries
                .iter()
                .all(|e| e.value.is_sign_positive()),
            blocs: s.blocs.len(),
            has_market: vec![false; n * (ns + 1)],
            has_foreign_supplier: vec![false; n * (ns + 1)],
            has_foreign_market: vec![false; n * (ns + 1)],
            has_domestic: vec![false; n * (ns + 1)],
            has_exports_any: vec![false; n * (ns + 1)],
            pair_all: vec![false; n * n],
            blocks: vec![0..0; Metric::ALL.len()],
            sector_entries: (0..ns)
                .map(|k| {
                    st.entries.partition_point(|e| e.sector < k)
                        ..st.entries.partition_point(|e| e.sector <= k)
                })
                .collect(),
            all_before: Vec::new(),
            entry_from: st.entries.iter().map(|e| e.from).collect(),
            entry_pair: st.entries.iter().map(|e| e.from * n + e.to).collect(),
            entry_out: st
                .entries
                .iter()
                .map(|e| {
                    if e.from == e.to {
                        n * (ns + 1)
                    } else {
                        e.from * (ns + 1) + e.sector
                    }
                })
                .collect(),
            pairs: Vec::new(),
            pair_series: Vec::new(),
            import_shares: vec![0; ns + 1],
            formulas: Vec::new(),
        };
        // Flags are indexed [j * (ns + 1) + s] with s = ns for `all`.
        for e in &st.entries {
            for k in [e.sector, ns] {
                plan.has_market[e.to * (ns + 1) + k] = true;
                plan.has_exports_any[e.from * (ns + 1) + k] = true;
                if e.from == e.to {
                    plan.has_domestic[e.to * (ns + 1) + k] = true;
                } else {
                    plan.has_foreign_supplier[e.to * (ns + 1) + k] = true;
                    plan.has_foreign_market[e.from * (ns + 1) + k] = true;
                }
            }
            plan.pair_all[e.from * n + e.to] = true;
        }
        for e in st.entries.iter().filter(|e| e.from != e.to) {
            plan.import_shares[e.sector] += 1;
        }
        plan.import_shares[ns] = (0..n * n)
            .filter(|&p| plan.pair_all[p] && p / n != p % n)
            .count();
        let mut keys = Vec::new();
        let mut scratch = Scratch::default();
        let zeros = vec![0.0; st.entries.len()];
        let state = YearState {
            year: s.base_year,
            t: 0,
            flows: &zeros,
            pe: None,
            ge: None,
        };
        let mut formulas = Vec::new();
        plan.walk(
            model,
            &state,
            &mut scratch,
            &mut CollectKeys(&mut keys, &mut formulas),
        );
        plan.formulas = formulas;
        for (i, k) in keys.iter().enumerate() {
            let b = &mut plan.blocks[k.metric as usize];
            if b.start == b.end {
                *b = i..i + 1;
            } else {
                b.end = i + 1;
            }
        }
        for m in 1..plan.blocks.len() {
            if plan.blocks[m].start == plan.blocks[m].end {
                let at = plan.blocks[..m].iter().map(|b| b.end).max().unwrap_or(0);
                plan.blocks[m] = at..at;
            }
        }
        plan.all_before = std::iter::once(0)
            .chain(keys.iter().scan(0, |count, k| {
                *count += usize::from(k.sector == SectorSel::All);
                Some(*count)
            }))
            .collect();
        plan.pair_series = (0..keys.len())
            .filter(|&i| keys[i].metric == Metric::Flow && keys[i].sector == SectorSel::All)
            .collect();
        plan.pairs = plan
            .pair_series
            .iter()
            .filter_map(|&i| match keys[i].partner {
                Partner::Region(j) => Some(keys[i].region * n + j),
                _ => None,
            })
            .collect();
        plan.keys = keys;
        plan
    }

    /// Evaluates every series for one year into `out` (NaN where a series has no value);
    /// `top` receives the top supplier of each `top_supplier_share` series, if asked.
    pub fn evaluate(
        &self,
        model: &Model,
        state: &YearState<'_>,
        scratch: &mut Scratch,
        out: &mut [f64],
        top: Option<&mut [Option<usize>]>,
    ) {
        self.evaluate_metrics(model, state, scratch, out, top, MetricMask::ALL);
    }

    /// Like [`Plan::evaluate`], computing only the metrics in `mask`; the other series'
    /// slots in `out` are left as they were.
    pub fn evaluate_metrics(
        &self,
        model: &Model,
        state: &YearState<'_>,
        scratch: &mut Scratch,
        out: &mut [f64],
        top: Option<&mut [Option<usize>]>,
        mask: MetricMask,
    ) {
        let range = 0..self.keys.len();
        self.write(model, state, scratch, out, top, mask, range);
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        model: &Model,
        state: &YearState<'_>,
        scratch: &mut Scratch,
        out: &mut [f64],
        top: Option<&mut [Option<usize>]>,
        mask: MetricMask,
        range: std::ops::Range<usize>,
    ) {
        let end = range.end.min(self.keys.len());
        let start = range.start.min(end);
        let alls = self.all_before[end] - self.all_before[start];
        let mut writer = WriteValues {
            out,
            top,
            cursor: 0,
            mask,
            range,
            blocks: &self.blocks,
            sectors: (alls < end - start, alls > 0),
        };
        self.walk(model, state, scratch, &mut writer);
    }

    /// Whether a series' value in a year is fixed by the events' strengths that year, the
    /// demand level cancelling out: in PE, the shares and the concentration of one
    /// importer's purchases in one sector depend on the market shares w alone (SPEC §3).
    /// Computed from flows, they differ between demand levels only in the last bits.
    pub fn fixed_by_events(&self, key: &SeriesKey) -> bool {
        self.engine == EngineKind::Pe
            && matches!(key.sector, SectorSel::One(_))
            && matches!(
                key.metric,
                Metric::SupplierHhi
                    | Metric::EffectiveSuppliers
                    | Metric::TopSupplierShare
                    | Metric::ImportShare
                    | Metric::BlocImportShare
                    | Metric::SelfSufficiency
            )
    }

    /// Which market's flows a series' value in a run follows from alone, or `None`. In
    /// PE, the flows into one market (importer j, sector s), its imports and its creation
    /// and diversion depend on that market's demand level L and on the events that touch
    /// it, and on nothing else.
    pub(crate) fn of_one_market(&self, model: &Model, key: &SeriesKey) -> Option<OneMarket> {
        if self.engine != EngineKind::Pe {
            return None;
        }
        let SectorSel::One(k) = key.sector else {
            return None;
        };
        let st = &model.structure;
        let (importer, entry) = match (key.metric, key.partner) {
            (Metric::Flow, Partner::Region(j)) => (j, st.entry_index(key.region, j, k)),
            (Metric::Imports | Metric::Creation | Metric::Diversion, Partner::None) => {
                (key.region, None)
            }
            _ => return None,
        };
        let market = st
            .markets
            .iter()
            .position(|m| m.importer == importer && m.sector == k)?;
        let value = match key.metric {
            Metric::Flow => MarketValue::Flow(entry?),
            Metric::Imports => MarketValue::Imports,
            Metric::Creation => MarketValue::Creation,
            _ => MarketValue::Diversion,
        };
        Some(OneMarket { market, value })
    }

    /// The value of a series [`Plan::of_one_market`] from its market's `flows` (the
    /// whole entry vector; only the market's entries are read) and its creation and
    /// diversion, with the arithmetic of [`Plan::evaluate`].
    pub(crate) fn level_value(
        &self,
        model: &Model,
        by: OneMarket,
        flows: &[f64],
        creation: f64,
        diversion: f64,
    ) -> f64 {
        let market = &model.structure.markets[by.market];
        match by.value {
            MarketValue::Flow(e) => flows[e],
            MarketValue::Imports => {
                let range = market.entries.clone();
                market_sums(
                    &flows[range.clone()],
                    &self.entry_from[range],
                    market.importer,
                )
                .2
            }
            // Per-sector creation and diversion add up the one market's values from 0.
            MarketValue::Creation => 0.0 + creation,
            MarketValue::Diversion => 0.0 + diversion,
        }
    }

    /// Sums over `levels`, in their order and each from −0, of the values a market that
    /// no event touches has at each demand level: the flow of each of its entries (one
    /// sum per entry, in entry order) and its imports. Each run's values have
    /// the arithmetic of [`Plan::level_value`] on [`Model::untouched_market_flows`]: a
    /// flow is V · L, and imports add up the foreign flows from 0 in entry order.
    pub(crate) fn untouched_sums(
        &self,
        model: &Model,
        market: usize,
        levels: impl Iterator<Item = f64>,
    ) -> (Vec<f64>, f64) {
        let st = &model.structure;
        let m = &st.markets[market];
        let range = m.entries.clone();
        let base: Vec<(f64, bool)> = st.entries[range.clone()]
            .iter()
            .zip(&self.entry_from[range])
            .map(|(e, &i)| (e.value, i != m.importer))
            .collect();
        let mut flow_sums = vec![-0.0; base.len()];
        let mut imports_sum = -0.0;
        for level in levels {
            let mut imports = 0.0;
            for (sum, &(v, foreign)) in flow_sums.iter_mut().zip(&base) {
                let x = v * level;
                *sum += x;
                if foreign {
                    imports += x;
                }
            }
            imports_sum += imports;
        }
        (flow_sums, imports_sum)
    }

    /// The all-sector flow series, one per pair of regions with trade (as indices into
    /// `keys`): what [`PairKernel::evaluate`] takes.
    pub(crate) fn pair_series(&self) -> &[usize] {
        &self.pair_series
    }

    /// Whether a series' value in a year follows from that year's all-sector flows alone
    /// ([`Plan::pair_kernel`]): the all-sector series that sum, compare or divide
    /// the pair totals. Not the flows themselves, which are the input, nor creation and
    /// diversion, which add up per-market values.
    pub(crate) fn follows_from_pairs(&self, key: &SeriesKey) -> bool {
        key.sector == SectorSel::All
            && matches!(
                key.metric,
                Metric::Imports
                    | Metric::Exports
                    | Metric::SupplierHhi
                    | Metric::EffectiveSuppliers
                    | Metric::TopSupplierShare
                    | Metric::ImportShare
                    | Metric::MarketHhi
                    | Metric::EffectiveMarkets
                    | Metric::TradeHhi
                    | Metric::BlocImportShare
                    | Metric::BlocTradeShare
                    | Metric::SelfSufficiency
            )
    }

    /// The series `series` (indices into `keys`), prepared for [`Plan::evaluate_wanted`].
    pub(crate) fn wanted(&self, series: &[usize]) -> Wanted {
        let mut list = series.to_vec();
        list.sort_unstable();
        list.dedup();
        let (one, all): (Vec<usize>, Vec<usize>) = list
            .iter()
            .partition(|&&i| self.keys[i].sector != SectorSel::All);
        Wanted {
            needs: Needs {
                one: self.mask_of(&one),
                all: self.mask_of(&all),
            },
            list,
        }
    }

    /// Evaluates the `wanted` series for one year into `out`, computing no other; the
    /// other slots of `out` are left as they were. The same values, bit for bit, as
    /// [`Plan::evaluate`].
    pub(crate) fn evaluate_wanted(
        &self,
        model: &Model,
        state: &YearState<'_>,
        scratch: &mut Scratch,
        out: &mut [f64],
        wanted: &Wanted,
    ) {
        self.write_wanted(model, state, scratch, out, wanted);
    }

    /// The kernel that evaluates `series` (indices into `keys`, each
    /// [`Plan::follows_from_pairs`]) from one year's pair totals, or `None` if one of
    /// them does not follow from those.
    pub(crate) fn pair_kernel(&self, model: &Model, series: &[usize]) -> Option<PairKernel> {
        let (n, w) = (self.regions, self.sectors + 1);
        let mut kernel = PairKernel {
            n,
            at: self.pairs.clone(),
            foreign: Vec::new(),
            bloc_of: Vec::new(),
            members: model
                .scenario
                .blocs
                .iter()
                .map(|b| b.members.clone())
                .collect(),
            by_importer: Vec::new(),
            by_exporter: Vec::new(),
            shares: Vec::new(),
            bloc_imports: Vec::new(),
            by_region: Vec::new(),
            bloc_trade: Vec::new(),
        };
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i && self.pair_all[i * n + j]) {
                let start = kernel.bloc_of.len();
                kernel.bloc_of.extend_from_slice(&self.region_blocs[i]);
                kernel.foreign.push((i, j, start..kernel.bloc_of.len()));
            }
        }
        // Each all-sector cell is `j * w + sectors`: its region is `c / w`.
        for (slot, &k) in series.iter().enumerate() {
            if !self.follows_from_pairs(&self.keys[k]) {
                return None;
            }
            let formula = self.formulas[k];
            let of_importer = match formula {
                Formula::Imports(c) => Some((c, ByImporter::Imports)),
                Formula::SupplierHhi(c) => Some((c, ByImporter::Hhi)),
                Formula::EffectiveSuppliers(c) => Some((c, ByImporter::Effective)),
                Formula::TopSupplierShare(c) => Some((c, ByImporter::Top)),
                Formula::SelfSufficiency(c) => Some((c, ByImporter::SelfSufficiency)),
                _ => None,
            };
            let of_exporter = ByExporter::of(formula);
            if let Some((c, value)) = of_importer {
                kernel.by_importer.push((slot, c / w, value));
                continue;
            }
            if let Some((c, value)) = of_exporter {
                kernel.by_exporter.push((slot, c / w, value));
                continue;
            }
            match formula {
                Formula::PairShare(p, c) => kernel.shares.push((slot, p, c / w)),
                Formula::BlocImportShare(at, c) => kernel.bloc_imports.push((slot, at / w, c / w)),
                Formula::TradeHhi(r) => kernel.by_region.push((slot, r)),
                Formula::BlocTradeShare(r, b) => kernel.bloc_trade.push((slot, r, b)),
                _ => return None,
            }
        }
        Some(kernel)
    }

    /// The kernel that evaluates `series` (indices into `keys`) from a year's flows, or
    /// `None` if one of them needs a sum it does not take: all-sector exports and market
    /// HHIs are summed over the pair totals, not by exporter, and are left to
    /// [`Plan::evaluate_wanted`], like every other metric.
    pub(crate) fn flow_kernel(&self, model: &Model, series: &[usize]) -> Option<FlowKernel> {
        let (n, ns) = (self.regions, self.sectors);
        let w = ns + 1;
        let by_exporter = |c: usize| c % w != ns;
        let mut creation = false;
        let outputs = series
            .iter()
            .enumerate()
            .map(|(slot, &k)| {
                let formula = self.formulas[k];
                let value = match formula {
                    Formula::Entry(e) => FlowValue::Entry(e),
                    Formula::Pair(p) => FlowValue::Pair(p),
                    _ if let Some((c, value)) = ByExporter::of(formula) => {
                        if !by_exporter(c) {
                            return None;
                        }
                        FlowValue::ByExporter(c, value)
                    }
                    Formula::Creation(c) => FlowValue::Creation(c),
                    Formula::Diversion(c) => FlowValue::Diversion(c),
                    _ => return None,
                };
                creation |= matches!(value, FlowValue::Creation(_) | FlowValue::Diversion(_));
                Some((slot, value))
            })
            .collect::<Option<Vec<_>>>()?;
        // Creation and diversion are the PE engine's.
        if creation && self.engine != EngineKind::Pe {
            return None;
        }
        let market_cells = creation.then(|| {
            let markets = &model.structure.markets;
            markets
                .iter()
                .map(|m| [m.importer * w + m.sector, m.importer * w + ns])
                .collect()
        });
        Some(FlowKernel {
            pairs: n * n,
            cells: n * w,
            entry_pair: self.entry_pair.clone(),
            entry_out: self.entry_out.clone(),
            market_cells,
            outputs,
        })
    }

    /// Sums only the aggregates the `wanted` series read, then evaluates each of those
    /// series' formulas: the same arithmetic as [`Plan::walk`], without going past the
    /// series that are not wanted.
    fn write_wanted(
        &self,
        model: &Model,
        state: &YearState<'_>,
        scratch: &mut Scratch,
        out: &mut [f64],
        wanted: &Wanted,
    ) {
        self.aggregate(model, state, scratch, wanted.needs);
        let ctx = Ctx {
            flows: state.flows,
            sc: scratch,
            ge: state.ge,
            model,
            plan: self,
        };
        for &k in &wanted.list {
            out[k] = self.formulas[k].value(&ctx).0;
        }
    }

    /// The series that `key` equals in every run and year by construction, if any: a
    /// region's share of its imports from a bloc whose one member is another region is
    /// its import share from that region. The bloc's imports add up that region's
    /// imports from 0, which gives them exactly, so both divide the same numbers. That
    /// holds while no flow is −0 (0 + (−0) is +0): the flows are products of the
    /// base-year values and positive factors, and so are never −0 when no base value is.
    /// The twin may not be one of the plan's series.
    pub(crate) fn twin_of(&self, key: &SeriesKey) -> Option<SeriesKey> {
        let (Metric::BlocImportShare, Partner::Bloc(b)) = (key.metric, key.partner) else {
            return None;
        };
        let mut members =
            (0..self.region_blocs.len()).filter(|&r| self.region_blocs[r].contains(&b));
        let (Some(only), None) = (members.next(), members.next()) else {
            return None;
        };
        (only != key.region && self.no_negative_zero).then_some(SeriesKey {
            metric: Metric::ImportShare,
            partner: Partner::Region(only),
            ..*key
        })
    }

    /// The series (index into `keys`) whose reciprocal series `index` is in every run, if
    /// any: the effective number of suppliers or markets is 1 / its HHI, computed from
    /// the same HHI value.
    pub(crate) fn reciprocal_of(&self, index: usize) -> Option<usize> {
        let key = self.keys[index];
        let metric = match key.metric {
            Metric::EffectiveSuppliers => Metric::SupplierHhi,
            Metric::EffectiveMarkets => Metric::MarketHhi,
            _ => return None,
        };
        // Both blocks list the same regions and sectors in the same order.
        let at = index - self.blocks[key.metric as usize].start;
        let hhi = self.blocks[metric as usize].start + at;
        (self.keys.get(hhi) == Some(&SeriesKey { metric, ..key })).then_some(hhi)
    }

    /// The metrics of the given series, as a mask for [`Plan::evaluate_metrics`].
    pub fn mask_of(&self, series: &[usize]) -> MetricMask {
        MetricMask(
            series
                .iter()
                .fold(0, |m, &i| m | (1 << self.keys[i].metric as u32)),
        )
    }

    /// Emits `metric` for every region and sector (and `all`) whose structural flag is set.
    fn emit_cells<E: Emit>(
        &self,
        emit: &mut E,
        ctx: &Ctx<'_>,
        metric: Metric,
        partner: Partner,
        flags: &[bool],
        formula: impl Fn(usize, usize) -> Formula,
    ) {
        if !emit.wants(metric) {
            return;
        }
        let w = self.sectors + 1;
        for region in 0..self.regions {
            let row = &flags[region * w..(region + 1) * w];
            if emit.skip_span(row.iter().filter(|&&f| f).count()) {
                continue;
            }
            for (k, sector) in self.sels() {
                if flags[region * w + k] && !emit.skip() {
                    let key = SeriesKey {
                        metric,
                        region,
                        partner,
                        sector,
                    };
                    emit.emit(key, formula(region, k), ctx);
                }
            }
        }
    }

    fn sels(&self) -> impl Iterator<Item = (usize, SectorSel)> + use<> {
        let ns = self.sectors;
        (0..=ns).map(move |k| {
            (
                k,
                if k == ns {
                    SectorSel::All
                } else {
                    SectorSel::One(k)
                },
            )
        })
    }

    #[allow(clippy::too_many_lines)]
    /// Sums the year's flows of `state` into the aggregates of `sc` that the series of
    /// `needs` read. The aggregates no such series reads stay 0.
    fn aggregate(&self, model: &Model, state: &YearState<'_>, sc: &mut Scratch, needs: Needs) {
        let st = &model.structure;
        let (n, ns) = (self.regions, self.sectors);
        let w = ns + 1;
        let x = state.flows;
        let cells = n * w;
        // One slot more than the cells: the sums by exporter of foreign flows put the
        // domestic ones there, and no series reads it.
        for v in [
            &mut sc.imports,
            &mut sc.exports,
            &mut sc.total,
            &mut sc.domestic,
            &mut sc.ssq_sup,
            &mut sc.ssq_mkt,
        ] {
            v.clear();
            v.resize(cells + 1, 0.0);
        }
        sc.top.clear();
        sc.top.resize(cells, (f64::NEG_INFINITY, usize::MAX));
        sc.bloc_imports.clear();
        sc.bloc_imports.resize(self.blocs * cells, 0.0);
        sc.all.clear();
        sc.all.resize(n * n, 0.0);
        use Metric as M;
        let (one, every) = (needs.one, needs.all);
        // Per-sector aggregates for the per-sector series wanted; the all-sector ones
        // from the pair matrix, for the all-sector series wanted.
        let need_imports = one.any(&[
            M::Imports,
            M::SupplierHhi,
            M::EffectiveSuppliers,
            M::TopSupplierShare,
            M::ImportShare,
            M::BlocImportShare,
        ]);
        let need_exports = one.any(&[M::Exports, M::MarketHhi, M::EffectiveMarkets]);
        let need_ssq_sup = one.any(&[M::SupplierHhi, M::EffectiveSuppliers]);
        let need_ssq_mkt = one.any(&[M::MarketHhi, M::EffectiveMarkets]);
        let need_top = one.contains(M::TopSupplierShare);
        let all_blocs = every.contains(M::BlocImportShare) && self.blocs > 0;
        let sector_blocs = one.contains(M::BlocImportShare) && self.blocs > 0;
        let need_self = one.contains(M::SelfSufficiency);
        // The pair matrix, for every all-sector series but creation and diversion; and
        // the all-sector sums over it, for every one but those and the flows themselves.
        let need_pairs = every.0 & !MetricMask::of(&[M::Creation, M::Diversion]).0 != 0;
        let need_over_pairs = every.0
            & !MetricMask::of(&[
                M::Flow,
                M::Creation,
                M::Diversion,
                M::TradeHhi,
                M::BlocTradeShare,
            ])
            .0
            != 0;
        // Slices, not the vectors: their addresses and lengths stay in registers while
        // values are stored through them.
        let all = sc.all.as_mut_slice();
        let (imports, exports) = (sc.imports.as_mut_slice(), sc.exports.as_mut_slice());
        let (total, domestic) = (sc.total.as_mut_slice(), sc.domestic.as_mut_slice());
        let (ssq_sup, ssq_mkt) = (sc.ssq_sup.as_mut_slice(), sc.ssq_mkt.as_mut_slice());
        let (top, bloc_imports) = (sc.top.as_mut_slice(), sc.bloc_imports.as_mut_slice());
        // The sums by exporter, each over the entries in their order, which is the
        // markets' order (each market's entries are contiguous, in market order).
        if need_pairs && need_exports && need_ssq_mkt {
            // All three in one pass, as the series held for every run need them.
            let by = self.entry_pair.iter().zip(&self.entry_out);
            for (&v, (&pair, &out)) in x.iter().zip(by) {
                all[pair] += v;
                exports[out] += v;
                ssq_mkt[out] += v * v;
            }
        } else {
            if need_pairs {
                for (&v, &at) in x.iter().zip(&self.entry_pair) {
                    all[at] += v;
                }
            }
            if need_exports {
                for (&v, &at) in x.iter().zip(&self.entry_out) {
                    exports[at] += v;
                }
            }
            if need_ssq_mkt {
                for (&v, &at) in x.iter().zip(&self.entry_out) {
                    ssq_mkt[at] += v * v;
                }
            }
        }
        let by_market = need_top || sector_blocs || need_self || need_imports || need_ssq_sup;
        for market in st.markets.iter().filter(|_| by_market) {
            let (j, k) = (market.importer, market.sector);
            let values = &x[market.entries.clone()];
            let from = &self.entry_from[market.entries.clone()];
            let at = j * w + k;
            if sector_blocs {
                for (&v, &i) in values.iter().zip(from).filter(|&(_, &i)| i != j) {
                    for &b in &self.region_blocs[i] {
                        bloc_imports[(b * n + j) * w + k] += v;
                    }
                }
            }
            if need_top {
                let mut first = (f64::NEG_INFINITY, usize::MAX);
                for (&v, &i) in values.iter().zip(from).filter(|&(_, &i)| i != j) {
                    if v > first.0 {
                        first = (v, i);
                    }
                }
                top[at] = first;
            }
            if need_self || need_imports || need_ssq_sup {
                let (sum, own, foreign, ssq) = market_sums(values, from, j);
                if need_self {
                    total[at] = sum;
                    domestic[at] = own;
                }
                if need_imports {
                    imports[at] = foreign;
                }
                if need_ssq_sup {
                    ssq_sup[at] = ssq;
                }
            }
        }
        // All-sector aggregates from the pair matrix.
        for i in (0..n).filter(|_| need_over_pairs) {
            for j in 0..n {
                let v = all[i * n + j];
                total[j * w + ns] += v;
                if i == j {
                    domestic[j * w + ns] += v;
                } else if self.pair_all[i * n + j] {
                    imports[j * w + ns] += v;
                    exports[i * w + ns] += v;
                    ssq_sup[j * w + ns] += v * v;
                    ssq_mkt[i * w + ns] += v * v;
                    if v > top[j * w + ns].0 {
                        top[j * w + ns] = (v, i);
                    }
                    if all_blocs {
                        for &b in &self.region_blocs[i] {
                            bloc_imports[(b * n + j) * w + ns] += v;
                        }
                    }
                }
            }
        }
        if every.any(&[M::TradeHhi, M::BlocTradeShare]) {
            sc.trade.clear();
            sc.trade.extend((0..n).map(|r| trade_of(&sc.all, n, r)));
        }
        if self.engine == EngineKind::Pe
            && MetricMask(one.0 | every.0).any(&[M::Creation, M::Diversion])
        {
            sc.creation.clear();
            sc.creation.resize(cells, 0.0);
            sc.diversion.clear();
            sc.diversion.resize(cells, 0.0);
            if let Some(pe) = &state.pe {
                for (m, market) in st.markets.iter().enumerate() {
                    for k in [market.sector, ns] {
                        sc.creation[market.importer * w + k] += pe.creation[m];
                        sc.diversion[market.importer * w + k] += pe.diversion[m];
                    }
                }
            }
        }
    }

    /// Emits the year's series to `emit`, from the flows of `state`.
    #[allow(clippy::too_many_lines)]
    fn walk<E: Emit>(&self, model: &Model, state: &YearState<'_>, sc: &mut Scratch, emit: &mut E) {
        let needs = Needs::of(emit.mask(), emit.sectors());
        self.aggregate(model, state, sc, needs);
        let st = &model.structure;
        let (n, ns) = (self.regions, self.sectors);
        let w = ns + 1;
        let ctx = &Ctx {
            flows: state.flows,
            sc,
            ge: state.ge,
            model,
            plan: self,
        };
        let key = |metric, region, partner, sector| SeriesKey {
            metric,
            region,
            partner,
            sector,
        };

        // flow
        if emit.wants(Metric::Flow) {
            for (k, sel) in self.sels() {
                if let SectorSel::One(_) = sel {
                    if emit.skip_span(self.sector_entries[k].len()) {
                        continue;
                    }
                    for e in self.sector_entries[k].clone() {
                        if emit.skip() {
                            continue;
                        }
                        let entry = &st.entries[e];
                        emit.emit(
                            key(Metric::Flow, entry.from, Partner::Region(entry.to), sel),
                            Formula::Entry(e),
                            ctx,
                        );
                    }
                } else if !emit.skip_span(self.pairs.len()) {
                    for i in 0..n {
                        for j in 0..n {
                            if self.pair_all[i * n + j] && !emit.skip() {
                                emit.emit(
                                    key(Metric::Flow, i, Partner::Region(j), sel),
                                    Formula::Pair(i * n + j),
                                    ctx,
                                );
                            }
                        }
                    }
                }
            }
        }

        // A closure per metric, so that each call knows its kind of formula.
        macro_rules! cells {
            ($emit:expr, $metric:expr, $partner:expr, $flags:expr, $formula:path $(,)?) => {
                self.emit_cells($emit, ctx, $metric, $partner, $flags, |r, k| {
                    $formula(r * w + k)
                })
            };
        }
        cells!(
            emit,
            Metric::Imports,
            Partner::None,
            &self.has_market,
            Formula::Imports,
        );
        cells!(
            emit,
            Metric::Exports,
            Partner::None,
            &self.has_exports_any,
            Formula::Exports,
        );
        cells!(
            emit,
            Metric::SupplierHhi,
            Partner::None,
            &self.has_foreign_supplier,
            Formula::SupplierHhi,
        );
        cells!(
            emit,
            Metric::EffectiveSuppliers,
            Partner::None,
            &self.has_foreign_supplier,
            Formula::EffectiveSuppliers,
        );
        cells!(
            emit,
            Metric::TopSupplierShare,
            Partner::Top,
            &self.has_foreign_supplier,
            Formula::TopSupplierShare,
        );

        // import_share, per foreign entry and per all-sector pair.
        if emit.wants(Metric::ImportShare) {
            for (k, sel) in self.sels() {
                if emit.skip_span(self.import_shares[k]) {
                    continue;
                }
                if let SectorSel::One(_) = sel {
                    for e in self.sector_entries[k].clone() {
                        let entry = &st.entries[e];
                        if entry.from == entry.to || emit.skip() {
                            continue;
                        }
                        emit.emit(
                            key(
                                Metric::ImportShare,
                                entry.to,
                                Partner::Region(entry.from),
                                sel,
                            ),
                            Formula::EntryShare(e, entry.to * w + k),
                            ctx,
                        );
                    }
                } else {
                    for j in 0..n {
                        for i in (0..n).filter(|&i| i != j && self.pair_all[i * n + j]) {
                            if emit.skip() {
                                continue;
                            }
                            emit.emit(
                                key(Metric::ImportShare, j, Partner::Region(i), sel),
                                Formula::PairShare(i * n + j, j * w + ns),
                                ctx,
                            );
                        }
                    }
                }
            }
        }

        cells!(
            emit,
            Metric::MarketHhi,
            Partner::None,
            &self.has_foreign_market,
            Formula::MarketHhi,
        );
        cells!(
            emit,
            Metric::EffectiveMarkets,
            Partner::None,
            &self.has_foreign_market,
            Formula::EffectiveMarkets,
        );

        // trade_hhi and bloc_trade_share: partners by exports + imports, all sectors.
        let has_partner = |r: usize| {
            (0..n).any(|p| p != r && (self.pair_all[r * n + p] || self.pair_all[p * n + r]))
        };
        if emit.wants(Metric::TradeHhi) {
            for r in 0..n {
                if has_partner(r) && !emit.skip() {
                    emit.emit(
                        key(Metric::TradeHhi, r, Partner::None, SectorSel::All),
                        Formula::TradeHhi(r),
                        ctx,
                    );
                }
            }
        }

        if emit.wants(Metric::BlocImportShare) {
            for j in 0..n {
                let row = &self.has_foreign_supplier[j * w..(j + 1) * w];
                if emit.skip_span(self.blocs * row.iter().filter(|&&f| f).count()) {
                    continue;
                }
                for b in 0..self.blocs {
                    for (k, sel) in self.sels() {
                        if self.has_foreign_supplier[j * w + k] && !emit.skip() {
                            emit.emit(
                                key(Metric::BlocImportShare, j, Partner::Bloc(b), sel),
                                Formula::BlocImportShare((b * n + j) * w + k, j * w + k),
                                ctx,
                            );
                        }
                    }
                }
            }
        }

        if emit.wants(Metric::BlocTradeShare) {
            for r in (0..n).filter(|&r| has_partner(r)) {
                for b in 0..self.blocs {
                    if !emit.skip() {
                        emit.emit(
                            key(Metric::BlocTradeShare, r, Partner::Bloc(b), SectorSel::All),
                            Formula::BlocTradeShare(r, b),
                            ctx,
                        );
                    }
                }
            }
        }

        cells!(
            emit,
            Metric::SelfSufficiency,
            Partner::None,
            &self.has_domestic,
            Formula::SelfSufficiency,
        );
        if self.engine == EngineKind::Pe {
            cells!(
                emit,
                Metric::Creation,
                Partner::None,
                &self.has_foreign_supplier,
                Formula::Creation,
            );
            cells!(
                emit,
                Metric::Diversion,
                Partner::None,
                &self.has_foreign_supplier,
                Formula::Diversion,
            );
        }
        if self.engine == EngineKind::Ge {
            for (metric, formula) in [
                (Metric::Welfare, Formula::Welfare as fn(usize) -> Formula),
                (Metric::Wage, Formula::Wage),
                (Metric::RealWage, Formula::RealWage),
            ] {
                if !emit.wants(metric) {
                    continue;
                }
                for j in (0..n).filter(|&j| self.has_market[j * w + ns]) {
                    emit.emit(
                        key(metric, j, Partner::None, SectorSel::All),
                        formula(j),
                        ctx,
                    );
                }
            }
            let want_price = emit.wants(Metric::PriceIndex);
            for j in (0..n).filter(|_| want_price) {
                for k in (0..ns).filter(|&k| self.has_market[j * w + k]) {
                    emit.emit(
                        key(Metric::PriceIndex, j, Partner::None, SectorSel::One(k)),
                        Formula::PriceIndex(j * ns + k),
                        ctx,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Draw;

    /// The model of a bundled scenario, in the PE engine, and its plan.
    pub(crate) fn bundled(name: &str) -> (Model, Plan) {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name);
        let (scenario, _, _) = crate::scenario::load(&file)
            .into_result()
            .expect("bundled scenario loads");
        let model = Model::new(&scenario, EngineKind::Pe).expect("model");
        let plan = Plan::new(&model);
        (model, plan)
    }

    #[test]
    fn a_share_from_a_bloc_of_one_other_region_is_the_import_share_from_it() {
        let (model, plan) = bundled("pak-rus-mous-2024.toml");
        let s = &model.scenario;
        let region = |id: &str| s.regions.iter().position(|r| r.id == id).expect("region");
        let bloc = |id: &str| s.blocs.iter().position(|b| b.id == id).expect("bloc");
        let share = |from: &str, to: &str, sector: SectorSel| SeriesKey {
            metric: Metric::BlocImportShare,
            region: region(to),
            partner: Partner::Bloc(bloc(from)),
            sector,
        };
        let import_share = |from: &str, to: &str, sector: SectorSel| SeriesKey {
            metric: Metric::ImportShare,
            region: region(to),
            partner: Partner::Region(region(from)),
            sector,
        };
        for sector in [SectorSel::All, SectorSel::One(0)] {
            assert_eq!(
                plan.twin_of(&share("china", "PAK", sector)),
                Some(import_share("CHN", "PAK", sector))
            );
        }
        assert_eq!(
            plan.twin_of(&share("russia", "PAK", SectorSel::All)),
            Some(import_share("RUS", "PAK", SectorSel::All))
        );
        // Three members, or the importer itself as the only member: no twin.
        assert_eq!(plan.twin_of(&share("west", "PAK", SectorSel::All)), None);
        assert_eq!(plan.twin_of(&share("russia", "RUS", SectorSel::All)), None);
        // Nor for any other metric.
        let other = SeriesKey {
            metric: Metric::BlocTradeShare,
            ..share("china", "PAK", SectorSel::All)
        };
        assert_eq!(plan.twin_of(&other), None);
        // With a base-year value of −0, a flow can be −0, and 0 + (−0) is +0: no twins.
        let mut signed = Model::new(s, EngineKind::Pe).expect("model");
        signed.structure.entries[0].value = -0.0;
        let signed = Plan::new(&signed);
        assert_eq!(signed.twin_of(&share("china", "PAK", SectorSel::All)), None);
    }

    /// Sets of series as the summaries ask for them: each metric alone, per sector and
    /// over all sectors; the series held for every run of the flagship; and sets drawn
    /// at random.
    fn subsets(plan: &Plan) -> Vec<Vec<usize>> {
        let mut sets = Vec::new();
        for metric in Metric::ALL {
            for all in [false, true] {
                sets.push(
                    (0..plan.keys.len())
                        .filter(|&i| {
                            plan.keys[i].metric == metric
                                && (plan.keys[i].sector == SectorSel::All) == all
                        })
                        .collect(),
                );
            }
        }
        sets.push(
            (0..plan.keys.len())
                .filter(|&i| {
                    let k = plan.keys[i];
                    match k.sector {
                        SectorSel::All => {
                            matches!(
                                k.metric,
                                Metric::Flow | Metric::Creation | Metric::Diversion
                            )
                        }
                        SectorSel::One(_) => {
                            matches!(k.metric, Metric::Exports | Metric::MarketHhi)
                        }
                    }
                })
                .collect(),
        );
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for size in [1, 2, 3, 5, 8, 13, 40, 200] {
            for _ in 0..6 {
                let set = (0..size)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        usize::try_from(state % plan.keys.len() as u64).expect("fits")
                    })
                    .collect();
                sets.push(set);
            }
        }
        sets.retain(|s: &Vec<usize>| !s.is_empty());
        sets
    }

    #[test]
    fn runs_side_by_side_get_the_pair_kernels_values_run_by_run_bit_for_bit() {
        for name in ["pak-rus-mous-2024.toml", "tutorial-three-regions.toml"] {
            let (model, plan) = bundled(name);
            let from_pairs: Vec<usize> = (0..plan.keys.len())
                .filter(|&i| plan.follows_from_pairs(&plan.keys[i]))
                .collect();
            let kernel = plan.pair_kernel(&model, &from_pairs).expect("kernel");
            // Pair totals of simulated years, and of totals no year has: none at all, one
            // pair without trade, and totals whose squares leave f64's range.
            let mut samples: Vec<Vec<f64>> = Vec::new();
            let mut every = vec![f64::NAN; plan.keys.len()];
            let mut scratch = Scratch::default();
            for run in 0..3 {
                let draw = Draw::monte_carlo(&model.scenario, &model.events, 9, run);
                model
                    .simulate(&draw, &mut |state| {
                        plan.evaluate(&model, state, &mut scratch, &mut every, None);
                        samples.push(plan.pair_series().iter().map(|&k| every[k]).collect());
                    })
                    .expect("simulates");
            }
            let first = samples[0].clone();
            samples.push(vec![0.0; first.len()]);
            samples.push(
                first
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| if k == 1 { 0.0 } else { v })
                    .collect(),
            );
            samples.push(first.iter().map(|&v| v * 1e200).collect());
            samples.push(first.iter().map(|&v| v * 1e-200).collect());
            let lane_of = |l: usize| &samples[(l * 7) % samples.len()];
            let mut pairs = vec![[0.0; LANES]; first.len()];
            for (k, lanes) in pairs.iter_mut().enumerate() {
                for (l, lane) in lanes.iter_mut().enumerate() {
                    *lane = lane_of(l)[k];
                }
            }
            let mut out = vec![[f64::NAN; LANES]; from_pairs.len()];
            kernel.evaluate_lanes(&pairs, &mut PairLanes::default(), &mut out);
            let mut pair_scratch = PairScratch::default();
            let alone: Vec<Vec<f64>> = (0..LANES)
                .map(|l| {
                    let mut one = vec![f64::NAN; from_pairs.len()];
                    kernel.evaluate(lane_of(l), &mut pair_scratch, &mut one);
                    one
                })
                .collect();
            for (d, lanes) in out.iter().enumerate() {
                for (l, (&got, want)) in lanes.iter().zip(&alone).enumerate() {
                    assert_eq!(
                        got.to_bits(),
                        want[d].to_bits(),
                        "{name} lane {l} {:?}: {got} side by side, {} alone",
                        plan.keys[from_pairs[d]],
                        want[d]
                    );
                }
            }
        }
    }

    #[test]
    fn wanted_series_alone_have_the_values_of_every_series_bit_for_bit() {
        for name in [
            "pak-rus-mous-2024.toml",
            "pak-rus-sanctions-friction.toml",
            "pak-us-tariff-shock.toml",
            "tutorial-three-regions.toml",
        ] {
            let (model, plan) = bundled(name);
            let sets = subsets(&plan);
            let wanted: Vec<Wanted> = sets.iter().map(|s| plan.wanted(s)).collect();
            let from_pairs: Vec<usize> = (0..plan.keys.len())
                .filter(|&i| plan.follows_from_pairs(&plan.keys[i]))
                .collect();
            let kernel = plan
                .pair_kernel(&model, &from_pairs)
                .expect("every series that follows from the pairs has a kernel");
            let mut pair_scratch = PairScratch::default();
            let mut derived = vec![f64::NAN; from_pairs.len()];
            // Every series a flow kernel takes, in one kernel.
            let by_flows: Vec<usize> = (0..plan.keys.len())
                .filter(|&i| plan.flow_kernel(&model, &[i]).is_some())
                .collect();
            assert!(by_flows.len() > 10, "{name}: {} series", by_flows.len());
            let flow_kernel = plan
                .flow_kernel(&model, &by_flows)
                .expect("the series a kernel takes one by one it takes together");
            let mut flow_scratch = FlowScratch::default();
            let mut held = vec![f64::NAN; by_flows.len()];
            let mut checked = 0;
            for run in 0..3 {
                let draw = Draw::monte_carlo(&model.scenario, &model.events, 5, run);
                let mut scratch = Scratch::default();
                let mut every = vec![f64::NAN; plan.keys.len()];
                let mut some = vec![f64::NAN; plan.keys.len()];
                // Series `i` in `some` (evaluated `how`) and in `every`, bit for bit.
                let same = |some: &[f64], every: &[f64], i: usize, year: i32, how: &str| {
                    assert!(
                        some[i].to_bits() == every[i].to_bits(),
                        "{name} year {year} {:?}: {} {how}, {} with every series",
                        plan.keys[i],
                        some[i],
                        every[i]
                    );
                };
                model
                    .simulate(&draw, &mut |state| {
                        plan.evaluate(&model, state, &mut scratch, &mut every, None);
                        for (set, wanted) in sets.iter().zip(&wanted) {
                            some.fill(f64::NAN);
                            plan.evaluate_wanted(&model, state, &mut scratch, &mut some, wanted);
                            for &i in set {
                                same(&some, &every, i, state.year, "alone");
                                checked += 1;
                            }
                        }
                        let pairs: Vec<f64> =
                            plan.pair_series().iter().map(|&k| every[k]).collect();
                        some.fill(f64::NAN);
                        derived.fill(f64::NAN);
                        kernel.evaluate(&pairs, &mut pair_scratch, &mut derived);
                        for (&i, &v) in from_pairs.iter().zip(&derived) {
                            some[i] = v;
                            same(&some, &every, i, state.year, "from the pair totals");
                        }
                        held.fill(f64::NAN);
                        flow_kernel.evaluate(state, &mut flow_scratch, &mut held);
                        for (&i, &v) in by_flows.iter().zip(&held) {
                            some[i] = v;
                            same(&some, &every, i, state.year, "by the flow kernel");
                        }
                    })
                    .expect("simulates");
            }
            assert!(checked > 1000, "{name}: {checked}");
        }
    }
}
