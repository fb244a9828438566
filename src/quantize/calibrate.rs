//! Calibration: the range of the input and of every layer's output over sample inputs.

use crate::core::bytemuck;
use crate::core::{Observe, Observed, QuantRole};
use crate::Error;

/// One layer as [`Observe::forward_observed`] shows it, with its output's range so far.
#[derive(Clone, Debug)]
pub(crate) struct LayerRange {
    pub position: usize,
    pub name: &'static str,
    pub class: &'static str,
    pub activation: &'static str,
    pub role: QuantRole,
    /// The values the layer reads (0: the model's input; see [`Observed::inputs`]).
    pub inputs: Vec<usize>,
    /// The value it writes.
    pub value: usize,
    pub min: f32,
    pub max: f32,
}

/// The ranges seen so far: the input's, then each layer's in order.
#[derive(Clone, Debug)]
pub(crate) struct Ranges {
    pub input_min: f32,
    pub input_max: f32,
    pub layers: Vec<LayerRange>,
}

impl Ranges {
    /// Runs sample 0, `x`, and records the layers it passes through with their ranges.
    pub fn first<M: Observe<Scalar = f32>>(model: &M, x: &M::Input) -> Result<Ranges, Error> {
        let (input_min, input_max) = finite_range(flat_input::<M>(x), 0, "the input")?;
        let mut layers = Vec::new();
        let mut error = None;
        model.forward_observed(x, &mut |o: Observed<'_, f32>| {
            let (min, max) = finite_range(o.output, 0, &describe(&o)).unwrap_or_else(|e| {
                error.get_or_insert(e);
                (0.0, 0.0)
            });
            layers.push(LayerRange {
                position: o.position,
                name: o.name,
                class: o.class,
                activation: o.activation,
                role: o.role,
                inputs: o.inputs.to_vec(),
                value: o.value,
                min,
                max,
            });
        });
        match error {
            Some(e) => Err(e),
            None => Ok(Ranges {
                input_min,
                input_max,
                layers,
            }),
        }
    }

    /// Widens every range to include what sample `index`, `x`, produces.
    pub fn add<M: Observe<Scalar = f32>>(
        &mut self,
        model: &M,
        x: &M::Input,
        index: usize,
    ) -> Result<(), Error> {
        let (lo, hi) = finite_range(flat_input::<M>(x), index, "the input")?;
        self.input_min = self.input_min.min(lo);
        self.input_max = self.input_max.max(hi);
        let mut layers = self.layers.iter_mut();
        let mut error = None;
        model.forward_observed(x, &mut |o: Observed<'_, f32>| {
            let l = layers.next().expect("every pass shows the same layers");
            match finite_range(o.output, index, &describe(&o)) {
                Ok((lo, hi)) => {
                    l.min = l.min.min(lo);
                    l.max = l.max.max(hi);
                }
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        });
        error.map_or(Ok(()), Err)
    }
}

fn describe(o: &Observed<'_, f32>) -> String {
    format!(
        "the output of layer {} `{}` ({})",
        o.position, o.name, o.class
    )
}

/// The input's values as one flat slice (inputs are `Pod` arrays of the scalar).
fn flat_input<M: Observe<Scalar = f32>>(x: &M::Input) -> &[f32] {
    bytemuck::cast_slice(core::slice::from_ref(x))
}

/// The smallest and largest of `xs`, or an error naming `what` if any value is NaN or infinite.
fn finite_range(xs: &[f32], index: usize, what: &str) -> Result<(f32, f32), Error> {
    if let Some(v) = xs.iter().find(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "quantize: calibration sample {index} makes {what} {v}; int8 ranges must be finite"
        )));
    }
    Ok(xs
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        }))
}
