//! Where a sliding window meets its input along one axis: the taps of one output, and the
//! outputs of one tap.

use core::ops::Range;

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

/// The outputs, among `0..outs`, whose tap `k` lands inside the input (cell
/// `out * stride + k - pad` in `0..len`): the other side of [`window`]. Always a range, as the
/// cell grows with the output.
#[inline]
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )),
    allow(dead_code) // used by the vector drivers only
)]
pub(crate) fn outputs_of_tap(
    k: usize,
    stride: usize,
    pad: usize,
    len: usize,
    outs: usize,
) -> Range<usize> {
    // out * stride >= pad - k, and out * stride < len + pad - k.
    let first = pad.saturating_sub(k).div_ceil(stride);
    let end = match (len + pad).checked_sub(k + 1) {
        Some(last_start) => (last_start / stride + 1).min(outs),
        None => 0,
    };
    first..end.max(first)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn outputs_of_tap_are_the_windows_that_hold_the_tap() {
        for stride in 1..4 {
            for size in 1..6 {
                for pad in 0..size {
                    for len in 1..8 {
                        for outs in 0..10 {
                            for k in 0..size {
                                let want = (0..outs).filter(|&o| {
                                    let (first, cells) = window(o, stride, pad, size, len);
                                    (first..first + cells.len()).contains(&k)
                                });
                                let got = outputs_of_tap(k, stride, pad, len, outs);
                                assert!(
                                    want.eq(got.clone()),
                                    "k {k} stride {stride} pad {pad} size {size} len {len} \
                                     outs {outs}: {got:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
