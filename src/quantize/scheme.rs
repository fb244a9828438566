//! The arithmetic of TFLite's int8 scheme, one function per rule: per-tensor asymmetric
//! activations, per-channel symmetric weights, int32 biases and activation clamps.
//!
//! Scales are kept as the `f32` values written to the file; everything derived from them
//! (zero points, quantized weights and biases, multipliers) is computed in `f64` from those
//! `f32` values and rounded half away from zero (`f64::round`), as TFLite's converter does.

/// An int8 tensor's affine quantization: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// The real value of one integer step; always positive.
    pub scale: f32,
    /// The integer that represents real 0, in `[-128, 127]`.
    pub zero_point: i32,
}

impl QuantParams {
    /// TFLite's choice for a calibrated range: widened to include 0 (so that 0, ReLU's floor
    /// and zero padding, is exact), `scale = (rmax − rmin) / 255`,
    /// `zero_point = round(−128 − rmin / scale)` clamped to `[-128, 127]`.
    ///
    /// An empty range (all calibration values 0) gets scale 1, zero point −128.
    pub fn from_range(min: f32, max: f32) -> QuantParams {
        let (rmin, rmax) = (f64::from(min.min(0.0)), f64::from(max.max(0.0)));
        let scale = ((rmax - rmin) / 255.0) as f32;
        let scale = if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        };
        let zero_point = (-128.0 - rmin / f64::from(scale))
            .round()
            .clamp(-128.0, 127.0) as i32;
        QuantParams { scale, zero_point }
    }

    /// `round(x / scale) + zero_point`, saturated to int8 (TFLite's `Quantize`).
    pub fn quantize(&self, x: f32) -> i8 {
        let q = (f64::from(x) / f64::from(self.scale)).round() + f64::from(self.zero_point);
        q.clamp(-128.0, 127.0) as i8
    }

    /// `scale · (q − zero_point)`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// Quantizes a kernel whose last axis is the output channel (Keras's `[in, out]` and
/// `[kh, kw, in, out]`), symmetrically per output channel: `scale[c] = max|w[…, c]| / 127`,
/// `q = round(w / scale[c])` clamped to `[-127, 127]`. An all-zero channel gets scale 1.
///
/// Returns the int8 kernel in the same layout and the `channels` scales.
pub fn quantize_kernel(kernel: &[f32], channels: usize) -> (Vec<i8>, Vec<f32>) {
    let mut max_abs = vec![0f32; channels];
    for (i, w) in kernel.iter().enumerate() {
        let m = &mut max_abs[i % channels];
        *m = m.max(w.abs());
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .map(|&m| {
            let s = (f64::from(m) / 127.0) as f32;
            if s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    let q = kernel
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let s = f64::from(scales[i % channels]);
            (f64::from(w) / s).round().clamp(-127.0, 127.0) as i8
        })
        .collect();
    (q, scales)
}

/// A bias in the accumulator's scale `input_scale · kernel_scale`: `round(b / that)`,
/// saturated to int32.
pub fn quantize_bias(bias: f32, input_scale: f32, kernel_scale: f32) -> i32 {
    let s = f64::from(input_scale) * f64::from(kernel_scale);
    // `as` saturates; a bias that large would mean a degenerate calibration.
    (f64::from(bias) / s).round() as i32
}

/// The real factor from an accumulator to the output's integer steps,
/// `input_scale · kernel_scale / output_scale`, which becomes a fixed-point multiplier.
pub fn effective_scale(input_scale: f32, kernel_scale: f32, output_scale: f32) -> f64 {
    f64::from(input_scale) * f64::from(kernel_scale) / f64::from(output_scale)
}

/// The int8 clamp that applies a fused activation on the output's integer grid (TFLite's
/// `CalculateActivationRangeQuantized`): `relu` → `[zp, 127]`,
/// `relu6` → `[zp, min(127, zp + round(6 / scale))]`, `linear` → `[-128, 127]`.
/// `softmax` is left out of int8 models (its logits keep the argmax): `[-128, 127]`.
/// `None` for an activation the scheme cannot fuse.
pub fn activation_range(activation: &str, output: QuantParams) -> Option<(i32, i32)> {
    let zp = output.zero_point;
    match activation {
        "linear" | "softmax" => Some((-128, 127)),
        "relu" => Some((zp, 127)),
        "relu6" => {
            let six = (6.0 / f64::from(output.scale)).round();
            let top = (f64::from(zp) + six).min(127.0) as i32;
            Some((zp, top))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_range_input_is_one_255th_with_zero_point_minus_128() {
        let p = QuantParams::from_range(0.0, 1.0);
        assert_eq!(p.scale, 1.0 / 255.0);
        assert_eq!(p.zero_point, -128);
        // Every MNIST grey level `v / 255` lands exactly on `v − 128`.
        for v in 0..=255u8 {
            let x = v as f32 / 255.0;
            assert_eq!(
                i32::from(p.quantize(x)),
                i32::from(v) - 128,
                "grey level {v}"
            );
        }
    }

    #[test]
    fn ranges_are_widened_to_include_zero() {
        // [2, 4] → [0, 4]: scale 4/255, zero point −128.
        let p = QuantParams::from_range(2.0, 4.0);
        assert_eq!(p.scale, (4.0f64 / 255.0) as f32);
        assert_eq!(p.zero_point, -128);
        // [-3, -1] → [-3, 0]: zero point round(−128 + 255) = 127.
        let p = QuantParams::from_range(-3.0, -1.0);
        assert_eq!(p.scale, (3.0f64 / 255.0) as f32);
        assert_eq!(p.zero_point, 127);
    }

    #[test]
    fn asymmetric_zero_point_is_rounded_half_away_from_zero() {
        // [-64.5/128, 190.5/128] spans 255/128: scale 1/128, zero point round(−128 + 64.5) = −64.
        let p = QuantParams::from_range(-64.5 / 128.0, 190.5 / 128.0);
        assert_eq!(p.scale, 0.0078125);
        assert_eq!(p.zero_point, -64);
        assert_eq!(p.quantize(0.0), -64);
        assert_eq!(p.quantize(0.01171875), -62); // 1.5 steps → 2
        assert_eq!(p.quantize(-0.01171875), -66); // −1.5 steps → −2
        assert_eq!(p.quantize(-64.5 / 128.0), -128); // −64.5 → −65, saturated
        assert_eq!(p.quantize(100.0), 127);
        assert_eq!(p.dequantize(-64), 0.0);
        assert_eq!(p.dequantize(-62), 0.015625);
    }

    #[test]
    fn degenerate_range_gets_scale_one() {
        assert_eq!(
            QuantParams::from_range(0.0, 0.0),
            QuantParams {
                scale: 1.0,
                zero_point: -128
            }
        );
    }

    #[test]
    fn kernel_is_quantized_per_output_channel() {
        // [in = 3, out = 2]; channel 0 peaks at 127/64 (scale 1/64), channel 1 at 127/128
        // (scale 1/128). −63.5 steps round to −64.
        let w = [1.984375, 0.0, -0.9921875, 0.9921875, 0.46875, -0.49609375];
        let (q, s) = quantize_kernel(&w, 2);
        assert_eq!(s, [0.015625, 0.0078125]);
        assert_eq!(q, [127, 0, -64, 127, 30, -64]);
    }

    #[test]
    fn all_zero_channel_gets_scale_one() {
        let (q, s) = quantize_kernel(&[0.0, 1.984375, 0.0, -0.9921875], 2);
        assert_eq!(s, [1.0, 0.015625]);
        assert_eq!(q, [0, 127, 0, -64]);
    }

    #[test]
    fn bias_is_in_the_accumulator_scale() {
        // Accumulator scale 0.25 · 0.5 = 0.125: 62.5 → 500, −0.3125 → −2.5 → −3.
        assert_eq!(quantize_bias(62.5, 0.25, 0.5), 500);
        assert_eq!(quantize_bias(-0.3125, 0.25, 0.5), -3);
        assert_eq!(quantize_bias(1e12, 0.25, 0.5), i32::MAX);
    }

    #[test]
    fn activation_clamps() {
        let p = QuantParams {
            scale: 0.05,
            zero_point: -100,
        };
        assert_eq!(activation_range("linear", p), Some((-128, 127)));
        assert_eq!(activation_range("softmax", p), Some((-128, 127)));
        assert_eq!(activation_range("relu", p), Some((-100, 127)));
        // 6 / 0.05 = 120: −100 + 120 = 20.
        assert_eq!(activation_range("relu6", p), Some((-100, 20)));
        let coarse = QuantParams {
            scale: 0.01,
            zero_point: -128,
        };
        // −128 + 600 is past 127.
        assert_eq!(activation_range("relu6", coarse), Some((-128, 127)));
        assert_eq!(activation_range("tanh", p), None);
    }
}
