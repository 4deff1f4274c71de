//! Analysis over the engines: which event matters (Shapley contributions), how sensitive
//! an output is to each parameter (one at a time), and batch sweeps over parameters.

pub mod sensitivity;
pub mod shapley;
pub mod sweep;

use crate::metrics::{Plan, Scratch};
use crate::model::{Draw, Model, ModelError};

/// The value of one series in one year on the path with only the events in `coalition`
/// (indices into `model.events.list`) switched on; disabled events stay off.
pub fn path_value_with(
    model: &Model,
    plan: &Plan,
    series: usize,
    t: usize,
    coalition: &[bool],
    scratch: &mut Scratch,
    values: &mut [f64],
) -> Result<f64, ModelError> {
    let mut draw = Draw::as_written(&model.events);
    for (on, &member) in draw.implemented.iter_mut().zip(coalition) {
        *on = *on && member;
    }
    let mask = plan.mask_of(&[series]);
    let mut out = f64::NAN;
    model.simulate(&draw, &mut |state| {
        if state.t == t {
            plan.evaluate_metrics(model, state, scratch, values, None, mask);
            out = values[series];
        }
    })?;
    Ok(out)
}
