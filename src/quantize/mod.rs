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
//! `MaxPooling2D`, `AveragePooling2D`, `Flatten`, `Reshape` and `Dropout` between them, which
//! keep their input's scale and zero point. [`reference`](mod@reference) runs a quantized model with plain
//! integer loops, to measure its accuracy on the host and to check faster int8 code against.

mod calibrate;
mod file;
mod quantized;
pub mod reference;
mod scheme;

pub use file::FORMAT;
pub use quantized::{Quantized, QuantizedLayer, Weighted};
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
    relu or relu6 (softmax on the last layer only), and MaxPooling2D, AveragePooling2D, \
    Flatten, Reshape and Dropout between them";

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
    let mut layers = Vec::new();
    let mut current = input;
    for l in ranges
        .layers
        .iter()
        .filter(|l| l.role != QuantRole::PassThrough)
    {
        let layer = quantize_layer(l, current, &mut params)?;
        current = layer.output;
        layers.push(layer);
    }
    Ok(Quantized {
        input_shape: M::INPUT_SHAPE.to_vec(),
        input,
        layers,
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

/// Refuses, naming the first offending layer, anything the int8 scheme here cannot run.
fn check_supported(layers: &[LayerRange]) -> Result<(), Error> {
    let last = layers.last().map_or(0, |l| l.position);
    for l in layers {
        let problem: String = match l.role {
            QuantRole::Unsupported => "is not supported".into(),
            QuantRole::PassThrough => continue,
            QuantRole::Conv2D | QuantRole::Dense => {
                if l.activation == "softmax" && l.position != last {
                    "has softmax before the last layer".into()
                } else if !matches!(l.activation, "linear" | "relu" | "relu6" | "softmax") {
                    format!("has activation `{}`", l.activation)
                } else {
                    continue;
                }
            }
        };
        return Err(Error::InvalidArgument(format!(
            "quantize: layer {} `{}` ({}) {problem}; {SUPPORTED}",
            l.position, l.name, l.class
        )));
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
