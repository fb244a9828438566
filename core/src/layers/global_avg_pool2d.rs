//! Keras's `GlobalAveragePooling2D`: the mean of each channel over the whole image.

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
        y.fill(T::zero());
        for x in x.as_flattened() {
            for (s, &v) in y.iter_mut().zip(x) {
                *s = *s + v;
            }
        }
        let count = T::of((H * W) as f64);
        for s in y.iter_mut() {
            *s = *s / count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
