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
}

impl Quantized {
    /// The weighted layer named `name`.
    pub fn layer(&self, name: &str) -> Option<&QuantizedLayer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// The quantization of the model's int8 output: the last weighted layer's output (logits
    /// when the f32 model ends in softmax).
    pub fn output(&self) -> QuantParams {
        self.layers.last().map_or(self.input, |l| l.output)
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
