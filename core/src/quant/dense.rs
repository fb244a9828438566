//! int8 Dense (TFLite's fully connected scheme): per-output symmetric weights, per-tensor
//! asymmetric activations, int32 accumulators requantized to int8 and clamped.
//!
//! The kernel is stored transposed, one row of `I4` weights per output (zero past `I`), so each
//! output is a dot product of the input with one row ([`dot`](super::dot), four outputs per
//! input load); the input offset is folded into the bias at build time.
//!
//! # Shapes
//! - input `[i8; I]`, output `[i8; O]`.

use super::dot::{dot_x1, dot_x4};
use super::requant::{check_params, OutputStage};

/// A quantized fully connected layer, `I → O`, with `I4 = I` rounded up to a multiple of 4.
///
/// Built by [`QDense::new`], a `const fn`, so a model's layers can be `static`s in flash.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QDense<const I: usize, const O: usize, const I4: usize> {
    /// One row per output, zeros past `I`. First, so that each row starts 4-byte aligned.
    kernel: [[i8; I4]; O],
    /// The bias with the input offset folded in: `bias − input_zero_point · Σ kernel row`.
    bias: [i32; O],
    /// Multipliers, shifts, output zero point and clamp.
    requant: OutputStage<O>,
}

impl<const I: usize, const O: usize, const I4: usize> QDense<I, O, I4> {
    /// Bytes of flash this layer's constants occupy.
    pub const FLASH_BYTES: usize = core::mem::size_of::<Self>();

    /// Builds the layer from the quantizer's values (TFLite's conventions): `kernel` in Keras's
    /// layout `[in][out]`, symmetric per output (-127..=127); `bias` = `round(b / (s_in ·
    /// s_w[o]))`; `multiplier`, `shift` from [`quantize_multiplier`](super::quantize_multiplier)
    /// `(s_in · s_w[o] / s_out)`; the output clamp `act_min..=act_max` in int8 units. `const` so
    /// the macro can build it in a `static`.
    ///
    /// # Panics
    /// (At compile time in a `const`/`static`.) If `I4 != I.next_multiple_of(4)`, or a zero
    /// point, clamp bound or shift is out of range.
    #[allow(clippy::too_many_arguments)] // the quantizer's values, one argument each
    pub const fn new(
        kernel: [[i8; O]; I],
        bias: [i32; O],
        multiplier: [i32; O],
        shift: [i32; O],
        input_zero_point: i32,
        output_zero_point: i32,
        act_min: i32,
        act_max: i32,
    ) -> Self {
        assert!(
            I4 == I.next_multiple_of(4),
            "QDense: I4 must be I.next_multiple_of(4)"
        );
        check_params(
            input_zero_point,
            output_zero_point,
            act_min,
            act_max,
            &multiplier,
            &shift,
        );
        let mut rows = [[0i8; I4]; O];
        let mut folded = bias;
        let mut o = 0;
        while o < O {
            let mut sum = 0i32;
            let mut i = 0;
            while i < I {
                rows[o][i] = kernel[i][o];
                sum += kernel[i][o] as i32;
                i += 1;
            }
            folded[o] = bias[o].wrapping_sub(input_zero_point.wrapping_mul(sum));
            o += 1;
        }
        Self {
            kernel: rows,
            bias: folded,
            requant: OutputStage::new(multiplier, shift, output_zero_point, act_min, act_max),
        }
    }

    /// `y = clamp(requantize(bias + Σ (x − in_zp)·w) + out_zp)`.
    pub fn forward(&self, x: &[i8; I], y: &mut [i8; O]) {
        for o4 in 0..O / 4 {
            let o = 4 * o4;
            let w = [0, 1, 2, 3].map(|j| &self.kernel[o + j]);
            let acc = dot_x4(x, w, [0, 1, 2, 3].map(|j| self.bias[o + j]));
            for (j, a) in acc.into_iter().enumerate() {
                y[o + j] = self.output(o + j, a);
            }
        }
        for (o, out) in y.iter_mut().enumerate().skip(O / 4 * 4) {
            *out = self.output(o, dot_x1(x, &self.kernel[o], self.bias[o]));
        }
    }

    /// Requantizes output `o`'s accumulator to int8.
    #[inline(always)]
    fn output(&self, o: usize, acc: i32) -> i8 {
        self.requant.output(o, acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::quantize_multiplier;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    /// The plain definition: `(x − in_zp)·w` summed in i32, no folding, no blocking.
    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::needless_range_loop)] // indices as in the formula
    fn reference<const I: usize, const O: usize>(
        kernel: &[[i8; O]; I],
        bias: &[i32; O],
        multiplier: &[i32; O],
        shift: &[i32; O],
        (in_zp, out_zp, act_min, act_max): (i32, i32, i32, i32),
        x: &[i8; I],
    ) -> [i8; O] {
        let mut y = [0; O];
        for o in 0..O {
            let mut acc = bias[o];
            for i in 0..I {
                acc += (x[i] as i32 - in_zp) * kernel[i][o] as i32;
            }
            let v = crate::quant::requantize(acc, multiplier[o], shift[o]) + out_zp;
            y[o] = v.clamp(act_min, act_max) as i8;
        }
        y
    }

    fn check_random<const I: usize, const O: usize, const I4: usize>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut int = |lo: i32, hi: i32| lo + (rng.next_u32() % (hi - lo + 1) as u32) as i32;
        let mut inside = 0;
        for round in 0..20 {
            let kernel = [[0; O]; I].map(|r| r.map(|_| int(-127, 127) as i8));
            let in_zp = int(-128, 127);
            let out_zp = int(-60, 60);
            // Spread of Σ (x − zp)·w, scaled to about ±40 (as in conv2d's tests).
            let spread = num_traits::Float::sqrt(I as f64) * 73.0 * (74 + in_zp.abs()) as f64;
            let bias = [0; O].map(|_| int(-(spread as i32) / 2, spread as i32 / 2));
            let (multiplier, shift) = {
                let mut m = [0; O];
                let mut s = [0; O];
                for o in 0..O {
                    let real = 40.0 / spread * (0.5 + int(0, 1000) as f64 / 1000.0);
                    (m[o], s[o]) = quantize_multiplier(real);
                }
                (m, s)
            };
            let (act_min, act_max) = if round % 2 == 0 {
                (out_zp, 127)
            } else {
                (-128, 127)
            };
            let layer = QDense::<I, O, I4>::new(
                kernel, bias, multiplier, shift, in_zp, out_zp, act_min, act_max,
            );
            let x = [0; I].map(|_| int(-128, 127) as i8);
            let mut y = [0; O];
            layer.forward(&x, &mut y);
            let params = (in_zp, out_zp, act_min, act_max);
            let expected = reference(&kernel, &bias, &multiplier, &shift, params, &x);
            assert_eq!(y, expected, "seed {seed} round {round}");
            inside += y
                .iter()
                .filter(|&&v| act_min < v as i32 && (v as i32) < act_max)
                .count();
        }
        assert!(
            inside * 3 >= 20 * O,
            "seed {seed}: {inside} inside the clamp"
        );
    }

    #[test]
    fn forward_matches_reference_with_a_ragged_input() {
        check_random::<13, 7, 16>(20);
        check_random::<3, 1, 4>(21);
    }

    #[test]
    fn forward_matches_reference_with_whole_groups() {
        check_random::<32, 8, 32>(22);
        check_random::<64, 10, 64>(23);
    }

    #[test]
    fn hand_computed() {
        // y0 = (1−1)·2 + (3−1)·(−1) + (−1−1)·3 + 10 = 10 − 2 − 6 = 2, times 0.5 = 1, + 5 = 6.
        // y1 = 0·1 + 2·1 + (−2)·1 + 0 = 0 → 0 + 5 = 5; ReLU clamps at 5.
        let layer = QDense::<3, 2, 4>::new(
            [[2, 1], [-1, 1], [3, 1]],
            [10, 0],
            [1 << 30, 1 << 30],
            [0, 0],
            1,
            5,
            5,
            127,
        );
        let mut y = [0; 2];
        layer.forward(&[1, 3, -1], &mut y);
        assert_eq!(y, [6, 5]);
        // Kernel rows, bias, multipliers, three i32, the split shifts and a flag, padded.
        assert_eq!(
            QDense::<3, 2, 4>::FLASH_BYTES,
            2 * 4 + 2 * 4 + 2 * 4 + 3 * 4 + (2 * 2 + 1usize).next_multiple_of(4)
        );
    }

    #[test]
    fn builds_in_a_static() {
        static LAYER: QDense<2, 1, 4> =
            QDense::new([[1], [1]], [0], [1 << 30], [1], 0, 0, -128, 127);
        let mut y = [0];
        LAYER.forward(&[3, 4], &mut y);
        assert_eq!(y, [7]);
    }
}
