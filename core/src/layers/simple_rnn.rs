//! Keras's `SimpleRNN` on sequences `[S][F]`: `h_t = A(x_t · kernel + h_{t−1} ·
//! recurrent_kernel + bias)`, backward by backpropagation through time. Its methods have the
//! signatures of [`super::Lstm`]'s (the recurrent activation is taken and unused), so the
//! macro emits all three recurrent layers alike.

use super::recurrent::{
    input_gradients, output_at, project_inputs, recurrent_kernel_gradient, Scratch,
};
use crate::activations::{Activation, Elementwise};
use crate::scalar::Scalar;
use crate::train::BLOCK;

/// A simple RNN of `U` units over `F` features; `G = U` (one gate, named so for the shared
/// emitter).
///
/// # Shapes
/// - input: `[S][F]` per sample
/// - output: `[S][U]` (`return_sequences`) or `[U]`, the last step's
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SimpleRnn<T, const F: usize, const U: usize, const G: usize, const BIAS: bool> {
    /// `kernel[f][u]`, Keras shape `[F, U]`.
    pub kernel: [[T; G]; F],
    /// `recurrent_kernel[u][v]`, Keras shape `[U, U]`.
    pub recurrent_kernel: [[T; G]; U],
    /// `bias[u]`, Keras shape `[U]` (zeros and unused without `use_bias`).
    pub bias: [T; G],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    bytemuck::Zeroable for SimpleRnn<T, F, U, G, BIAS>
{
}

impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
    SimpleRnn<T, F, U, G, BIAS>
{
    /// The number of parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = F * G + U * G + if BIAS { G } else { 0 };

    const CHECK: () = assert!(G == U, "SimpleRnn: G must be U");

    fn bias(&self) -> Option<&[T; G]> {
        BIAS.then_some(&self.bias)
    }

    /// Keras's: zeros.
    fn init_bias(&mut self) {
        self.bias.fill(T::zero());
    }

    /// Inference on `x.len()` samples, `R` at a time; `y` as [`super::Lstm::forward`]'s.
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
        assert_eq!(y.len(), x.len() * per, "SimpleRnn: output length");
        for (xs, ys) in x.chunks(R).zip(y.chunks_mut(R * per)) {
            let m = xs.len();
            let mut xt = [[T::zero(); F]; R];
            let mut z = [[T::zero(); G]; R];
            let mut zr = [[T::zero(); G]; R];
            let mut h = [[T::zero(); U]; R];
            for step in 0..S {
                let t = if BACK { S - 1 - step } else { step };
                for (row, sample) in xt.iter_mut().zip(xs) {
                    *row = sample[t];
                }
                T::dense_forward(&self.kernel, self.bias(), &xt[..m], &mut z[..m]);
                T::dense_forward(&self.recurrent_kernel, None, &h[..m], &mut zr[..m]);
                for ((hr, zi), ri) in h[..m].iter_mut().zip(&z[..m]).zip(&zr[..m]) {
                    hr.iter_mut()
                        .zip(zi.iter().zip(ri))
                        .for_each(|(h, (&a, &b))| *h = a + b);
                }
                <A as Activation>::apply::<T, U>(&mut h[..m]);
                for (r, hr) in h[..m].iter().enumerate() {
                    if let Some(at) = output_at::<U, S, SEQ>(r, step) {
                        ys[at..at + U].copy_from_slice(hr);
                    }
                }
            }
        }
    }

    /// Training forward on a block of at most [`BLOCK`] samples: keeps each step's
    /// pre-activation `z` and output `h` (in the order the steps ran); `c` is scratch for
    /// [`SimpleRnn::backward`].
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
        assert!(n <= BLOCK, "SimpleRnn: at most {BLOCK} samples a call");
        assert!(
            z.len() == n && c.len() == n && h.len() == n,
            "SimpleRnn: cache length"
        );
        project_inputs(&self.kernel, self.bias(), x, z, BACK);
        let Scratch {
            gates: zr,
            a: h_prev,
            ..
        } = scratch;
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
                for (hu, &zu) in h[r][step].iter_mut().zip(zt.iter()) {
                    *hu = A::f(zu);
                }
            }
        }
    }

    /// Backpropagation through time, as [`super::Lstm::backward`]: `z` becomes the
    /// pre-activations' gradients and `c` the outputs shifted by a step.
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
        assert!(n <= BLOCK, "SimpleRnn: at most {BLOCK} samples a call");
        assert_eq!(
            dy.len(),
            n * if SEQ { S * U } else { U },
            "SimpleRnn: dy length"
        );
        let Scratch {
            gates: dzt,
            a: dh_next,
            ..
        } = scratch;
        dh_next[..n].fill([T::zero(); U]);
        for step in (0..S).rev() {
            for r in 0..n {
                let extra = output_at::<U, S, SEQ>(r, step);
                let zt = &mut z[r][step];
                for u in 0..U {
                    let mut d = dh_next[r][u];
                    if let Some(at) = extra {
                        d = d + dy[at + u];
                    }
                    zt[u] = d * A::df(zt[u], h[r][step][u]);
                }
                dzt[r] = *zt;
            }
            if step > 0 {
                T::dense_backward_input(&self.recurrent_kernel, &dzt[..n], &mut dh_next[..n]);
            }
        }
        recurrent_kernel_gradient(c, h, z, &mut grad.recurrent_kernel);
        let bias = BIAS.then_some(&mut grad.bias);
        input_gradients(&self.kernel, x, z, BACK, &mut grad.kernel, bias, dx);
    }
}

super::recurrent::recurrent_params!(SimpleRnn, [G]);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::activations::{Sigmoid, Tanh};

    super::super::recurrent::bptt_checks!(SimpleRnn, 3, 3);

    #[test]
    fn two_steps_by_hand() {
        let l = SimpleRnn::<f64, 1, 1, 1, true> {
            kernel: [[0.5]],
            recurrent_kernel: [[-2.0]],
            bias: [0.1],
        };
        let h1 = (0.5f64 * 1.0 + 0.1).tanh();
        let want = (0.5 * 3.0 - 2.0 * h1 + 0.1).tanh();
        let mut y = [0.0];
        l.forward::<Tanh, Sigmoid, 2, false, false, 1>(&[[[1.0], [3.0]]], &mut y);
        assert!((y[0] - want).abs() < 1e-15, "{} vs {want}", y[0]);
    }
}
