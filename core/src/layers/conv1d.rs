//! Keras's `Conv1D` on `[steps, channels]` sequences: the 2-D convolution's kernels with a
//! width of one, so it shares their vector code; a dilated one (`dilation_rate > 1`, which
//! Keras allows with stride 1 only) runs loops of its own over the taps.

use super::windows_reach_input;
use crate::init::{glorot_uniform, Rng};
use crate::kernels::Window2d;
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A 1-D convolution (Keras's cross-correlation) with a kernel of `K` steps from `CI` to `CO`
/// channels, stride `S`, taps `D` steps apart (Keras's `dilation_rate`), and `PT` zero steps
/// of padding before the input; without a bias when `BIAS` is false.
///
/// The padding after the input is implied by the output length: the macro works out `PT` and
/// `OL` from Keras's `valid`, `same` or `causal` rule over the dilated kernel's span
/// `(K − 1)·D + 1` (`causal` pads `(K − 1)·D` steps before and none after, so step `t` sees
/// steps `..= t` only). The kernel is `[k][in][out]`, Keras's
/// layout, which is also the memory of a `K × 1` [`crate::layers::Conv2D`] kernel.
///
/// # Shapes
/// - input: `[L][CI]`
/// - output: `[OL][CO]`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Conv1D<
    T,
    const K: usize,
    const CI: usize,
    const CO: usize,
    const S: usize,
    const D: usize,
    const PT: usize,
    const BIAS: bool,
> {
    /// `kernel[k][ci][co]`, Keras shape `[K, CI, CO]`.
    pub kernel: [[[T; CO]; CI]; K],
    /// `bias[co]`, Keras shape `[CO]`; unused when `BIAS` is false.
    pub bias: [T; CO],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<
        T: Scalar,
        const K: usize,
        const CI: usize,
        const CO: usize,
        const S: usize,
        const D: usize,
        const PT: usize,
        const BIAS: bool,
    > bytemuck::Zeroable for Conv1D<T, K, CI, CO, S, D, PT, BIAS>
{
}

/// The 2-D window geometry of a 1-D convolution over `L` steps: one column, `K × 1` taps.
type Geometry<
    const L: usize,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const PT: usize,
    const OL: usize,
> = Window2d<L, 1, CI, CO, K, 1, S, 1, PT, 0, OL, 1>;

impl<
        T: Scalar,
        const K: usize,
        const CI: usize,
        const CO: usize,
        const S: usize,
        const D: usize,
        const PT: usize,
        const BIAS: bool,
    > Conv1D<T, K, CI, CO, S, D, PT, BIAS>
{
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = K * CI * CO + if BIAS { CO } else { 0 };

    /// The steps the dilated kernel spans: `(K − 1)·D + 1`.
    const SPAN: usize = (K - 1) * D + 1;

    /// Checked at compile time for each geometry used: every output sees the input, and a
    /// dilated kernel moves by one step (Keras refuses both above one).
    const fn check<const L: usize, const OL: usize>() {
        assert!(D > 0, "Conv1D: a dilation of zero");
        assert!(
            D == 1 || S == 1,
            "Conv1D: dilation and strides above one together"
        );
        assert!(
            windows_reach_input(OL, S, PT, Self::SPAN, L),
            "Conv1D: steps see only padding"
        );
    }

    /// The input step that tap `k` of output `o` reads, if it is not padding.
    #[inline]
    fn tap<const L: usize>(o: usize, k: usize) -> Option<usize> {
        (o * S + k * D).checked_sub(PT).filter(|&i| i < L)
    }

    /// `y[o][co] = bias[co] + Σ x[i][ci] · kernel[k][ci][co]` over the taps with
    /// `i = o·S + k·D − PT` inside the input (the rest are zero padding), the bias only when
    /// `BIAS`.
    pub fn forward<const L: usize, const OL: usize>(
        &self,
        x: &[[T; CI]; L],
        y: &mut [[T; CO]; OL],
    ) {
        const { Self::check::<L, OL>() }
        if D > 1 {
            for (o, yo) in y.iter_mut().enumerate() {
                *yo = if BIAS { self.bias } else { [T::zero(); CO] };
                for (k, w) in self.kernel.iter().enumerate() {
                    let Some(i) = Self::tap::<L>(o, k) else {
                        continue;
                    };
                    for (&xv, wc) in x[i].iter().zip(w) {
                        for (yv, &wv) in yo.iter_mut().zip(wc) {
                            *yv = *yv + xv * wv;
                        }
                    }
                }
            }
            return;
        }
        let bias = BIAS.then_some(&self.bias[..]);
        T::conv2d_forward::<Geometry<L, CI, CO, K, S, PT, OL>>(
            flat(&self.kernel),
            bias,
            flat(x),
            flat_mut(y),
        );
    }

    /// The gradients of [`Conv1D::forward`], given the input `x` it read and `dy = ∂L/∂y`:
    /// adds `∂L/∂kernel` to `grad.kernel` and `∂L/∂bias` to `grad.bias` (only when `BIAS`),
    /// and overwrites `dx` with `∂L/∂x`. Gradients accumulate; start `grad` at zero.
    pub fn backward<const L: usize, const OL: usize>(
        &self,
        x: &[[T; CI]; L],
        dy: &[[T; CO]; OL],
        dx: &mut [[T; CI]; L],
        grad: &mut Self,
    ) {
        Self::backward_params(x, dy, grad);
        if D > 1 {
            for row in dx.iter_mut() {
                row.fill(T::zero());
            }
            for (o, dyo) in dy.iter().enumerate() {
                for (k, w) in self.kernel.iter().enumerate() {
                    let Some(i) = Self::tap::<L>(o, k) else {
                        continue;
                    };
                    for (dxv, wc) in dx[i].iter_mut().zip(w) {
                        let mut sum = T::zero();
                        for (&g, &wv) in dyo.iter().zip(wc) {
                            sum = sum + g * wv;
                        }
                        *dxv = *dxv + sum;
                    }
                }
            }
            return;
        }
        T::conv2d_backward_input::<Geometry<L, CI, CO, K, S, PT, OL>>(
            flat(&self.kernel),
            flat(dy),
            flat_mut(dx),
        );
    }

    /// [`Conv1D::backward`] without `dx`, for a model's first layer:
    /// `grad.kernel[k][ci][co] += Σ x[i][ci] · dy[o][co]` over the forward's taps, and
    /// `grad.bias[co] += Σ dy[o][co]`.
    pub fn backward_params<const L: usize, const OL: usize>(
        x: &[[T; CI]; L],
        dy: &[[T; CO]; OL],
        grad: &mut Self,
    ) {
        const { Self::check::<L, OL>() }
        if D > 1 {
            for (o, dyo) in dy.iter().enumerate() {
                if BIAS {
                    for (b, &g) in grad.bias.iter_mut().zip(dyo) {
                        *b = *b + g;
                    }
                }
                for (k, gk) in grad.kernel.iter_mut().enumerate() {
                    let Some(i) = Self::tap::<L>(o, k) else {
                        continue;
                    };
                    for (&xv, gc) in x[i].iter().zip(gk.iter_mut()) {
                        for (gv, &g) in gc.iter_mut().zip(dyo) {
                            *gv = *gv + xv * g;
                        }
                    }
                }
            }
            return;
        }
        let bias = BIAS.then_some(&mut grad.bias[..]);
        T::conv2d_backward_params::<Geometry<L, CI, CO, K, S, PT, OL>>(
            flat(x),
            flat(dy),
            flat_mut(&mut grad.kernel),
            bias,
        );
    }
}

impl<
        T: Scalar,
        const K: usize,
        const CI: usize,
        const CO: usize,
        const S: usize,
        const D: usize,
        const PT: usize,
        const BIAS: bool,
    > Params<T> for Conv1D<T, K, CI, CO, S, D, PT, BIAS>
{
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        f(Param {
            name: &Name::child(prefix, "kernel"),
            shape: &[K, CI, CO],
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
            shape: &[K, CI, CO],
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

    /// Keras's fans for a conv kernel: `K·CI` in, `K·CO` out.
    fn init_params(&mut self, rng: &mut Rng) {
        glorot_uniform(rng, K * CI, K * CO, flat_mut::<T, _>(&mut self.kernel));
        self.bias.fill(T::zero());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use bytemuck::Zeroable as _;

    #[test]
    fn valid_stride_one_by_hand() {
        // x = 1..5 in channel 0, ten times that in channel 1; kernel taps [1, 0, -1] on
        // channel 0 and [0, 1, 0] on channel 1 into one output, bias 0.5.
        let x: [[f32; 2]; 5] = core::array::from_fn(|i| [(i + 1) as f32, 10.0 * (i + 1) as f32]);
        let conv = Conv1D::<f32, 3, 2, 1, 1, 1, 0, true> {
            kernel: [[[1.0], [0.0]], [[0.0], [1.0]], [[-1.0], [0.0]]],
            bias: [0.5],
        };
        let mut y = [[0.0f32; 1]; 3];
        conv.forward(&x, &mut y);
        // y[o] = x[o] - x[o+2] + 10·x[o+1] + 0.5 = -2 + 10(o + 2) + 0.5.
        assert_eq!(y, [[18.5], [28.5], [38.5]]);
    }

    #[test]
    fn causal_sees_only_the_past() {
        // K = 3, causal: PT = 2, OL = L. Taps [1, 2, 3]: y[t] = x[t-2] + 2·x[t-1] + 3·x[t].
        let x = [[1.0f64], [2.0], [3.0], [4.0]];
        let conv = Conv1D::<f64, 3, 1, 1, 1, 1, 2, false> {
            kernel: [[[1.0]], [[2.0]], [[3.0]]],
            bias: [99.0],
        };
        let mut y = [[0.0f64; 1]; 4];
        conv.forward(&x, &mut y);
        assert_eq!(y, [[3.0], [8.0], [14.0], [20.0]]);
    }

    #[test]
    fn same_stride_two() {
        // L = 5, K = 2, S = 2, same: OL = 3, pad total (3-1)·2 + 2 - 5 = 1, before 0.
        // Taps [1, 10]: y[o] = x[2o] + 10·x[2o + 1], the last one past the end.
        let x = [[1.0f32], [2.0], [3.0], [4.0], [5.0]];
        let conv = Conv1D::<f32, 2, 1, 1, 2, 1, 0, false> {
            kernel: [[[1.0]], [[10.0]]],
            bias: [0.0],
        };
        let mut y = [[0.0f32; 1]; 3];
        conv.forward(&x, &mut y);
        assert_eq!(y, [[21.0], [43.0], [5.0]]);
    }

    #[test]
    fn dilated_taps_by_hand() {
        // K = 3, D = 2, valid: y[o] = x[o] + 2·x[o + 2] + 3·x[o + 4] + 0.5.
        let x: [[f64; 1]; 6] = core::array::from_fn(|i| [(i * i) as f64]);
        let conv = Conv1D::<f64, 3, 1, 1, 1, 2, 0, true> {
            kernel: [[[1.0]], [[2.0]], [[3.0]]],
            bias: [0.5],
        };
        let mut y = [[0.0f64; 1]; 2];
        conv.forward(&x, &mut y);
        assert_eq!(y, [[0.0 + 8.0 + 48.0 + 0.5], [1.0 + 18.0 + 75.0 + 0.5]]);
        // Causal, D = 2: PT = 4, y[t] = x[t - 4] + 2·x[t - 2] + 3·x[t].
        let causal = Conv1D::<f64, 3, 1, 1, 1, 2, 4, false> {
            kernel: conv.kernel,
            bias: [99.0],
        };
        let mut y = [[0.0f64; 1]; 6];
        causal.forward(&x, &mut y);
        let want: [f64; 6] = core::array::from_fn(|t| {
            let at = |i: isize| if i < 0 { 0.0 } else { (i * i) as f64 };
            let t = t as isize;
            at(t - 4) + 2.0 * at(t - 2) + 3.0 * at(t)
        });
        assert_eq!(y.map(|v| v[0]), want);
    }

    /// Checks every gradient of one geometry against finite differences.
    fn check<
        const K: usize,
        const CI: usize,
        const CO: usize,
        const S: usize,
        const D: usize,
        const PT: usize,
        const L: usize,
        const OL: usize,
    >(
        seed: u64,
    ) {
        let mut conv = Conv1D::<f64, K, CI, CO, S, D, PT, true>::zeroed();
        random(seed, flat_mut(&mut conv.kernel));
        random(seed + 1, &mut conv.bias);
        let mut x = [[0.0f64; CI]; L];
        random(seed + 2, flat_mut(&mut x));
        let mut c = [[0.0f64; CO]; OL];
        random(seed + 3, flat_mut(&mut c));
        let mut dx = [[f64::NAN; CI]; L];
        let mut grad = Conv1D::<f64, K, CI, CO, S, D, PT, true>::zeroed();
        conv.backward(&x, &c, &mut dx, &mut grad);
        let h = 1e-6;
        assert_gradient("x", flat(&x), flat(&dx), flat(&c), h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[0.0f64; CO]; OL];
            conv.forward(&x, &mut y);
            y
        });
        assert_gradient(
            "kernel",
            flat(&conv.kernel),
            flat(&grad.kernel),
            flat(&c),
            h,
            |ks| {
                let mut conv = conv;
                flat_mut(&mut conv.kernel).copy_from_slice(ks);
                let mut y = [[0.0f64; CO]; OL];
                conv.forward(&x, &mut y);
                y
            },
        );
        assert_gradient("bias", &conv.bias, &grad.bias, flat(&c), h, |bs| {
            let mut conv = conv;
            conv.bias.copy_from_slice(bs);
            let mut y = [[0.0f64; CO]; OL];
            conv.forward(&x, &mut y);
            y
        });
    }

    #[test]
    fn gradients() {
        // valid, stride 1: 9 steps, K 3 -> 7.
        check::<3, 2, 3, 1, 1, 0, 9, 7>(1);
        // same, stride 2: 8 steps, K 4 -> 4, pad total 2, before 1.
        check::<4, 3, 2, 2, 1, 1, 8, 4>(2);
        // causal, K 3, stride 1: pad 2 before.
        check::<3, 1, 2, 1, 1, 2, 6, 6>(3);
        // Dilated: valid, K 3 dilated by 2 spans 5: 9 steps -> 5.
        check::<3, 2, 3, 1, 2, 0, 9, 5>(4);
        // causal, K 2 dilated by 3: pad 3 before, 7 -> 7.
        check::<2, 2, 2, 1, 3, 3, 7, 7>(5);
        // same, K 3 dilated by 3 spans 7: 6 steps -> 6, pad total 6, before 3 (the span
        // overhangs the input on both sides).
        check::<3, 1, 2, 1, 3, 3, 6, 6>(6);
    }
}
