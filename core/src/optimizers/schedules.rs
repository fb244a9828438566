//! Learning-rate schedules: the learning rate as a function of the optimizer's iteration count,
//! as in `keras.optimizers.schedules`.
//!
//! An optimizer evaluates its schedule at its `iterations` *before* counting the step being
//! taken, so the first step uses the value at 0, as in Keras. Keras computes schedules in
//! float32 even for float64 models; these compute in f64, which agrees to float32 precision.

use alloc::vec::Vec;
use core::f64::consts::PI;

/// A learning-rate schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// See [`ExponentialDecay`].
    ExponentialDecay(ExponentialDecay),
    /// See [`PiecewiseConstantDecay`].
    PiecewiseConstantDecay(PiecewiseConstantDecay),
    /// See [`CosineDecay`].
    CosineDecay(CosineDecay),
}

impl Schedule {
    /// The learning rate at iteration `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            Schedule::ExponentialDecay(s) => s.at(step),
            Schedule::PiecewiseConstantDecay(s) => s.at(step),
            Schedule::CosineDecay(s) => s.at(step),
        }
    }
}

/// `initial_learning_rate · decay_rate^(step / decay_steps)`, with the exponent floored when
/// `staircase` is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecay {
    /// The learning rate at step 0.
    pub initial_learning_rate: f64,
    /// How many steps one factor of `decay_rate` takes; must be > 0.
    pub decay_steps: u64,
    /// The factor applied every `decay_steps` steps.
    pub decay_rate: f64,
    /// Decay in whole steps of `decay_steps` rather than continuously (Keras's default: off).
    pub staircase: bool,
}

impl ExponentialDecay {
    /// A continuous exponential decay.
    ///
    /// # Panics
    /// If `decay_steps` is 0, as Keras raises.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "ExponentialDecay: `decay_steps` must be > 0"
        );
        ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// The same decay taken in whole steps of `decay_steps`.
    pub fn with_staircase(mut self) -> Self {
        self.staircase = true;
        self
    }

    /// The learning rate at iteration `step`.
    pub fn at(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = libm::floor(p);
        }
        self.initial_learning_rate * libm::pow(self.decay_rate, p)
    }
}

/// `values[0]` while `step <= boundaries[0]`, `values[i]` while
/// `boundaries[i - 1] < step <= boundaries[i]`, and the last value after the last boundary:
/// the "step" schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseConstantDecay {
    /// The increasing iteration counts at which the value changes.
    pub boundaries: Vec<u64>,
    /// The values, one more than the boundaries.
    pub values: Vec<f64>,
}

impl PiecewiseConstantDecay {
    /// A step schedule.
    ///
    /// # Panics
    /// If `values` is not one longer than `boundaries`, as Keras raises.
    pub fn new(boundaries: Vec<u64>, values: Vec<f64>) -> Self {
        assert_eq!(
            boundaries.len() + 1,
            values.len(),
            "PiecewiseConstantDecay: there must be one more value than boundaries"
        );
        PiecewiseConstantDecay { boundaries, values }
    }

    /// The learning rate at iteration `step` (NaN if `values` is empty).
    pub fn at(&self, step: u64) -> f64 {
        let i = self
            .boundaries
            .iter()
            .position(|&b| step <= b)
            .unwrap_or(self.boundaries.len());
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// A linear warmup (optional) followed by a half cosine from the peak learning rate down to
/// `alpha` times it over `decay_steps`, then flat.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineDecay {
    /// The learning rate at step 0 (the start of the warmup, or of the decay without one).
    pub initial_learning_rate: f64,
    /// The length of the cosine decay in steps; must be > 0.
    pub decay_steps: u64,
    /// The final learning rate as a fraction of the peak (Keras's default: 0).
    pub alpha: f64,
    /// The learning rate the warmup climbs to, which the decay then starts from; `None` skips
    /// the warmup.
    pub warmup_target: Option<f64>,
    /// The length of the warmup in steps (Keras's default: 0).
    pub warmup_steps: u64,
}

impl CosineDecay {
    /// A cosine decay to 0 without warmup.
    ///
    /// # Panics
    /// If `decay_steps` is 0, as Keras raises.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        assert!(decay_steps > 0, "CosineDecay: `decay_steps` must be > 0");
        CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        }
    }

    /// Decays to `alpha` times the peak instead of to 0.
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Climbs linearly from the initial learning rate to `target` over `steps` first.
    pub fn with_warmup(mut self, target: f64, steps: u64) -> Self {
        self.warmup_target = Some(target);
        self.warmup_steps = steps;
        self
    }

    /// The learning rate at iteration `step`.
    pub fn at(&self, step: u64) -> f64 {
        let decay_steps = self.decay_steps as f64;
        let step = step as f64;
        let Some(target) = self.warmup_target else {
            return self.decay(step.min(decay_steps), self.initial_learning_rate);
        };
        let warmup_steps = self.warmup_steps as f64;
        let step = step.min(decay_steps + warmup_steps);
        if step < warmup_steps {
            (target - self.initial_learning_rate) * (step / warmup_steps)
                + self.initial_learning_rate
        } else {
            self.decay(step - warmup_steps, target)
        }
    }

    fn decay(&self, step: f64, from: f64) -> f64 {
        let cosine = 0.5 * (1.0 + libm::cos(PI * (step / self.decay_steps as f64)));
        from * ((1.0 - self.alpha) * cosine + self.alpha)
    }
}

impl From<ExponentialDecay> for Schedule {
    fn from(s: ExponentialDecay) -> Self {
        Schedule::ExponentialDecay(s)
    }
}

impl From<PiecewiseConstantDecay> for Schedule {
    fn from(s: PiecewiseConstantDecay) -> Self {
        Schedule::PiecewiseConstantDecay(s)
    }
}

impl From<CosineDecay> for Schedule {
    fn from(s: CosineDecay) -> Self {
        Schedule::CosineDecay(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Compares to Keras's float32 schedule values, to a few float32 ulps.
    fn check(s: impl Into<Schedule>, steps: &[u64], keras: &[f64]) {
        let s = s.into();
        for (&step, &want) in steps.iter().zip(keras) {
            let got = s.at(step);
            assert!(
                (got - want).abs() <= 3e-7 * want.abs() + 1e-12,
                "{s:?} at {step}: {got}, Keras {want}"
            );
        }
    }

    // Expected values from Keras 3.15.1: `float(schedule(step))` for each step, e.g.
    // `keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)(5)`.

    #[test]
    fn exponential_decay_matches_keras() {
        let steps = [0, 1, 5, 10, 25];
        check(
            ExponentialDecay::new(0.1, 10, 0.5),
            &steps,
            &[
                0.10000000149011612,
                0.09330330044031143,
                0.0707106813788414,
                0.05000000074505806,
                0.01767767034471035,
            ],
        );
        check(
            ExponentialDecay::new(0.1, 10, 0.5).with_staircase(),
            &steps,
            &[
                0.10000000149011612,
                0.10000000149011612,
                0.10000000149011612,
                0.05000000074505806,
                0.02500000037252903,
            ],
        );
    }

    #[test]
    fn piecewise_constant_decay_matches_keras_at_and_after_boundaries() {
        check(
            PiecewiseConstantDecay::new(vec![3, 7], vec![1.0, 0.5, 0.1]),
            &[0, 3, 4, 7, 8, 100],
            &[1.0, 1.0, 0.5, 0.5, 0.10000000149011612, 0.10000000149011612],
        );
        check(
            PiecewiseConstantDecay::new(vec![5], vec![0.2, 0.02]),
            &[0, 5, 6],
            &[
                0.20000000298023224,
                0.20000000298023224,
                0.019999999552965164,
            ],
        );
    }

    #[test]
    fn cosine_decay_matches_keras() {
        let steps = [0, 25, 50, 100, 150];
        check(
            CosineDecay::new(0.1, 100),
            &steps,
            &[
                0.10000000149011612,
                0.08535534143447876,
                0.04999999701976776,
                0.0,
                0.0,
            ],
        );
        check(
            CosineDecay::new(0.1, 100).with_alpha(0.1),
            &steps,
            &[
                0.10000000149011612,
                0.08681981265544891,
                0.05499999597668648,
                0.010000000707805157,
                0.010000000707805157,
            ],
        );
    }

    #[test]
    fn cosine_decay_with_warmup_matches_keras() {
        let steps = [0, 5, 10, 60, 110, 200];
        check(
            CosineDecay::new(0.0, 100).with_warmup(0.1, 10),
            &steps,
            &[
                0.0,
                0.05000000074505806,
                0.10000000149011612,
                0.04999999701976776,
                0.0,
                0.0,
            ],
        );
        check(
            CosineDecay::new(0.01, 100)
                .with_alpha(0.2)
                .with_warmup(0.1, 10),
            &steps,
            &[
                0.009999999776482582,
                0.054999999701976776,
                0.10000000149011612,
                0.05999999865889549,
                0.020000001415610313,
                0.020000001415610313,
            ],
        );
    }
}
