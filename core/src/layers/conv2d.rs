//! Keras's `Conv2D` on channels-last images: a sliding dot product with a learned kernel.

use super::windows_reach_input;
use crate::init::{glorot_uniform, Rng};
use crate::kernels::Window2d;
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A 2-D convolution (Keras's cross-correlation) with a `KH × KW` kernel from `CI` to `CO`
/// channels, strides `SH × SW`, no dilation, and `PT` / `PL` zero rows / columns of padding
/// before the input; without a bias when `BIAS` is false.
///
/// The padding after the input is implied by the output size: the macro works out `PT`, `PL`,
/// `OH` and `OW` from Keras's `valid` or `same` rule (for `same`, the odd padded row or column
/// goes to the bottom / right). The kernel is `[kh][kw][in][out]`, Keras's layout.
///
/// # Shapes
/// - input: `[H][W][CI]`
/// - output: `[OH][OW][CO]`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Conv2D<
    T,
    const KH: usize,
    const KW: usize,
    const CI: usize,
    const CO: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const BIAS: bool,
> {
    /// `kernel[ky][kx][ci][co]`, Keras shape `[KH, KW, CI, CO]`.
    pub kernel: [[[[T; CO]; CI]; KW]; KH],
    /// `bias[co]`, Keras shape `[CO]`; unused when `BIAS` is false.
    pub bias: [T; CO],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for Conv2D<T, KH, KW, CI, CO, SH, SW, PT, PL, BIAS>
{
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > Conv2D<T, KH, KW, CI, CO, SH, SW, PT, PL, BIAS>
{
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = KH * KW * CI * CO + if BIAS { CO } else { 0 };

    /// `y[oy][ox][co] = bias[co] + Σ x[iy][ix][ci] · kernel[ky][kx][ci][co]` over the taps with
    /// `iy = oy·SH + ky − PT` and `ix = ox·SW + kx − PL` inside the input (the rest are zero
    /// padding), the bias only when `BIAS`.
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; CI]; W]; H],
        y: &mut [[[T; CO]; OW]; OH],
    ) {
        const {
            assert!(
                windows_reach_input(OH, SH, PT, KH, H),
                "Conv2D: rows see only padding"
            );
            assert!(
                windows_reach_input(OW, SW, PL, KW, W),
                "Conv2D: columns see only padding"
            );
        }
        let bias = BIAS.then_some(&self.bias[..]);
        T::conv2d_forward::<Window2d<H, W, CI, CO, KH, KW, SH, SW, PT, PL, OH, OW>>(
            flat(&self.kernel),
            bias,
            flat(x),
            flat_mut(y),
        );
    }

    /// The gradients of [`Conv2D::forward`], given the input `x` it read and `dy = ∂L/∂y`:
    /// adds `∂L/∂kernel` to `grad.kernel` and `∂L/∂bias` (the sum of `dy` over positions) to
    /// `grad.bias` (only when `BIAS`), and overwrites `dx` with `∂L/∂x`.
    ///
    /// Each output pixel's window is the forward one, so padding taps get nothing. Gradients
    /// accumulate, so that a batch can be fed sample by sample into one `grad`; start it at
    /// zero.
    pub fn backward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; CI]; W]; H],
        dy: &[[[T; CO]; OW]; OH],
        dx: &mut [[[T; CI]; W]; H],
        grad: &mut Self,
    ) {
        Self::backward_params(x, dy, grad);
        T::conv2d_backward_input::<Window2d<H, W, CI, CO, KH, KW, SH, SW, PT, PL, OH, OW>>(
            flat(&self.kernel),
            flat(dy),
            flat_mut(dx),
        );
    }

    /// [`Conv2D::backward`] without `dx`, for a model's first layer, whose input needs no
    /// gradient: `grad.kernel[ky][kx][ci][co] += Σ x[iy][ix][ci] · dy[oy][ox][co]` over the
    /// forward's taps, and `grad.bias[co] += Σ dy[oy][ox][co]`.
    pub fn backward_params<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        x: &[[[T; CI]; W]; H],
        dy: &[[[T; CO]; OW]; OH],
        grad: &mut Self,
    ) {
        const {
            assert!(
                windows_reach_input(OH, SH, PT, KH, H),
                "Conv2D: rows see only padding"
            );
            assert!(
                windows_reach_input(OW, SW, PL, KW, W),
                "Conv2D: columns see only padding"
            );
        }
        let bias = BIAS.then_some(&mut grad.bias[..]);
        let kernel = flat_mut(&mut grad.kernel);
        T::conv2d_backward_params::<Window2d<H, W, CI, CO, KH, KW, SH, SW, PT, PL, OH, OW>>(
            flat(x),
            flat(dy),
            kernel,
            bias,
        );
    }
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > Params<T> for Conv2D<T, KH, KW, CI, CO, SH, SW, PT, PL, BIAS>
{
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        let shape = [KH, KW, CI, CO];
        f(Param {
            name: &Name::child(prefix, "kernel"),
            shape: &shape,
            data: flat(&self.kernel),
        });
        if BIAS {
            f(Param {
                name: &Name::child(prefix, "bias"),
                shape: &[CO],
                data: &self.bias,
            });
        }
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        let shape = [KH, KW, CI, CO];
        f(ParamMut {
            name: &Name::child(prefix, "kernel"),
            shape: &shape,
            data: flat_mut(&mut self.kernel),
        });
        if BIAS {
            f(ParamMut {
                name: &Name::child(prefix, "bias"),
                shape: &[CO],
                data: &mut self.bias,
            });
        }
    }

    /// Keras's fans for a conv kernel: `KH·KW·CI` in, `KH·KW·CO` out.
    fn init_params(&mut self, rng: &mut Rng) {
        glorot_uniform(
            rng,
            KH * KW * CI,
            KH * KW * CO,
            flat_mut::<T, _>(&mut self.kernel),
        );
        self.bias.fill(T::zero());
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::init::rng;
    use crate::layers::grad_check::{assert_gradient, random};
    use bytemuck::Zeroable as _;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// A `[H][W][1]` image from a `[H][W]` grid.
    fn image<T: Scalar, const H: usize, const W: usize>(g: [[f64; W]; H]) -> [[[T; 1]; W]; H] {
        g.map(|row| row.map(|v| [T::of(v)]))
    }

    /// The single output channel of a `[OH][OW][1]` output.
    fn channel0<T: Scalar, const H: usize, const W: usize>(y: &[[[T; 1]; W]; H]) -> [[T; W]; H] {
        y.map(|row| row.map(|v| v[0]))
    }

    #[test]
    fn valid_stride_one_with_a_non_square_kernel() {
        // 3 x 4 image, 2 x 3 kernel -> 2 x 2. co0 = [[1, 0, -1], [0, 1, 0]] + 1,
        // co1 = all ones - 1.
        let x = image::<f32, 3, 4>([
            [1.0, 2.0, 3.0, 4.0],
            [5.0, 6.0, 7.0, 8.0],
            [9.0, 10.0, 11.0, 12.0],
        ]);
        let conv = Conv2D::<f32, 2, 3, 1, 2, 1, 1, 0, 0, true> {
            kernel: [
                [[[1.0, 1.0]], [[0.0, 1.0]], [[-1.0, 1.0]]],
                [[[0.0, 1.0]], [[1.0, 1.0]], [[0.0, 1.0]]],
            ],
            bias: [1.0, -1.0],
        };
        let mut y = [[[0.0f32; 2]; 2]; 2];
        conv.forward(&x, &mut y);
        // (0,0): co0 1 - 3 + 6 + 1 = 5;  co1 1+2+3+5+6+7 - 1 = 23
        // (0,1): co0 2 - 4 + 7 + 1 = 6;  co1 2+3+4+6+7+8 - 1 = 29
        // (1,0): co0 5 - 7 + 10 + 1 = 9; co1 5+6+7+9+10+11 - 1 = 47
        // (1,1): co0 6 - 8 + 11 + 1 = 10; co1 6+7+8+10+11+12 - 1 = 53
        assert_eq!(y, [[[5.0, 23.0], [6.0, 29.0]], [[9.0, 47.0], [10.0, 53.0]]]);
    }

    #[test]
    fn valid_stride_two_sums_over_input_channels() {
        // 5 x 5 x 2 image, x[r][c] = [5r + c, 1]; 3 x 3 kernel, stride 2 -> 2 x 2, no bias.
        // Channel 0 weights all 1 (window sum = 9 · centre value), channel 1 weight 10 at the
        // top-left tap only (adds 10).
        let mut x = [[[0.0f64; 2]; 5]; 5];
        for (r, row) in x.iter_mut().enumerate() {
            for (c, px) in row.iter_mut().enumerate() {
                *px = [(5 * r + c) as f64, 1.0];
            }
        }
        let mut conv = Conv2D::<f64, 3, 3, 2, 1, 2, 2, 0, 0, false> {
            kernel: [[[[1.0], [0.0]]; 3]; 3],
            bias: [100.0],
        };
        conv.kernel[0][0][1] = [10.0];
        let mut y = [[[0.0f64; 1]; 2]; 2];
        conv.forward(&x, &mut y);
        // centres (1,1) = 6, (1,3) = 8, (3,1) = 16, (3,3) = 18:
        // 9·6 + 10 = 64, 9·8 + 10 = 82, 9·16 + 10 = 154, 9·18 + 10 = 172.
        assert_eq!(channel0(&y), [[64.0, 82.0], [154.0, 172.0]]);
    }

    #[test]
    fn same_stride_two_pads_only_bottom_and_right() {
        // H = W = 4, K = 3, S = 2 -> OH = 2, pad_total = (2-1)·2 + 3 - 4 = 1: top 0, bottom 1.
        // x[r][c] = 4r + c, kernel all ones, bias 0.5.
        let x = image::<f32, 4, 4>([
            [0.0, 1.0, 2.0, 3.0],
            [4.0, 5.0, 6.0, 7.0],
            [8.0, 9.0, 10.0, 11.0],
            [12.0, 13.0, 14.0, 15.0],
        ]);
        let conv = Conv2D::<f32, 3, 3, 1, 1, 2, 2, 0, 0, true> {
            kernel: [[[[1.0]]; 3]; 3],
            bias: [0.5],
        };
        let mut y = [[[0.0f32; 1]; 2]; 2];
        conv.forward(&x, &mut y);
        // (0,0): rows 0-2, cols 0-2: 9 · 5 = 45
        // (0,1): rows 0-2, cols 2-3: (2+3) + (6+7) + (10+11) = 39
        // (1,0): rows 2-3, cols 0-2: (8+9+10) + (12+13+14) = 66
        // (1,1): rows 2-3, cols 2-3: 10 + 11 + 14 + 15 = 50
        assert_eq!(channel0(&y), [[45.5, 39.5], [66.5, 50.5]]);
    }

    #[test]
    fn same_stride_one_pads_one_on_each_side_with_a_tall_kernel() {
        // H = 5, KH = 3, S = 1 -> PT = 1; KW = 1 so PL = 0. Kernel rows [1, 2, 3]:
        // y[r] = x[r-1] + 2·x[r] + 3·x[r+1], zero outside. Column 0 is 1..5, column 1 ten times.
        let x = image::<f64, 5, 2>([
            [1.0, 10.0],
            [2.0, 20.0],
            [3.0, 30.0],
            [4.0, 40.0],
            [5.0, 50.0],
        ]);
        let conv = Conv2D::<f64, 3, 1, 1, 1, 1, 1, 1, 0, false> {
            kernel: [[[[1.0]]], [[[2.0]]], [[[3.0]]]],
            bias: [0.0],
        };
        let mut y = [[[0.0f64; 1]; 2]; 5];
        conv.forward(&x, &mut y);
        // 0 + 2 + 6 = 8, 1 + 4 + 9 = 14, 2 + 6 + 12 = 20, 3 + 8 + 15 = 26, 4 + 10 + 0 = 14.
        assert_eq!(
            channel0(&y),
            [
                [8.0, 80.0],
                [14.0, 140.0],
                [20.0, 200.0],
                [26.0, 260.0],
                [14.0, 140.0]
            ]
        );
    }

    /// Conv2D by the definition: pad the input explicitly, then a valid convolution with signed
    /// indices. An independent check of the padding and stride arithmetic.
    #[allow(clippy::needless_range_loop)] // indices as in the formula
    fn reference<
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        kernel: &[[[[f64; CO]; CI]; KW]; KH],
        bias: &[f64; CO],
        (sh, sw, pt, pl): (usize, usize, usize, usize),
        x: &[[[f64; CI]; W]; H],
    ) -> [[[f64; CO]; OW]; OH] {
        let at = |iy: isize, ix: isize, ci: usize| {
            if (0..H as isize).contains(&iy) && (0..W as isize).contains(&ix) {
                x[iy as usize][ix as usize][ci]
            } else {
                0.0
            }
        };
        let mut y = [[*bias; OW]; OH];
        for oy in 0..OH {
            for ox in 0..OW {
                for co in 0..CO {
                    for ky in 0..KH {
                        for kx in 0..KW {
                            for ci in 0..CI {
                                let iy = (oy * sh + ky) as isize - pt as isize;
                                let ix = (ox * sw + kx) as isize - pl as isize;
                                y[oy][ox][co] += at(iy, ix, ci) * kernel[ky][kx][ci][co];
                            }
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn matches_the_definition_on_random_weights() {
        // Keras same: H = 7, W = 10, K = (3, 2), S = (2, 3) -> OH = 4, OW = 4;
        // pad H (3·2 + 3 - 7 = 2) top 1, pad W (3·3 + 2 - 10 = 1) left 0, right 1.
        let mut conv = Conv2D::<f64, 3, 2, 3, 4, 2, 3, 1, 0, true>::zeroed();
        conv.init_params(&mut rng(5));
        conv.bias = [0.25, -0.5, 1.0, 0.0];
        let mut x = [[[0.0f64; 3]; 10]; 7];
        glorot_uniform(&mut rng(6), 1, 1, flat_mut::<f64, _>(&mut x));
        let mut y = [[[0.0f64; 4]; 4]; 4];
        conv.forward(&x, &mut y);
        let want: [[[f64; 4]; 4]; 4] = reference(&conv.kernel, &conv.bias, (2, 3, 1, 0), &x);
        for (a, b) in flat::<f64, _>(&y).iter().zip(flat::<f64, _>(&want)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn backward_of_a_two_by_two_kernel_by_hand() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], kernel [[a, b], [c, d]] = [[1, 0], [-1, 2]],
        // valid, stride 1 -> 2 x 2; dy = [[p, q], [r, s]] = [[1, 2], [-1, 0.5]].
        // grad.kernel[ky][kx] = Σ_{oy,ox} x[oy + ky][ox + kx] · dy[oy][ox]:
        //   [0][0]: 1·1 + 2·2 + 4·-1 + 5·0.5 = 3.5     [0][1]: 2·1 + 3·2 + 5·-1 + 6·0.5 = 6
        //   [1][0]: 4·1 + 5·2 + 7·-1 + 8·0.5 = 11      [1][1]: 5·1 + 6·2 + 8·-1 + 9·0.5 = 13.5
        // grad.bias = 1 + 2 - 1 + 0.5 = 2.5
        // dx[iy][ix] = Σ dy[oy][ox] · kernel[iy - oy][ix - ox]:
        //   row 0: p·a = 1,              p·b + q·a = 2,                   q·b = 0
        //   row 1: p·c + r·a = -2,       p·d + q·c + r·b + s·a = 0.5,     q·d + s·b = 4
        //   row 2: r·c = 1,              r·d + s·c = -2.5,                s·d = 1
        // (Σ dx = Σ kernel · Σ dy = 2 · 2.5 = 5.)
        let x = image::<f32, 3, 3>([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
        let conv = Conv2D::<f32, 2, 2, 1, 1, 1, 1, 0, 0, true> {
            kernel: [[[[1.0]], [[0.0]]], [[[-1.0]], [[2.0]]]],
            bias: [0.0],
        };
        let dy = image::<f32, 2, 2>([[1.0, 2.0], [-1.0, 0.5]]);
        let mut dx = [[[f32::NAN; 1]; 3]; 3];
        let mut grad = Conv2D::zeroed();
        conv.backward(&x, &dy, &mut dx, &mut grad);
        assert_eq!(grad.kernel, [[[[3.5]], [[6.0]]], [[[11.0]], [[13.5]]]]);
        assert_eq!(grad.bias, [2.5]);
        assert_eq!(
            channel0(&dx),
            [[1.0, 2.0, 0.0], [-2.0, 0.5, 4.0], [1.0, -2.5, 1.0]]
        );
    }

    /// Checks every gradient of a random Conv2D on a random `[H][W][CI]` image against finite
    /// differences.
    fn check_gradients<
        const KH: usize,
        const KW: usize,
        const CI: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        seed: u64,
    ) {
        type Layer<
            const KH: usize,
            const KW: usize,
            const CI: usize,
            const CO: usize,
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PL: usize,
            const BIAS: bool,
        > = Conv2D<f64, KH, KW, CI, CO, SH, SW, PT, PL, BIAS>;
        let mut conv = Layer::<KH, KW, CI, CO, SH, SW, PT, PL, BIAS>::zeroed();
        random(seed, flat_mut(&mut conv.kernel));
        random(seed + 1, &mut conv.bias);
        let mut x = [[[0.0f64; CI]; W]; H];
        random(seed + 2, flat_mut(&mut x));
        // The probe loss Σ c · y has ∂L/∂y = c: it is the dy fed back.
        let mut dy = [[[0.0f64; CO]; OW]; OH];
        random(seed + 3, flat_mut(&mut dy));
        // A zero input and a zero output gradient take the paths that skip them.
        x[0][W - 1][0] = 0.0;
        dy[OH - 1][0] = [0.0; CO];
        let output = |conv: &Layer<KH, KW, CI, CO, SH, SW, PT, PL, BIAS>,
                      x: &[[[f64; CI]; W]; H]| {
            let mut y = [[[0.0f64; CO]; OW]; OH];
            conv.forward(x, &mut y);
            y
        };

        let mut grad = Conv2D::zeroed();
        let mut dx = [[[f64::NAN; CI]; W]; H];
        conv.backward(&x, &dy, &mut dx, &mut grad);
        // The output is linear in each value alone, so a large step only reduces rounding.
        let h = 1e-3;
        let c = flat(&dy);
        assert_gradient(
            "kernel",
            flat(&conv.kernel),
            flat(&grad.kernel),
            c,
            h,
            |k| {
                let mut conv = conv;
                flat_mut(&mut conv.kernel).copy_from_slice(k);
                output(&conv, &x)
            },
        );
        if BIAS {
            assert_gradient("bias", &conv.bias, &grad.bias, c, h, |b| {
                let mut conv = conv;
                conv.bias.copy_from_slice(b);
                output(&conv, &x)
            });
        } else {
            assert_eq!(grad.bias, [0.0; CO]);
        }
        assert_gradient("x", flat(&x), flat(&dx), c, h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            output(&conv, &x)
        });

        // backward_params adds the same parameter gradients.
        let mut params_only = Conv2D::zeroed();
        Layer::<KH, KW, CI, CO, SH, SW, PT, PL, BIAS>::backward_params(&x, &dy, &mut params_only);
        assert_eq!(params_only.kernel, grad.kernel);
        assert_eq!(params_only.bias, grad.bias);
    }

    #[test]
    fn gradients_valid_with_a_non_square_kernel() {
        // 4 x 5 x 2 image, kernel 2 x 3, stride 1 -> 3 x 3 x 3.
        check_gradients::<2, 3, 2, 3, 1, 1, 0, 0, true, 4, 5, 3, 3>(1);
    }

    #[test]
    fn gradients_valid_stride_two() {
        // 5 x 5 x 2, kernel 3, stride 2 -> 2 x 2 x 2; also 6 x 6, where the last row and column
        // are in no window and get a zero gradient.
        check_gradients::<3, 3, 2, 2, 2, 2, 0, 0, true, 5, 5, 2, 2>(2);
        check_gradients::<3, 3, 1, 2, 2, 2, 0, 0, false, 6, 6, 2, 2>(3);
    }

    #[test]
    fn gradients_same_stride_two_padded_only_after() {
        // same: H = 4, K = 3, S = 2 -> OH = 2, pad (2-1)·2 + 3 - 4 = 1 -> PT = 0;
        // W = 6 -> OW = 3, pad 2·2 + 3 - 6 = 1 -> PL = 0.
        check_gradients::<3, 3, 2, 3, 2, 2, 0, 0, true, 4, 6, 2, 3>(4);
    }

    #[test]
    fn gradients_same_stride_one_padded_on_both_sides() {
        // same: H = 5, K = 3, S = 1 -> OH = 5, pad 2 -> PT = 1; W = 4, KW = 2 -> OW = 4,
        // pad 1 -> PL = 0 (the odd column goes right). No bias.
        check_gradients::<3, 2, 2, 2, 1, 1, 1, 0, false, 5, 4, 5, 4>(5);
        // K = 3 both ways on 4 x 4 -> PT = PL = 1.
        check_gradients::<3, 3, 1, 1, 1, 1, 1, 1, true, 4, 4, 4, 4>(6);
    }

    #[test]
    fn gradients_same_with_non_square_kernel_and_strides() {
        // same: H = 7, W = 10, K = (3, 2), S = (2, 3) -> OH = 4, OW = 4; PT = 1, PL = 0.
        check_gradients::<3, 2, 3, 4, 2, 3, 1, 0, true, 7, 10, 4, 4>(7);
        // valid: K = (1, 2), S = (2, 3) on 5 x 5 -> 3 x 2: strides wider than the kernel.
        check_gradients::<1, 2, 2, 3, 2, 3, 0, 0, true, 5, 5, 3, 2>(8);
    }

    #[test]
    fn gradients_accumulate_and_dx_is_overwritten() {
        let mut conv = Conv2D::<f64, 3, 3, 2, 2, 1, 1, 1, 1, true>::zeroed();
        conv.init_params(&mut rng(9));
        let mut x = [[[0.0f64; 2]; 4]; 4];
        random(10, flat_mut(&mut x));
        let mut dy = [[[0.0f64; 2]; 4]; 4];
        random(11, flat_mut(&mut dy));
        dy[1][2] = [0.0, 0.0]; // a skipped pixel
        let mut once = Conv2D::zeroed();
        let mut dx = [[[f64::NAN; 2]; 4]; 4];
        conv.backward(&x, &dy, &mut dx, &mut once);
        let first_dx = dx;
        let mut twice = once;
        conv.backward(&x, &dy, &mut dx, &mut twice);
        assert_eq!(dx, first_dx);
        let doubled: Vec<f64> = flat::<f64, _>(&once.kernel)
            .iter()
            .map(|v| 2.0 * v)
            .collect();
        assert_eq!(flat::<f64, _>(&twice.kernel), doubled);
        assert_eq!(twice.bias, once.bias.map(|v| 2.0 * v));
    }

    #[test]
    fn params_are_kernel_then_bias_in_keras_shapes() {
        type C = Conv2D<f32, 2, 3, 1, 2, 1, 1, 0, 0, true>;
        assert_eq!(C::PARAMS, 2 * 3 * 2 + 2);
        assert_eq!(Conv2D::<f32, 3, 3, 4, 5, 2, 2, 0, 0, false>::PARAMS, 180);
        let mut conv = C::zeroed();
        conv.kernel[1][2][0] = [7.0, 8.0];
        conv.bias = [1.0, 2.0];
        let mut seen: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        let root = Name::root("conv2d");
        conv.visit_params(Some(&root), &mut |p| {
            seen.push((p.name.to_string(), p.shape.to_vec(), p.data.to_vec()))
        });
        let mut kernel = [0.0; 12].to_vec();
        kernel[10] = 7.0; // [1][2][0][0] = (1·3 + 2)·2 + 0
        kernel[11] = 8.0;
        assert_eq!(
            seen,
            [
                ("conv2d/kernel".into(), [2, 3, 1, 2].to_vec(), kernel),
                ("conv2d/bias".into(), [2].to_vec(), [1.0, 2.0].to_vec()),
            ]
        );
        let mut names = Vec::new();
        Conv2D::<f32, 3, 3, 4, 5, 2, 2, 0, 0, false>::zeroed()
            .visit_params_mut(Some(&root), &mut |p| {
                names.push((p.name.to_string(), p.shape.to_vec()))
            });
        assert_eq!(
            names,
            [("conv2d/kernel".to_string(), [3, 3, 4, 5].to_vec())]
        );
    }

    #[test]
    fn init_uses_receptive_field_fans_and_is_reproducible() {
        type C = Conv2D<f32, 3, 3, 4, 5, 1, 1, 0, 0, true>;
        let (mut a, mut b) = (C::zeroed(), C::zeroed());
        a.bias = [3.0; 5];
        a.init_params(&mut rng(21));
        b.init_params(&mut rng(21));
        assert_eq!(a.kernel, b.kernel);
        assert_eq!(a.bias, [0.0; 5]);
        // fan_in = 3·3·4 = 36, fan_out = 3·3·5 = 45.
        let mut draws = [0.0f32; 180];
        glorot_uniform(&mut rng(21), 36, 45, &mut draws);
        assert_eq!(flat::<f32, _>(&a.kernel), draws);
        b.init_params(&mut rng(22));
        assert_ne!(flat::<f32, _>(&a.kernel), flat::<f32, _>(&b.kernel));
    }
}
