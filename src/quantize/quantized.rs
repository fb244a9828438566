//! [`Quantized`]: an int8 model's parameters, what [`super::quantize`] returns and
//! [`Quantized::save`] writes.

use super::scheme::QuantParams;
use std::fmt;

/// The layers that carry int8 weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weighted {
    /// Keras's `Conv2D`: kernel `[kh, kw, in, out]`.
    Conv2D,
    /// Keras's `Dense`: kernel `[in, out]`.
    Dense,
}

impl Weighted {
    /// Keras's class name.
    pub fn class(self) -> &'static str {
        match self {
            Weighted::Conv2D => "Conv2D",
            Weighted::Dense => "Dense",
        }
    }
}

/// One Conv2D or Dense layer in int8: `y = clamp(requantize(Σ (x − zp_in)·w + bias,
/// multiplier[c], shift[c]) + zp_out, activation_min, activation_max)`.
#[derive(Clone, PartialEq)]
pub struct QuantizedLayer {
    /// 1-based position in the model's layer list (pooling and flatten layers count).
    pub position: usize,
    /// The layer's Keras name, which prefixes its tensors in the file (`conv2d/kernel`).
    pub name: String,
    /// Conv2D or Dense.
    pub kind: Weighted,
    /// The fused activation of the f32 layer (`linear`, `relu`, `relu6`, or `softmax` for a
    /// last layer, whose int8 output is the logits).
    pub activation: String,
    /// The kernel's Keras shape: `[kh, kw, in, out]` or `[in, out]`.
    pub kernel_shape: Vec<usize>,
    /// The int8 kernel, row-major in `kernel_shape`, each value in `[-127, 127]`.
    pub kernel: Vec<i8>,
    /// The bias in the accumulator's scale `input.scale · kernel_scale[c]` (zeros without one).
    pub bias: Vec<i32>,
    /// Per output channel: the real value of one kernel step (`max|w| / 127`).
    pub kernel_scale: Vec<f32>,
    /// Per output channel: the Q31 mantissa of `input.scale · kernel_scale[c] / output.scale`.
    pub multiplier: Vec<i32>,
    /// Per output channel: its power-of-two exponent (TFLite's convention, left shift > 0).
    pub shift: Vec<i32>,
    /// The quantization of this layer's input (the previous weighted layer's output, or the
    /// model input's).
    pub input: QuantParams,
    /// The quantization of this layer's output (post-activation; logits for softmax).
    pub output: QuantParams,
    /// The lower end of the int8 clamp that applies the activation.
    pub activation_min: i32,
    /// The upper end of the int8 clamp.
    pub activation_max: i32,
}

impl QuantizedLayer {
    /// The number of output channels (the kernel's last axis).
    pub fn channels(&self) -> usize {
        *self.kernel_shape.last().expect("kernels have rank >= 2")
    }
}

/// A merge of a graph in int8 (`Add`, `Concatenate`, …): each input rescaled by its own
/// multiplier, the result by the output's (what each means per merge is in
/// [`kiln::core::quant::QMerge`](crate::core::quant::QMerge)).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedMerge {
    /// 1-based position in the model's layer list.
    pub position: usize,
    /// The layer's Keras name, which prefixes its tensors in the file (`add/output_scale`).
    pub name: String,
    /// Keras's class name: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` or
    /// `Concatenate`.
    pub class: String,
    /// The quantization of each input, in order.
    pub inputs: Vec<QuantParams>,
    /// Per input: the Q31 mantissa of its rescaling factor.
    pub input_multiplier: Vec<i32>,
    /// Per input: its power-of-two exponent.
    pub input_shift: Vec<i32>,
    /// The Q31 mantissa of the output's factor.
    pub output_multiplier: i32,
    /// Its exponent.
    pub output_shift: i32,
    /// The quantization of the output, calibrated.
    pub output: QuantParams,
}

/// A separate `Activation` layer in int8: a clamp on its input's grid, which its output keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedActivation {
    /// 1-based position in the model's layer list.
    pub position: usize,
    /// The layer's Keras name (`activation/activation_min` in the file).
    pub name: String,
    /// `relu`, `relu6`, `linear`, or `softmax` on the model's output (left out: logits).
    pub activation: String,
    /// The quantization of its input and output.
    pub quant: QuantParams,
    /// The lower end of the clamp.
    pub activation_min: i32,
    /// The upper end of the clamp.
    pub activation_max: i32,
}

/// A model's int8 parameters in the TFLite scheme: the input's quantization and every Conv2D /
/// Dense layer's int8 kernel, int32 bias, per-channel requantization and output quantization.
/// Pooling, flatten, reshape and dropout layers have none: they keep their input's.
#[derive(Clone, PartialEq)]
pub struct Quantized {
    /// The model's input shape (one sample).
    pub input_shape: Vec<usize>,
    /// The quantization of the model's input: `q = round(x / scale) + zero_point`.
    pub input: QuantParams,
    /// The Conv2D and Dense layers, in model order.
    pub layers: Vec<QuantizedLayer>,
    /// The merges of a graph, in model order (none in a Sequential model).
    pub merges: Vec<QuantizedMerge>,
    /// The separate `Activation` layers, in model order.
    pub activations: Vec<QuantizedActivation>,
    /// The quantization of the model's output (logits when the f32 model ends in softmax).
    pub output_quant: QuantParams,
}

impl Quantized {
    /// The weighted layer named `name`.
    pub fn layer(&self, name: &str) -> Option<&QuantizedLayer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// The merge named `name`.
    pub fn merge(&self, name: &str) -> Option<&QuantizedMerge> {
        self.merges.iter().find(|m| m.name == name)
    }

    /// The activation layer named `name`.
    pub fn activation(&self, name: &str) -> Option<&QuantizedActivation> {
        self.activations.iter().find(|a| a.name == name)
    }

    /// The quantization of the model's int8 output (logits when the f32 model ends in
    /// softmax).
    pub fn output(&self) -> QuantParams {
        self.output_quant
    }

    /// One f32 input sample (flattened, row-major) in int8.
    pub fn quantize_input(&self, x: &[f32]) -> Vec<i8> {
        x.iter().map(|&v| self.input.quantize(v)).collect()
    }

    /// An int8 output in real units.
    pub fn dequantize_output(&self, y: &[i8]) -> Vec<f32> {
        let p = self.output();
        y.iter().map(|&q| p.dequantize(q)).collect()
    }
}

/// One line per weighted layer: scales and zero points, not the weights.
impl fmt::Debug for Quantized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "int8 model (TFLite scheme), input {:?}: scale {:e}, zero point {}",
            self.input_shape, self.input.scale, self.input.zero_point
        )?;
        for l in &self.layers {
            writeln!(f, "  {l:?}")?;
        }
        for m in &self.merges {
            writeln!(
                f,
                "  {} `{}` ({}): output scale {:e} zero point {}",
                m.position, m.name, m.class, m.output.scale, m.output.zero_point
            )?;
        }
        for a in &self.activations {
            writeln!(
                f,
                "  {} `{}` (Activation, {}): clamp [{}, {}]",
                a.position, a.name, a.activation, a.activation_min, a.activation_max
            )?;
        }
        Ok(())
    }
}

/// The layer's scales and zero points on one line, not its weights.
impl fmt::Debug for QuantizedLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self
            .kernel_scale
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
                (lo.min(s), hi.max(s))
            });
        write!(
            f,
            "{} `{}` ({}, {}): kernel {:?} scales {:e}..{:e}, output scale {:e} zero point {}, \
             clamp [{}, {}]",
            self.position,
            self.name,
            self.kind.class(),
            self.activation,
            self.kernel_shape,
            lo,
            hi,
            self.output.scale,
            self.output.zero_point,
            self.activation_min,
            self.activation_max
        )
    }
}
