//! Keras's `GlobalAveragePooling2D` and `GlobalAveragePooling1D`: the mean of each channel over
//! the whole image, or of each feature over the steps of a sequence.

use crate::scalar::Scalar;

/// The mean over all `H × W` positions of each channel; zero-sized, as it has no weights.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool2D;

impl GlobalAvgPool2D {
    /// `y[c] = Σ_{iy, ix} x[iy][ix][c] / (H · W)`.
    pub fn forward<T: Scalar, const H: usize, const W: usize, const C: usize>(
        &self,
        x: &[[[T; C]; W]; H],
        y: &mut [T; C],
    ) {
        const { assert!(H * W > 0, "GlobalAvgPool2D: empty image") };
        mean_over(x.as_flattened(), y);
    }

    /// The gradient of [`GlobalAvgPool2D::forward`], given `dy = ∂L/∂y`:
    /// `dx[iy][ix][c] = dy[c] / (H · W)` at every position; overwrites `dx`.
    pub fn backward<T: Scalar, const H: usize, const W: usize, const C: usize>(
        &self,
        dy: &[T; C],
        dx: &mut [[[T; C]; W]; H],
    ) {
        const { assert!(H * W > 0, "GlobalAvgPool2D: empty image") };
        spread(dy, dx.as_flattened_mut());
    }
}

/// The mean over the `L` steps of each feature (Keras's `GlobalAveragePooling1D`).
///
/// # Shapes
/// - input: `[L][C]`
/// - output: `[C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAvgPool1D;

impl GlobalAvgPool1D {
    /// `y[c] = Σ_t x[t][c] / L`.
    pub fn forward<T: Scalar, const L: usize, const C: usize>(
        &self,
        x: &[[T; C]; L],
        y: &mut [T; C],
    ) {
        const { assert!(L > 0, "GlobalAvgPool1D: empty sequence") };
        mean_over(x, y);
    }

    /// The gradient of [`GlobalAvgPool1D::forward`]: `dx[t][c] = dy[c] / L`; overwrites `dx`.
    pub fn backward<T: Scalar, const L: usize, const C: usize>(
        &self,
        dy: &[T; C],
        dx: &mut [[T; C]; L],
    ) {
        const { assert!(L > 0, "GlobalAvgPool1D: empty sequence") };
        spread(dy, dx);
    }
}

/// Each channel's mean over `positions` (pixels or steps, at least one), summed in order.
fn mean_over<T: Scalar, const C: usize>(positions: &[[T; C]], y: &mut [T; C]) {
    y.fill(T::zero());
    for x in positions {
        for (s, &v) in y.iter_mut().zip(x) {
            *s = *s + v;
        }
    }
    let count = T::of(positions.len() as f64);
    for s in y.iter_mut() {
        *s = *s / count;
    }
}

/// `dy[c] / positions` to every position of `dx`.
fn spread<T: Scalar, const C: usize>(dy: &[T; C], dx: &mut [[T; C]]) {
    let count = T::of(dx.len() as f64);
    let share = dy.map(|d| d / count);
    for dx in dx {
        *dx = share;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::{flat, flat_mut};

    #[test]
    fn averages_each_channel_over_all_positions() {
        // 2 x 3 x 2: channel 0 is 1..6 -> 21/6 = 3.5; channel 1 is 10 and 2 among zeros -> 2.
        let x = [
            [[1.0f32, 10.0], [2.0, 0.0], [3.0, 0.0]],
            [[4.0, 0.0], [5.0, 0.0], [6.0, 2.0]],
        ];
        let mut y = [9.0f32; 2];
        GlobalAvgPool2D.forward(&x, &mut y);
        assert_eq!(y, [3.5, 2.0]);
    }

    #[test]
    fn averages_in_f64() {
        // 1 x 4 x 1: (0.5 - 1.5 + 2 + 7) / 4 = 2.
        let x = [[[0.5f64], [-1.5], [2.0], [7.0]]];
        let mut y = [0.0f64];
        GlobalAvgPool2D.forward(&x, &mut y);
        assert_eq!(y, [2.0]);
    }

    #[test]
    fn sequences_average_each_feature_over_the_steps() {
        // 4 steps: feature 0 is (1 + 2 + 3 + 6) / 4 = 3, feature 1 is -8 / 4 = -2.
        let x = [[1.0f32, 0.0], [2.0, -8.0], [3.0, 0.0], [6.0, 0.0]];
        let mut y = [0.0f32; 2];
        GlobalAvgPool1D.forward(&x, &mut y);
        assert_eq!(y, [3.0, -2.0]);
        let mut dx = [[f32::NAN; 2]; 4];
        GlobalAvgPool1D.backward(&[2.0f32, -4.0], &mut dx);
        assert_eq!(dx, [[0.5, -1.0]; 4]);
    }

    #[test]
    fn backward_spreads_each_channel_evenly() {
        // 2 x 3 positions: each gets dy / 6.
        let mut dx = [[[f32::NAN; 2]; 3]; 2];
        GlobalAvgPool2D.backward(&[6.0f32, -3.0], &mut dx);
        assert_eq!(dx, [[[1.0, -0.5]; 3]; 2]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut x = [[[0.0f64; 3]; 5]; 4];
        random(1, flat_mut(&mut x));
        let mut c = [0.0f64; 3];
        random(2, &mut c);
        let mut dx = [[[f64::NAN; 3]; 5]; 4];
        GlobalAvgPool2D.backward(&c, &mut dx);
        assert_gradient("x", flat(&x), flat(&dx), &c, 1e-3, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [0.0f64; 3];
            GlobalAvgPool2D.forward(&x, &mut y);
            y
        });
    }
}
