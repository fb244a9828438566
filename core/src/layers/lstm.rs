//! Keras's `LSTM` on sequences `[S][F]`: gates i, f, c, o in Keras's order and layouts, the
//! sequence length and every gate size constants, backward by backpropagation through time.
//!
//! The products run on the Dense kernels over a block of samples: the input projections of
//! every step of every sample at once (`n·S` rows), the recurrent product step by step (`n`
//! rows), so the recurrent kernel is read once per step for the whole block.

use super::recurrent::{
    input_gradients, output_at, project_inputs, recurrent_kernel_gradient, Scratch,
};
use crate::activations::Elementwise;
use crate::scalar::Scalar;
use crate::train::BLOCK;

/// An LSTM of `U` units over `F` features; `G = 4·U` (the four gates side by side).
///
/// Activations are type parameters of the methods (`A`: Keras's `activation`, tanh by default;
/// `R`: `recurrent_activation`, sigmoid), so the struct holds nothing but parameters.
///
/// # Shapes
/// - input: `[S][F]` per sample
/// - output: `[S][U]` (`return_sequences`) or `[U]`, the last step's
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Lstm<T, const F: usize, const U: usize, const G: usize, const BIAS: bool> {
    /// `kernel[f][g]`, Keras shape `[F, 4U]`, gate blocks `[i | f | c | o]`.
    pub kernel: [[T; G]; F],
    /// `recurrent_kernel[u][g]`, Keras shape `[U, 4U]`.
    pub recurrent_kernel: [[T; G]; U],
    /// `bias[g]`, Keras shape `[4U]` (zeros and unused without `use_bias`).
    pub bias: [T; G],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    bytemuck::Zeroable for Lstm<T, F, U, G, BIAS>
{
}

/// The kernel `lstm_cell_forward` (see [`crate::kernels::Kernels`]): `c = f·c_prev + i·g`,
/// `h = o·A(c)`. `#[inline(always)]`, so each instruction set's entry point vectorizes it.
#[inline(always)]
pub(crate) fn cell_forward<
    T: Scalar,
    A: Elementwise,
    R: Elementwise,
    const U: usize,
    const G: usize,
>(
    z: &[T; G],
    c_prev: &[T; U],
    c: &mut [T; U],
    h: &mut [T; U],
) {
    let (zi, rest) = z.split_at(U);
    let (zf, rest) = rest.split_at(U);
    let (zg, zo) = rest.split_at(U);
    for u in 0..U {
        let i = R::f(zi[u]);
        let f = R::f(zf[u]);
        let g = A::f(zg[u]);
        let o = R::f(zo[u]);
        let cu = f * c_prev[u] + i * g;
        c[u] = cu;
        h[u] = o * A::f(cu);
    }
}

/// The kernel `lstm_cell_backward`: the gates' activations are recomputed from `z` (cheaper
/// than keeping them), then `dc = dh·o·A'(c) + dc_next` and each gate's gradient.
#[inline(always)]
pub(crate) fn cell_backward<
    T: Scalar,
    A: Elementwise,
    R: Elementwise,
    const U: usize,
    const G: usize,
>(
    z: &mut [T; G],
    c_prev: &[T; U],
    c: &[T; U],
    dh: &[T; U],
    dc: &mut [T; U],
) {
    let (zi, rest) = z.split_at_mut(U);
    let (zf, rest) = rest.split_at_mut(U);
    let (zg, zo) = rest.split_at_mut(U);
    for u in 0..U {
        let (a_i, a_f, a_g, a_o) = (zi[u], zf[u], zg[u], zo[u]);
        let (i, f, g, o) = (R::f(a_i), R::f(a_f), A::f(a_g), R::f(a_o));
        let ac = A::f(c[u]);
        let d = dh[u] * o * A::df(c[u], ac) + dc[u];
        dc[u] = d * f;
        zi[u] = d * g * R::df(a_i, i);
        zf[u] = d * c_prev[u] * R::df(a_f, f);
        zg[u] = d * i * A::df(a_g, g);
        zo[u] = dh[u] * ac * R::df(a_o, o);
    }
}

impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    Lstm<T, F, U, G, BIAS>
{
    /// The number of parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = F * G + U * G + if BIAS { G } else { 0 };

    const CHECK: () = assert!(G == 4 * U, "Lstm: G must be 4 * U");

    fn bias(&self) -> Option<&[T; G]> {
        BIAS.then_some(&self.bias)
    }

    /// Keras's `unit_forget_bias`: zeros but ones for the forget gate.
    fn init_bias(&mut self) {
        self.bias.fill(T::zero());
        if BIAS {
            self.bias[U..2 * U].fill(T::one());
        }
    }

    /// Inference on `x.len()` samples, `R` at a time (the stack holds `R` rows of each
    /// state). `y` is `[n][S][U]` with `SEQ` (every step's output, in the order the steps ran),
    /// else `[n][U]`; with `BACK` the steps run from the last to the first (`go_backwards`).
    pub fn forward<
        A: Elementwise,
        Rc: Elementwise,
        const S: usize,
        const SEQ: bool,
        const BACK: bool,
        const R: usize,
    >(
        &self,
        x: &[[[T; F]; S]],
        y: &mut [T],
    ) {
        let () = Self::CHECK;
        let per = if SEQ { S * U } else { U };
        assert_eq!(y.len(), x.len() * per, "Lstm: output length");
        for (xs, ys) in x.chunks(R).zip(y.chunks_mut(R * per)) {
            let m = xs.len();
            let mut xt = [[T::zero(); F]; R];
            let mut z = [[T::zero(); G]; R];
            let mut zr = [[T::zero(); G]; R];
            let mut h = [[T::zero(); U]; R];
            let mut c = [[T::zero(); U]; R];
            for step in 0..S {
                let t = if BACK { S - 1 - step } else { step };
                for (row, sample) in xt.iter_mut().zip(xs) {
                    *row = sample[t];
                }
                T::dense_forward(&self.kernel, self.bias(), &xt[..m], &mut z[..m]);
                if step > 0 {
                    T::dense_forward(&self.recurrent_kernel, None, &h[..m], &mut zr[..m]);
                    for (zi, ri) in z[..m].iter_mut().zip(&zr[..m]) {
                        zi.iter_mut().zip(ri).for_each(|(a, &b)| *a = *a + b);
                    }
                }
                for r in 0..m {
                    let c_prev = c[r];
                    T::lstm_cell_forward::<A, Rc, U, G>(&z[r], &c_prev, &mut c[r], &mut h[r]);
                    if let Some(at) = output_at::<U, S, SEQ>(r, step) {
                        ys[at..at + U].copy_from_slice(&h[r]);
                    }
                }
            }
        }
    }

    /// Training forward on a block of at most [`BLOCK`] samples: keeps each step's gate
    /// pre-activations `z`, cell states `c` and outputs `h` (in the order the steps ran) for
    /// [`Lstm::backward`].
    pub fn forward_train<A: Elementwise, Rc: Elementwise, const S: usize, const BACK: bool>(
        &self,
        x: &[[[T; F]; S]],
        z: &mut [[[T; G]; S]],
        c: &mut [[[T; U]; S]],
        h: &mut [[[T; U]; S]],
        scratch: &mut Scratch<T, U, G>,
    ) {
        let () = Self::CHECK;
        let n = x.len();
        assert!(n <= BLOCK, "Lstm: at most {BLOCK} samples a call");
        assert!(
            z.len() == n && c.len() == n && h.len() == n,
            "Lstm: cache length"
        );
        project_inputs(&self.kernel, self.bias(), x, z, BACK);
        let Scratch {
            gates: zr,
            a: h_prev,
            ..
        } = scratch;
        let zero = [T::zero(); U];
        for step in 0..S {
            if step > 0 {
                for (row, hs) in h_prev.iter_mut().zip(&*h) {
                    *row = hs[step - 1];
                }
                T::dense_forward(&self.recurrent_kernel, None, &h_prev[..n], &mut zr[..n]);
            }
            for r in 0..n {
                let zt = &mut z[r][step];
                if step > 0 {
                    zt.iter_mut().zip(&zr[r]).for_each(|(a, &b)| *a = *a + b);
                }
                let (before, from) = c[r].split_at_mut(step);
                let c_prev = before.last().unwrap_or(&zero);
                T::lstm_cell_forward::<A, Rc, U, G>(zt, c_prev, &mut from[0], &mut h[r][step]);
            }
        }
    }

    /// Backpropagation through time over what [`Lstm::forward_train`] kept. `dy` is the
    /// gradient of the output (`[n][S][U]` with `SEQ`, else `[n][U]` for the last step). Adds
    /// the parameter gradients into `grad` and, given `dx`, overwrites it with the input's.
    /// Spends the cache: `z` becomes the gates' gradients, `c` the outputs shifted by a step.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<
        A: Elementwise,
        Rc: Elementwise,
        const S: usize,
        const SEQ: bool,
        const BACK: bool,
    >(
        &self,
        x: &[[[T; F]; S]],
        z: &mut [[[T; G]; S]],
        c: &mut [[[T; U]; S]],
        h: &[[[T; U]; S]],
        dy: &[T],
        dx: Option<&mut [[[T; F]; S]]>,
        grad: &mut Self,
        scratch: &mut Scratch<T, U, G>,
    ) {
        let n = x.len();
        assert!(n <= BLOCK, "Lstm: at most {BLOCK} samples a call");
        assert_eq!(dy.len(), n * if SEQ { S * U } else { U }, "Lstm: dy length");
        let Scratch {
            gates: dzt,
            a: dh_next,
            b: dc_next,
            ..
        } = scratch;
        dh_next[..n].fill([T::zero(); U]);
        dc_next[..n].fill([T::zero(); U]);
        let zero = [T::zero(); U];
        for step in (0..S).rev() {
            for r in 0..n {
                let mut dh = dh_next[r];
                if let Some(at) = output_at::<U, S, SEQ>(r, step) {
                    dh.iter_mut()
                        .zip(&dy[at..at + U])
                        .for_each(|(d, &g)| *d = *d + g);
                }
                let c_prev = if step > 0 { &c[r][step - 1] } else { &zero };
                let zt = &mut z[r][step];
                T::lstm_cell_backward::<A, Rc, U, G>(zt, c_prev, &c[r][step], &dh, &mut dc_next[r]);
                dzt[r] = *zt;
            }
            if step > 0 {
                T::dense_backward_input(&self.recurrent_kernel, &dzt[..n], &mut dh_next[..n]);
            }
        }
        // The cell states are spent: they become the shifted outputs.
        recurrent_kernel_gradient(c, h, z, &mut grad.recurrent_kernel);
        let bias = BIAS.then_some(&mut grad.bias);
        input_gradients(&self.kernel, x, z, BACK, &mut grad.kernel, bias, dx);
    }
}

super::recurrent::recurrent_params!(Lstm, [G]);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::activations::{Sigmoid, Tanh};
    use crate::params::Params;
    use bytemuck::Zeroable as _;

    super::super::recurrent::bptt_checks!(Lstm, 12, 3);

    #[test]
    fn one_unit_one_step_by_hand() {
        // F = 1, U = 1: z = [0.5, 1, -1, 2] · x + bias, x = 1, bias 0 but forget gate 1.
        let l = Lstm::<f64, 1, 1, 4, true> {
            kernel: [[0.5, 1.0, -1.0, 2.0]],
            recurrent_kernel: [[0.0; 4]],
            bias: [0.0, 1.0, 0.0, 0.0],
        };
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let c = sig(0.5) * (-1.0f64).tanh(); // f · 0 + i · g
        let want = sig(2.0) * c.tanh();
        let mut y = [0.0];
        l.forward::<Tanh, Sigmoid, 1, false, false, 1>(&[[[1.0]]], &mut y);
        assert!((y[0] - want).abs() < 1e-15, "{} vs {want}", y[0]);
    }

    #[test]
    fn init_has_keras_forget_bias_and_an_orthogonal_recurrent_kernel() {
        let mut l = Lstm::<f64, 3, 4, 16, true>::zeroed();
        l.init_params(&mut crate::init::rng(1));
        assert_eq!(l.bias[..4], [0.0; 4]);
        assert_eq!(l.bias[4..8], [1.0; 4]);
        assert_eq!(l.bias[8..], [0.0; 8]);
        // Rows of the [4, 16] recurrent kernel are orthonormal.
        for a in 0..4 {
            for b in 0..4 {
                let dot: f64 = (0..16)
                    .map(|k| l.recurrent_kernel[a][k] * l.recurrent_kernel[b][k])
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9, "rows {a}, {b}: {dot}");
            }
        }
    }
}
