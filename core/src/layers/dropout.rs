//! Keras's `Dropout`: in training, zero a random fraction of the inputs and scale up the rest.

use crate::init::{uniform01, Rng};
use crate::scalar::Scalar;

/// Dropout with the rate chosen by the model: in training each element is dropped with
/// probability `rate` and the kept ones are scaled by `1 / (1 − rate)`, so that the expected
/// output is the input; at inference it is the identity, and the model skips it.
///
/// Zero-sized: the rate is a constant of the generated code, and the training step keeps the
/// mask it draws for the backward pass.
///
/// # Shapes
/// - input: any tensor, seen as its elements in row-major order
/// - output: the same shape
#[derive(Clone, Copy, Debug, Default)]
pub struct Dropout;

impl Dropout {
    /// The training forward pass: `mask[i]` is 0 (dropped) or `1 / (1 − rate)` (kept) and
    /// `y[i] = x[i] · mask[i]`.
    ///
    /// Element `i` is dropped when the `i`-th draw of [`uniform01`] from `rng` is below `rate`:
    /// one draw per element, in order, so a seed reproduces the masks bit for bit. A rate of 0
    /// keeps everything with a mask of exactly 1. `x`, `y` and `mask` are zipped.
    pub fn forward_train<T: Scalar>(
        rate: f64,
        rng: &mut Rng,
        x: &[T],
        y: &mut [T],
        mask: &mut [T],
    ) {
        let keep = T::of(1.0 / (1.0 - rate));
        for ((&x, y), m) in x.iter().zip(y.iter_mut()).zip(mask.iter_mut()) {
            *m = if uniform01(rng) < rate {
                T::zero()
            } else {
                keep
            };
            *y = x * *m;
        }
    }

    /// The backward pass of [`Dropout::forward_train`], in place: `dy[i] *= mask[i]`, with the
    /// mask that forward drew.
    pub fn backward<T: Scalar>(mask: &[T], dy: &mut [T]) {
        for (d, &m) in dy.iter_mut().zip(mask) {
            *d = *d * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;
    use crate::layers::grad_check::random;

    #[test]
    fn kept_elements_are_scaled_and_dropped_ones_are_zero() {
        let mut x = [0.0f64; 64];
        random(1, &mut x);
        let (mut y, mut mask) = ([0.0f64; 64], [f64::NAN; 64]);
        Dropout::forward_train(0.25, &mut rng(2), &x, &mut y, &mut mask);
        let keep = 1.0 / 0.75;
        assert!(mask.iter().all(|&m| m == 0.0 || m == keep), "{mask:?}");
        assert!(mask.contains(&0.0) && mask.contains(&keep));
        for ((&x, &y), &m) in x.iter().zip(&y).zip(&mask) {
            assert_eq!(y, x * m);
        }
        // Backward multiplies by the same mask: the gradient of y = x · m is m.
        let mut dy = [0.0f64; 64];
        random(3, &mut dy);
        let before = dy;
        Dropout::backward(&mask, &mut dy);
        for ((&d, &b), &m) in dy.iter().zip(&before).zip(&mask) {
            assert_eq!(d, b * m);
        }
    }

    #[test]
    fn element_i_is_dropped_when_the_ith_draw_is_below_the_rate() {
        let (x, mut y, mut mask) = ([1.0f32; 32], [0.0f32; 32], [0.0f32; 32]);
        Dropout::forward_train(0.5, &mut rng(4), &x, &mut y, &mut mask);
        let mut draws = rng(4);
        for &m in &mask {
            let dropped = uniform01(&mut draws) < 0.5;
            assert_eq!(m, if dropped { 0.0 } else { 2.0 });
        }
    }

    #[test]
    fn rate_zero_is_an_exact_identity() {
        let mut x = [0.0f64; 50];
        random(5, &mut x);
        x[0] = f64::INFINITY;
        x[1] = -0.0;
        let (mut y, mut mask) = ([0.0f64; 50], [0.0f64; 50]);
        Dropout::forward_train(0.0, &mut rng(6), &x, &mut y, &mut mask);
        assert_eq!(mask, [1.0; 50]);
        assert_eq!(y.map(f64::to_bits), x.map(f64::to_bits));
        let mut dy = x;
        Dropout::backward(&mask, &mut dy);
        assert_eq!(dy.map(f64::to_bits), x.map(f64::to_bits));

        let x32 = x.map(|v| v as f32);
        let (mut y32, mut mask32) = ([0.0f32; 50], [0.0f32; 50]);
        Dropout::forward_train(0.0, &mut rng(6), &x32, &mut y32, &mut mask32);
        assert_eq!(y32.map(f32::to_bits), x32.map(f32::to_bits));
    }

    #[test]
    fn the_same_seed_draws_the_same_masks() {
        let x = [1.5f32; 40];
        let run = |seed| {
            let mut r = rng(seed);
            let (mut y, mut m1, mut m2) = ([0.0f32; 40], [0.0f32; 40], [0.0f32; 40]);
            // Two calls in a row: the second continues the stream.
            Dropout::forward_train(0.3, &mut r, &x, &mut y, &mut m1);
            Dropout::forward_train(0.3, &mut r, &x, &mut y, &mut m2);
            (m1, m2, y)
        };
        let (a1, a2, ay) = run(7);
        let (b1, b2, by) = run(7);
        assert_eq!((a1, a2, ay), (b1, b2, by));
        assert_ne!(a1, a2);
        assert_ne!(run(8).0, a1);
    }

    #[test]
    fn about_rate_of_the_elements_are_dropped_and_the_mean_is_kept() {
        // 100 000 draws at rate 0.3: the dropped fraction has standard deviation
        // sqrt(0.3 · 0.7 / 1e5) = 0.00145, and the mean of y (x = 1) sqrt(0.3 / 0.7 / 1e5)
        // = 0.0021; both bounds are about 3.5 of them.
        let mut r = rng(9);
        let (x, mut y, mut mask) = ([1.0f64; 1000], [0.0f64; 1000], [0.0f64; 1000]);
        let (mut dropped, mut sum) = (0usize, 0.0f64);
        for _ in 0..100 {
            Dropout::forward_train(0.3, &mut r, &x, &mut y, &mut mask);
            dropped += mask.iter().filter(|&&m| m == 0.0).count();
            sum += y.iter().sum::<f64>();
        }
        let fraction = dropped as f64 / 1e5;
        assert!((fraction - 0.3).abs() < 0.005, "dropped {fraction}");
        let mean = sum / 1e5;
        assert!((mean - 1.0).abs() < 0.0075, "mean {mean}");
    }
}
