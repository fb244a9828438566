//! Stochastic gradient descent, with optional (Nesterov) momentum: `keras.optimizers.SGD`.

use super::{optimizer_common, Clip, LearningRate, State};
use crate::kernels::optim::SgdStep;
use crate::scalar::Scalar;

/// Gradient descent: `w -= lr · g`, or with momentum `m = momentum · m - lr · g; w += m`
/// (Nesterov: `w += momentum · m - lr · g` with the new `m`).
#[derive(Clone, Debug, PartialEq)]
pub struct SGD<T> {
    /// Keras's default: 0.01.
    pub learning_rate: LearningRate,
    /// In `[0, 1]`; 0 (the default) is plain gradient descent.
    pub momentum: f64,
    /// Nesterov momentum (default off); only has an effect with momentum.
    pub nesterov: bool,
    /// Decoupled weight decay, `w -= w · weight_decay · lr` before each update (default off).
    pub weight_decay: Option<f64>,
    /// Gradient clipping (default off).
    pub clip: Clip,
    /// The iteration count and the momentum buffer.
    pub state: State<T>,
}

impl<T: Scalar> Default for SGD<T> {
    fn default() -> Self {
        SGD {
            learning_rate: LearningRate::Constant(0.01),
            momentum: 0.0,
            nesterov: false,
            weight_decay: None,
            clip: Clip::default(),
            state: State::default(),
        }
    }
}

impl<T: Scalar> SGD<T> {
    /// Plain gradient descent at `learning_rate`.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        SGD::default().with_learning_rate(learning_rate)
    }

    /// Adds momentum.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Makes the momentum Nesterov's.
    pub fn with_nesterov(mut self) -> Self {
        self.nesterov = true;
        self
    }

    /// Adds decoupled weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    fn update(&mut self, params: &mut [T], grads: &[T], lr: f64) {
        super::decay_weights(params, self.weight_decay, lr);
        let lr = T::of(lr);
        if self.momentum == 0.0 {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p = *p - g * lr;
            }
            return;
        }
        let step = SgdStep {
            lr,
            momentum: T::of(self.momentum),
            nesterov: self.nesterov,
        };
        let [m, ..] = self
            .state
            .slots(params.len(), [Some(T::zero()), None, None]);
        T::sgd_update(&step, params, grads, m);
    }
}

optimizer_common!(SGD, "sgd");

#[cfg(test)]
mod tests {
    use super::super::fixture::check;
    use super::super::{ExponentialDecay, Optimizer};
    use super::*;

    // Expected parameters from Keras 3.15.1; see `fixture` for the snippet.

    #[test]
    fn plain_sgd_matches_keras() {
        check(
            SGD::default(),
            SGD::default(),
            [
                [0.995, -1.985, 0.48, 2.999, -0.247],
                [0.994, -1.987, 0.484, 2.987, -0.2475],
                [0.997, -1.993, 0.4835, 3.012, -0.2475],
            ],
        );
    }

    #[test]
    fn momentum_matches_keras() {
        // SGD(0.1, momentum=0.9)
        check(
            SGD::new(0.1).with_momentum(0.9),
            SGD::new(0.1).with_momentum(0.9),
            [
                [0.95, -1.85, 0.3, 2.99, -0.22],
                [
                    0.8950000011920929,
                    -1.7350000035762787,
                    0.16000000476837156,
                    2.861000000238419,
                    -0.19800000071525575,
                ],
                [
                    0.8755000035762787,
                    -1.691500009536743,
                    0.02900001239776598,
                    2.994900003528595,
                    -0.17820000188350676,
                ],
            ],
        );
    }

    #[test]
    fn nesterov_momentum_matches_keras() {
        // SGD(0.1, momentum=0.9, nesterov=True)
        check(
            SGD::new(0.1).with_momentum(0.9).with_nesterov(),
            SGD::new(0.1).with_momentum(0.9).with_nesterov(),
            [
                [
                    0.9050000011920929,
                    -1.7150000035762787,
                    0.12000000476837158,
                    2.9810000002384185,
                    -0.19300000071525575,
                ],
                [
                    0.8455000035762786,
                    -1.6315000095367431,
                    0.03400001239776601,
                    2.7449000035285946,
                    -0.17820000188350676,
                ],
                [
                    0.8579500061869619,
                    -1.6523500159382818,
                    -0.08889997761249581,
                    3.1154100032973284,
                    -0.16038000340700145,
                ],
            ],
        );
    }

    #[test]
    fn weight_decay_matches_keras() {
        // SGD(0.1, weight_decay=0.1)
        check(
            SGD::new(0.1).with_weight_decay(0.1),
            SGD::new(0.1).with_weight_decay(0.1),
            [
                [
                    0.9399999998509884,
                    -1.8299999997019767,
                    0.2949999999254942,
                    2.9599999995529656,
                    -0.2174999999627471,
                ],
                [
                    0.9205999997124076,
                    -1.8316999994322656,
                    0.3320499998822808,
                    2.8103999991163615,
                    -0.22032499993070961,
                ],
                [
                    0.9413939995781034,
                    -1.8733829991649984,
                    0.3237294998339787,
                    3.0322959987064158,
                    -0.21812174989857153,
                ],
            ],
        );
    }

    #[test]
    fn clipvalue_matches_keras() {
        // SGD(0.1, clipvalue=0.5)
        check(
            SGD::new(0.1).with_clipvalue(0.5),
            SGD::new(0.1).with_clipvalue(0.5),
            [
                [0.95, -1.95, 0.45, 2.99, -0.22],
                [0.94, -1.97, 0.49, 2.9400000000000004, -0.225],
                [0.97, -2.02, 0.485, 2.99, -0.225],
            ],
        );
    }

    #[test]
    fn global_clipnorm_matches_keras() {
        // SGD(0.1, global_clipnorm=1.0)
        check(
            SGD::new(0.1).with_global_clipnorm(1.0),
            SGD::new(0.1).with_global_clipnorm(1.0),
            [
                [
                    0.9805375263959619,
                    -1.9416125791878858,
                    0.4221501055838477,
                    2.9961075052791926,
                    -0.23832251583757716,
                ],
                [
                    0.9727584279801178,
                    -1.957170776019574,
                    0.45326649924722423,
                    2.9027583242890627,
                    -0.24221206504549922,
                ],
                [
                    0.9843462774088381,
                    -1.9803464748770145,
                    0.4513351910091042,
                    2.999323736195065,
                    -0.24221206504549922,
                ],
            ],
        );
    }

    #[test]
    fn schedule_is_evaluated_at_the_iteration_count_like_keras() {
        // SGD(ExponentialDecay(0.1, 1, 0.5)): steps at learning rates 0.1, 0.05, 0.025.
        let decay = ExponentialDecay::new(0.1, 1, 0.5);
        check(
            SGD::new(decay),
            SGD::new(decay),
            [
                [
                    0.9499999992549419,
                    -1.8499999977648258,
                    0.29999999701976776,
                    2.9899999998509883,
                    -0.21999999955296518,
                ],
                [
                    0.9449999991804361,
                    -1.8599999979138375,
                    0.319999997317791,
                    2.9299999989569185,
                    -0.22249999959021807,
                ],
                [
                    0.9524999992921948,
                    -1.8749999981373549,
                    0.31874999729916453,
                    2.992499999888241,
                    -0.22249999959021807,
                ],
            ],
        );
        let mut sgd = SGD::<f64>::new(decay);
        assert_eq!(sgd.learning_rate(), 0.1);
        sgd.step(&mut [1.0], &mut [1.0], &[]);
        assert_eq!(sgd.learning_rate(), 0.05);
        sgd.set_learning_rate(0.3);
        sgd.step(&mut [1.0], &mut [1.0], &[]);
        assert_eq!(
            sgd.learning_rate(),
            0.3,
            "a set learning rate replaces the schedule"
        );
        assert_eq!(sgd.iterations(), 2);
    }
}
