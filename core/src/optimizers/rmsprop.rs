//! RMSprop, optionally centered and with momentum: `keras.optimizers.RMSprop`.

use super::{optimizer_common, Clip, LearningRate, State};
use crate::kernels::optim::RmspropStep;
use crate::scalar::Scalar;

/// RMSprop: a moving average `v` of the squared gradient and `w -= lr · g / √(v + ε)`;
/// centered, `v - ḡ²` replaces `v` (with `ḡ` the moving average of the gradient); with
/// momentum, the increments accumulate in a buffer `m = momentum · m + increment`.
#[derive(Clone, Debug, PartialEq)]
pub struct RMSprop<T> {
    /// Keras's default: 0.001.
    pub learning_rate: LearningRate,
    /// Decay of the moving averages (default 0.9).
    pub rho: f64,
    /// Momentum of the increments (default 0, none).
    pub momentum: f64,
    /// Added to `v` inside the root (default 1e-7).
    pub epsilon: f64,
    /// Normalise by the variance rather than the second moment (default off).
    pub centered: bool,
    /// Decoupled weight decay, `w -= w · weight_decay · lr` before each update (default off).
    pub weight_decay: Option<f64>,
    /// Gradient clipping (default off).
    pub clip: Clip,
    /// The iteration count and the buffers `velocity`, `momentum`, `average_gradient`.
    pub state: State<T>,
}

impl<T: Scalar> Default for RMSprop<T> {
    fn default() -> Self {
        RMSprop {
            learning_rate: LearningRate::Constant(0.001),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            weight_decay: None,
            clip: Clip::default(),
            state: State::default(),
        }
    }
}

impl<T: Scalar> RMSprop<T> {
    /// RMSprop at `learning_rate` with Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RMSprop::default().with_learning_rate(learning_rate)
    }

    /// Adds momentum.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Centers the second moment.
    pub fn with_centered(mut self) -> Self {
        self.centered = true;
        self
    }

    /// Adds decoupled weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        super::decay_weights(params, self.weight_decay, lr);
        let step = RmspropStep {
            lr: T::of(lr),
            rho: T::of(self.rho),
            one_minus_rho: T::of(1.0 - self.rho),
            momentum: T::of(self.momentum),
            epsilon: T::of(self.epsilon),
        };
        let with_momentum = self.momentum > 0.0;
        let zero = Some(T::zero());
        let init = [
            zero,
            if with_momentum { zero } else { None },
            if self.centered { zero } else { None },
        ];
        let [velocity, momentum, average_grad] = self.state.slots(params.len(), init);
        let momentum = if with_momentum {
            Some(&mut momentum[..])
        } else {
            None
        };
        let average_grad = if self.centered {
            Some(&mut average_grad[..])
        } else {
            None
        };
        T::rmsprop_update(&step, params, grads, velocity, momentum, average_grad);
    }
}

optimizer_common!(RMSprop, "rm_sprop");

#[cfg(test)]
mod tests {
    use super::super::fixture::check;
    use super::*;

    // Expected parameters from Keras 3.15.1; see `fixture` for the snippet.

    #[test]
    fn rmsprop_matches_keras() {
        // RMSprop()
        check(
            RMSprop::default(),
            RMSprop::default(),
            [
                [
                    0.9968377286643679,
                    -1.9968377230425598,
                    0.4968377227351162,
                    2.996837880441857,
                    -0.24683773990789445,
                ],
                [
                    0.9961854019792421,
                    -1.9972778417841293,
                    0.49749005072142394,
                    2.993685439904699,
                    -0.24738491228658754,
                ],
                [
                    0.9979131359651767,
                    -1.998551701007627,
                    0.49740413069533146,
                    2.9965618355004295,
                    -0.24738491228658754,
                ],
            ],
        );
    }

    #[test]
    fn centered_with_momentum_matches_keras() {
        // RMSprop(0.1, momentum=0.5, centered=True)
        check(
            RMSprop::new(0.1).with_momentum(0.5).with_centered(),
            RMSprop::new(0.1).with_momentum(0.5).with_centered(),
            [
                [
                    0.6666674074049382,
                    -1.6666667489711628,
                    0.16666671296295327,
                    2.666685183642118,
                    0.08333127573921645,
                ],
                [
                    0.4301156259862631,
                    -1.545492857950162,
                    0.06700258106180795,
                    2.1649565361366108,
                    0.19362143099915485,
                ],
                [
                    0.48571304916999625,
                    -1.6128385982098727,
                    0.008352174331043766,
                    2.2052072389446287,
                    0.24876650862912406,
                ],
            ],
        );
    }
}
