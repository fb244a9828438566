//! Keras 3's `GRU` (`reset_after = true`) on sequences `[S][F]`: gates z, r, h in Keras's order
//! and layouts, an input and a recurrent bias, backward by backpropagation through time.
//!
//! As in [`super::lstm`], the products run on the Dense kernels over a block of samples: every
//! step's input projection at once, the recurrent one step by step.

use super::recurrent::{input_gradients, output_at, project_inputs, Scratch};
use crate::activations::Elementwise;
use crate::scalar::Scalar;
use crate::train::BLOCK;

/// A GRU of `U` units over `F` features; `G = 3·U` (the three gates side by side).
///
/// `A` (Keras's `activation`, tanh by default) and `R` (`recurrent_activation`, sigmoid) are
/// type parameters of the methods, so the struct holds nothing but parameters.
///
/// # Shapes
/// - input: `[S][F]` per sample
/// - output: `[S][U]` (`return_sequences`) or `[U]`, the last step's
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Gru<T, const F: usize, const U: usize, const G: usize, const BIAS: bool> {
    /// `kernel[f][g]`, Keras shape `[F, 3U]`, gate blocks `[z | r | h]`.
    pub kernel: [[T; G]; F],
    /// `recurrent_kernel[u][g]`, Keras shape `[U, 3U]`.
    pub recurrent_kernel: [[T; G]; U],
    /// `bias[0]` is added to the input projection, `bias[1]` to the recurrent one (before the
    /// reset gate scales it); Keras shape `[2, 3U]`. Zeros and unused without `use_bias`.
    pub bias: [[T; G]; 2],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    bytemuck::Zeroable for Gru<T, F, U, G, BIAS>
{
}

/// The kernel `gru_cell_forward` (see [`crate::kernels::Kernels`]): from the input projection
/// `x` and the recurrent one `r` (biases included), `z = R(x_z + r_z)`, `r = R(x_r + r_r)`,
/// `ĥ = A(x_h + r·r_h)`, `h = z·h_prev + (1 − z)·ĥ`.
#[inline(always)]
pub(crate) fn cell_forward<
    T: Scalar,
    A: Elementwise,
    R: Elementwise,
    const U: usize,
    const G: usize,
>(
    x: &[T; G],
    r: &[T; G],
    h_prev: &[T; U],
    h: &mut [T; U],
) {
    for u in 0..U {
        let z = R::f(x[u] + r[u]);
        let reset = R::f(x[U + u] + r[U + u]);
        let hh = A::f(x[2 * U + u] + reset * r[2 * U + u]);
        h[u] = z * h_prev[u] + (T::one() - z) * hh;
    }
}

/// The kernel `gru_cell_backward`: given `dh`, overwrites `x` with the gradient of the input
/// projection, `r` with that of the recurrent one, and writes `dh_prev = dh · z` (the part of
/// the previous output's gradient that skips the recurrent kernel).
#[inline(always)]
pub(crate) fn cell_backward<
    T: Scalar,
    A: Elementwise,
    R: Elementwise,
    const U: usize,
    const G: usize,
>(
    x: &mut [T; G],
    r: &mut [T; G],
    h_prev: &[T; U],
    dh: &[T; U],
    dh_prev: &mut [T; U],
) {
    for u in 0..U {
        let (pz, pr) = (x[u] + r[u], x[U + u] + r[U + u]);
        let (z, reset) = (R::f(pz), R::f(pr));
        let rh = r[2 * U + u];
        let ph = x[2 * U + u] + reset * rh;
        let hh = A::f(ph);
        let d = dh[u];
        let dz = d * (h_prev[u] - hh) * R::df(pz, z);
        let dph = d * (T::one() - z) * A::df(ph, hh);
        let dr = dph * rh * R::df(pr, reset);
        dh_prev[u] = d * z;
        x[u] = dz;
        x[U + u] = dr;
        x[2 * U + u] = dph;
        r[u] = dz;
        r[U + u] = dr;
        r[2 * U + u] = dph * reset;
    }
}

impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    Gru<T, F, U, G, BIAS>
{
    /// The number of parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = F * G + U * G + if BIAS { 2 * G } else { 0 };

    const CHECK: () = assert!(G == 3 * U, "Gru: G must be 3 * U");

    fn bias(&self, k: usize) -> Option<&[T; G]> {
        BIAS.then_some(&self.bias[k])
    }

    /// Keras's: zeros.
    fn init_bias(&mut self) {
        self.bias = [[T::zero(); G]; 2];
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
        assert_eq!(y.len(), x.len() * per, "Gru: output length");
        for (xs, ys) in x.chunks(R).zip(y.chunks_mut(R * per)) {
            let m = xs.len();
            let mut xt = [[T::zero(); F]; R];
            let mut gx = [[T::zero(); G]; R];
            let mut gr = [[T::zero(); G]; R];
            let mut h = [[T::zero(); U]; R];
            for step in 0..S {
                let t = if BACK { S - 1 - step } else { step };
                for (row, sample) in xt.iter_mut().zip(xs) {
                    *row = sample[t];
                }
                T::dense_forward(&self.kernel, self.bias(0), &xt[..m], &mut gx[..m]);
                T::dense_forward(&self.recurrent_kernel, self.bias(1), &h[..m], &mut gr[..m]);
                for r in 0..m {
                    let h_prev = h[r];
                    T::gru_cell_forward::<A, Rc, U, G>(&gx[r], &gr[r], &h_prev, &mut h[r]);
                    if let Some(at) = output_at::<U, S, SEQ>(r, step) {
                        ys[at..at + U].copy_from_slice(&h[r]);
                    }
                }
            }
        }
    }

    /// Training forward on a block of at most [`BLOCK`] samples: keeps each step's input
    /// projection `gx`, recurrent projection `gr` and output `h` (in the order the steps ran)
    /// for [`Gru::backward`].
    pub fn forward_train<A: Elementwise, Rc: Elementwise, const S: usize, const BACK: bool>(
        &self,
        x: &[[[T; F]; S]],
        gx: &mut [[[T; G]; S]],
        gr: &mut [[[T; G]; S]],
        h: &mut [[[T; U]; S]],
        scratch: &mut Scratch<T, U, G>,
    ) {
        let () = Self::CHECK;
        let n = x.len();
        assert!(n <= BLOCK, "Gru: at most {BLOCK} samples a call");
        assert!(
            gx.len() == n && gr.len() == n && h.len() == n,
            "Gru: cache length"
        );
        project_inputs(&self.kernel, self.bias(0), x, gx, BACK);
        let Scratch {
            gates: rt,
            a: h_prev,
            ..
        } = scratch;
        for step in 0..S {
            for (row, hs) in h_prev.iter_mut().zip(&*h) {
                *row = if step > 0 {
                    hs[step - 1]
                } else {
                    [T::zero(); U]
                };
            }
            T::dense_forward(
                &self.recurrent_kernel,
                self.bias(1),
                &h_prev[..n],
                &mut rt[..n],
            );
            for r in 0..n {
                gr[r][step] = rt[r];
                T::gru_cell_forward::<A, Rc, U, G>(
                    &gx[r][step],
                    &rt[r],
                    &h_prev[r],
                    &mut h[r][step],
                );
            }
        }
    }

    /// Backpropagation through time over what [`Gru::forward_train`] kept. `dy` is the
    /// gradient of the output (`[n][S][U]` with `SEQ`, else `[n][U]` for the last step). Adds
    /// the parameter gradients into `grad` and, given `dx`, overwrites it with the input's.
    /// Spends the cache: `gx` and `gr` become their gradients.
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
        gx: &mut [[[T; G]; S]],
        gr: &mut [[[T; G]; S]],
        h: &[[[T; U]; S]],
        dy: &[T],
        dx: Option<&mut [[[T; F]; S]]>,
        grad: &mut Self,
        scratch: &mut Scratch<T, U, G>,
    ) {
        let n = x.len();
        assert!(n <= BLOCK, "Gru: at most {BLOCK} samples a call");
        assert_eq!(dy.len(), n * if SEQ { S * U } else { U }, "Gru: dy length");
        let Scratch {
            gates: drt,
            a: dh_next,
            b: through,
            c: h_prev,
        } = scratch;
        dh_next[..n].fill([T::zero(); U]);
        for step in (0..S).rev() {
            for r in 0..n {
                let mut dh = dh_next[r];
                if let Some(at) = output_at::<U, S, SEQ>(r, step) {
                    dh.iter_mut()
                        .zip(&dy[at..at + U])
                        .for_each(|(d, &g)| *d = *d + g);
                }
                h_prev[r] = if step > 0 {
                    h[r][step - 1]
                } else {
                    [T::zero(); U]
                };
                T::gru_cell_backward::<A, Rc, U, G>(
                    &mut gx[r][step],
                    &mut gr[r][step],
                    &h_prev[r],
                    &dh,
                    &mut dh_next[r],
                );
                drt[r] = gr[r][step];
            }
            let bias = BIAS.then_some(&mut grad.bias[1]);
            T::dense_backward_params(&h_prev[..n], &drt[..n], &mut grad.recurrent_kernel, bias);
            if step > 0 {
                T::dense_backward_input(&self.recurrent_kernel, &drt[..n], &mut through[..n]);
                for (d, t) in dh_next[..n].iter_mut().zip(&through[..n]) {
                    d.iter_mut().zip(t).for_each(|(a, &b)| *a = *a + b);
                }
            }
        }
        let bias = BIAS.then_some(&mut grad.bias[0]);
        input_gradients(&self.kernel, x, gx, BACK, &mut grad.kernel, bias, dx);
    }
}

super::recurrent::recurrent_params!(Gru, [2, G]);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::activations::{Sigmoid, Tanh};

    super::super::recurrent::bptt_checks!(Gru, 9, 9);

    #[test]
    fn one_unit_two_steps_by_hand() {
        let l = Gru::<f64, 1, 1, 3, true> {
            kernel: [[0.5, -1.0, 2.0]],
            recurrent_kernel: [[1.0, 0.5, -0.5]],
            bias: [[0.0, 0.0, 0.1], [0.2, 0.0, 0.3]],
        };
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let step = |x: f64, h: f64| {
            let z = sig(0.5 * x + h + 0.2);
            let r = sig(-x + 0.5 * h);
            let hh = (2.0 * x + 0.1 + r * (-0.5 * h + 0.3)).tanh();
            z * h + (1.0 - z) * hh
        };
        let want = step(-0.7, step(1.0, 0.0));
        let mut y = [0.0];
        l.forward::<Tanh, Sigmoid, 2, false, false, 1>(&[[[1.0], [-0.7]]], &mut y);
        assert!((y[0] - want).abs() < 1e-15, "{} vs {want}", y[0]);
    }
}
