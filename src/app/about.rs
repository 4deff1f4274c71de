//! "About the model": what Corridor computes, in words a student understands.

use crate::metrics::Metric;
use crate::scenario::params::Target;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Overview,
    Agreements,
    Shocks,
    Trade,
    MonteCarlo,
    Metrics,
    General,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Overview,
        Topic::Agreements,
        Topic::Shocks,
        Topic::Trade,
        Topic::MonteCarlo,
        Topic::Metrics,
        Topic::General,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Topic::Overview => "What a scenario is",
            Topic::Agreements => "Agreements and trade costs",
            Topic::Shocks => "Shocks",
            Topic::Trade => "How trade responds (PE engine)",
            Topic::MonteCarlo => "Uncertainty: paths and bands",
            Topic::Metrics => "Dependency metrics",
            Topic::General => "General equilibrium (GE engine)",
        }
    }

    /// The part that explains a parameter.
    pub fn of(target: &Target) -> Topic {
        match target {
            Target::Scenario { .. } => Topic::MonteCarlo,
            Target::Agreement { .. } => Topic::Agreements,
            Target::Shock { .. } => Topic::Shocks,
            Target::Sector { field, .. } if field == "volatility" => Topic::MonteCarlo,
            Target::Sector { .. } | Target::Growth { .. } | Target::Flow { .. } => Topic::Trade,
        }
    }

    fn body(self) -> &'static str {
        match self {
            Topic::Overview => {
                "A scenario file lists regions, sectors and the value of trade between them in a base year. \
                 It adds agreements (MoUs, trade deals) that make trade between some partners cheaper, and shocks \
                 (sanctions, tariffs, payment problems) that make it dearer. Corridor simulates trade year by year \
                 up to the horizon, and shows how much trade changes and how dependent each region is on a few suppliers.\n\n\
                 The year marked in the views (the chosen year) is where the summary table and the bar charts read their values."
            }
            Topic::Agreements => {
                "Every pair of trading partners faces a trade cost: fees, paperwork, freight, risk. An agreement cuts \
                 that cost between its parties, in the sectors it covers. A cost cut of 0.10 multiplies the cost by 0.90 \
                 once the agreement is fully in force.\n\n\
                 It starts acting in its start year, reaches full effect over the ramp years, and may come late: \
                 each Monte Carlo run draws a delay between the min and max you set. Most importantly it may never \
                 happen: each run implements it only with the probability you set. Past MoUs were often signed and \
                 never delivered, so probabilities well below 1 are realistic."
            }
            Topic::Shocks => {
                "A shock raises trade costs on some flows: a cost increase of 0.25 multiplies the trade cost by 1.25. \
                 Like agreements, shocks have a start, a ramp, a probability and a random delay; a shock can also end."
            }
            Topic::Trade => {
                "Each importer buys each sector's goods from several suppliers. When trade with one supplier gets \
                 cheaper, buyers shift towards it. How strongly depends on the substitution elasticity σ: \
                 a supplier whose cost falls by a factor φ sees its share grow roughly like φ^(1-σ), so with σ = 5 a 10 % \
                 cost cut raises the share by about half.\n\n\
                 Total spending on a sector grows with demand growth g each year, and responds to the average price \
                 with the demand elasticity ε. Imports that would not have happened without the agreements are \
                 trade creation; imports that moved away from suppliers losing share are trade diversion."
            }
            Topic::MonteCarlo => {
                "The solid line (path) is the scenario as written: every enabled agreement and shock happens, at its \
                 earliest start, with no random demand swings. Reality is uncertain, so Corridor also runs the \
                 scenario many times (Monte Carlo runs). In each run every agreement happens or not with its \
                 probability, gets a random delay, and demand gets random yearly shocks of size 'volatility'.\n\n\
                 The bands show the spread of the runs: the dark band holds the middle half of the runs (25th to 75th \
                 percentile), the light band 90 % of them (5th to 95th). The dashed line is the median run. \
                 The same seed always gives the same runs, on every computer."
            }
            Topic::Metrics => {
                "Supplier HHI (Herfindahl index) adds up the squared import shares of all suppliers: 1 means one \
                 supplier has everything, 0.25 is like four equal suppliers. The effective number of suppliers is \
                 1 / HHI, the number of equal suppliers that would give the same concentration; a higher number \
                 means less dependence. Partner and bloc shares tell who the region buys from or trades with. \
                 Creation and diversion are explained under how trade responds."
            }
            Topic::General => {
                "The GE engine asks a different question: if trade costs were as in a given year, how would the whole \
                 world economy adjust? Wages and prices change in every region until each region's sales equal \
                 what others spend on its goods (market clearing). It needs domestic sales in the data and σ > 1.\n\n\
                 Welfare is the change in real spending power (1.02 = 2 % better off); the real wage is the wage \
                 divided by the consumer price index; the price index is the change in the cost of the region's \
                 purchases. The solver iterates until the flows stop changing; its iterations and the last change \
                 (the residual) are shown when you hover over a GE column's convergence note. GE has no demand growth: \
                 each year is compared with the base year."
            }
        }
    }
}

#[derive(Default)]
pub struct AboutPanel {
    open: bool,
    focus: Option<Topic>,
}

impl AboutPanel {
    pub fn show(&mut self, topic: Topic) {
        self.open = true;
        self.focus = Some(topic);
    }

    pub fn window_ui(&mut self, ctx: &egui::Context) {
        let focus = self.focus.take();
        egui::Window::new("About the model")
            .open(&mut self.open)
            .default_width(520.0)
            .default_height(560.0)
            .vscroll(true)
            .show(ctx, |ui| {
                for topic in Topic::ALL {
                    let header = egui::CollapsingHeader::new(topic.title())
                        .default_open(topic == Topic::Overview);
                    let header = match focus {
                        Some(f) => header.open(Some(f == topic)),
                        None => header,
                    };
                    let r = header.show(ui, |ui| {
                        ui.label(topic.body());
                        if topic == Topic::Metrics {
                            ui.add_space(4.0);
                            egui::Grid::new("metrics").striped(true).show(ui, |ui| {
                                for m in Metric::ALL {
                                    ui.monospace(m.name());
                                    ui.label(m.describe());
                                    ui.end_row();
                                }
                            });
                        }
                    });
                    if focus == Some(topic) {
                        r.header_response.scroll_to_me(Some(egui::Align::TOP));
                    }
                }
            });
    }
}
