//! Keras's `DepthwiseConv2D` on channels-last images: each input channel convolved with
//! filters of its own, none mixing channels.

use super::windows_reach_input;
use crate::init::{glorot_uniform, Rng};
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A depthwise 2-D convolution (Keras's cross-correlation): input channel `c` is convolved with
/// its own `M` filters of `KH × KW` (the depth multiplier), giving output channels
/// `c·M .. c·M + M`, so `CO = C·M` (a parameter only because stable Rust cannot write
/// `[T; C * M]`; checked at compile time). Strides `SH × SW`, no dilation, `PT` / `PL` zero
/// rows / columns of padding before the input as [`Conv2D`](super::Conv2D); without a bias
/// when `BIAS` is false.
///
/// The kernel is `[kh][kw][c][m]`, Keras's layout; Keras 3 names it `kernel` (Keras 2 named it
/// `depthwise_kernel`). Flattened over its last two axes it is indexed by the output channel
/// `c·M + m`, which the loops use.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][CO]`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConv2D<
    T,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CO: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const BIAS: bool,
> {
    /// `kernel[ky][kx][c][m]`, Keras shape `[KH, KW, C, M]`.
    pub kernel: [[[[T; M]; C]; KW]; KH],
    /// `bias[c·M + m]`, Keras shape `[C·M]`; unused when `BIAS` is false.
    pub bias: [T; CO],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for DepthwiseConv2D<T, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>
{
}

/// The input index a tap reads, `o·s + k − p`, or `None` when it falls in the padding.
#[inline(always)]
fn tap(o: usize, s: usize, k: usize, p: usize, len: usize) -> Option<usize> {
    (o * s + k).checked_sub(p).filter(|&i| i < len)
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > DepthwiseConv2D<T, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>
{
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = KH * KW * C * M + if BIAS { CO } else { 0 };

    /// Compile-time checks of the geometry: `CO = C·M`, and every window reaches the input.
    const fn check<const H: usize, const W: usize, const OH: usize, const OW: usize>() {
        assert!(CO == C * M, "DepthwiseConv2D: CO must be C · M");
        assert!(
            windows_reach_input(OH, SH, PT, KH, H),
            "DepthwiseConv2D: rows see only padding"
        );
        assert!(
            windows_reach_input(OW, SW, PL, KW, W),
            "DepthwiseConv2D: columns see only padding"
        );
    }

    /// The taps of kernel row `ky`, column `kx` as one `[CO]` slice (index `c·M + m`).
    #[inline(always)]
    fn taps(kernel: &[[[[T; M]; C]; KW]; KH], ky: usize, kx: usize) -> &[T] {
        flat(&kernel[ky][kx])
    }

    /// `y[oy][ox][c·M + m] = bias[c·M + m] + Σ x[iy][ix][c] · kernel[ky][kx][c][m]` over the
    /// taps with `iy = oy·SH + ky − PT` and `ix = ox·SW + kx − PL` inside the input (the rest
    /// are zero padding), the bias only when `BIAS`.
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        y: &mut [[[T; CO]; OW]; OH],
    ) {
        Self::forward_with(&self.kernel, BIAS.then_some(&self.bias), x, y);
    }

    /// [`DepthwiseConv2D::forward`] with a kernel and bias held elsewhere (`SeparableConv2D`'s
    /// depthwise step, which has no bias of its own).
    pub(crate) fn forward_with<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        kernel: &[[[[T; M]; C]; KW]; KH],
        bias: Option<&[T; CO]>,
        x: &[[[T; C]; W]; H],
        y: &mut [[[T; CO]; OW]; OH],
    ) {
        const { Self::check::<H, W, OH, OW>() }
        for (oy, row) in y.iter_mut().enumerate() {
            for (ox, out) in row.iter_mut().enumerate() {
                *out = bias.copied().unwrap_or([T::zero(); CO]);
                for ky in 0..KH {
                    let Some(iy) = tap(oy, SH, ky, PT, H) else {
                        continue;
                    };
                    for kx in 0..KW {
                        let Some(ix) = tap(ox, SW, kx, PL, W) else {
                            continue;
                        };
                        let k = Self::taps(kernel, ky, kx);
                        for (c, &v) in x[iy][ix].iter().enumerate() {
                            let span = c * M..c * M + M;
                            for (o, &w) in out[span.clone()].iter_mut().zip(&k[span]) {
                                *o = *o + v * w;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The gradients of [`DepthwiseConv2D::forward`], given the input `x` it read and
    /// `dy = ∂L/∂y`: adds the kernel's and (when `BIAS`) the bias's gradients into `grad`, and
    /// overwrites `dx` with `∂L/∂x[iy][ix][c] = Σ dy[oy][ox][c·M + m] · kernel[ky][kx][c][m]`
    /// over the windows that read it. Gradients accumulate, so start `grad` at zero.
    pub fn backward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[[[T; CO]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
        grad: &mut Self,
    ) {
        Self::backward_params(x, dy, grad);
        Self::input_grad(&self.kernel, dy, dx);
    }

    /// Overwrites `dx` with the input gradient of [`DepthwiseConv2D::forward_with`] for
    /// `kernel`, given `dy`.
    pub(crate) fn input_grad<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        kernel: &[[[[T; M]; C]; KW]; KH],
        dy: &[[[T; CO]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
    ) {
        const { Self::check::<H, W, OH, OW>() }
        *dx = [[[T::zero(); C]; W]; H];
        for (oy, row) in dy.iter().enumerate() {
            for (ox, g) in row.iter().enumerate() {
                for ky in 0..KH {
                    let Some(iy) = tap(oy, SH, ky, PT, H) else {
                        continue;
                    };
                    for kx in 0..KW {
                        let Some(ix) = tap(ox, SW, kx, PL, W) else {
                            continue;
                        };
                        let k = Self::taps(kernel, ky, kx);
                        for (c, d) in dx[iy][ix].iter_mut().enumerate() {
                            let span = c * M..c * M + M;
                            let s = g[span.clone()]
                                .iter()
                                .zip(&k[span])
                                .fold(T::zero(), |s, (&g, &w)| s + g * w);
                            *d = *d + s;
                        }
                    }
                }
            }
        }
    }

    /// [`DepthwiseConv2D::backward`] without `dx`, for a model's first layer:
    /// `grad.kernel[ky][kx][c][m] += Σ x[iy][ix][c] · dy[oy][ox][c·M + m]` over the
    /// forward's taps, and `grad.bias[o] += Σ dy[oy][ox][o]`.
    pub fn backward_params<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        x: &[[[T; C]; W]; H],
        dy: &[[[T; CO]; OW]; OH],
        grad: &mut Self,
    ) {
        if BIAS {
            for g in dy.iter().flatten() {
                for (b, &g) in grad.bias.iter_mut().zip(g) {
                    *b = *b + g;
                }
            }
        }
        Self::kernel_grad(x, dy, &mut grad.kernel);
    }

    /// Adds the kernel gradient of [`DepthwiseConv2D::forward_with`] into `dk`:
    /// `dk[ky][kx][c][m] += Σ x[iy][ix][c] · dy[oy][ox][c·M + m]` over the forward's taps.
    pub(crate) fn kernel_grad<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        x: &[[[T; C]; W]; H],
        dy: &[[[T; CO]; OW]; OH],
        dk: &mut [[[[T; M]; C]; KW]; KH],
    ) {
        const { Self::check::<H, W, OH, OW>() }
        for (oy, row) in dy.iter().enumerate() {
            for (ox, g) in row.iter().enumerate() {
                for ky in 0..KH {
                    let Some(iy) = tap(oy, SH, ky, PT, H) else {
                        continue;
                    };
                    for kx in 0..KW {
                        let Some(ix) = tap(ox, SW, kx, PL, W) else {
                            continue;
                        };
                        let k: &mut [T] = flat_mut(&mut dk[ky][kx]);
                        for (c, &v) in x[iy][ix].iter().enumerate() {
                            let span = c * M..c * M + M;
                            for (dk, &g) in k[span.clone()].iter_mut().zip(&g[span]) {
                                *dk = *dk + v * g;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<
        T: Scalar,
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CO: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const BIAS: bool,
    > Params<T> for DepthwiseConv2D<T, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>
{
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        f(Param {
            name: &Name::child(prefix, "kernel"),
            shape: &[KH, KW, C, M],
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
        f(ParamMut {
            name: &Name::child(prefix, "kernel"),
            shape: &[KH, KW, C, M],
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

    /// Keras's fans for the `[KH, KW, C, M]` kernel: `KH·KW·C` in, `KH·KW·M` out.
    fn init_params(&mut self, rng: &mut Rng) {
        glorot_uniform(
            rng,
            KH * KW * C,
            KH * KW * M,
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

    #[test]
    fn each_channel_is_convolved_with_its_own_filters() {
        // 2 x 3 image with channels [v, 10·v]; 2 x 2 kernel, M = 2, valid -> 1 x 2 x 4.
        // Channel 0's filters: all ones, and the top-left tap only; channel 1's: the
        // bottom-right tap only, and all -1.
        let mut x = [[[0.0f64; 2]; 3]; 2];
        for (r, row) in x.iter_mut().enumerate() {
            for (c, px) in row.iter_mut().enumerate() {
                let v = (3 * r + c + 1) as f64; // 1 2 3 / 4 5 6
                *px = [v, 10.0 * v];
            }
        }
        let mut conv = DepthwiseConv2D::<f64, 2, 2, 2, 2, 4, 1, 1, 0, 0, true>::zeroed();
        for ky in 0..2 {
            for kx in 0..2 {
                conv.kernel[ky][kx] = [[1.0, 0.0], [0.0, -1.0]];
            }
        }
        conv.kernel[0][0][0][1] = 1.0;
        conv.kernel[1][1][1][0] = 1.0;
        conv.bias = [0.5, 0.0, -1.0, 2.0];
        let mut y = [[[0.0f64; 4]; 2]; 1];
        conv.forward(&x, &mut y);
        // (0,0): window 1 2 / 4 5: ch0 sum 12 + .5, top-left 1; ch1 bottom-right 50 - 1,
        //        -(10 + 20 + 40 + 50) + 2 = -118.
        // (0,1): window 2 3 / 5 6: 16.5, 2; 60 - 1 = 59, -160 + 2 = -158.
        assert_eq!(y, [[[12.5, 1.0, 49.0, -118.0], [16.5, 2.0, 59.0, -158.0]]]);
    }

    /// The definition: each output channel `c·M + m` from input channel `c` alone, with
    /// explicit signed indices into a zero-padded input.
    #[allow(clippy::needless_range_loop)] // indices as in the formula
    fn reference<
        const KH: usize,
        const KW: usize,
        const C: usize,
        const M: usize,
        const CO: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        kernel: &[[[[f64; M]; C]; KW]; KH],
        bias: &[f64; CO],
        (sh, sw, pt, pl): (usize, usize, usize, usize),
        x: &[[[f64; C]; W]; H],
    ) -> [[[f64; CO]; OW]; OH] {
        let mut y = [[*bias; OW]; OH];
        for oy in 0..OH {
            for ox in 0..OW {
                for c in 0..C {
                    for m in 0..M {
                        for ky in 0..KH {
                            for kx in 0..KW {
                                let iy = (oy * sh + ky) as isize - pt as isize;
                                let ix = (ox * sw + kx) as isize - pl as isize;
                                if (0..H as isize).contains(&iy) && (0..W as isize).contains(&ix) {
                                    y[oy][ox][c * M + m] +=
                                        x[iy as usize][ix as usize][c] * kernel[ky][kx][c][m];
                                }
                            }
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
        let mut conv = DepthwiseConv2D::<f64, 3, 2, 3, 2, 6, 2, 3, 1, 0, true>::zeroed();
        conv.init_params(&mut rng(5));
        random(4, &mut conv.bias);
        let mut x = [[[0.0f64; 3]; 10]; 7];
        random(6, flat_mut(&mut x));
        let mut y = [[[0.0f64; 6]; 4]; 4];
        conv.forward(&x, &mut y);
        let want: [[[f64; 6]; 4]; 4] = reference(&conv.kernel, &conv.bias, (2, 3, 1, 0), &x);
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
        let mut conv = DepthwiseConv2D::<f64, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>::zeroed();
        random(seed, flat_mut(&mut conv.kernel));
        random(seed + 1, &mut conv.bias);
        let mut x = [[[0.0f64; C]; W]; H];
        random(seed + 2, flat_mut(&mut x));
        let mut dy = [[[0.0f64; CO]; OW]; OH];
        random(seed + 3, flat_mut(&mut dy));
        let output = |conv: &DepthwiseConv2D<f64, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>,
                      x: &[[[f64; C]; W]; H]| {
            let mut y = [[[0.0f64; CO]; OW]; OH];
            conv.forward(x, &mut y);
            y
        };
        let mut grad = DepthwiseConv2D::zeroed();
        let mut dx = [[[f64::NAN; C]; W]; H];
        conv.backward(&x, &dy, &mut dx, &mut grad);
        let (h, c) = (1e-3, flat(&dy));
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
        let mut params_only = DepthwiseConv2D::zeroed();
        DepthwiseConv2D::<f64, KH, KW, C, M, CO, SH, SW, PT, PL, BIAS>::backward_params(
            &x,
            &dy,
            &mut params_only,
        );
        assert_eq!(params_only.kernel, grad.kernel);
        assert_eq!(params_only.bias, grad.bias);
    }

    #[test]
    fn gradients_valid_and_same_with_strides() {
        // valid, 5 x 4 x 2, K = (2, 3), M = 2 -> 4 x 2 x 4.
        check_gradients::<2, 3, 2, 2, 4, 1, 1, 0, 0, true, 5, 4, 4, 2>(1);
        // same, 7 x 6 x 3, K = 3, S = 2, M = 1 -> 4 x 3; pad 2 and 1 -> PT = 1, PL = 0.
        check_gradients::<3, 3, 3, 1, 3, 2, 2, 1, 0, false, 7, 6, 4, 3>(2);
        // same, 4 x 4 x 1, K = 3, S = 1, M = 3 -> 4 x 4 x 3; PT = PL = 1.
        check_gradients::<3, 3, 1, 3, 3, 1, 1, 1, 1, true, 4, 4, 4, 4>(3);
    }

    #[test]
    fn params_are_the_kernel_then_the_bias_in_keras_shapes() {
        type D = DepthwiseConv2D<f32, 2, 3, 2, 3, 6, 1, 1, 0, 0, true>;
        assert_eq!(D::PARAMS, 2 * 3 * 2 * 3 + 6);
        assert_eq!(
            DepthwiseConv2D::<f32, 3, 3, 4, 1, 4, 1, 1, 0, 0, false>::PARAMS,
            36
        );
        let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
        let root = Name::root("depthwise_conv2d");
        D::zeroed().visit_params(Some(&root), &mut |p| {
            seen.push((p.name.to_string(), p.shape.to_vec()))
        });
        assert_eq!(
            seen,
            [
                ("depthwise_conv2d/kernel".to_string(), [2, 3, 2, 3].to_vec()),
                ("depthwise_conv2d/bias".to_string(), [6].to_vec()),
            ]
        );
    }

    #[test]
    fn init_uses_keras_fans_for_a_kernel() {
        type D = DepthwiseConv2D<f32, 3, 3, 4, 2, 8, 1, 1, 0, 0, true>;
        let mut a = D::zeroed();
        a.bias = [3.0; 8];
        a.init_params(&mut rng(21));
        assert_eq!(a.bias, [0.0; 8]);
        // Keras's compute_fans on [3, 3, 4, 2]: fan_in = 9·4 = 36, fan_out = 9·2 = 18.
        let mut draws = [0.0f32; 72];
        glorot_uniform(&mut rng(21), 36, 18, &mut draws);
        assert_eq!(flat::<f32, _>(&a.kernel), draws);
    }
}
