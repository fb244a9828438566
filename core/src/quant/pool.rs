//! int8 pooling on channels-last tensors, and the float ↔ int8 conversions at a quantized
//! model's edges. Pooling keeps the input's scale and zero point (as TFLite's int8 pools do), so
//! it needs no requantization: max is exact, average rounds half away from zero.
//!
//! # Shapes
//! - input `[[[i8; C]; W]; H]`, output `[[[i8; C]; OW]; OH]`; window `PH×PW`, strides `SH, SW`,
//!   leading padding `PT, PL` (Keras `same`: `total / 2`; `valid`: 0).

use num_traits::float::FloatCore;

/// TFLite's rounded int8 average: `sum / n` rounded half away from zero.
#[inline(always)]
pub(super) const fn rounded_average(sum: i32, n: i32) -> i32 {
    if sum > 0 {
        (sum + n / 2) / n
    } else {
        (sum - n / 2) / n
    }
}

/// Input rows (or columns) `start..end` of output row `o`'s window: the window's cells that lie
/// inside the input, padding cells left out.
#[inline(always)]
const fn window(o: usize, stride: usize, pad: usize, size: usize, len: usize) -> (usize, usize) {
    let first = o * stride; // in padded coordinates
    let start = first.saturating_sub(pad);
    let end = (first + size).saturating_sub(pad);
    let end = if end < len { end } else { len };
    (start, if end > start { end } else { start })
}

/// Max pooling; padding cells are ignored (Keras / TFLite `same`). A window with no cell inside
/// the input, which `same` padding never makes, gives -128.
pub fn max_pool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
>(
    x: &[[[i8; C]; W]; H],
    y: &mut [[[i8; C]; OW]; OH],
) {
    for (oy, row) in y.iter_mut().enumerate() {
        let (y0, y1) = window(oy, SH, PT, PH, H);
        for (ox, out) in row.iter_mut().enumerate() {
            let (x0, x1) = window(ox, SW, PL, PW, W);
            *out = [i8::MIN; C];
            for cells in &x[y0..y1] {
                for cell in &cells[x0..x1] {
                    for (o, &v) in out.iter_mut().zip(cell) {
                        *o = (*o).max(v);
                    }
                }
            }
        }
    }
}

/// Average pooling over the window's cells inside the input (Keras / TFLite `same`: padding
/// cells are not counted), rounded as TFLite rounds. A window with no cell inside the input,
/// which `same` padding never makes, gives 0.
pub fn avg_pool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
>(
    x: &[[[i8; C]; W]; H],
    y: &mut [[[i8; C]; OW]; OH],
) {
    for (oy, row) in y.iter_mut().enumerate() {
        let (y0, y1) = window(oy, SH, PT, PH, H);
        for (ox, out) in row.iter_mut().enumerate() {
            let (x0, x1) = window(ox, SW, PL, PW, W);
            let n = ((y1 - y0) * (x1 - x0)) as i32;
            let mut sum = [0i32; C];
            for cells in &x[y0..y1] {
                for cell in &cells[x0..x1] {
                    for (s, &v) in sum.iter_mut().zip(cell) {
                        *s += v as i32;
                    }
                }
            }
            for (o, s) in out.iter_mut().zip(sum) {
                *o = if n == 0 {
                    0
                } else {
                    rounded_average(s, n) as i8
                };
            }
        }
    }
}

/// The mean over `N` pixels (or steps) of each of `C` channels, rounded as [`avg_pool2d`]
/// rounds; the output keeps the input's scale.
pub fn global_avg_pool<const N: usize, const C: usize>(x: &[[i8; C]; N], y: &mut [i8; C]) {
    let mut sum = [0i32; C];
    for cell in x {
        for (s, &v) in sum.iter_mut().zip(cell) {
            *s += v as i32;
        }
    }
    for (o, s) in y.iter_mut().zip(sum) {
        *o = rounded_average(s, N as i32) as i8;
    }
}

/// The largest of `N` pixels (or steps) in each of `C` channels.
pub fn global_max_pool<const N: usize, const C: usize>(x: &[[i8; C]; N], y: &mut [i8; C]) {
    *y = [i8::MIN; C];
    for cell in x {
        for (o, &v) in y.iter_mut().zip(cell) {
            *o = (*o).max(v);
        }
    }
}

/// A real value to int8: `round(x / scale) + zero_point`, rounded half away from zero (as
/// TFLite's quantize op) and clamped to `-128..=127`; NaN becomes the zero point.
pub fn quantize_f32(x: f32, scale: f32, zero_point: i32) -> i8 {
    // `as` saturates, so infinities and huge values clamp.
    let q = FloatCore::round(x / scale) as i32;
    q.saturating_add(zero_point).clamp(-128, 127) as i8
}

/// An int8 value back to the real value it stands for: `(q - zero_point) · scale`.
pub fn dequantize(q: i8, scale: f32, zero_point: i32) -> f32 {
    (q as i32 - zero_point) as f32 * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_average_ties_away_from_zero() {
        assert_eq!(rounded_average(6, 4), 2); // 1.5
        assert_eq!(rounded_average(-6, 4), -2); // -1.5
        assert_eq!(rounded_average(5, 4), 1); // 1.25
        assert_eq!(rounded_average(-5, 4), -1);
        assert_eq!(rounded_average(7, 4), 2); // 1.75
        assert_eq!(rounded_average(-7, 4), -2);
        assert_eq!(rounded_average(0, 9), 0);
    }

    #[test]
    fn pools_valid_hand_computed() {
        // One channel, 2x4 → 1x2 with 2x2 windows.
        let x = [[[1], [2], [-7], [-128]], [[3], [4], [-8], [-127]]];
        let mut y = [[[0i8; 1]; 2]; 1];
        max_pool2d::<1, 2, 4, 1, 2, 2, 2, 2, 2, 0, 0>(&x, &mut y);
        assert_eq!(y, [[[4], [-7]]]);
        avg_pool2d::<1, 2, 4, 1, 2, 2, 2, 2, 2, 0, 0>(&x, &mut y);
        // 10 / 4 = 2.5 → 3; -270 / 4 = -67.5 → -68.
        assert_eq!(y, [[[3], [-68]]]);
    }

    #[test]
    fn pools_same_padding_ignore_cells_outside_the_input() {
        // 3x3 → 2x2 with 2x2 windows, stride 2, Keras `same`: total padding 1, all on the
        // bottom/right, so PT = PL = 0. Windows at the edge see 2 or 1 cells.
        let x = [[[1], [2], [3]], [[4], [5], [6]], [[7], [8], [-9]]];
        let mut y = [[[0i8; 1]; 2]; 2];
        max_pool2d::<1, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0>(&x, &mut y);
        assert_eq!(y, [[[5], [6]], [[8], [-9]]]);
        avg_pool2d::<1, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0>(&x, &mut y);
        // 12/4 = 3; 9/2 = 4.5 → 5; 15/2 = 7.5 → 8; -9.
        assert_eq!(y, [[[3], [5]], [[8], [-9]]]);
        // 3x3 windows, stride 1, padding 1 on every side: the corner sees 4 cells.
        let mut y = [[[0i8; 1]; 3]; 3];
        avg_pool2d::<1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1>(&x, &mut y);
        assert_eq!(y[0][0], [3]); // (1+2+4+5)/4
        assert_eq!(y[1][1], [3]); // 27/9
        assert_eq!(y[2][2], [3]); // (5+6+8-9)/4 = 2.5 → 3
    }

    #[test]
    fn global_pools_hand_computed() {
        let x = [[1i8, -128], [2, -127], [4, 90]];
        let mut y = [0i8; 2];
        global_avg_pool(&x, &mut y);
        // 7 / 3 = 2.33 → 2; −165 / 3 = −55.
        assert_eq!(y, [2, -55]);
        global_max_pool(&x, &mut y);
        assert_eq!(y, [4, 90]);
    }

    #[test]
    fn quantize_rounds_half_away_from_zero_and_clamps() {
        assert_eq!(quantize_f32(0.25, 0.5, 0), 1); // 0.5 → 1
        assert_eq!(quantize_f32(-0.25, 0.5, 0), -1);
        assert_eq!(quantize_f32(1.25, 0.5, 3), 6); // 2.5 → 3, + 3
        assert_eq!(quantize_f32(0.2, 0.5, -128), -128);
        assert_eq!(quantize_f32(1e9, 0.5, 0), 127);
        assert_eq!(quantize_f32(-1e9, 0.5, 0), -128);
        assert_eq!(quantize_f32(f32::INFINITY, 0.5, 0), 127);
        assert_eq!(quantize_f32(f32::NAN, 0.5, 7), 7);
        assert_eq!(dequantize(6, 0.5, 3), 1.5);
        assert_eq!(dequantize(-128, 1.0 / 255.0, -128), 0.0);
        for q in -128..=127 {
            assert_eq!(quantize_f32(dequantize(q, 0.037, 5), 0.037, 5), q);
        }
    }
}
