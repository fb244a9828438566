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

pub mod avg_pool2d;
pub mod conv2d;
pub mod dense;
pub mod dropout;
pub mod global_avg_pool2d;
pub mod max_pool2d;

pub use avg_pool2d::AvgPool2D;
pub use conv2d::Conv2D;
pub use dense::Dense;
pub use dropout::Dropout;
pub use global_avg_pool2d::GlobalAvgPool2D;
pub use max_pool2d::MaxPool2D;

use crate::scalar::Scalar;
use core::ops::Range;

#[cfg(test)]
pub(crate) mod grad_check;

/// Where the window of output index `out` meets the input along one axis, for a window of
/// `size` taps, moved by `stride` over an input of `len` cells padded by `pad` before it.
///
/// Returns the offset in the window of the first tap that lands inside the input and the input
/// cells the window covers; taps in the padding are left out, which is how zero padding (conv),
/// `-inf` padding (max pool) and padding excluded from the count (average pool) all come out.
#[inline]
pub(crate) fn window(
    out: usize,
    stride: usize,
    pad: usize,
    size: usize,
    len: usize,
) -> (usize, Range<usize>) {
    // Tap `k` reads input cell `out * stride + k - pad`.
    let start = out * stride;
    let first = pad.saturating_sub(start);
    let end = (len + pad).saturating_sub(start).min(size);
    if first >= end {
        return (0, 0..0);
    }
    (first, start + first - pad..start + end - pad)
}

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

/// `Σ a[k] · b[k]` over the common length, in eight interleaved partial sums: one running sum
/// is a chain of dependent additions the compiler must keep in order, eight can be vectorised.
#[inline]
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 8;
    let (a, b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut sum = T::zero();
    for (&a, &b) in a.remainder().iter().zip(b.remainder()) {
        sum = sum + a * b;
    }
    let mut lanes = [T::zero(); LANES];
    for (a, b) in a.zip(b) {
        for ((s, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
            *s = *s + a * b;
        }
    }
    lanes.iter().fold(sum, |s, &v| s + v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum_of_products_at_every_length() {
        // Integers in f64, so every order of summation is exact.
        for n in 0..=20 {
            let a: [f64; 20] = core::array::from_fn(|k| (k as f64) - 7.0);
            let b: [f64; 20] = core::array::from_fn(|k| (3 * k % 5) as f64 + 1.0);
            let want: f64 = (0..n).map(|k| a[k] * b[k]).sum();
            assert_eq!(dot(&a[..n], &b[..n]), want, "length {n}");
        }
    }

    #[test]
    fn window_without_padding_is_the_taps_from_out_times_stride() {
        // Size 3, stride 2 over 5 cells: outputs read 0..3 and 2..5.
        assert_eq!(window(0, 2, 0, 3, 5), (0, 0..3));
        assert_eq!(window(1, 2, 0, 3, 5), (0, 2..5));
    }

    #[test]
    fn window_skips_padding_on_both_sides() {
        // Size 3, stride 1, pad 1 over 5 cells ("same"): the first window's tap 0 is padding,
        // the last window's tap 2 is padding.
        assert_eq!(window(0, 1, 1, 3, 5), (1, 0..2));
        assert_eq!(window(2, 1, 1, 3, 5), (0, 1..4));
        assert_eq!(window(4, 1, 1, 3, 5), (0, 3..5));
        // Size 3, stride 2, pad 0 over 4 cells: the second window reads 2..4 plus one padding.
        assert_eq!(window(1, 2, 0, 3, 4), (0, 2..4));
        // A window wider than the input, padded both sides.
        assert_eq!(window(0, 1, 2, 7, 3), (2, 0..3));
    }

    #[test]
    fn window_entirely_in_padding_is_empty() {
        assert_eq!(window(0, 1, 3, 2, 4), (0, 0..0));
        assert_eq!(window(5, 1, 0, 2, 4), (0, 0..0));
    }

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
