//! Adam with decoupled weight decay: `keras.optimizers.AdamW`.

use super::adam::{self, Hyper};
use super::{optimizer_common, Clip, LearningRate, State};
use crate::scalar::Scalar;

/// Adam after shrinking every parameter by `w -= w · weight_decay · lr`, applied before the
/// Adam step as Keras's base optimizer does. Like Keras, it decays every variable, biases
/// included.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW<T> {
    /// Keras's default: 0.001.
    pub learning_rate: LearningRate,
    /// The decay factor per unit of learning rate (default 0.004).
    pub weight_decay: f64,
    /// Decay of the gradient average (default 0.9).
    pub beta_1: f64,
    /// Decay of the squared-gradient average (default 0.999).
    pub beta_2: f64,
    /// Added to `√v` (default 1e-7).
    pub epsilon: f64,
    /// Divide by the largest `v` seen so far instead (default off).
    pub amsgrad: bool,
    /// Gradient clipping (default off).
    pub clip: Clip,
    /// The iteration count and the buffers `momentum`, `velocity`, `velocity_hat`.
    pub state: State<T>,
}

impl<T: Scalar> Default for AdamW<T> {
    fn default() -> Self {
        AdamW {
            learning_rate: LearningRate::Constant(0.001),
            weight_decay: 0.004,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            clip: Clip::default(),
            state: State::default(),
        }
    }
}

impl<T: Scalar> AdamW<T> {
    /// AdamW at `learning_rate` with Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        AdamW::default().with_learning_rate(learning_rate)
    }

    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Uses AMSGrad's running maximum of `v`.
    pub fn with_amsgrad(mut self) -> Self {
        self.amsgrad = true;
        self
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        let hyper = Hyper {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            amsgrad: self.amsgrad,
            weight_decay: Some(self.weight_decay),
        };
        adam::update(hyper, &mut self.state, params, grads, lr);
    }
}

optimizer_common!(AdamW, "adam_w");

#[cfg(test)]
mod tests {
    use super::super::fixture::check;
    use super::super::PiecewiseConstantDecay;
    use super::*;
    use alloc::vec;

    // Expected parameters from Keras 3.15.1; see `fixture` for the snippet.

    #[test]
    fn adamw_matches_keras() {
        // AdamW()
        check(
            AdamW::default(),
            AdamW::default(),
            [
                [
                    0.9989960130000225,
                    -1.998992008783526,
                    0.49899800825677015,
                    2.998988038296735,
                    -0.24899901721643591,
                ],
                [
                    0.9981889863681599,
                    -1.9984182393774057,
                    0.4984849903835647,
                    2.998178863123119,
                    -0.24845949285711277,
                ],
                [
                    0.9979742831868758,
                    -1.9982393980988835,
                    0.4980724231831038,
                    2.9984751516943517,
                    -0.24804221502930784,
                ],
            ],
        );
    }

    #[test]
    fn strong_decay_matches_keras() {
        // AdamW(0.1, weight_decay=0.5, beta_1=0.875, beta_2=0.9990234375): betas exact in
        // binary32, as in Adam's tests, since Keras's TensorFlow backend rounds them.
        fn opt<T: Scalar>() -> AdamW<T> {
            AdamW {
                beta_1: 0.875,
                beta_2: 0.9990234375,
                ..AdamW::new(0.1).with_weight_decay(0.5)
            }
        }
        check(
            opt(),
            opt(),
            [
                [
                    0.8500006399959039,
                    -1.800000213332878,
                    0.375000159999744,
                    2.7500031998976033,
                    -0.137501066655289,
                ],
                [
                    0.7279761466099003,
                    -1.654537952626075,
                    0.3063159527349327,
                    2.5318777636142684,
                    -0.0779154579581022,
                ],
                [
                    0.6726904242748165,
                    -1.5567588762416213,
                    0.2513973314703892,
                    2.4377361434313913,
                    -0.03390051523719715,
                ],
            ],
        );
    }

    #[test]
    fn decay_uses_the_scheduled_learning_rate_like_keras() {
        // AdamW(PiecewiseConstantDecay([0, 1], [0.125, 0.0625, 0.015625]), beta_1=0.875,
        // beta_2=0.9990234375): each step decays with its own scheduled learning rate.
        fn opt<T: Scalar>() -> AdamW<T> {
            let schedule = PiecewiseConstantDecay::new(vec![0, 1], vec![0.125, 0.0625, 0.015625]);
            AdamW {
                beta_1: 0.875,
                beta_2: 0.9990234375,
                ..AdamW::new(schedule)
            }
        }
        check(
            opt(),
            opt(),
            [
                [
                    0.8745007999711313,
                    -1.8740002666186004,
                    0.3747501999878057,
                    2.873503999800758,
                    -0.12487633331317408,
                ],
                [
                    0.8245793863943741,
                    -1.8388678602545936,
                    0.3434476378928437,
                    2.8223948260864025,
                    -0.091901017125599,
                ],
                [
                    0.8215767697108096,
                    -1.836401028077689,
                    0.3372382312226126,
                    2.8272890932760557,
                    -0.08562665302691211,
                ],
            ],
        );
    }
}
