//! int8 Conv2D (TFLite's scheme): per-output-channel symmetric weights, per-tensor asymmetric
//! activations, an int32 accumulator per output, requantized to int8 and clamped.
//!
//! Output pixels go four at a time (four along a row, or the four of a 2×2 pooling window): each
//! gathers its receptive field once into an im2col patch of `K4` taps (order `(ky, kx, ci)`,
//! taps in the padding hold the input zero point), extended to int16 once, and every output
//! channel is a dot product of its weight row with the four patches
//! ([`dot_wide_x4`](super::dot): one weight load and two SXTB16s serve four pixels, as CMSIS-NN
//! blocks pixels). The input offset is folded into the bias at build time: `Σ (x − zp)·w = Σ x·w
//! − zp·Σ w`, exact also in the padding since padded taps hold `zp`.
//!
//! # Shapes
//! - input `[[[i8; CI]; W]; H]`, output `[[[i8; CO]; OW]; OH]` (channels last);
//!   [`QConv2D::forward_pooled`]: `[[[i8; CO]; POW]; POH]`.

use super::dot::{dot_wide_x4, load4, WideBlock};
use super::pool::rounded_average;
use super::requant::{check_params, OutputStage};

/// A quantized 2-D convolution: `KH×KW` kernel, `CI → CO` channels, strides `SH, SW`, leading
/// padding `PT, PL` (Keras `same`: `total / 2`; `valid`: 0), `K4 = (KH·KW·CI)` rounded up to a
/// multiple of 4.
///
/// Built by [`QConv2D::new`], a `const fn`, so a model's layers can be `static`s in flash.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QConv2D<
    const KH: usize,
    const KW: usize,
    const CI: usize,
    const CO: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const K4: usize,
> {
    /// One row per output channel: taps in `(ky, kx, ci)` order, then zeros up to `K4`. First,
    /// so that each row starts 4-byte aligned.
    kernel: [[i8; K4]; CO],
    /// The bias with the input offset folded in: `bias − input_zero_point · Σ kernel row`.
    bias: [i32; CO],
    /// Multipliers, shifts, output zero point and clamp.
    requant: OutputStage<CO>,
    /// Fills the patch's padded taps, so they contribute nothing.
    input_zero_point: i8,
}

impl<
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const K4: usize,
    > QConv2D<KH, KW, CI, CO, SH, SW, PT, PL, K4>
{
    /// Bytes of flash this layer's constants occupy.
    pub const FLASH_BYTES: usize = core::mem::size_of::<Self>();

    /// Builds the layer from the quantizer's values (TFLite's conventions); folds the input
    /// offset into the bias and lays the kernel out for the dot-product loop. `const` so the
    /// macro can build it in a `static`.
    ///
    /// - `kernel`: Keras layout `[KH][KW][CI][CO]`, symmetric per output channel (-127..=127).
    /// - `bias`: `round(b / (s_in · s_w[c]))`.
    /// - `multiplier`, `shift`: [`quantize_multiplier`](super::quantize_multiplier)`(s_in ·
    ///   s_w[c] / s_out)`.
    /// - `act_min`, `act_max`: the output clamp in int8 units (ReLU: `[output_zero_point,
    ///   127]`, none: `[-128, 127]`).
    ///
    /// # Panics
    /// (At compile time in a `const`/`static`.) If `K4 != (KH·KW·CI).next_multiple_of(4)`, a
    /// stride is 0, or a zero point, clamp bound or shift is out of range.
    #[allow(clippy::too_many_arguments)] // the quantizer's values, one argument each
    pub const fn new(
        kernel: [[[[i8; CO]; CI]; KW]; KH],
        bias: [i32; CO],
        multiplier: [i32; CO],
        shift: [i32; CO],
        input_zero_point: i32,
        output_zero_point: i32,
        act_min: i32,
        act_max: i32,
    ) -> Self {
        assert!(
            K4 == (KH * KW * CI).next_multiple_of(4),
            "QConv2D: K4 must be (KH * KW * CI).next_multiple_of(4)"
        );
        assert!(SH > 0 && SW > 0, "QConv2D: strides must be positive");
        check_params(
            input_zero_point,
            output_zero_point,
            act_min,
            act_max,
            &multiplier,
            &shift,
        );
        let mut rows = [[0i8; K4]; CO];
        let mut folded = bias;
        let mut c = 0;
        while c < CO {
            let (mut k, mut sum) = (0, 0i32);
            let mut ky = 0;
            while ky < KH {
                let mut kx = 0;
                while kx < KW {
                    let mut ci = 0;
                    while ci < CI {
                        let w = kernel[ky][kx][ci][c];
                        rows[c][k] = w;
                        sum += w as i32;
                        k += 1;
                        ci += 1;
                    }
                    kx += 1;
                }
                ky += 1;
            }
            folded[c] = bias[c].wrapping_sub(input_zero_point.wrapping_mul(sum));
            c += 1;
        }
        Self {
            kernel: rows,
            bias: folded,
            requant: OutputStage::new(multiplier, shift, output_zero_point, act_min, act_max),
            input_zero_point: input_zero_point as i8,
        }
    }

    /// `y = clamp(requantize(bias + Σ (x − in_zp)·w) + out_zp)`; taps in the padding contribute
    /// nothing (TFLite pads with the input zero point). `OH`, `OW` are the output size the
    /// padding gives, which the macro computes; taps outside the input are padding whatever
    /// they are.
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[i8; CI]; W]; H],
        y: &mut [[[i8; CO]; OW]; OH],
    ) {
        let mut patches = WideBlock::ZERO;
        for (oy, row) in y.iter_mut().enumerate() {
            for ox in (0..OW).step_by(4) {
                // A block past the row's end repeats its last pixel; those results are dropped.
                self.patches(x, |j| (oy, (ox + j).min(OW - 1)), &mut patches);
                for c in 0..CO {
                    for (j, v) in self.block(&patches, c).into_iter().enumerate() {
                        if let Some(out) = row.get_mut(ox + j) {
                            out[c] = v;
                        }
                    }
                }
            }
        }
    }

    /// The convolution with a pooling window applied to its output on the fly, so the full
    /// convolution output is never stored (it would not fit a microcontroller's RAM):
    /// `y[py][px][c]` is the max (`MAX`) or rounded average of the `PH×PW` outputs at rows
    /// `py·PSH + dy`, columns `px·PSW + dx`, each exactly as [`forward`](Self::forward) makes
    /// it. Valid pooling only (no pool padding); equal bit for bit to `forward` followed by
    /// [`max_pool2d`](super::max_pool2d) or [`avg_pool2d`](super::avg_pool2d).
    ///
    /// A window's outputs are computed four at a time (a 2×2 window in one block). Convolution
    /// outputs shared by overlapping windows (`PSH < PH`) are computed once per window.
    pub fn forward_pooled<
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
        const PH: usize,
        const PW: usize,
        const PSH: usize,
        const PSW: usize,
        const MAX: bool,
        const POH: usize,
        const POW: usize,
    >(
        &self,
        x: &[[[i8; CI]; W]; H],
        y: &mut [[[i8; CO]; POW]; POH],
    ) {
        const {
            assert!(
                POH == 0 || (POH - 1) * PSH + PH <= OH,
                "QConv2D::forward_pooled: pool windows overrun the convolution's rows"
            );
            assert!(
                POW == 0 || (POW - 1) * PSW + PW <= OW,
                "QConv2D::forward_pooled: pool windows overrun the convolution's columns"
            );
        };
        let n = PH * PW;
        let init = if MAX { i8::MIN as i32 } else { 0 };
        let fold = |a: i32, v: i8| if MAX { a.max(v as i32) } else { a + v as i32 };
        let finish = |a: i32| if MAX { a } else { rounded_average(a, n as i32) } as i8;
        let mut patches = WideBlock::ZERO;
        for (py, row) in y.iter_mut().enumerate() {
            for (px, pooled) in row.iter_mut().enumerate() {
                // Window pixel `i` is at `(i / PW, i % PW)`; a block past the window's end
                // repeats its last pixel, and those results are dropped.
                let block_at = |i0: usize| {
                    move |j: usize| {
                        let i = (i0 + j).min(n - 1);
                        (py * PSH + i / PW, px * PSW + i % PW)
                    }
                };
                if n <= 4 {
                    // The whole window in one block: each channel pools its own results.
                    self.patches(x, block_at(0), &mut patches);
                    for (c, p) in pooled.iter_mut().enumerate() {
                        let out = self.block(&patches, c);
                        *p = finish(out[..n].iter().fold(init, |a, &v| fold(a, v)));
                    }
                    continue;
                }
                let mut acc = [init; CO];
                for i0 in (0..n).step_by(4) {
                    self.patches(x, block_at(i0), &mut patches);
                    for (c, a) in acc.iter_mut().enumerate() {
                        let out = self.block(&patches, c);
                        *a = out[..(n - i0).min(4)].iter().fold(*a, |a, &v| fold(a, v));
                    }
                }
                for (p, a) in pooled.iter_mut().zip(acc) {
                    *p = finish(a);
                }
            }
        }
    }

    /// Extends the patches of the four output pixels `at(0..4)` (each `(oy, ox)`) into `block`.
    /// With `CI` a multiple of 4 every group of four taps lies in one input cell and is extended
    /// straight from it; otherwise the patch is gathered as int8 first.
    #[inline(always)]
    fn patches<const H: usize, const W: usize>(
        &self,
        x: &[[[i8; CI]; W]; H],
        at: impl Fn(usize) -> (usize, usize),
        block: &mut WideBlock<K4>,
    ) {
        let zero_points = u32::from_ne_bytes([self.input_zero_point as u8; 4]);
        for p in 0..4 {
            let (oy, ox) = at(p);
            if CI % 4 == 0 {
                for ky in 0..KH {
                    for kx in 0..KW {
                        let cell = self.cell(x, (oy, ox), (ky, kx));
                        for q in 0..CI / 4 {
                            let v = cell.map_or(zero_points, |cell| load4(cell, 4 * q));
                            block.set_group(p, (ky * KW + kx) * CI / 4 + q, v);
                        }
                    }
                }
            } else {
                let mut patch = [self.input_zero_point; K4];
                for ky in 0..KH {
                    for kx in 0..KW {
                        if let Some(cell) = self.cell(x, (oy, ox), (ky, kx)) {
                            let at = (ky * KW + kx) * CI;
                            patch[at..at + CI].copy_from_slice(cell);
                        }
                    }
                }
                block.set_patch(p, &patch);
            }
        }
    }

    /// The input cell under tap `(ky, kx)` of output `(oy, ox)`, `None` in the padding.
    #[inline(always)]
    fn cell<'x, const H: usize, const W: usize>(
        &self,
        x: &'x [[[i8; CI]; W]; H],
        (oy, ox): (usize, usize),
        (ky, kx): (usize, usize),
    ) -> Option<&'x [i8; CI]> {
        // Taps above or left of the input wrap to large values and fail the bound like those
        // below or right of it.
        let iy = (oy * SH + ky).wrapping_sub(PT);
        let ix = (ox * SW + kx).wrapping_sub(PL);
        x.get(iy)?.get(ix)
    }

    /// Channel `c`'s outputs at the four pixels `patches` hold.
    #[inline(always)]
    fn block(&self, patches: &WideBlock<K4>, c: usize) -> [i8; 4] {
        dot_wide_x4(patches, &self.kernel[c], self.bias[c]).map(|a| self.requant.output(c, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{avg_pool2d, max_pool2d, quantize_multiplier, requantize};
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    /// The quantizer's values, as `QConv2D::new` takes them.
    struct Params<const KH: usize, const KW: usize, const CI: usize, const CO: usize> {
        kernel: [[[[i8; CO]; CI]; KW]; KH],
        bias: [i32; CO],
        multiplier: [i32; CO],
        shift: [i32; CO],
        in_zp: i32,
        out_zp: i32,
        act_min: i32,
        act_max: i32,
    }

    impl<const KH: usize, const KW: usize, const CI: usize, const CO: usize> Params<KH, KW, CI, CO> {
        /// Random weights and inputs' parameters with scales that spread the outputs over the
        /// int8 range (some saturate); ReLU or no clamp.
        fn random(rng: &mut ChaCha8Rng, relu: bool) -> Self {
            let mut int = |lo: i32, hi: i32| lo + (rng.next_u32() % (hi - lo + 1) as u32) as i32;
            let kernel = [[[[0; CO]; CI]; KW]; KH]
                .map(|a| a.map(|b| b.map(|c| c.map(|_| int(-127, 127) as i8))));
            let in_zp = int(-128, 127);
            let out_zp = int(-60, 60);
            // Σ (x − zp)·w over K taps spreads about √K · 73 · (74 + |zp|); scale that to ±40.
            let spread =
                num_traits::Float::sqrt((KH * KW * CI) as f64) * 73.0 * (74 + in_zp.abs()) as f64;
            let bias = [0; CO].map(|_| int(-(spread as i32) / 2, spread as i32 / 2));
            let mut multiplier = [0; CO];
            let mut shift = [0; CO];
            for c in 0..CO {
                let real = 40.0 / spread * (0.5 + int(0, 1000) as f64 / 1000.0);
                (multiplier[c], shift[c]) = quantize_multiplier(real);
            }
            let (act_min, act_max) = if relu { (out_zp, 127) } else { (-128, 127) };
            Self {
                kernel,
                bias,
                multiplier,
                shift,
                in_zp,
                out_zp,
                act_min,
                act_max,
            }
        }

        fn layer<
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PL: usize,
            const K4: usize,
        >(
            &self,
        ) -> QConv2D<KH, KW, CI, CO, SH, SW, PT, PL, K4> {
            QConv2D::new(
                self.kernel,
                self.bias,
                self.multiplier,
                self.shift,
                self.in_zp,
                self.out_zp,
                self.act_min,
                self.act_max,
            )
        }

        /// The plain definition: `(x − in_zp)·w` summed in i32 over the taps inside the input,
        /// no folding, no patch, no blocking.
        #[allow(clippy::needless_range_loop)] // indices as in the formula
        fn reference<
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PL: usize,
            const H: usize,
            const W: usize,
            const OH: usize,
            const OW: usize,
        >(
            &self,
            x: &[[[i8; CI]; W]; H],
        ) -> [[[i8; CO]; OW]; OH] {
            let mut y = [[[0; CO]; OW]; OH];
            for oy in 0..OH {
                for ox in 0..OW {
                    for c in 0..CO {
                        let mut acc = self.bias[c];
                        for ky in 0..KH {
                            for kx in 0..KW {
                                let iy = (oy * SH + ky) as isize - PT as isize;
                                let ix = (ox * SW + kx) as isize - PL as isize;
                                if iy < 0 || ix < 0 || iy >= H as isize || ix >= W as isize {
                                    continue;
                                }
                                for ci in 0..CI {
                                    let v = x[iy as usize][ix as usize][ci] as i32 - self.in_zp;
                                    acc += v * self.kernel[ky][kx][ci][c] as i32;
                                }
                            }
                        }
                        let v = requantize(acc, self.multiplier[c], self.shift[c]) + self.out_zp;
                        y[oy][ox][c] = v.clamp(self.act_min, self.act_max) as i8;
                    }
                }
            }
            y
        }
    }

    fn random_input<const CI: usize, const W: usize, const H: usize>(
        rng: &mut ChaCha8Rng,
    ) -> [[[i8; CI]; W]; H] {
        [[[0; CI]; W]; H].map(|r| r.map(|p| p.map(|_| rng.next_u32() as i8)))
    }

    /// `forward` against the reference on random layers and inputs, with and without ReLU.
    fn check<
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const K4: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut inside = 0;
        for round in 0..6 {
            let p = Params::<KH, KW, CI, CO>::random(&mut rng, round % 2 == 0);
            let layer = p.layer::<SH, SW, PT, PL, K4>();
            let x = random_input::<CI, W, H>(&mut rng);
            let mut y = [[[0; CO]; OW]; OH];
            layer.forward(&x, &mut y);
            let expected = p.reference::<SH, SW, PT, PL, H, W, OH, OW>(&x);
            assert_eq!(y, expected, "seed {seed} round {round}");
            let outputs = y.iter().flatten().flatten();
            inside += outputs
                .filter(|&&v| p.act_min < v as i32 && (v as i32) < p.act_max)
                .count();
        }
        // Not vacuous: many outputs are neither clamped nor saturated.
        assert!(
            inside * 3 >= 6 * OH * OW * CO,
            "seed {seed}: {inside} inside the clamp"
        );
    }

    /// `forward_pooled` against `forward` then the standalone pools, max and average.
    fn check_pooled<
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const K4: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
        const PH: usize,
        const PW: usize,
        const PSH: usize,
        const PSW: usize,
        const POH: usize,
        const POW: usize,
    >(
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for round in 0..6 {
            let p = Params::<KH, KW, CI, CO>::random(&mut rng, round % 2 == 0);
            let layer = p.layer::<1, 1, 0, 0, K4>();
            let x = random_input::<CI, W, H>(&mut rng);
            let mut full = [[[0; CO]; OW]; OH];
            layer.forward(&x, &mut full);
            assert_eq!(full, p.reference::<1, 1, 0, 0, H, W, OH, OW>(&x));

            let mut expected = [[[0; CO]; POW]; POH];
            let mut y = [[[0; CO]; POW]; POH];
            max_pool2d::<CO, OH, OW, POH, POW, PH, PW, PSH, PSW, 0, 0>(&full, &mut expected);
            layer.forward_pooled::<H, W, OH, OW, PH, PW, PSH, PSW, true, POH, POW>(&x, &mut y);
            assert_eq!(y, expected, "max: seed {seed} round {round}");
            avg_pool2d::<CO, OH, OW, POH, POW, PH, PW, PSH, PSW, 0, 0>(&full, &mut expected);
            layer.forward_pooled::<H, W, OH, OW, PH, PW, PSH, PSW, false, POH, POW>(&x, &mut y);
            assert_eq!(y, expected, "avg: seed {seed} round {round}");
        }
    }

    #[test]
    fn one_input_channel_valid() {
        // K = 9: two whole groups of four taps and a ragged one; CO = 5: a block of 4 and one.
        check::<3, 3, 1, 5, 1, 1, 0, 0, 12, 8, 8, 6, 6>(1);
    }

    #[test]
    fn one_input_channel_same_padding() {
        check::<3, 3, 1, 5, 1, 1, 1, 1, 12, 7, 7, 7, 7>(2);
    }

    #[test]
    fn sixteen_input_channels_stride_2_valid() {
        check::<3, 3, 16, 8, 2, 2, 0, 0, 144, 9, 9, 4, 4>(3);
    }

    #[test]
    fn sixteen_input_channels_stride_2_same_padding() {
        // 7 → 4 with stride 2: total padding 2, one on each side.
        check::<3, 3, 16, 6, 2, 2, 1, 1, 144, 7, 7, 4, 4>(4);
    }

    #[test]
    fn mixed_strides_and_padding_5x5_three_channels() {
        // Keras same: rows 6 → 6 (total 4, top 2); columns 9 → 5 with stride 2 (total 4, left 2).
        check::<5, 5, 3, 4, 1, 2, 2, 2, 76, 6, 9, 6, 5>(5);
    }

    #[test]
    fn one_by_one_kernels_and_channel_counts_below_four() {
        check::<1, 1, 3, 3, 1, 1, 0, 0, 4, 4, 5, 4, 5>(6);
        check::<1, 1, 4, 9, 2, 1, 0, 0, 4, 5, 4, 3, 4>(7);
    }

    #[test]
    fn pooled_non_overlapping_windows() {
        // Conv 10 → 8, pool 2/2 → 4 (the MCU CNN's first block, smaller).
        check_pooled::<3, 3, 1, 4, 12, 10, 10, 8, 8, 2, 2, 2, 2, 4, 4>(8);
        // Conv 7 → 5, pool 2/2 → 2: the last row and column of the conv are never pooled.
        check_pooled::<3, 3, 16, 6, 144, 7, 7, 5, 5, 2, 2, 2, 2, 2, 2>(9);
    }

    #[test]
    fn pooled_overlapping_and_rectangular_windows() {
        // Conv 9 → 7, pool 3/2 → 3 rows; columns pool 2/1 → 6.
        check_pooled::<3, 3, 2, 5, 20, 9, 9, 7, 7, 3, 2, 2, 1, 3, 6>(10);
    }

    #[test]
    fn hand_computed_1x1_conv() {
        // Input zero point 1: x − 1 per pixel is (2, 0), (4, −3), (−1, −1), (−5, 3); the kernel
        // (2, −1) gives 4, 11, −1, −13; bias 1 gives 5, 12, 0, −12; × 0.5 rounding half up gives
        // 3, 6, 0, −6; output zero point −3 gives 0, 3, −3, −9.
        let layer = QConv2D::<1, 1, 2, 1, 1, 1, 0, 0, 4>::new(
            [[[[2], [-1]]]],
            [1],
            [1 << 30],
            [0],
            1,
            -3,
            -128,
            127,
        );
        let x = [[[3, 1], [5, -2]], [[0, 0], [-4, 4]]];
        let mut y = [[[0; 1]; 2]; 2];
        layer.forward(&x, &mut y);
        assert_eq!(y, [[[0], [3]], [[-3], [-9]]]);
        // With ReLU at the zero point, the negative ones clamp there.
        let relu = QConv2D::<1, 1, 2, 1, 1, 1, 0, 0, 4>::new(
            [[[[2], [-1]]]],
            [1],
            [1 << 30],
            [0],
            1,
            -3,
            -3,
            127,
        );
        relu.forward(&x, &mut y);
        assert_eq!(y, [[[0], [3]], [[-3], [-3]]]);
    }

    #[test]
    fn hand_computed_padding_contributes_nothing() {
        // A 3x3 box filter with `same` padding on a 2x2 image: every window holds all four
        // pixels and five padded taps. With input zero point 10 the pixels are 1, 2, 3, 4 in real
        // terms, so every output is 10 (× 1.0); padded taps counted as 0 instead of the zero
        // point would subtract 50.
        let layer = QConv2D::<3, 3, 1, 1, 1, 1, 1, 1, 12>::new(
            [[[[1]]; 3]; 3],
            [0],
            [1 << 30],
            [1],
            10,
            0,
            -128,
            127,
        );
        let mut y = [[[0; 1]; 2]; 2];
        layer.forward(&[[[11], [12]], [[13], [14]]], &mut y);
        assert_eq!(y, [[[10]; 2]; 2]);
        // Pooled on the fly, the average of four 10s is 10 and so is the max.
        let mut pooled = [[[0; 1]; 1]; 1];
        layer.forward_pooled::<2, 2, 2, 2, 2, 2, 2, 2, false, 1, 1>(
            &[[[11], [12]], [[13], [14]]],
            &mut pooled,
        );
        assert_eq!(pooled, [[[10]]]);
    }

    #[test]
    fn builds_in_a_static_and_reports_its_size() {
        static LAYER: QConv2D<3, 3, 1, 2, 1, 1, 0, 0, 12> = QConv2D::new(
            [[[[1, -1]]; 3]; 3],
            [0, 0],
            [1 << 30; 2],
            [1; 2],
            0,
            0,
            -128,
            127,
        );
        let mut y = [[[0; 2]; 1]; 1];
        LAYER.forward(&[[[1]; 3]; 3], &mut y);
        assert_eq!(y, [[[9, -9]]]);
        // Kernel rows, bias, multipliers, three i32, the split shifts, a flag and the input
        // zero point, padded.
        let requant = 2 * 4 + 3 * 4 + (2 * 2 + 1usize).next_multiple_of(4);
        assert_eq!(
            QConv2D::<3, 3, 1, 2, 1, 1, 0, 0, 12>::FLASH_BYTES,
            2 * 12 + 2 * 4 + requant + 4
        );
    }
}
