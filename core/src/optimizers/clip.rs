//! Gradient clipping, as Keras's base optimizer applies it before every update.

use crate::scalar::Scalar;
use core::ops::Range;

/// Keras's `clipnorm`, `clipvalue` and `global_clipnorm` optimizer arguments.
///
/// Keras allows only one of them; if several are set here, the first of `clipnorm`,
/// `global_clipnorm`, `clipvalue` that is positive wins, which is the order Keras checks them
/// in. A value that is not positive disables that kind of clipping.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clip {
    /// Rescales each variable's gradient so that its L2 norm is at most this.
    pub clipnorm: Option<f64>,
    /// Clamps every gradient element to `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f64>,
    /// Rescales all gradients together so that their joint L2 norm is at most this.
    pub global_clipnorm: Option<f64>,
}

impl Clip {
    /// Clips `grads` in place; `vars` are the ranges of the individual variables inside it
    /// (an empty `vars` makes all of `grads` one variable).
    pub fn apply<T: Scalar>(&self, grads: &mut [T], vars: &[Range<usize>]) {
        let positive = |v: Option<f64>| v.filter(|&v| v > 0.0);
        if let Some(c) = positive(self.clipnorm) {
            if vars.is_empty() {
                clip_by_norm(grads, T::of(c));
            }
            for var in vars {
                clip_by_norm(&mut grads[var.clone()], T::of(c));
            }
        } else if let Some(c) = positive(self.global_clipnorm) {
            clip_by_global_norm(grads, T::of(c));
        } else if let Some(v) = positive(self.clipvalue) {
            let (lo, hi) = (T::of(-v), T::of(v));
            for g in grads {
                *g = g.max(lo).min(hi);
            }
        }
    }
}

/// `g · c / max(‖g‖, c)`, as `tf.clip_by_norm` computes it.
fn clip_by_norm<T: Scalar>(g: &mut [T], c: T) {
    let norm = g.iter().fold(T::zero(), |s, &v| s + v * v).sqrt();
    let denom = if norm > c { norm } else { c };
    for v in g {
        *v = *v * c / denom;
    }
}

/// Keras's `clip_by_global_norm`: every gradient times `c · min(1/‖g‖, 1/c)`, and all of them
/// NaN if the norm is not finite.
fn clip_by_global_norm<T: Scalar>(g: &mut [T], c: T) {
    let norm = g.iter().fold(T::zero(), |s, &v| s + v * v).sqrt();
    let scale = if norm.is_finite() {
        c * (T::one() / norm).min(T::one() / c)
    } else {
        T::nan()
    };
    for v in g {
        *v = *v * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipnorm_rescales_each_variable_alone() {
        let mut g = [3.0, 4.0, 0.3, 0.4];
        let clip = Clip {
            clipnorm: Some(1.0),
            ..Clip::default()
        };
        clip.apply(&mut g, &[0..2, 2..4]);
        assert_eq!(g, [0.6, 0.8, 0.3, 0.4]);
        let mut g = [3.0, 4.0, 0.3, 0.4];
        clip.apply(&mut g, &[]);
        let n = (25.0f64 + 0.25).sqrt();
        assert_eq!(g, [3.0 / n, 4.0 / n, 0.3 / n, 0.4 / n]);
    }

    #[test]
    fn global_clipnorm_rescales_all_together_and_poisons_on_infinity() {
        let mut g = [3.0f64, 0.0, 4.0];
        let clip = Clip {
            global_clipnorm: Some(0.5),
            ..Clip::default()
        };
        clip.apply(&mut g, &[0..1, 1..3]);
        assert!((g[0] - 0.3).abs() < 1e-15 && g[1] == 0.0 && (g[2] - 0.4).abs() < 1e-15);
        let mut g = [f64::INFINITY, 1.0];
        clip.apply(&mut g, &[]);
        assert!(g.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn clipnorm_wins_over_the_others_and_non_positive_disables() {
        let mut g = [3.0f32, 4.0];
        Clip {
            clipnorm: Some(1.0),
            clipvalue: Some(0.1),
            global_clipnorm: Some(0.1),
        }
        .apply(&mut g, &[]);
        assert_eq!(g, [0.6, 0.8]);
        let mut g = [3.0f32, -4.0];
        Clip {
            clipnorm: Some(0.0),
            clipvalue: Some(2.0),
            global_clipnorm: None,
        }
        .apply(&mut g, &[]);
        assert_eq!(g, [2.0, -2.0]);
    }
}
