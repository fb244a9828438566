//! Keras's `GlobalMaxPooling2D` and `GlobalMaxPooling1D`: the largest value of each channel over
//! the whole image, or of each feature over the steps of a sequence.

use crate::scalar::Scalar;

/// The largest value over all positions of each channel; zero-sized, as it has no weights.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalMaxPool2D;

impl GlobalMaxPool2D {
    /// `y[c] = max_{iy, ix} x[iy][ix][c]`.
    pub fn forward<T: Scalar, const H: usize, const W: usize, const C: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        y: &mut [T; C],
    ) {
        const { assert!(H * W > 0, "GlobalMaxPool2D: empty image") };
        max_over(x.as_flattened(), y);
    }

    /// The gradient of [`GlobalMaxPool2D::forward`], given its input `x` and `dy = ∂L/∂y`:
    /// each channel's `dy[c]` shared equally by the positions that hold its largest value (as
    /// TensorFlow's `reduce_max` does: a channel of zeros after a ReLU spreads it over all),
    /// zero elsewhere; overwrites `dx`.
    pub fn backward<T: Scalar, const H: usize, const W: usize, const C: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[T; C],
        dx: &mut [[[T; C]; W]; H],
    ) {
        const { assert!(H * W > 0, "GlobalMaxPool2D: empty image") };
        max_backward(x.as_flattened(), dy, dx.as_flattened_mut());
    }
}

/// The largest value over the `L` steps of each feature (Keras's `GlobalMaxPooling1D`).
///
/// # Shapes
/// - input: `[L][C]`
/// - output: `[C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalMaxPool1D;

impl GlobalMaxPool1D {
    /// `y[c] = max_t x[t][c]`.
    pub fn forward<T: Scalar, const L: usize, const C: usize>(
        &self,
        x: &[[T; C]; L],
        y: &mut [T; C],
    ) {
        const { assert!(L > 0, "GlobalMaxPool1D: empty sequence") };
        max_over(x, y);
    }

    /// The gradient of [`GlobalMaxPool1D::forward`], ties shared as in
    /// [`GlobalMaxPool2D::backward`]; overwrites `dx`.
    pub fn backward<T: Scalar, const L: usize, const C: usize>(
        &self,
        x: &[[T; C]; L],
        dy: &[T; C],
        dx: &mut [[T; C]; L],
    ) {
        const { assert!(L > 0, "GlobalMaxPool1D: empty sequence") };
        max_backward(x, dy, dx);
    }
}

/// Each channel's largest value over `positions` (pixels, in any order) (at least one). A NaN is kept, so it reaches
/// the loss and stops training rather than being hidden by a comparison.
fn max_over<T: Scalar, const C: usize>(positions: &[[T; C]], y: &mut [T; C]) {
    *y = positions[0];
    for x in &positions[1..] {
        for (m, &v) in y.iter_mut().zip(x) {
            if v > *m || v.is_nan() {
                *m = v;
            }
        }
    }
}

fn max_backward<T: Scalar, const C: usize>(positions: &[[T; C]], dy: &[T; C], dx: &mut [[T; C]]) {
    let mut y = [T::zero(); C];
    max_over(positions, &mut y);
    let mut ties = [0usize; C];
    for x in positions {
        for ((n, &v), &m) in ties.iter_mut().zip(x).zip(&y) {
            *n += usize::from(v == m);
        }
    }
    let share: [T; C] = core::array::from_fn(|c| dy[c] / T::of(ties[c].max(1) as f64));
    for (x, dx) in positions.iter().zip(dx) {
        for (((d, &v), &m), &s) in dx.iter_mut().zip(x).zip(&y).zip(&share) {
            *d = if v == m { s } else { T::zero() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::{flat, flat_mut};

    #[test]
    fn takes_each_channels_largest_value() {
        // 2 x 3 x 2: channel 0 is 1..6 with -7 -> 6; channel 1 is all negative -> -0.5.
        let x = [
            [[1.0f32, -3.0], [2.0, -0.5], [-7.0, -4.0]],
            [[4.0, -1.0], [6.0, -2.0], [3.0, -9.0]],
        ];
        let mut y = [0.0f32; 2];
        GlobalMaxPool2D.forward(&x, &mut y);
        assert_eq!(y, [6.0, -0.5]);
    }

    #[test]
    fn backward_sends_dy_to_the_largest_and_splits_ties() {
        // Channel 0's largest is at (1, 1); channel 1 is 2 at three positions: 3 / 3 each.
        // Keras 3 (TensorFlow) gives this same gradient for these inputs.
        let x = [[[1.0f32, 2.0], [0.0, 2.0]], [[-1.0, 0.0], [5.0, 2.0]]];
        let mut dx = [[[f32::NAN; 2]; 2]; 2];
        GlobalMaxPool2D.backward(&x, &[4.0, 3.0], &mut dx);
        assert_eq!(dx, [[[0.0, 1.0], [0.0, 1.0]], [[0.0, 0.0], [4.0, 1.0]]]);
    }

    #[test]
    fn a_nan_is_the_maximum() {
        let x = [[[1.0f32], [f32::NAN], [3.0]]];
        let mut y = [0.0f32];
        GlobalMaxPool2D.forward(&x, &mut y);
        assert!(y[0].is_nan());
    }

    #[test]
    fn sequences_take_the_maximum_over_the_steps() {
        let x = [[0.5f64, -2.0, 1.0], [3.0, -1.0, 1.0], [-4.0, -8.0, 0.0]];
        let mut y = [0.0f64; 3];
        GlobalMaxPool1D.forward(&x, &mut y);
        assert_eq!(y, [3.0, -1.0, 1.0]);
        let mut dx = [[f64::NAN; 3]; 3];
        GlobalMaxPool1D.backward(&x, &[1.0, 2.0, 6.0], &mut dx);
        assert_eq!(dx, [[0.0, 0.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // Random values have no ties, so the maximum is differentiable at them.
        let mut x = [[[0.0f64; 3]; 5]; 4];
        random(3, flat_mut(&mut x));
        let mut c = [0.0f64; 3];
        random(4, &mut c);
        let mut dx = [[[f64::NAN; 3]; 5]; 4];
        GlobalMaxPool2D.backward(&x, &c, &mut dx);
        assert_gradient("x", flat(&x), flat(&dx), &c, 1e-3, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [0.0f64; 3];
            GlobalMaxPool2D.forward(&x, &mut y);
            y
        });
    }
}
