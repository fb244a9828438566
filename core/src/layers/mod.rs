//! The layers a model is built from, one per file, each a struct whose sizes are const generics
//! chosen by `kiln::model!`.
//!
//! Layers with weights own them as plain arrays in Keras's layout and implement
//! [`crate::params::Params`]; shape-only layers (pools) are zero-sized. Every `forward` reads a
//! channels-last input and writes into a caller-provided output, so nothing is allocated.
//!
//! Each layer's `backward` sits beside its `forward`: given `dy = ∂L/∂y` it writes `dx = ∂L/∂x`
//! and, for layers with weights, adds `∂L/∂params` into a gradient struct of the layer's own
//! type, so that a batch is accumulated sample by sample. [`Dropout`] is the one layer that
//! acts only in training.
//!
//! The loops of Dense, Conv2D and the pools are in [`crate::kernels`], reached through the
//! element type's [`Kernels`](crate::kernels::Kernels) methods.

pub mod avg_pool2d;
pub mod bidirectional;
pub mod conv1d;
pub mod conv2d;
pub mod dense;
pub mod depthwise_conv2d;
pub mod dropout;
pub mod embedding;
pub mod global_avg_pool;
pub mod global_max_pool;
pub mod gru;
pub mod layer_norm;
pub mod lstm;
pub mod max_pool2d;
pub mod merge;
pub mod pad_crop2d;
pub mod pool1d;
pub mod recurrent;
pub mod separable_conv2d;
pub mod simple_rnn;
pub mod upsampling2d;

pub use avg_pool2d::AvgPool2D;
pub use bidirectional::Bidirectional;
pub use conv1d::Conv1D;
pub use conv2d::Conv2D;
pub use dense::Dense;
pub use depthwise_conv2d::DepthwiseConv2D;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use global_avg_pool::{GlobalAvgPool1D, GlobalAvgPool2D};
pub use global_max_pool::{GlobalMaxPool1D, GlobalMaxPool2D};
pub use gru::Gru;
pub use layer_norm::LayerNormalization;
pub use lstm::Lstm;
pub use max_pool2d::MaxPool2D;
pub use merge::Merge;
pub use pad_crop2d::{Cropping2D, ZeroPadding2D};
pub use pool1d::{AvgPool1D, MaxPool1D};
pub use separable_conv2d::SeparableConv2D;
pub use simple_rnn::SimpleRnn;
pub use upsampling2d::UpSampling2D;

#[cfg(test)]
pub(crate) mod grad_check;

/// Rejects, at compile time, a window geometry in which some output would see only padding:
/// strides must be positive, the first window must reach the input (`pad < size`) and the last
/// must start inside it (`(out - 1) * stride < len + pad`). Keras's `valid` and `same` always
/// pass.
pub(crate) const fn windows_reach_input(
    out: usize,
    stride: usize,
    pad: usize,
    size: usize,
    len: usize,
) -> bool {
    stride > 0 && pad < size && out * stride < len + pad + stride
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_valid_and_same_geometries_reach_the_input() {
        // same: H = 4, K = 3, S = 2 -> out 2, pad_total 1, top 0.
        assert!(windows_reach_input(2, 2, 0, 3, 4));
        // same: H = 5, K = 3, S = 1 -> out 5, top 1.
        assert!(windows_reach_input(5, 1, 1, 3, 5));
        // valid: H = 5, K = 3, S = 2 -> out 2.
        assert!(windows_reach_input(2, 2, 0, 3, 5));
        // One output too many would start in the bottom padding only.
        assert!(!windows_reach_input(3, 2, 0, 3, 4));
        assert!(!windows_reach_input(1, 0, 0, 3, 4));
        assert!(!windows_reach_input(1, 1, 3, 3, 4));
    }
}
