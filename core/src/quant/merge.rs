//! int8 merges of a graph (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`,
//! `Concatenate`) and a separate activation's clamp. Each input has its own scale and zero
//! point; the output has the scale calibrated for it.
//!
//! Every merge is `y = clamp(requantize(acc, m_out, s_out) + zp_out)`, with `acc` from the
//! inputs `q_k − zp_k`:
//! - `Add`, `Subtract`, `Average` (TFLite's int8 ADD): each input shifted left by
//!   [`LEFT_SHIFT`] bits, rescaled by `s_k / (2 · max s)`, then summed (the second input
//!   subtracted); the output multiplier is `2 · max s / (2^20 · s_out)`, divided by the input
//!   count for `Average`.
//! - `Multiply` (TFLite's MUL): the product of the inputs; the output multiplier is
//!   `Π s_k / s_out`.
//! - `Maximum`, `Minimum`, `Concatenate`: each input rescaled by `s_k / s_out`; the output
//!   multiplier is 1.
//!
//! The multipliers and shifts are [`quantize_multiplier`](super::quantize_multiplier)'s, written
//! by `kiln::quantize`; this module only runs them.

use super::requant::requantize;

/// [`requantize`] with its left shift saturating instead of wrapping: a merge's factors may
/// exceed 1 (an output range much narrower than its inputs'), and an accumulator shifted past
/// 32 bits must give the largest output, not wrap to the smallest. Equal to [`requantize`]
/// whenever that does not overflow.
#[inline(always)]
pub fn requantize_saturating(acc: i32, multiplier: i32, shift: i32) -> i32 {
    if shift <= 0 {
        return requantize(acc, multiplier, shift);
    }
    let wide = (acc as i64) << shift;
    let scaled = wide.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    requantize(scaled, multiplier, 0)
}
use crate::layers::merge::Merge;

/// How far `Add`, `Subtract` and `Average` shift their inputs left before rescaling them, as
/// TFLite's int8 ADD does, so that rounding the rescaled inputs loses nothing that matters.
pub const LEFT_SHIFT: u32 = 20;

/// The inputs an `Add`, `Subtract` or `Average` can take: each rescaled input is below 2^27, so
/// sixteen of them cannot overflow the 32-bit sum.
pub const MAX_SUM_INPUTS: usize = 16;

/// An int8 merge of `N` inputs. Built by [`QMerge::new`] or [`QMerge::concatenate`], both
/// `const fn`, so a model's merges can be `static`s in flash.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QMerge<const N: usize> {
    input_zero_point: [i32; N],
    input_multiplier: [i32; N],
    input_shift: [i32; N],
    output_multiplier: i32,
    output_shift: i32,
    output_zero_point: i32,
    /// The elementwise merge, or `None` for `Concatenate`.
    op: Option<Merge>,
}

/// Checks one zero point, multiplier and shift, at compile time in a `const`.
const fn check(zero_point: i32, multiplier: i32, shift: i32) {
    assert!(
        -128 <= zero_point && zero_point <= 127,
        "QMerge: zero point outside int8"
    );
    assert!(
        multiplier > 0,
        "QMerge: multipliers are positive Q31 values"
    );
    assert!(
        -31 <= shift && shift <= 30,
        "QMerge: shift outside -31..=30"
    );
}

impl<const N: usize> QMerge<N> {
    /// An elementwise merge from the quantizer's values: each input's zero point, multiplier
    /// and shift, then the output's (see the module's table for what they mean per `op`).
    ///
    /// # Panics
    /// (At compile time in a `const`/`static`.) If a zero point is outside int8, a multiplier
    /// is not positive or a shift is outside `-31..=30`, if `Subtract` has other than two
    /// inputs, `Multiply` more than three, or `Add`/`Average` more than [`MAX_SUM_INPUTS`].
    pub const fn new(
        op: Merge,
        input_zero_point: [i32; N],
        input_multiplier: [i32; N],
        input_shift: [i32; N],
        output: (i32, i32, i32),
    ) -> Self {
        match op {
            Merge::Subtract => assert!(N == 2, "QMerge: Subtract takes two inputs"),
            // 255^3 fits in 32 bits; a fourth factor would not.
            Merge::Multiply => assert!(N <= 3, "QMerge: Multiply takes at most three inputs"),
            Merge::Add | Merge::Average => assert!(
                N <= MAX_SUM_INPUTS,
                "QMerge: Add and Average take at most 16 inputs"
            ),
            Merge::Maximum | Merge::Minimum => {}
        }
        Self::build(
            Some(op),
            input_zero_point,
            input_multiplier,
            input_shift,
            output,
        )
    }

    /// `Concatenate`: each input rescaled to the output's scale; the output multiplier is 1
    /// (`(1 << 30, 1)`).
    pub const fn concatenate(
        input_zero_point: [i32; N],
        input_multiplier: [i32; N],
        input_shift: [i32; N],
        output: (i32, i32, i32),
    ) -> Self {
        Self::build(
            None,
            input_zero_point,
            input_multiplier,
            input_shift,
            output,
        )
    }

    const fn build(
        op: Option<Merge>,
        input_zero_point: [i32; N],
        input_multiplier: [i32; N],
        input_shift: [i32; N],
        (output_multiplier, output_shift, output_zero_point): (i32, i32, i32),
    ) -> Self {
        let mut k = 0;
        while k < N {
            check(input_zero_point[k], input_multiplier[k], input_shift[k]);
            k += 1;
        }
        check(output_zero_point, output_multiplier, output_shift);
        Self {
            input_zero_point,
            input_multiplier,
            input_shift,
            output_multiplier,
            output_shift,
            output_zero_point,
            op,
        }
    }

    /// Input `k`'s value `q` rescaled to the accumulator: `requantize(q − zp_k, m_k, s_k)`.
    #[inline(always)]
    fn rescaled(&self, k: usize, q: i8, left: u32) -> i32 {
        let v = (q as i32 - self.input_zero_point[k]) << left;
        requantize_saturating(v, self.input_multiplier[k], self.input_shift[k])
    }

    /// The accumulator as an int8 output.
    #[inline(always)]
    fn output(&self, acc: i32) -> i8 {
        let v = requantize_saturating(acc, self.output_multiplier, self.output_shift);
        v.saturating_add(self.output_zero_point).clamp(-128, 127) as i8
    }

    /// The elementwise merge of `xs`, each of `y`'s length.
    ///
    /// # Panics
    /// If the merge is a [`QMerge::concatenate`], or a slice is shorter than `y`.
    pub fn forward(&self, xs: [&[i8]; N], y: &mut [i8]) {
        let op = self
            .op
            .expect("QMerge::forward: a Concatenate runs `concatenate_into`");
        for (e, y) in y.iter_mut().enumerate() {
            let acc = match op {
                Merge::Add | Merge::Average => {
                    let mut acc = 0i32;
                    for (k, x) in xs.iter().enumerate() {
                        acc += self.rescaled(k, x[e], LEFT_SHIFT);
                    }
                    acc
                }
                Merge::Subtract => {
                    self.rescaled(0, xs[0][e], LEFT_SHIFT) - self.rescaled(1, xs[1][e], LEFT_SHIFT)
                }
                Merge::Multiply => {
                    let mut acc = 1i32;
                    for (k, x) in xs.iter().enumerate() {
                        acc *= x[e] as i32 - self.input_zero_point[k];
                    }
                    acc
                }
                Merge::Maximum | Merge::Minimum => {
                    let mut acc = self.rescaled(0, xs[0][e], 0);
                    for (k, x) in xs.iter().enumerate().skip(1) {
                        let v = self.rescaled(k, x[e], 0);
                        acc = if op == Merge::Maximum {
                            acc.max(v)
                        } else {
                            acc.min(v)
                        };
                    }
                    acc
                }
            };
            *y = self.output(acc);
        }
    }

    /// `Concatenate` along an axis: each output row is `chunks[0]` values of input 0, then
    /// `chunks[1]` of input 1, …, each rescaled to the output's scale.
    pub fn concatenate_into(&self, xs: [&[i8]; N], chunks: [usize; N], y: &mut [i8]) {
        let width: usize = chunks.iter().sum();
        for (o, row) in y.chunks_exact_mut(width).enumerate() {
            let mut at = 0;
            for (k, (x, &c)) in xs.iter().zip(&chunks).enumerate() {
                for (y, &q) in row[at..at + c].iter_mut().zip(&x[o * c..(o + 1) * c]) {
                    *y = self.output(self.rescaled(k, q, 0));
                }
                at += c;
            }
        }
    }
}

/// A separate activation on int8 values: `y = clamp(x, lo, hi)`, the output keeping the input's
/// scale (`relu`: `[zp, 127]`; `relu6`: `[zp, zp + round(6 / scale)]`).
pub fn clamp(x: &[i8], y: &mut [i8], lo: i32, hi: i32) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = (x as i32).clamp(lo, hi) as i8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::quantize_multiplier;

    fn q(real: f64) -> (i32, i32) {
        quantize_multiplier(real)
    }

    #[test]
    fn add_of_two_scales_is_the_rounded_real_sum() {
        // x0: scale 0.5, zp 0; x1: scale 0.25, zp −10; out: scale 1, zp 3.
        // Real x0 = 0.5·q0, x1 = 0.25·(q1 + 10); out = round(x0 + x1) + 3.
        let (m0, s0) = q(0.5 / 1.0);
        let (m1, s1) = q(0.25 / 1.0);
        let (mo, so) = q(1.0 / ((1u64 << LEFT_SHIFT) as f64 * 1.0));
        let add = QMerge::<2>::new(Merge::Add, [0, -10], [m0, m1], [s0, s1], (mo, so, 3));
        let (x0, x1) = ([4i8, -7, 100, -128], [-10i8, 2, 127, -128]);
        let mut y = [0i8; 4];
        add.forward([&x0, &x1], &mut y);
        // 2 + 0 = 2 → 5; −3.5 + 3 = −0.5 → −1 (half away) + 3 = 2; 50 + 34.25 → 84 + 3 = 87;
        // −64 − 29.5 = −93.5 → −94 + 3 = −91.
        assert_eq!(y, [5, 2, 87, -91]);
        let sub = QMerge::<2>::new(Merge::Subtract, [0, -10], [m0, m1], [s0, s1], (mo, so, 3));
        sub.forward([&x0, &x1], &mut y);
        // 2 − 0 → 5; −3.5 − 3 = −6.5 → −7 + 3 = −4; 50 − 34.25 → 16 + 3 = 19; −64 + 29.5 → −34.5
        // → −35 + 3 = −32.
        assert_eq!(y, [5, -4, 19, -32]);
    }

    #[test]
    fn multiply_maximum_and_concatenate_rescale_to_the_output() {
        let one = q(1.0);
        // Multiply: (q0 − 1)·(q1 + 2)·(0.5·0.5/0.25) = the product.
        let mul = QMerge::<2>::new(
            Merge::Multiply,
            [1, -2],
            [one.0; 2],
            [one.1; 2],
            (q(1.0).0, q(1.0).1, -5),
        );
        let mut y = [0i8; 3];
        mul.forward([&[3, 11, -20], &[-2, 3, 40]], &mut y);
        assert_eq!(y, [-5, 45, -128]); // 0, 50, −882 saturated
                                       // Maximum of scale 0.5 and scale 2 into scale 1: max(0.5·q0, 2·q1).
        let (a, b) = (q(0.5), q(2.0));
        let max = QMerge::<2>::new(
            Merge::Maximum,
            [0, 0],
            [a.0, b.0],
            [a.1, b.1],
            (one.0, one.1, 0),
        );
        max.forward([&[7, -8, 3], &[1, -1, -60]], &mut y);
        assert_eq!(y, [4, -2, 2]); // 3.5 → 4 vs 2; −4 vs −2; 1.5 → 2 vs −120
        let cat = QMerge::<2>::concatenate([0, 0], [a.0, b.0], [a.1, b.1], (one.0, one.1, 1));
        let mut y = [0i8; 6];
        // Rows of 2 + 1: [x0 row, x1 row].
        cat.concatenate_into([&[7, -8, 3, 4], &[1, 100]], [2, 1], &mut y);
        assert_eq!(y, [5, -3, 3, 3, 3, 127]);
    }

    #[test]
    fn a_large_output_factor_saturates_instead_of_wrapping() {
        // Multiply by 65536: 255 · 227 · 65536 is past 2^31; the output is the largest int8.
        let big = q(65536.0);
        let one = q(1.0);
        let mul = QMerge::<2>::new(
            Merge::Multiply,
            [-128, -128],
            [one.0; 2],
            [one.1; 2],
            (big.0, big.1, 0),
        );
        let mut y = [0i8; 3];
        mul.forward([&[127, 100, -128], &[127, 100, 1]], &mut y);
        assert_eq!(y, [127, 127, 0]);
        // Subtract with an output factor of 16: 127 − (−128) shifted up is past 2^31 too.
        let (m, s) = q(0.5);
        let out = q(16.0 / (1u64 << LEFT_SHIFT) as f64);
        let sub = QMerge::<2>::new(Merge::Subtract, [0, 0], [m; 2], [s; 2], (out.0, out.1, 0));
        let mut y = [0i8; 1];
        sub.forward([&[127], &[-128]], &mut y);
        assert_eq!(y, [127]);
        assert_eq!(requantize_saturating(1 << 20, one.0, one.1), 1 << 20);
        // Saturated before the Q31 mantissa (0.5 here): still far past any int8 output.
        assert_eq!(requantize_saturating(i32::MAX, big.0, big.1), 1 << 30);
    }

    #[test]
    fn clamp_applies_relu_on_the_input_grid() {
        let mut y = [0i8; 4];
        clamp(&[-128, -20, 5, 127], &mut y, -20, 100);
        assert_eq!(y, [-20, -20, 5, 100]);
    }
}
