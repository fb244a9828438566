//! Keras 3's optimizers, updating a whole model held as one flat slice of parameters.
//!
//! A step does what Keras's `optimizer.apply_gradients` does, in the same order: clip the
//! gradients ([`Clip`]), apply decoupled weight decay `w -= w · weight_decay · lr` if set,
//! apply the optimizer's own update rule, then count the iteration. The learning rate of a
//! step is the [`LearningRate`] evaluated at the iteration count before that step.
//!
//! Each optimizer is a struct of public hyperparameters whose `Default` is Keras's, plus a
//! [`State`] (the iteration count and the optimizer variables, such as Adam's moments) that is
//! sized at the first step, so
//! `Adam { beta_1: 0.8, ..Adam::default() }` and `Adam::new(1e-3).with_clipnorm(1.0)` both
//! work. Updates follow Keras's arithmetic operation by operation.
//!
//! # Shapes
//! - `params`, `grads`: all of the model's trainable parameters, `n` values each.
//! - `vars`: the ranges of the individual variables (kernels, biases) within them, used by
//!   per-variable `clipnorm`.

use crate::scalar::Scalar;
use alloc::vec::Vec;
use core::ops::Range;

mod adagrad;
mod adam;
mod adamw;
mod clip;
mod rmsprop;
pub mod schedules;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamw::AdamW;
pub use clip::Clip;
pub use rmsprop::RMSprop;
pub use schedules::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay, Schedule};
pub use sgd::SGD;

/// An optimizer that updates a model's parameters from their gradients.
pub trait Optimizer<T: Scalar> {
    /// Takes one step: clips `grads` in place, then updates `params`. `vars` are the ranges of
    /// the model's variables inside both slices.
    ///
    /// # Panics
    /// If `params` and `grads` differ in length, or a range in `vars` is out of bounds.
    fn step(&mut self, params: &mut [T], grads: &mut [T], vars: &[Range<usize>]);
    /// The learning rate the next step will use (a schedule evaluated at [`Self::iterations`]).
    fn learning_rate(&self) -> f64;
    /// Sets a constant learning rate. On an optimizer driven by a schedule this replaces the
    /// schedule (Keras raises instead).
    fn set_learning_rate(&mut self, lr: f64);
    /// The number of steps taken.
    fn iterations(&self) -> u64;
    /// The Keras name of the optimizer (`optimizer.name`), e.g. `"adam"`.
    fn name(&self) -> &'static str;
}

/// A learning rate that is either constant or follows a schedule of the iteration count.
#[derive(Clone, Debug, PartialEq)]
pub enum LearningRate {
    /// The same learning rate at every step.
    Constant(f64),
    /// A learning rate evaluated at the iteration count of each step.
    Schedule(Schedule),
}

impl LearningRate {
    /// The learning rate at iteration `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.at(step),
        }
    }
}

impl From<f64> for LearningRate {
    fn from(lr: f64) -> Self {
        LearningRate::Constant(lr)
    }
}

impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}

impl From<ExponentialDecay> for LearningRate {
    fn from(s: ExponentialDecay) -> Self {
        LearningRate::Schedule(s.into())
    }
}

impl From<PiecewiseConstantDecay> for LearningRate {
    fn from(s: PiecewiseConstantDecay) -> Self {
        LearningRate::Schedule(s.into())
    }
}

impl From<CosineDecay> for LearningRate {
    fn from(s: CosineDecay) -> Self {
        LearningRate::Schedule(s.into())
    }
}

/// What an optimizer accumulates while it runs: Keras's `iterations` and its optimizer
/// variables (up to three buffers as long as the parameters, allocated at the first step).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State<T> {
    iterations: u64,
    slots: [Vec<T>; 3],
}

impl<T: Scalar> State<T> {
    /// The number of steps taken.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Optimizer variable `i` in Keras's order (e.g. Adam's momentum, velocity, velocity_hat);
    /// empty if the optimizer does not use it or has not stepped yet.
    pub fn slot(&self, i: usize) -> &[T] {
        self.slots.get(i).map_or(&[], |s| s.as_slice())
    }

    /// Forgets everything: the next step is a first step again.
    pub fn reset(&mut self) {
        *self = State {
            iterations: 0,
            slots: Default::default(),
        };
    }

    /// The slots, with each one that has an initial value in `init` sized to `len` (filled
    /// with that value if it was not already that size, e.g. at the first step).
    fn slots(&mut self, len: usize, init: [Option<T>; 3]) -> &mut [Vec<T>; 3] {
        for (slot, init) in self.slots.iter_mut().zip(init) {
            if let Some(v) = init {
                if slot.len() != len {
                    slot.clear();
                    slot.resize(len, v);
                }
            }
        }
        &mut self.slots
    }
}

/// Keras's `_apply_weight_decay`: `w -= w · wd · lr` for every parameter.
fn decay_weights<T: Scalar>(params: &mut [T], weight_decay: Option<f64>, lr: f64) {
    if let Some(wd) = weight_decay {
        let (wd, lr) = (T::of(wd), T::of(lr));
        for p in params {
            *p = *p - *p * wd * lr;
        }
    }
}

/// Implements the parts of [`Optimizer`] and the builder methods that every optimizer shares.
/// The type provides `fn update(&mut self, params: &mut [T], grads: &[T], lr: f64)`: its
/// weight decay if any ([`decay_weights`], or fused into its own loop), then its own rule.
macro_rules! optimizer_common {
    ($ty:ident, $name:literal) => {
        impl<T: Scalar> $ty<T> {
            /// Sets the learning rate: a constant, or a schedule.
            pub fn with_learning_rate(mut self, lr: impl Into<super::LearningRate>) -> Self {
                self.learning_rate = lr.into();
                self
            }

            /// Clips each variable's gradient to an L2 norm of at most `c`.
            pub fn with_clipnorm(mut self, c: f64) -> Self {
                self.clip.clipnorm = Some(c);
                self
            }

            /// Clamps every gradient element to `[-v, v]`.
            pub fn with_clipvalue(mut self, v: f64) -> Self {
                self.clip.clipvalue = Some(v);
                self
            }

            /// Clips all gradients together to a joint L2 norm of at most `c`.
            pub fn with_global_clipnorm(mut self, c: f64) -> Self {
                self.clip.global_clipnorm = Some(c);
                self
            }
        }

        impl<T: Scalar> super::Optimizer<T> for $ty<T> {
            fn step(
                &mut self,
                params: &mut [T],
                grads: &mut [T],
                vars: &[core::ops::Range<usize>],
            ) {
                assert_eq!(
                    params.len(),
                    grads.len(),
                    "{}: {} parameters but {} gradients",
                    $name,
                    params.len(),
                    grads.len()
                );
                let lr = self.learning_rate.at(self.state.iterations);
                self.clip.apply(grads, vars);
                self.update(params, grads, lr);
                self.state.iterations += 1;
            }

            fn learning_rate(&self) -> f64 {
                self.learning_rate.at(self.state.iterations)
            }

            fn set_learning_rate(&mut self, lr: f64) {
                self.learning_rate = super::LearningRate::Constant(lr);
            }

            fn iterations(&self) -> u64 {
                self.state.iterations
            }

            fn name(&self) -> &'static str {
                $name
            }
        }
    };
}
use optimizer_common;

/// The fixture every optimizer's tests run through Keras and through kiln alike.
#[cfg(test)]
mod fixture {
    use super::Optimizer;
    use crate::scalar::Scalar;

    /// A kernel of 3 and a bias of 2, as one flat parameter slice.
    pub const PARAMS: [f64; 5] = [1.0, -2.0, 0.5, 3.0, -0.25];
    /// The variables inside [`PARAMS`].
    pub const VARS: [core::ops::Range<usize>; 2] = [0..3, 3..5];
    /// The gradient of each of three steps.
    pub const GRADS: [[f64; 5]; 3] = [
        [0.5, -1.5, 2.0, 0.1, -0.3],
        [0.1, 0.2, -0.4, 1.2, 0.05],
        [-0.3, 0.6, 0.05, -2.5, 0.0],
    ];

    // The Python that produced every expected value in these tests (Keras 3.15.1, TensorFlow
    // backend):
    //
    //     keras.backend.set_floatx("float64")
    //     vs = [keras.Variable(np.array([1.0, -2.0, 0.5])), keras.Variable(np.array([3.0, -0.25]))]
    //     for g in GRADS:   # each split into its kernel and bias parts
    //         opt.apply_gradients(zip(g, vs))
    //         print(np.concatenate([v.numpy() for v in vs]))

    /// Runs three steps of `opt` in `T` and returns the parameters after each.
    pub fn run<T: Scalar>(opt: &mut impl Optimizer<T>) -> [[f64; 5]; 3] {
        let mut params = PARAMS.map(T::of);
        let mut out = [[0.0; 5]; 3];
        for (g, o) in GRADS.iter().zip(&mut out) {
            let mut grads = g.map(T::of);
            opt.step(&mut params, &mut grads, &VARS);
            *o = params.map(|p| p.to_f64().unwrap());
        }
        out
    }

    /// Checks three steps of `f64` and `f32` optimizers against Keras's float64 parameters:
    /// to 1e-6 relative in f64, and in f32 to 1e-5 of the parameters' scale (a parameter
    /// that cancels to near 0 keeps only the absolute accuracy of f32).
    ///
    /// Keras's TensorFlow backend rounds several hyperparameters (momentum, weight decay, the
    /// betas in Adam's bias correction, schedule values) to float32 even for float64
    /// variables, so its float64 results are themselves only good to ~1e-7 relative.
    pub fn check<A: Optimizer<f64>, B: Optimizer<f32>>(mut a: A, mut b: B, keras: [[f64; 5]; 3]) {
        for (got, tol, floor) in [(run(&mut a), 1e-6, 0.0), (run(&mut b), 1e-5, 1.0)] {
            for (step, (got, want)) in got.iter().zip(&keras).enumerate() {
                for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (g - w).abs() <= tol * w.abs().max(floor),
                        "{} step {} param {i}: {g}, Keras {w} (tolerance {tol})",
                        a.name(),
                        step + 1
                    );
                }
            }
        }
        assert_eq!(a.iterations(), 3);
    }
}
