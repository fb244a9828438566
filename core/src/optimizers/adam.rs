//! Adam, with optional AMSGrad: `keras.optimizers.Adam`.

use super::{optimizer_common, Clip, LearningRate, State};
use crate::kernels::optim::AdamStep;
use crate::scalar::Scalar;

/// Adam: moving averages `m` of the gradient and `v` of its square, and
/// `w -= α · m / (√v + ε)` with the bias correction folded into the step size,
/// `α = lr · √(1 - β₂ᵗ) / (1 - β₁ᵗ)`, and `ε` outside the root, as Keras computes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    /// Keras's default: 0.001.
    pub learning_rate: LearningRate,
    /// Decay of the gradient average (default 0.9).
    pub beta_1: f64,
    /// Decay of the squared-gradient average (default 0.999).
    pub beta_2: f64,
    /// Added to `√v` (default 1e-7).
    pub epsilon: f64,
    /// Divide by the largest `v` seen so far instead (default off).
    pub amsgrad: bool,
    /// Decoupled weight decay, `w -= w · weight_decay · lr` before each update (default off;
    /// see [`super::AdamW`]).
    pub weight_decay: Option<f64>,
    /// Gradient clipping (default off).
    pub clip: Clip,
    /// The iteration count and the buffers `momentum`, `velocity`, `velocity_hat`.
    pub state: State<T>,
}

impl<T: Scalar> Default for Adam<T> {
    fn default() -> Self {
        Adam {
            learning_rate: LearningRate::Constant(0.001),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            weight_decay: None,
            clip: Clip::default(),
            state: State::default(),
        }
    }
}

impl<T: Scalar> Adam<T> {
    /// Adam at `learning_rate` with Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adam::default().with_learning_rate(learning_rate)
    }

    /// Uses AMSGrad's running maximum of `v`.
    pub fn with_amsgrad(mut self) -> Self {
        self.amsgrad = true;
        self
    }

    /// Adds decoupled weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        let hyper = Hyper {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            amsgrad: self.amsgrad,
            weight_decay: self.weight_decay,
        };
        update(hyper, &mut self.state, params, grads, lr);
    }
}

optimizer_common!(Adam, "adam");

/// The hyperparameters of Adam's update rule, shared with AdamW.
#[derive(Clone, Copy)]
pub(super) struct Hyper {
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub amsgrad: bool,
    /// Decoupled weight decay, applied in the same pass.
    pub weight_decay: Option<f64>,
}

/// The weight decay, then Adam's update, following `keras/src/optimizers/adam.py` operation by
/// operation, in one pass over the parameters ([`crate::kernels::Kernels::adam_update`]).
pub(super) fn update<T: Scalar>(
    h: Hyper,
    state: &mut State<T>,
    params: &mut [T],
    grads: &[T],
    lr: f64,
) {
    let local_step = T::of((state.iterations + 1) as f64);
    let beta_1_power = T::of(h.beta_1).powf(local_step);
    let beta_2_power = T::of(h.beta_2).powf(local_step);
    let alpha = T::of(lr) * (T::one() - beta_2_power).sqrt() / (T::one() - beta_1_power);
    let (one_minus_beta_1, one_minus_beta_2) = (T::of(1.0 - h.beta_1), T::of(1.0 - h.beta_2));
    let step = AdamStep {
        alpha,
        one_minus_beta_1,
        one_minus_beta_2,
        epsilon: T::of(h.epsilon),
        decay: h.weight_decay.map(|wd| (T::of(wd), T::of(lr))),
    };
    let zero = Some(T::zero());
    let [m, v, v_hat] = state.slots(
        params.len(),
        [zero, zero, if h.amsgrad { zero } else { None }],
    );
    let v_hat = if h.amsgrad {
        Some(&mut v_hat[..])
    } else {
        None
    };
    T::adam_update(&step, params, grads, m, v, v_hat);
}

#[cfg(test)]
mod tests {
    use super::super::fixture::check;
    use super::*;

    // Expected parameters from Keras 3.15.1; see `fixture` for the snippet.

    /// Betas exact in binary32. Keras's TensorFlow backend rounds Adam's betas to float32 in
    /// the bias correction even for float64 variables; at a learning rate of 0.1 the default
    /// 0.999 then moves float64 results by ~1e-6, so these tests use betas that round exactly.
    fn binary_betas<T: Scalar>(adam: Adam<T>) -> Adam<T> {
        Adam {
            beta_1: 0.875,
            beta_2: 0.9990234375,
            ..adam
        }
    }

    #[test]
    fn adam_matches_keras() {
        // Adam()
        check(
            Adam::default(),
            Adam::default(),
            [
                [
                    0.9990000130002125,
                    -1.999000008783906,
                    0.49900000825686514,
                    2.999000038297305,
                    -0.2490000172164834,
                ],
                [
                    0.9981969823525917,
                    -1.9984342353462006,
                    0.49848898637578754,
                    2.9982028590764123,
                    -0.24846148885327643,
                ],
                [
                    0.9979862719274427,
                    -1.9982633877410156,
                    0.49807841311538287,
                    2.998511140363667,
                    -0.24804520486349013,
                ],
            ],
        );
    }

    #[test]
    fn amsgrad_matches_keras() {
        // Adam(0.1, beta_1=0.875, beta_2=0.9990234375, amsgrad=True)
        check(
            binary_betas(Adam::new(0.1).with_amsgrad()),
            binary_betas(Adam::new(0.1).with_amsgrad()),
            [
                [
                    0.900000639995904,
                    -1.9000002133328782,
                    0.40000015999974403,
                    2.9000031998976032,
                    -0.150001066655289,
                ],
                [
                    0.8204761786096956,
                    -1.844537963292719,
                    0.3500659607349199,
                    2.8193779236091485,
                    -0.09729051129086666,
                ],
                [
                    0.8015892636051068,
                    -1.8294857845395691,
                    0.31047056403666573,
                    2.851830191606985,
                    -0.05719093548491409,
                ],
            ],
        );
    }

    #[test]
    fn clipnorm_clips_each_variable_like_keras() {
        // Adam(0.1, beta_1=0.875, beta_2=0.9990234375, clipnorm=1.0): the kernel's first
        // gradient has norm 2.55 and is clipped, the bias's (0.32) is not.
        check(
            binary_betas(Adam::new(0.1).with_clipnorm(1.0)),
            binary_betas(Adam::new(0.1).with_clipnorm(1.0)),
            [
                [
                    0.9000016316596208,
                    -1.9000005438924565,
                    0.4000004079198971,
                    2.9000031998976032,
                    -0.150001066655289,
                ],
                [
                    0.8069329685897838,
                    -1.8617835214593768,
                    0.3754646941591103,
                    2.818400682873541,
                    -0.09498572033682492,
                ],
                [
                    0.8179213365869628,
                    -1.8864274567224792,
                    0.35310019907031887,
                    2.8206771846165415,
                    -0.053112323129859224,
                ],
            ],
        );
    }

    #[test]
    fn state_holds_the_moments_and_resets() {
        let mut adam = Adam::<f32>::default();
        assert!(adam.state.slot(0).is_empty());
        super::super::Optimizer::step(&mut adam, &mut [1.0, 2.0], &mut [0.5, -0.5], &[0..1, 1..2]);
        assert_eq!(adam.state.slot(0), &[0.05, -0.05]);
        assert_eq!(adam.state.slot(1).len(), 2);
        assert!(
            adam.state.slot(2).is_empty(),
            "velocity_hat only with amsgrad"
        );
        adam.state.reset();
        assert_eq!(adam.state.iterations(), 0);
        assert!(adam.state.slot(0).is_empty());
    }
}
