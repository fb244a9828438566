//! Post-training int8 quantization in TFLite's scheme (the one TFLite Micro and CMSIS-NN run):
//! per-output-channel symmetric int8 weights, per-tensor asymmetric int8 activations calibrated
//! on sample inputs, int32 biases and accumulators, and fixed-point requantization
//! ([`kiln::core::quant`](crate::core::quant)).
//!
//! ```no_run
//! # use kiln::prelude::*;
//! # kiln::model! { struct Net: [28, 28, 1] => < Conv2D(8, 3, relu), MaxPool(2), Flatten, Dense(10, softmax) > }
//! # fn main() -> Result<(), kiln::Error> {
//! # let net = Net::init(1);
//! # let x_train = vec![[[[0f32; 1]; 28]; 28]; 100];
//! let q = kiln::quantize::quantize(&*net, &x_train[..100])?; // calibrate on 100 samples
//! println!("{q:?}");                                          // scales and zero points
//! q.save("net.int8.safetensors")?;                            // what `model!` embeds
//! # Ok(()) }
//! ```
//!
//! Supported: `Conv2D` and `Dense` with `linear`, `relu` or `relu6` (and `softmax` on the last
//! layer: the int8 model outputs its logits, which have the same argmax), with
//! `MaxPooling2D`, `AveragePooling2D`, the global pools, `Flatten`, `Reshape`, `Dropout` and
//! separate `Activation(relu)` / `relu6` layers between them, which keep their input's scale
//! and zero point; and in the functional form, one input and one output, the merges `Add`,
//! `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` and `Concatenate`, each with an
//! output scale of its own. A layer applied to two values (shared) is not supported yet. [`reference`](mod@reference) runs a quantized model with plain
//! integer loops, to measure its accuracy on the host and to check faster int8 code against.

mod calibrate;
mod file;
mod quantized;
pub mod reference;
mod scheme;

pub use file::FORMAT;
pub use quantized::{Quantized, QuantizedActivation, QuantizedLayer, QuantizedMerge, Weighted};
pub use scheme::{activation_range, effective_scale, quantize_bias, quantize_kernel, QuantParams};

use crate::core::kernels::{with_isa, Isa};
use crate::core::quant::quantize_multiplier;
use crate::core::{Observe, QuantRole};
use crate::Error;
use calibrate::{LayerRange, Ranges};
use std::collections::HashMap;
use std::path::Path;

/// What [`quantize`] supports, for error messages.
const SUPPORTED: &str = "int8 quantization supports Conv2D and Dense with activation linear, \
    relu or relu6 (softmax on the last layer only), MaxPooling2D, AveragePooling2D, the global \
    pools, Activation (relu, relu6), Flatten, Reshape, Dropout, and the merges Add, Subtract, \
    Multiply, Average, Maximum, Minimum and Concatenate";

/// Quantizes `model` to int8, calibrating every activation's range on `calibration` (a few
/// hundred to a thousand representative inputs; the whole slice is used, in order).
///
/// # Errors
/// [`Error::InvalidArgument`] if `calibration` is empty, if a layer is not supported (named,
/// with its position and what is), or if a calibration input makes any value non-finite.
pub fn quantize<M: Observe<Scalar = f32>>(
    model: &M,
    calibration: &[M::Input],
) -> Result<Quantized, Error> {
    let (first, rest) = calibration.split_first().ok_or_else(|| {
        Error::InvalidArgument("quantize: no calibration samples; give at least one".into())
    })?;
    // Calibrated on the portable kernels: SIMD paths sum in other orders, and a range that
    // moves by one ulp changes the file. This way the same weights and samples give the same
    // int8 file on every machine (and tests can check files byte for byte).
    let ranges = with_isa(Isa::Scalar, || {
        let mut ranges = Ranges::first(model, first)?;
        check_supported(&ranges.layers)?;
        for (i, x) in rest.iter().enumerate() {
            ranges.add(model, x, i + 1)?;
        }
        Ok::<_, Error>(ranges)
    })?;

    let mut params: HashMap<String, (Vec<usize>, Vec<f32>)> = HashMap::new();
    model.visit_params(None, &mut |p| {
        params.insert(p.name.to_string(), (p.shape.to_vec(), p.data.to_vec()));
    });

    let input = QuantParams::from_range(ranges.input_min, ranges.input_max);
    // Each value's quantization: the input's, then each layer's as it is made.
    let mut values = HashMap::from([(0, input)]);
    let (mut layers, mut merges, mut activations) = (Vec::new(), Vec::new(), Vec::new());
    for l in &ranges.layers {
        let ins: Vec<QuantParams> = l.inputs.iter().map(|v| values[v]).collect();
        let out = match l.role {
            QuantRole::PassThrough => ins[0],
            QuantRole::Conv2D | QuantRole::Dense => {
                let layer = quantize_layer(l, ins[0], &mut params)?;
                let out = layer.output;
                layers.push(layer);
                out
            }
            QuantRole::Activation => {
                let (activation_min, activation_max) =
                    activation_range(l.activation, ins[0]).expect("checked by check_supported");
                activations.push(QuantizedActivation {
                    position: l.position,
                    name: l.name.to_string(),
                    activation: l.activation.to_string(),
                    quant: ins[0],
                    activation_min,
                    activation_max,
                });
                ins[0]
            }
            QuantRole::Merge => {
                let merge = quantize_merge(l, ins)?;
                let out = merge.output;
                merges.push(merge);
                out
            }
            QuantRole::Unsupported => unreachable!("refused by check_supported"),
        };
        values.insert(l.value, out);
    }
    let output_quant = ranges.layers.last().map_or(input, |l| values[&l.value]);
    Ok(Quantized {
        input_shape: M::INPUT_SHAPE.to_vec(),
        input,
        layers,
        merges,
        activations,
        output_quant,
    })
}

impl Quantized {
    /// Writes the `kiln-int8` safetensors file that `model!` embeds (layout in the table of
    /// this module's `file.rs`: `input/scale`, `N/kernel`, `N/multiplier`, …).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        file::save(self, path.as_ref())
    }

    /// The bytes [`Quantized::save`] writes.
    pub fn to_bytes(&self) -> Vec<u8> {
        file::to_bytes(self)
    }
}

/// Refuses, naming the first offending layer, anything the int8 scheme here cannot run: an
/// unsupported layer or activation, a second input or output, a shared layer.
fn check_supported(layers: &[LayerRange]) -> Result<(), Error> {
    let last = layers.last().map_or(0, |l| l.value);
    let made = |v: usize| v == 0 || layers.iter().any(|l| l.value == v);
    for (i, l) in layers.iter().enumerate() {
        let refuse = |problem: &str| {
            Err(Error::InvalidArgument(format!(
                "quantize: layer {} `{}` ({}) {problem}",
                l.position, l.name, l.class
            )))
        };
        if let Some(v) = l.inputs.iter().find(|&&v| !made(v)) {
            return refuse(&format!(
                "reads input {v} of the model; int8 models have one input for now"
            ));
        }
        if layers[..i].iter().any(|e| e.name == l.name) {
            return refuse(
                "is applied to several values; an int8 layer has one input scale, so it cannot \
                 be shared yet: give each application its own layer",
            );
        }
        if l.value != last && !layers.iter().any(|r| r.inputs.contains(&l.value)) {
            return refuse("makes a second output; int8 models have one output for now");
        }
        let problem: String = match l.role {
            QuantRole::Unsupported => "is not supported".into(),
            QuantRole::PassThrough => continue,
            QuantRole::Merge => match (l.class, l.inputs.len()) {
                ("Multiply", n) if n > 3 => {
                    format!("multiplies {n} inputs; int8 Multiply takes at most three")
                }
                ("Add" | "Average", n) if n > crate::core::quant::MAX_SUM_INPUTS => {
                    format!("merges {n} inputs; int8 Add and Average take at most 16")
                }
                _ => continue,
            },
            QuantRole::Conv2D | QuantRole::Dense | QuantRole::Activation => {
                if l.activation == "softmax" && l.value != last {
                    "has softmax before the last layer".into()
                } else if !matches!(l.activation, "linear" | "relu" | "relu6" | "softmax") {
                    format!("has activation `{}`", l.activation)
                } else {
                    continue;
                }
            }
        };
        return refuse(&format!("{problem}; {SUPPORTED}"));
    }
    Ok(())
}

/// One Conv2D / Dense layer, its input quantized with `input`.
fn quantize_layer(
    l: &LayerRange,
    input: QuantParams,
    params: &mut HashMap<String, (Vec<usize>, Vec<f32>)>,
) -> Result<QuantizedLayer, Error> {
    let kind = if l.role == QuantRole::Conv2D {
        Weighted::Conv2D
    } else {
        Weighted::Dense
    };
    let (kernel_shape, kernel) = params
        .remove(&format!("{}/kernel", l.name))
        .expect("Conv2D and Dense layers have a `kernel` parameter");
    let channels = *kernel_shape.last().expect("kernels have rank >= 2");
    let bias = params
        .remove(&format!("{}/bias", l.name))
        .map_or_else(|| vec![0.0; channels], |(_, b)| b);

    let output = QuantParams::from_range(l.min, l.max);
    let (kernel, kernel_scale) = quantize_kernel(&kernel, channels);
    let bias = bias
        .iter()
        .zip(&kernel_scale)
        .map(|(&b, &s)| quantize_bias(b, input.scale, s))
        .collect();
    let mut multiplier = Vec::with_capacity(channels);
    let mut shift = Vec::with_capacity(channels);
    for &s in &kernel_scale {
        let real = effective_scale(input.scale, s, output.scale);
        if !real.is_finite() || real >= f64::from(1u32 << 30) {
            return Err(Error::InvalidArgument(format!(
                "quantize: layer {} `{}` ({}) needs a requantization factor of {real}, too \
                 large for int8 (its output range is almost empty)",
                l.position, l.name, l.class
            )));
        }
        let (m, sh) = quantize_multiplier(real);
        multiplier.push(m);
        shift.push(sh);
    }
    let (activation_min, activation_max) =
        activation_range(l.activation, output).expect("checked by check_supported");
    Ok(QuantizedLayer {
        position: l.position,
        name: l.name.to_string(),
        kind,
        activation: l.activation.to_string(),
        kernel_shape,
        kernel,
        bias,
        kernel_scale,
        multiplier,
        shift,
        input,
        output,
        activation_min,
        activation_max,
    })
}

/// One merge, its inputs quantized with `inputs`, its output calibrated: the multipliers of
/// [`QMerge`](crate::core::quant::QMerge)'s table.
fn quantize_merge(l: &LayerRange, inputs: Vec<QuantParams>) -> Result<QuantizedMerge, Error> {
    let output = QuantParams::from_range(l.min, l.max);
    let (s_out, n) = (f64::from(output.scale), inputs.len() as f64);
    let scales: Vec<f64> = inputs.iter().map(|p| f64::from(p.scale)).collect();
    let (input_reals, output_real): (Vec<f64>, f64) = match l.class {
        "Add" | "Subtract" | "Average" => {
            let twice_max = 2.0 * scales.iter().copied().fold(0.0, f64::max);
            let average = if l.class == "Average" { n } else { 1.0 };
            (
                scales.iter().map(|s| s / twice_max).collect(),
                twice_max / (f64::from(1u32 << crate::core::quant::LEFT_SHIFT) * s_out * average),
            )
        }
        "Multiply" => (
            vec![1.0; inputs.len()],
            scales.iter().product::<f64>() / s_out,
        ),
        _ => (scales.iter().map(|s| s / s_out).collect(), 1.0),
    };
    let multiplier = |real: f64| {
        // Below 2^-31 the multiplier would be 0; from 2^20 a rescaled int8 input could overflow.
        if real.is_finite() && (2f64.powi(-31)..2f64.powi(20)).contains(&real) {
            Ok(quantize_multiplier(real))
        } else {
            Err(Error::InvalidArgument(format!(
                "quantize: layer {} `{}` ({}) needs a requantization factor of {real}, outside \
                 what int8 can express (an input's or the output's range is almost empty)",
                l.position, l.name, l.class
            )))
        }
    };
    let (mut input_multiplier, mut input_shift) = (Vec::new(), Vec::new());
    for &real in &input_reals {
        let (m, s) = multiplier(real)?;
        input_multiplier.push(m);
        input_shift.push(s);
    }
    let (output_multiplier, output_shift) = multiplier(output_real)?;
    Ok(QuantizedMerge {
        position: l.position,
        name: l.name.to_string(),
        class: l.class.to_string(),
        inputs,
        input_multiplier,
        input_shift,
        output_multiplier,
        output_shift,
        output,
    })
}
