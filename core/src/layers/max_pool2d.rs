//! Keras's `MaxPooling2D`: the largest value in each window, per channel.

use super::windows_reach_input;
use crate::kernels::Window2d;
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

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
        T::max_pool2d_forward::<Window2d<H, W, C, C, PH, PW, SH, SW, PT, PL, OH, OW>>(
            flat(x),
            flat_mut(y),
        );
    }

    /// The gradient of [`MaxPool2D::forward`], given the input `x` it read and `dy = ∂L/∂y`:
    /// each window's `dy` goes to the cell that was its maximum, and overwrites `dx`.
    ///
    /// On a tie the first maximum in row-major window order takes it all, as TensorFlow's
    /// `MaxPoolGrad` does; a cell that is the maximum of several overlapping windows
    /// (stride < pool) receives the sum of their gradients.
    pub fn backward<
        T: Scalar,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        x: &[[[T; C]; W]; H],
        dy: &[[[T; C]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
    ) {
        // Also guarantees that no window is empty, so every window has a maximum cell.
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
        T::max_pool2d_backward::<Window2d<H, W, C, C, PH, PW, SH, SW, PT, PL, OH, OW>>(
            flat(x),
            flat(dy),
            flat_mut(dx),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, distinct, random};

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

    /// Checks `dx` of a max pool against finite differences on an input without ties.
    fn check_gradient<
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        seed: u64,
    ) {
        let pool = MaxPool2D::<PH, PW, SH, SW, PT, PL>;
        // Distinct values at least 1 / (H·W·C) apart, all below zero half the time: a padded
        // zero would win there if padding were counted.
        let mut x = [[[0.0f64; C]; W]; H];
        distinct(seed, flat_mut(&mut x));
        let mut c = [[[0.0f64; C]; OW]; OH];
        random(seed + 1, flat_mut(&mut c));
        let mut dx = [[[f64::NAN; C]; W]; H];
        pool.backward(&x, &c, &mut dx);
        // Far below the gap between values, so no step changes a window's maximum.
        let h = 1e-4;
        assert_gradient("x", flat(&x), flat(&dx), flat(&c), h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[[0.0f64; C]; OW]; OH];
            pool.forward(&x, &mut y);
            y
        });
    }

    #[test]
    fn gradient_with_overlapping_windows() {
        // Pool 3, stride 1, valid on 5 x 6 x 2 -> 3 x 4; pool 2, stride 1 on 4 x 4 -> 3 x 3.
        check_gradient::<3, 3, 1, 1, 0, 0, 5, 6, 2, 3, 4>(1);
        check_gradient::<2, 2, 1, 1, 0, 0, 4, 4, 3, 3, 3>(2);
        // Pool (3, 2), stride (2, 1), valid on 7 x 5 -> 3 x 4.
        check_gradient::<3, 2, 2, 1, 0, 0, 7, 5, 2, 3, 4>(3);
    }

    #[test]
    fn gradient_with_same_padding() {
        // Pool 2, stride 2, same on 5 x 5 -> 3 x 3, pad 1 -> PT = PL = 0 (bottom/right 1).
        check_gradient::<2, 2, 2, 2, 0, 0, 5, 5, 2, 3, 3>(4);
        // Pool 3, stride 1, same on 4 x 5 -> 4 x 5, PT = PL = 1; overlapping too.
        check_gradient::<3, 3, 1, 1, 1, 1, 4, 5, 2, 4, 5>(5);
        // Pool 3, stride 2, same on 6 x 7 -> 3 x 4: pad H 1 (PT 0), pad W 2 (PL 1).
        check_gradient::<3, 3, 2, 2, 0, 1, 6, 7, 1, 3, 4>(6);
    }

    #[test]
    fn a_tie_sends_the_gradient_to_the_first_maximum() {
        // Pool 2, stride 2 on 2 x 2 x 3. Channel 0: [[1, 3], [3, 1]], the first 3 is at (0, 1).
        // Channel 1: all 2, the first is (0, 0). Channel 2: all -inf (as if everything were
        // padding), still (0, 0).
        let ninf = f64::NEG_INFINITY;
        let x = [
            [[1.0, 2.0, ninf], [3.0, 2.0, ninf]],
            [[3.0, 2.0, ninf], [1.0, 2.0, ninf]],
        ];
        let dy = [[[5.0, 6.0, 7.0]]];
        let mut dx = [[[f64::NAN; 3]; 2]; 2];
        MaxPool2D::<2, 2, 2, 2, 0, 0>.backward(&x, &dy, &mut dx);
        assert_eq!(
            dx,
            [
                [[0.0, 6.0, 7.0], [5.0, 0.0, 0.0]],
                [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
            ]
        );
    }

    #[test]
    fn ties_in_overlapping_windows_go_to_each_first_cell_and_sum_to_dy() {
        // Pool 2, stride 1 on a constant 3 x 3: each window's first cell is its top-left, so
        // dy lands unchanged on the top-left 2 x 2 and the gradient sums to Σ dy = 10.
        let x = image::<f64, 3, 3>([[4.0; 3]; 3]);
        let dy = image::<f64, 2, 2>([[1.0, 2.0], [3.0, 4.0]]);
        let mut dx = [[[f64::NAN; 1]; 3]; 3];
        MaxPool2D::<2, 2, 1, 1, 0, 0>.backward(&x, &dy, &mut dx);
        assert_grid(&dx, [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]);
        assert_eq!(flat::<f64, _>(&dx).iter().sum::<f64>(), 10.0);

        // A peak shared by all four windows (ties elsewhere) collects all four gradients.
        let x = image::<f64, 3, 3>([[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]);
        MaxPool2D::<2, 2, 1, 1, 0, 0>.backward(&x, &dy, &mut dx);
        assert_grid(&dx, [[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]);
    }

    #[test]
    fn ties_in_same_padded_windows_go_to_the_first_real_cell() {
        // Pool 2, stride 2, same on a constant 3 x 3 (padding bottom/right): each window's
        // first cell is its top-left real one, (0,0), (0,2), (2,0) and (2,2).
        let x = image::<f64, 3, 3>([[-1.0; 3]; 3]);
        let dy = image::<f64, 2, 2>([[1.0, 2.0], [3.0, 4.0]]);
        let mut dx = [[[f64::NAN; 1]; 3]; 3];
        MaxPool2D::<2, 2, 2, 2, 0, 0>.backward(&x, &dy, &mut dx);
        assert_grid(&dx, [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]);
        // Pool 3, stride 1, same (PT = PL = 1) on a constant 2 x 2: the window of (1, 1)
        // starts at (0, 0) too, so everything lands there.
        let x = image::<f64, 2, 2>([[5.0; 2]; 2]);
        let mut dx = [[[f64::NAN; 1]; 2]; 2];
        MaxPool2D::<3, 3, 1, 1, 1, 1>.backward(&x, &dy, &mut dx);
        assert_grid(&dx, [[10.0, 0.0], [0.0, 0.0]]);
    }
}
