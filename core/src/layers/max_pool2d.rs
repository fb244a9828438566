//! Keras's `MaxPooling2D`: the largest value in each window, per channel.

use super::{window, windows_reach_input};
use crate::scalar::Scalar;

/// Max pooling over `PH × PW` windows moved by strides `SH × SW`, with `PT` / `PL` rows /
/// columns of padding before the input; zero-sized, as it has no weights.
///
/// Padded cells are ignored (TensorFlow pads with `-inf`), so an edge window of Keras's `same`
/// takes the maximum of its real cells only. The padding after the input is implied by the
/// output size, as for [`crate::layers::Conv2D`].
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct MaxPool2D<
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
>;

impl<
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
    > MaxPool2D<PH, PW, SH, SW, PT, PL>
{
    /// `y[oy][ox][c] = max x[iy][ix][c]` over the window's cells inside the input, with
    /// `iy = oy·SH + py − PT` and `ix = ox·SW + px − PL`.
    pub fn forward<
        T: Scalar,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        x: &[[[T; C]; W]; H],
        y: &mut [[[T; C]; OW]; OH],
    ) {
        // Also guarantees that no window is empty, so no output is left at -inf.
        const {
            assert!(
                windows_reach_input(OH, SH, PT, PH, H),
                "MaxPool2D: rows see only padding"
            );
            assert!(
                windows_reach_input(OW, SW, PL, PW, W),
                "MaxPool2D: columns see only padding"
            );
        }
        for (oy, y) in y.iter_mut().enumerate() {
            let (_, rows) = window(oy, SH, PT, PH, H);
            for (ox, y) in y.iter_mut().enumerate() {
                let (_, cols) = window(ox, SW, PL, PW, W);
                y.fill(T::neg_infinity());
                for x in &x[rows.clone()] {
                    for x in &x[cols.clone()] {
                        for (m, &v) in y.iter_mut().zip(x) {
                            *m = (*m).max(v);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `[H][W][1]` image from a `[H][W]` grid.
    fn image<T: Scalar, const H: usize, const W: usize>(g: [[f64; W]; H]) -> [[[T; 1]; W]; H] {
        g.map(|row| row.map(|v| [T::of(v)]))
    }

    /// Asserts that a `[H][W][1]` output equals the `[H][W]` grid `want`.
    fn assert_grid<T: Scalar, const H: usize, const W: usize>(
        y: &[[[T; 1]; W]; H],
        want: [[f64; W]; H],
    ) {
        assert_eq!(*y, image::<T, H, W>(want));
    }

    #[test]
    fn same_padding_at_the_bottom_right_edge_is_ignored() {
        // 3 x 3, pool 2, stride 2, same: OH = 2, pad_total = 1 -> top/left 0, bottom/right 1.
        // Channel 0 is -1..-9 (zero padding would wrongly win), channel 1 is 1..9.
        let mut x = [[[0.0f32; 2]; 3]; 3];
        for (r, row) in x.iter_mut().enumerate() {
            for (c, px) in row.iter_mut().enumerate() {
                let v = (3 * r + c + 1) as f32;
                *px = [-v, v];
            }
        }
        let mut y = [[[0.0f32; 2]; 2]; 2];
        MaxPool2D::<2, 2, 2, 2, 0, 0>.forward(&x, &mut y);
        // (0,0): {1,2,4,5}; (0,1): {3,6}; (1,0): {7,8}; (1,1): {9}.
        assert_eq!(y, [[[-1.0, 5.0], [-3.0, 6.0]], [[-7.0, 8.0], [-9.0, 9.0]]]);
    }

    #[test]
    fn same_padding_on_all_sides_is_ignored() {
        // 3 x 3, pool 3, stride 1, same: pad_total = 2 -> top/left 1. Values -1..-9.
        let x = image::<f64, 3, 3>([[-1.0, -2.0, -3.0], [-4.0, -5.0, -6.0], [-7.0, -8.0, -9.0]]);
        let mut y = [[[0.0f64; 1]; 3]; 3];
        MaxPool2D::<3, 3, 1, 1, 1, 1>.forward(&x, &mut y);
        // Each window is the 3 x 3 around the cell, clipped; its max is its top-left real cell.
        let want = image::<f64, 3, 3>([[-1.0, -1.0, -2.0], [-1.0, -1.0, -2.0], [-4.0, -4.0, -5.0]]);
        assert_eq!(y, want);
    }

    #[test]
    fn stride_smaller_than_the_pool_overlaps_windows() {
        // Pool 2, stride 1, valid on 3 x 3 -> 2 x 2.
        let x = image::<f32, 3, 3>([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0], [6.0, 2.0, 7.0]]);
        let mut y = [[[0.0f32; 1]; 2]; 2];
        MaxPool2D::<2, 2, 1, 1, 0, 0>.forward(&x, &mut y);
        // max{1,5,3,0} = 5, max{5,2,0,4} = 5, max{3,0,6,2} = 6, max{0,4,2,7} = 7.
        assert_grid(&y, [[5.0, 5.0], [6.0, 7.0]]);
    }

    #[test]
    fn stride_larger_than_the_pool_skips_cells() {
        // Pool 1, stride 2, valid on 3 x 3 -> 2 x 2: the four corners.
        let x = image::<f32, 3, 3>([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0], [6.0, 2.0, 7.0]]);
        let mut y = [[[0.0f32; 1]; 2]; 2];
        MaxPool2D::<1, 1, 2, 2, 0, 0>.forward(&x, &mut y);
        assert_grid(&y, [[1.0, 2.0], [6.0, 7.0]]);
    }

    #[test]
    fn non_square_pool_with_unequal_strides() {
        // Pool (2, 1), stride (1, 2), valid on 3 x 3 -> 2 x 2: max of vertical pairs in
        // columns 0 and 2.
        let x = image::<f64, 3, 3>([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0], [6.0, 2.0, 7.0]]);
        let mut y = [[[0.0f64; 1]; 2]; 2];
        MaxPool2D::<2, 1, 1, 2, 0, 0>.forward(&x, &mut y);
        // max{1,3} = 3, max{2,4} = 4, max{3,6} = 6, max{4,7} = 7.
        assert_grid(&y, [[3.0, 4.0], [6.0, 7.0]]);
    }
}
