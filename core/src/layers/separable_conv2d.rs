//! Keras's `SeparableConv2D` on channels-last images: a depthwise convolution (each channel
//! with filters of its own) then a pointwise 1×1 convolution mixing the channels.

use super::DepthwiseConv2D;
use crate::init::{glorot_uniform, Rng};
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A separable 2-D convolution: [`DepthwiseConv2D`]'s step without a bias (input channel `c`
/// with its own `M` filters of `KH × KW`, giving `CM = C·M` channels; strides `SH × SW`, `PT` /
/// `PL` rows / columns of padding before the input), then at each pixel a product with the
/// `[CM, F]` pointwise kernel, plus the bias when `BIAS`.
///
/// The depthwise output is not stored: `forward` keeps it on the stack, `backward` computes it
/// again (it needs it for the pointwise kernel's gradient).
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][F]`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SeparableConv2D<
    T,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CM: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const BIAS: bool,
> {
    /// `depthwise_kernel[ky][kx][c][m]`, Keras shape `[KH, KW, C, M]`.
    pub depthwise_kernel: [[[[T; M]; C]; KW]; KH],
    /// `pointwise_kernel[0][0][c·M + m][f]`, Keras shape `[1, 1, C·M, F]`.
    pub pointwise_kernel: [[[[T; F]; CM]; 1]; 1],
    /// `bias[f]`, Keras shape `[F]`; unused when `BIAS` is false.
    pub bias: [T; F],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CM: usize,
        const F: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for SeparableConv2D<T, KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>
{
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CM: usize,
        const F: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > SeparableConv2D<T, KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>
{
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = KH * KW * C * M + CM * F + if BIAS { F } else { 0 };

    /// The depthwise step: `d[oy][ox][c·M + m]`, [`DepthwiseConv2D`] without a bias.
    fn depthwise<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
    ) -> [[[T; CM]; OW]; OH] {
        let mut d = [[[T::zero(); CM]; OW]; OH];
        DepthwiseConv2D::<T, KH, KW, C, M, CM, SH, SW, PT, PL, false>::forward_with(
            &self.depthwise_kernel,
            None,
            x,
            &mut d,
        );
        d
    }

    /// `y[oy][ox][f] = bias[f] + Σ_i d[oy][ox][i] · pointwise_kernel[0][0][i][f]`, where `d` is
    /// the depthwise step's output (see [`DepthwiseConv2D::forward`]); the bias only when `BIAS`.
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        y: &mut [[[T; F]; OW]; OH],
    ) {
        let d: [[[T; CM]; OW]; OH] = self.depthwise(x);
        let pw = &self.pointwise_kernel[0][0];
        for (out, d) in y.iter_mut().flatten().zip(d.iter().flatten()) {
            *out = if BIAS { self.bias } else { [T::zero(); F] };
            for (&v, w) in d.iter().zip(pw) {
                for (o, &w) in out.iter_mut().zip(w) {
                    *o = *o + v * w;
                }
            }
        }
    }

    /// The gradients of [`SeparableConv2D::forward`], given the input `x` it read and
    /// `dy = ∂L/∂y`: adds every parameter's gradient into `grad` and overwrites `dx` with
    /// `∂L/∂x`. Gradients accumulate, so start `grad` at zero.
    pub fn backward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[[[T; F]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
        grad: &mut Self,
    ) {
        let dd = self.pointwise_backward(x, dy, grad);
        DepthwiseConv2D::<T, KH, KW, C, M, CM, SH, SW, PT, PL, false>::input_grad(
            &self.depthwise_kernel,
            &dd,
            dx,
        );
    }

    /// [`SeparableConv2D::backward`] without `dx`, for a model's first layer. It reads `self`
    /// (unlike other layers' `backward_params`): the depthwise kernel's gradient goes through
    /// the pointwise kernel.
    pub fn backward_params<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[[[T; F]; OW]; OH],
        grad: &mut Self,
    ) {
        self.pointwise_backward(x, dy, grad);
    }

    /// Adds the bias's, the pointwise and the depthwise kernels' gradients into `grad`, and
    /// returns `∂L/∂d` (the gradient at the depthwise step's output).
    fn pointwise_backward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[[[T; F]; OW]; OH],
        grad: &mut Self,
    ) -> [[[T; CM]; OW]; OH] {
        let d: [[[T; CM]; OW]; OH] = self.depthwise(x);
        let pw = &self.pointwise_kernel[0][0];
        let mut dd = [[[T::zero(); CM]; OW]; OH];
        for ((g, d), dd) in dy
            .iter()
            .flatten()
            .zip(d.iter().flatten())
            .zip(dd.iter_mut().flatten())
        {
            if BIAS {
                for (b, &g) in grad.bias.iter_mut().zip(g) {
                    *b = *b + g;
                }
            }
            for (((&v, w), gw), di) in d
                .iter()
                .zip(pw)
                .zip(&mut grad.pointwise_kernel[0][0])
                .zip(dd.iter_mut())
            {
                let mut s = T::zero();
                for ((&g, &w), gw) in g.iter().zip(w).zip(gw.iter_mut()) {
                    *gw = *gw + v * g;
                    s = s + g * w;
                }
                *di = s;
            }
        }
        DepthwiseConv2D::<T, KH, KW, C, M, CM, SH, SW, PT, PL, false>::kernel_grad(
            x,
            &dd,
            &mut grad.depthwise_kernel,
        );
        dd
    }
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CM: usize,
        const F: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > Params<T> for SeparableConv2D<T, KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>
{
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        f(Param {
            name: &Name::child(prefix, "depthwise_kernel"),
            shape: &[KH, KW, C, M],
            data: flat(&self.depthwise_kernel),
        });
        f(Param {
            name: &Name::child(prefix, "pointwise_kernel"),
            shape: &[1, 1, CM, F],
            data: flat(&self.pointwise_kernel),
        });
        if BIAS {
            f(Param {
                name: &Name::child(prefix, "bias"),
                shape: &[F],
                data: &self.bias,
            });
        }
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: &Name::child(prefix, "depthwise_kernel"),
            shape: &[KH, KW, C, M],
            data: flat_mut(&mut self.depthwise_kernel),
        });
        f(ParamMut {
            name: &Name::child(prefix, "pointwise_kernel"),
            shape: &[1, 1, CM, F],
            data: flat_mut(&mut self.pointwise_kernel),
        });
        if BIAS {
            f(ParamMut {
                name: &Name::child(prefix, "bias"),
                shape: &[F],
                data: &mut self.bias,
            });
        }
    }

    /// Keras's fans for each kernel: `[KH, KW, C, M]` has `KH·KW·C` in and `KH·KW·M` out,
    /// `[1, 1, CM, F]` has `CM` in and `F` out.
    fn init_params(&mut self, rng: &mut Rng) {
        glorot_uniform(
            rng,
            KH * KW * C,
            KH * KW * M,
            flat_mut::<T, _>(&mut self.depthwise_kernel),
        );
        glorot_uniform(rng, CM, F, flat_mut::<T, _>(&mut self.pointwise_kernel));
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

    #[test]
    fn a_depthwise_step_then_a_pointwise_product() {
        // 2 x 3 image with channels [v, 10·v]; 2 x 2 depthwise kernel, M = 1, valid -> 1 x 2.
        // Channel 0's filter sums its window, channel 1's takes its top-left tap.
        // Pointwise to F = 2: [d0 + d1, d0 - 2·d1], bias [1, -1].
        let mut x = [[[0.0f64; 2]; 3]; 2];
        for (r, row) in x.iter_mut().enumerate() {
            for (c, px) in row.iter_mut().enumerate() {
                let v = (3 * r + c + 1) as f64; // 1 2 3 / 4 5 6
                *px = [v, 10.0 * v];
            }
        }
        let mut conv = SeparableConv2D::<f64, 2, 2, 2, 1, 2, 2, 1, 1, 0, 0, true>::zeroed();
        for ky in 0..2 {
            for kx in 0..2 {
                conv.depthwise_kernel[ky][kx] = [[1.0], [0.0]];
            }
        }
        conv.depthwise_kernel[0][0][1][0] = 1.0;
        conv.pointwise_kernel[0][0] = [[1.0, 1.0], [1.0, -2.0]];
        conv.bias = [1.0, -1.0];
        let mut y = [[[0.0f64; 2]; 2]; 1];
        conv.forward(&x, &mut y);
        // (0,0): window 1 2 / 4 5: d = [12, 10] -> [23, -9].
        // (0,1): window 2 3 / 5 6: d = [16, 20] -> [37, -25].
        assert_eq!(y, [[[23.0, -9.0], [37.0, -25.0]]]);
    }

    /// The definition, with explicit signed indices into a zero-padded input.
    #[allow(clippy::needless_range_loop)] // indices as in the formula
    fn reference<
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CM: usize,
        const F: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        depthwise: &[[[[f64; M]; C]; KW]; KH],
        pointwise: &[[f64; F]; CM],
        bias: &[f64; F],
        (sh, sw, pt, pl): (usize, usize, usize, usize),
        x: &[[[f64; C]; W]; H],
    ) -> [[[f64; F]; OW]; OH] {
        let mut y = [[*bias; OW]; OH];
        for oy in 0..OH {
            for ox in 0..OW {
                for c in 0..C {
                    for m in 0..M {
                        let mut d = 0.0;
                        for ky in 0..KH {
                            for kx in 0..KW {
                                let iy = (oy * sh + ky) as isize - pt as isize;
                                let ix = (ox * sw + kx) as isize - pl as isize;
                                if (0..H as isize).contains(&iy) && (0..W as isize).contains(&ix) {
                                    d += x[iy as usize][ix as usize][c] * depthwise[ky][kx][c][m];
                                }
                            }
                        }
                        for f in 0..F {
                            y[oy][ox][f] += d * pointwise[c * M + m][f];
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn matches_the_definition_with_same_padding_and_strides() {
        // same: H = 7, W = 10, K = (3, 2), S = (2, 3) -> 4 x 4; PT = 1, PL = 0.
        let mut conv = SeparableConv2D::<f64, 3, 2, 3, 2, 6, 4, 2, 3, 1, 0, true>::zeroed();
        conv.init_params(&mut rng(5));
        random(4, &mut conv.bias);
        let mut x = [[[0.0f64; 3]; 10]; 7];
        random(6, flat_mut(&mut x));
        let mut y = [[[0.0f64; 4]; 4]; 4];
        conv.forward(&x, &mut y);
        let want: [[[f64; 4]; 4]; 4] = reference(
            &conv.depthwise_kernel,
            &conv.pointwise_kernel[0][0],
            &conv.bias,
            (2, 3, 1, 0),
            &x,
        );
        for (a, b) in flat::<f64, _>(&y).iter().zip(flat::<f64, _>(&want)) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    /// Every gradient of a random layer on a random image against finite differences, and
    /// `backward_params` against `backward`'s parameter gradients.
    fn check_gradients<
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CM: usize,
        const F: usize,
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
        type S<
            const KH: usize,
            const KW: usize,
            const C: usize,
            const M: usize,
            const CM: usize,
            const F: usize,
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PL: usize,
            const BIAS: bool,
        > = SeparableConv2D<f64, KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>;
        let mut conv = S::<KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>::zeroed();
        random(seed, flat_mut(&mut conv.depthwise_kernel));
        random(seed + 1, flat_mut(&mut conv.pointwise_kernel));
        random(seed + 2, &mut conv.bias);
        let mut x = [[[0.0f64; C]; W]; H];
        random(seed + 3, flat_mut(&mut x));
        let mut dy = [[[0.0f64; F]; OW]; OH];
        random(seed + 4, flat_mut(&mut dy));
        let output = |conv: &S<KH, KW, C, M, CM, F, SH, SW, PT, PL, BIAS>,
                      x: &[[[f64; C]; W]; H]| {
            let mut y = [[[0.0f64; F]; OW]; OH];
            conv.forward(x, &mut y);
            y
        };
        let mut grad = S::zeroed();
        let mut dx = [[[f64::NAN; C]; W]; H];
        conv.backward(&x, &dy, &mut dx, &mut grad);
        let (h, c) = (1e-3, flat(&dy));
        assert_gradient(
            "depthwise_kernel",
            flat(&conv.depthwise_kernel),
            flat(&grad.depthwise_kernel),
            c,
            h,
            |k| {
                let mut conv = conv;
                flat_mut(&mut conv.depthwise_kernel).copy_from_slice(k);
                output(&conv, &x)
            },
        );
        assert_gradient(
            "pointwise_kernel",
            flat(&conv.pointwise_kernel),
            flat(&grad.pointwise_kernel),
            c,
            h,
            |k| {
                let mut conv = conv;
                flat_mut(&mut conv.pointwise_kernel).copy_from_slice(k);
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
            assert_eq!(grad.bias, [0.0; F]);
        }
        assert_gradient("x", flat(&x), flat(&dx), c, h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            output(&conv, &x)
        });
        let mut params_only = S::zeroed();
        conv.backward_params(&x, &dy, &mut params_only);
        assert_eq!(params_only.depthwise_kernel, grad.depthwise_kernel);
        assert_eq!(params_only.pointwise_kernel, grad.pointwise_kernel);
        assert_eq!(params_only.bias, grad.bias);
    }

    #[test]
    fn gradients_valid_and_same_with_strides() {
        // valid, 5 x 4 x 2, K = (2, 3), M = 2, F = 3 -> 4 x 2 x 3.
        check_gradients::<2, 3, 2, 2, 4, 3, 1, 1, 0, 0, true, 5, 4, 4, 2>(1);
        // same, 7 x 6 x 3, K = 3, S = 2, M = 1, F = 2 -> 4 x 3; pad 2 and 1 -> PT = 1, PL = 0.
        check_gradients::<3, 3, 3, 1, 3, 2, 2, 2, 1, 0, false, 7, 6, 4, 3>(2);
        // same, 4 x 4 x 1, K = 3, S = 1, M = 3, F = 4 -> 4 x 4 x 4; PT = PL = 1.
        check_gradients::<3, 3, 1, 3, 3, 4, 1, 1, 1, 1, true, 4, 4, 4, 4>(3);
    }

    #[test]
    fn params_are_keras_variables_in_keras_shapes() {
        type D = SeparableConv2D<f32, 2, 3, 2, 3, 6, 4, 1, 1, 0, 0, true>;
        assert_eq!(D::PARAMS, 2 * 3 * 2 * 3 + 6 * 4 + 4);
        assert_eq!(
            SeparableConv2D::<f32, 3, 3, 4, 1, 4, 2, 1, 1, 0, 0, false>::PARAMS,
            36 + 8
        );
        let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
        let root = Name::root("separable_conv2d");
        D::zeroed().visit_params(Some(&root), &mut |p| {
            seen.push((p.name.to_string(), p.shape.to_vec()))
        });
        assert_eq!(
            seen,
            [
                (
                    "separable_conv2d/depthwise_kernel".to_string(),
                    [2, 3, 2, 3].to_vec()
                ),
                (
                    "separable_conv2d/pointwise_kernel".to_string(),
                    [1, 1, 6, 4].to_vec()
                ),
                ("separable_conv2d/bias".to_string(), [4].to_vec()),
            ]
        );
    }

    #[test]
    fn init_uses_keras_fans_for_each_kernel() {
        type D = SeparableConv2D<f32, 3, 3, 4, 2, 8, 5, 1, 1, 0, 0, true>;
        let mut a = D::zeroed();
        a.bias = [3.0; 5];
        a.init_params(&mut rng(21));
        assert_eq!(a.bias, [0.0; 5]);
        // Keras's compute_fans on [3, 3, 4, 2]: fan_in = 9·4 = 36, fan_out = 9·2 = 18; on
        // [1, 1, 8, 5]: fan_in = 8, fan_out = 5. Drawn in that order from one generator.
        let mut r = rng(21);
        let mut depthwise = [0.0f32; 72];
        glorot_uniform(&mut r, 36, 18, &mut depthwise);
        let mut pointwise = [0.0f32; 40];
        glorot_uniform(&mut r, 8, 5, &mut pointwise);
        assert_eq!(flat::<f32, _>(&a.depthwise_kernel), depthwise);
        assert_eq!(flat::<f32, _>(&a.pointwise_kernel), pointwise);
    }
}
