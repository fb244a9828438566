//! int8 inference: the TFLite / CMSIS-NN integer scheme (per-channel symmetric weights,
//! per-tensor asymmetric activations, fixed-point requantization, int32 accumulators).
//!
//! The layers are `const fn`-built so a quantized model's weights can live in `static`s (flash
//! on a microcontroller), and their inner loop is a Cortex-M4 DSP dot product ([`dsp`]: SXTB16
//! and SMLAD), emulated bit for bit elsewhere.
//!
//! - [`requant`]: the fixed-point multiplier ([`requantize`], [`quantize_multiplier`]).
//! - [`QConv2D`], [`QDense`]: the layers; [`max_pool2d`], [`avg_pool2d`]: same-scale pooling;
//!   [`global_avg_pool`], [`global_max_pool`]: over every pixel or step;
//!   [`quantize_f32`], [`dequantize`]: the model's edges.
//! - [`QMerge`]: a graph's merges, each input rescaled to the output's scale; [`clamp`]: a
//!   separate activation layer.

mod conv2d;
mod dense;
mod dot;
pub mod dsp;
mod merge;
mod pool;
pub mod requant;

pub use conv2d::QConv2D;
pub use dense::QDense;
pub use merge::{clamp, requantize_saturating, QMerge, LEFT_SHIFT, MAX_SUM_INPUTS};
pub use pool::{
    avg_pool2d, dequantize, global_avg_pool, global_max_pool, max_pool2d, quantize_f32,
};
pub use requant::{quantize_multiplier, requantize};
