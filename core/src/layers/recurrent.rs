//! What [`super::Lstm`], [`super::Gru`] and [`super::SimpleRnn`] share: their parameters
//! (`kernel` `[F, G]`, `recurrent_kernel` `[U, G]`, `bias`, in Keras's names and layouts) and,
//! the products at the two ends of a sequence (every step's input projection; the kernel's
//! gradients and `dx`), and, for tests, one finite-difference check of backpropagation through
//! time.

use crate::scalar::Scalar;
use crate::train::BLOCK;

/// A training block's per-step state, kept in the model's training cache rather than on the
/// stack, where it would grow with the units past a worker thread's 2 MiB (896 KiB for an
/// `LSTM(1024)` block in `f32`, 3.5 MiB for `LSTM(4096)`). One gate-wide and three unit-wide
/// rows per sample; each layer uses what it needs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Scratch<T, const U: usize, const G: usize> {
    pub(crate) gates: [[T; G]; BLOCK],
    pub(crate) a: [[T; U]; BLOCK],
    pub(crate) b: [[T; U]; BLOCK],
    pub(crate) c: [[T; U]; BLOCK],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar; all zeros is a valid value.
unsafe impl<T: Scalar, const U: usize, const G: usize> bytemuck::Zeroable for Scratch<T, U, G> {}

/// Where step `step` of sample `r` sits in a flat output of `forward` (and in its gradient):
/// every step's output with `SEQ` (`[n][S][U]`), only the last one's without (`[n][U]`);
/// `None` for a step the output does not hold.
#[inline]
pub(crate) fn output_at<const U: usize, const S: usize, const SEQ: bool>(
    r: usize,
    step: usize,
) -> Option<usize> {
    if SEQ {
        Some((r * S + step) * U)
    } else {
        (step == S - 1).then_some(r * U)
    }
}

/// Every step's input projection `z = x · kernel + bias` at once (`n·S` rows), in the order the
/// steps run (reversed with `back`, Keras's `go_backwards`).
pub(crate) fn project_inputs<T: Scalar, const F: usize, const G: usize, const S: usize>(
    kernel: &[[T; G]; F],
    bias: Option<&[T; G]>,
    x: &[[[T; F]; S]],
    z: &mut [[[T; G]; S]],
    back: bool,
) {
    T::dense_forward(kernel, bias, x.as_flattened(), z.as_flattened_mut());
    if back {
        z.iter_mut().for_each(|zs| zs.reverse());
    }
}

/// The recurrent kernel's gradient `Σ_t h_{t−1}ᵀ · dz_t` as one product over every step of
/// every sample: the spent scratch `c` becomes `h` shifted by a step (zero rows first, which the
/// kernel skips).
pub(crate) fn recurrent_kernel_gradient<
    T: Scalar,
    const U: usize,
    const G: usize,
    const S: usize,
>(
    c: &mut [[[T; U]; S]],
    h: &[[[T; U]; S]],
    dz: &[[[T; G]; S]],
    grad: &mut [[T; G]; U],
) {
    for (cs, hs) in c.iter_mut().zip(h) {
        cs[0] = [T::zero(); U];
        cs[1..].copy_from_slice(&hs[..S - 1]);
    }
    T::dense_backward_params(c.as_flattened(), dz.as_flattened(), grad, None);
}

/// The input side of the backward pass, from `dz`, the input projections' gradients in step
/// order (put back in input order here): the kernel's and bias's gradients, and `dx`.
pub(crate) fn input_gradients<T: Scalar, const F: usize, const G: usize, const S: usize>(
    kernel: &[[T; G]; F],
    x: &[[[T; F]; S]],
    dz: &mut [[[T; G]; S]],
    back: bool,
    grad_kernel: &mut [[T; G]; F],
    grad_bias: Option<&mut [T; G]>,
    dx: Option<&mut [[[T; F]; S]]>,
) {
    if back {
        dz.iter_mut().for_each(|zs| zs.reverse());
    }
    T::dense_backward_params(x.as_flattened(), dz.as_flattened(), grad_kernel, grad_bias);
    if let Some(dx) = dx {
        T::dense_backward_input(kernel, dz.as_flattened(), dx.as_flattened_mut());
    }
}

/// Writes `impl Params` for a recurrent layer type with fields `kernel`, `recurrent_kernel`
/// and `bias` (Keras shape `$bias`, an expression of `G`): glorot_uniform kernel, orthogonal
/// recurrent kernel (Keras's initializers), and the type's own `init_bias`.
macro_rules! recurrent_params {
    ($ty:ident, $bias:expr) => {
        impl<T: Scalar, const F: usize, const U: usize, const G: usize, const BIAS: bool>
            crate::params::Params<T> for $ty<T, F, U, G, BIAS>
        {
            fn visit_params(
                &self,
                prefix: Option<&crate::params::Name<'_>>,
                f: &mut dyn FnMut(crate::params::Param<'_, T>),
            ) {
                use crate::params::{Name, Param};
                use crate::tensor::flat;
                f(Param {
                    name: &Name::child(prefix, "kernel"),
                    shape: &[F, G],
                    data: flat(&self.kernel),
                });
                f(Param {
                    name: &Name::child(prefix, "recurrent_kernel"),
                    shape: &[U, G],
                    data: flat(&self.recurrent_kernel),
                });
                if BIAS {
                    f(Param {
                        name: &Name::child(prefix, "bias"),
                        shape: &$bias,
                        data: flat(&self.bias),
                    });
                }
            }

            fn visit_params_mut(
                &mut self,
                prefix: Option<&crate::params::Name<'_>>,
                f: &mut dyn FnMut(crate::params::ParamMut<'_, T>),
            ) {
                use crate::params::{Name, ParamMut};
                use crate::tensor::flat_mut;
                f(ParamMut {
                    name: &Name::child(prefix, "kernel"),
                    shape: &[F, G],
                    data: flat_mut(&mut self.kernel),
                });
                f(ParamMut {
                    name: &Name::child(prefix, "recurrent_kernel"),
                    shape: &[U, G],
                    data: flat_mut(&mut self.recurrent_kernel),
                });
                if BIAS {
                    f(ParamMut {
                        name: &Name::child(prefix, "bias"),
                        shape: &$bias,
                        data: flat_mut(&mut self.bias),
                    });
                }
            }

            fn init_params(&mut self, rng: &mut crate::init::Rng) {
                use crate::tensor::flat_mut;
                crate::init::glorot_uniform(rng, F, G, flat_mut::<T, _>(&mut self.kernel));
                crate::init::orthogonal(rng, U, G, flat_mut::<T, _>(&mut self.recurrent_kernel));
                self.init_bias();
            }
        }
    };
}

pub(crate) use recurrent_params;

/// Tests: `forward` (in chunks of 2) against `forward_train`, and every gradient of `backward`
/// (input, kernel, recurrent kernel, bias) against central differences of `forward`, with the
/// output of every step or of the last, forwards and backwards in time; for a layer type of
/// 2 features and 3 units, `$g` gates wide, whose second cache tensor is `$c` wide.
#[cfg(test)]
macro_rules! bptt_checks {
    ($ty:ident, $g:literal, $c:literal) => {
        type L = $ty<f64, 2, 3, $g, true>;

        fn layer(seed: u64) -> L {
            use crate::layers::grad_check::random;
            use crate::tensor::flat_mut;
            let mut l: L = bytemuck::Zeroable::zeroed();
            random(seed, flat_mut(&mut l.kernel));
            random(seed + 1, flat_mut(&mut l.recurrent_kernel));
            random(seed + 2, flat_mut(&mut l.bias));
            l
        }

        fn check<const SEQ: bool, const BACK: bool>(seed: u64) {
            use crate::activations::{Sigmoid, Tanh};
            use crate::layers::grad_check::{assert_gradient, random};
            use crate::tensor::{flat, flat_mut};
            const N: usize = 3;
            const S: usize = 4;
            let l = layer(seed);
            let mut x = [[[0.0; 2]; S]; N];
            random(seed + 5, flat_mut(&mut x));
            let per = if SEQ { S * 3 } else { 3 };
            let mut cw = std::vec![0.0; N * per];
            random(seed + 6, &mut cw);
            let out = |l: &L, x: &[[[f64; 2]; S]; N]| {
                let mut y = [0.0; N * S * 3];
                l.forward::<Tanh, Sigmoid, S, SEQ, BACK, 2>(x, &mut y[..N * per]);
                y
            };
            let mut z = [[[0.0; $g]; S]; N];
            let mut c = [[[0.0; $c]; S]; N];
            let mut h = [[[0.0; 3]; S]; N];
            let mut s: super::super::recurrent::Scratch<f64, 3, $g> =
                bytemuck::Zeroable::zeroed();
            l.forward_train::<Tanh, Sigmoid, S, BACK>(&x, &mut z, &mut c, &mut h, &mut s);
            let mut seq = [0.0; N * S * 3];
            l.forward::<Tanh, Sigmoid, S, true, BACK, 2>(&x, &mut seq);
            assert_eq!(&seq[..], flat::<f64, _>(&h), "forward and forward_train");
            let mut grad: L = bytemuck::Zeroable::zeroed();
            let mut dx = [[[f64::NAN; 2]; S]; N];
            l.backward::<Tanh, Sigmoid, S, SEQ, BACK>(
                &x,
                &mut z,
                &mut c,
                &h,
                &cw,
                Some(&mut dx),
                &mut grad,
                &mut s,
            );
            let mut cfull = [0.0; N * S * 3];
            cfull[..N * per].copy_from_slice(&cw);
            assert_gradient("dx", flat(&x), flat(&dx), &cfull, 1e-6, |p| {
                let mut x2 = x;
                flat_mut(&mut x2).copy_from_slice(p);
                out(&l, &x2)
            });
            assert_gradient("kernel", flat(&l.kernel), flat(&grad.kernel), &cfull, 1e-6, |p| {
                let mut l2 = l;
                flat_mut(&mut l2.kernel).copy_from_slice(p);
                out(&l2, &x)
            });
            assert_gradient(
                "recurrent_kernel",
                flat(&l.recurrent_kernel),
                flat(&grad.recurrent_kernel),
                &cfull,
                1e-6,
                |p| {
                    let mut l2 = l;
                    flat_mut(&mut l2.recurrent_kernel).copy_from_slice(p);
                    out(&l2, &x)
                },
            );
            assert_gradient("bias", flat(&l.bias), flat(&grad.bias), &cfull, 1e-6, |p| {
                let mut l2 = l;
                flat_mut(&mut l2.bias).copy_from_slice(p);
                out(&l2, &x)
            });
        }

        #[test]
        fn gradients_of_the_last_step() {
            check::<false, false>(20);
        }

        #[test]
        fn gradients_of_every_step() {
            check::<true, false>(30);
        }

        #[test]
        fn gradients_going_backwards() {
            check::<true, true>(40);
            check::<false, true>(50);
        }
    };
}

#[cfg(test)]
pub(crate) use bptt_checks;
