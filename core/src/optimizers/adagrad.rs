//! Adagrad: `keras.optimizers.Adagrad`.

use super::{optimizer_common, Clip, LearningRate, State};
use crate::kernels::optim::AdagradStep;
use crate::scalar::Scalar;

/// Adagrad: an accumulator of squared gradients, started at `initial_accumulator_value`, and
/// `w -= lr · g / √(accumulator + ε)`, so each parameter's step shrinks as it is used.
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad<T> {
    /// Keras's default: 0.001.
    pub learning_rate: LearningRate,
    /// The accumulator's starting value (default 0.1).
    pub initial_accumulator_value: f64,
    /// Added to the accumulator inside the root (default 1e-7).
    pub epsilon: f64,
    /// Decoupled weight decay, `w -= w · weight_decay · lr` before each update (default off).
    pub weight_decay: Option<f64>,
    /// Gradient clipping (default off).
    pub clip: Clip,
    /// The iteration count and the `accumulator` buffer.
    pub state: State<T>,
}

impl<T: Scalar> Default for Adagrad<T> {
    fn default() -> Self {
        Adagrad {
            learning_rate: LearningRate::Constant(0.001),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            weight_decay: None,
            clip: Clip::default(),
            state: State::default(),
        }
    }
}

impl<T: Scalar> Adagrad<T> {
    /// Adagrad at `learning_rate` with Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adagrad::default().with_learning_rate(learning_rate)
    }

    /// Sets the accumulator's starting value.
    pub fn with_initial_accumulator_value(mut self, value: f64) -> Self {
        self.initial_accumulator_value = value;
        self
    }

    /// Adds decoupled weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        super::decay_weights(params, self.weight_decay, lr);
        let step = AdagradStep {
            lr: T::of(lr),
            epsilon: T::of(self.epsilon),
        };
        let init = Some(T::of(self.initial_accumulator_value));
        let [accumulator, ..] = self.state.slots(params.len(), [init, None, None]);
        T::adagrad_update(&step, params, grads, accumulator);
    }
}

optimizer_common!(Adagrad, "adagrad");

#[cfg(test)]
mod tests {
    use super::super::fixture::check;
    use super::*;

    // Expected parameters from Keras 3.15.1; see `fixture` for the snippet.

    #[test]
    fn adagrad_matches_keras() {
        // Adagrad()
        check(
            Adagrad::default(),
            Adagrad::default(),
            [
                [
                    0.9991548458678069,
                    -1.999021507911549,
                    0.4990122704155754,
                    2.999698488794515,
                    -0.2493117529822048,
                ],
                [
                    0.9989881792246333,
                    -1.9991508771542728,
                    0.49920607104651143,
                    2.998734625631388,
                    -0.24942571352862322,
                ],
                [
                    0.9994353927697025,
                    -1.9995126907610896,
                    0.49918185307281493,
                    2.9996297692181133,
                    -0.24942571352862322,
                ],
            ],
        );
    }

    #[test]
    fn zero_initial_accumulator_matches_keras() {
        // Adagrad(0.5, initial_accumulator_value=0.0)
        check(
            Adagrad::new(0.5).with_initial_accumulator_value(0.0),
            Adagrad::new(0.5).with_initial_accumulator_value(0.0),
            [
                [
                    0.50000009999997,
                    -1.5000000111111107,
                    6.249999906504655e-09,
                    2.50000249998125,
                    0.24999972222245365,
                ],
                [
                    0.4019420512881932,
                    -1.5660818697137844,
                    0.0980580726405094,
                    2.001729638040633,
                    0.1678002730018977,
                ],
                [
                    0.6554882914858593,
                    -1.7503704012868277,
                    0.08580449575280272,
                    2.452198366463291,
                    0.1678002730018977,
                ],
            ],
        );
    }
}
