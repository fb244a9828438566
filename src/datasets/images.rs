//! Grey-level images (`u8`, 0 to 255) to a model's `f32` inputs in `[0, 1]`: the Rust for
//! Keras's `x.astype("float32") / 255`, with the channel axis (`x[..., None]`) or flattened
//! (`x.reshape(-1, 784)`).
//!
//! Each value is `v as f32 / 255.0`, a division as NumPy does, so inputs match Keras's to the
//! last bit.
//!
//! # Shapes
//! - [`images_to_f32`]: `[[u8; W]; H]` per image → `[[[f32; 1]; W]; H]` (`[H, W, 1]`, a CNN's input).
//! - [`images_to_flat_f32`]: `[[u8; W]; H]` per image → `[f32; N]` with `N = H * W` (an MLP's input).

extern crate std;

use std::vec;
use std::vec::Vec;

/// One grey level in `[0, 1]`.
#[inline]
fn scale(v: u8) -> f32 {
    v as f32 / 255.0
}

/// One image scaled to `[0, 1]` with a channel axis: `[H, W]` → `[H, W, 1]`.
pub fn image_to_f32<const H: usize, const W: usize>(image: &[[u8; W]; H]) -> [[[f32; 1]; W]; H] {
    let mut out = [[[0.0; 1]; W]; H];
    fill_channels(image, &mut out);
    out
}

/// Every image scaled to `[0, 1]` with a channel axis: `[n, H, W]` → `[n, H, W, 1]`, the input
/// of a `model!` that starts `[H, W, 1] =>`.
///
/// ```
/// let x = [[[0u8, 255], [51, 102]]];
/// let x = kiln::datasets::images_to_f32(&x);
/// assert_eq!(x, [[[[0.0], [1.0]], [[0.2], [0.4]]]]);
/// ```
pub fn images_to_f32<const H: usize, const W: usize>(
    images: &[[[u8; W]; H]],
) -> Vec<[[[f32; 1]; W]; H]> {
    // Filled in place: a large image never sits on the stack.
    let mut out = vec![[[[0.0; 1]; W]; H]; images.len()];
    for (o, x) in out.iter_mut().zip(images) {
        fill_channels(x, o);
    }
    out
}

fn fill_channels<const H: usize, const W: usize>(x: &[[u8; W]; H], out: &mut [[[f32; 1]; W]; H]) {
    for (o, v) in out.as_flattened_mut().iter_mut().zip(x.as_flattened()) {
        o[0] = scale(*v);
    }
}

/// One image scaled to `[0, 1]` and flattened row by row: `[H, W]` → `[H * W]`.
///
/// `N` must be `H * W` (checked at compile time); it is inferred from the result's type.
pub fn image_to_flat_f32<const H: usize, const W: usize, const N: usize>(
    image: &[[u8; W]; H],
) -> [f32; N] {
    let mut out = [0.0; N];
    fill_flat(image, &mut out);
    out
}

/// Every image scaled to `[0, 1]` and flattened row by row: `[n, H, W]` → `[n, H * W]`, the input
/// of a `model!` that starts `[784] =>` for MNIST.
///
/// `N` must be `H * W` (checked at compile time); it is inferred from the result's type.
///
/// ```
/// let x = [[[0u8, 255], [51, 102]]];
/// let x: Vec<[f32; 4]> = kiln::datasets::images_to_flat_f32(&x);
/// assert_eq!(x, [[0.0, 1.0, 0.2, 0.4]]);
/// ```
pub fn images_to_flat_f32<const H: usize, const W: usize, const N: usize>(
    images: &[[[u8; W]; H]],
) -> Vec<[f32; N]> {
    let mut out = vec![[0.0; N]; images.len()];
    for (o, x) in out.iter_mut().zip(images) {
        fill_flat(x, o);
    }
    out
}

fn fill_flat<const H: usize, const W: usize, const N: usize>(x: &[[u8; W]; H], out: &mut [f32; N]) {
    const { assert!(N == H * W, "the flat length N must be H * W") };
    for (o, v) in out.iter_mut().zip(x.as_flattened()) {
        *o = scale(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_numpys_division_by_255() {
        // float32(v) / float32(255) in NumPy, for the values where a multiplication by 1/255
        // would round differently.
        for v in 0..=255u8 {
            assert_eq!(scale(v), (v as f32) / 255.0f32);
        }
        assert_eq!(scale(255), 1.0);
        assert_eq!(scale(0), 0.0);
    }

    #[test]
    fn channel_and_flat_forms_hold_the_same_values_row_by_row() {
        let x = [[[1u8, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]];
        let c = images_to_f32(&x);
        let f: Vec<[f32; 6]> = images_to_flat_f32(&x);
        for i in 0..2 {
            for r in 0..2 {
                for k in 0..3 {
                    let want = x[i][r][k] as f32 / 255.0;
                    assert_eq!(c[i][r][k], [want]);
                    assert_eq!(f[i][r * 3 + k], want);
                }
            }
            assert_eq!(image_to_f32(&x[i]), c[i]);
            assert_eq!(image_to_flat_f32::<2, 3, 6>(&x[i]), f[i]);
        }
    }
}
