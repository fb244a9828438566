//! Keras's `AveragePooling2D`: the mean of each window, per channel.

use super::windows_reach_input;
use crate::kernels::Window2d;
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// Average pooling over `PH × PW` windows moved by strides `SH × SW`, with `PT` / `PL` rows /
/// columns of padding before the input; zero-sized, as it has no weights.
///
/// Padded cells are left out of both the sum and the count, as TensorFlow and Keras do for
/// `same`: an edge window averages its real cells only. The padding after the input is implied
/// by the output size, as for [`crate::layers::Conv2D`].
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct AvgPool2D<
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
    > AvgPool2D<PH, PW, SH, SW, PT, PL>
{
    /// `y[oy][ox][c] = mean x[iy][ix][c]` over the window's cells inside the input, with
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
        // Also guarantees that no window is empty, so no count is 0.
        const {
            assert!(
                windows_reach_input(OH, SH, PT, PH, H),
                "AvgPool2D: rows see only padding"
            );
            assert!(
                windows_reach_input(OW, SW, PL, PW, W),
                "AvgPool2D: columns see only padding"
            );
        }
        T::avg_pool2d_forward::<Window2d<H, W, C, C, PH, PW, SH, SW, PT, PL, OH, OW>>(
            flat(x),
            flat_mut(y),
        );
    }

    /// The gradient of [`AvgPool2D::forward`], given `dy = ∂L/∂y`: each window's `dy`, divided
    /// by the number of real cells the forward averaged, is added to each of them; overwrites
    /// `dx`. Cells of overlapping windows (stride < pool) receive the sum.
    ///
    /// The input is not needed; `_x` keeps the signature the same as the other pools'.
    pub fn backward<
        T: Scalar,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        _x: &[[[T; C]; W]; H],
        dy: &[[[T; C]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
    ) {
        // Also guarantees that no window is empty, so no count is 0.
        const {
            assert!(
                windows_reach_input(OH, SH, PT, PH, H),
                "AvgPool2D: rows see only padding"
            );
            assert!(
                windows_reach_input(OW, SW, PL, PW, W),
                "AvgPool2D: columns see only padding"
            );
        }
        T::avg_pool2d_backward::<Window2d<H, W, C, C, PH, PW, SH, SW, PT, PL, OH, OW>>(
            flat(dy),
            flat_mut(dx),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};

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

    /// 1..9 row by row.
    fn one_to_nine<T: Scalar>() -> [[[T; 1]; 3]; 3] {
        image([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    }

    #[test]
    fn same_padding_at_the_bottom_right_edge_is_not_counted() {
        // 3 x 3, pool 2, stride 2, same: pad_total = 1 -> top/left 0, bottom/right 1.
        let mut y = [[[0.0f32; 1]; 2]; 2];
        AvgPool2D::<2, 2, 2, 2, 0, 0>.forward(&one_to_nine(), &mut y);
        // (1+2+4+5)/4 = 3, (3+6)/2 = 4.5, (7+8)/2 = 7.5, 9/1 = 9 (not 9/4).
        assert_grid(&y, [[3.0, 4.5], [7.5, 9.0]]);
    }

    #[test]
    fn same_padding_on_all_sides_divides_by_the_real_cells() {
        // 3 x 3, pool 3, stride 1, same: top/left 1. Corners average 4 cells, edges 6, centre 9.
        let mut y = [[[0.0f64; 1]; 3]; 3];
        AvgPool2D::<3, 3, 1, 1, 1, 1>.forward(&one_to_nine(), &mut y);
        // (1+2+4+5)/4 = 3, (1+..+6)/6 = 3.5, (2+3+5+6)/4 = 4,
        // (1+2+4+5+7+8)/6 = 4.5, 45/9 = 5, (2+3+5+6+8+9)/6 = 5.5,
        // (4+5+7+8)/4 = 6, (4+..+9)/6 = 6.5, (5+6+8+9)/4 = 7.
        assert_grid(&y, [[3.0, 3.5, 4.0], [4.5, 5.0, 5.5], [6.0, 6.5, 7.0]]);
    }

    #[test]
    fn stride_smaller_than_the_pool_overlaps_windows() {
        // Pool 2, stride 1, valid on 3 x 3 -> 2 x 2.
        let x = image::<f32, 3, 3>([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0], [6.0, 2.0, 7.0]]);
        let mut y = [[[0.0f32; 1]; 2]; 2];
        AvgPool2D::<2, 2, 1, 1, 0, 0>.forward(&x, &mut y);
        // (1+5+3+0)/4 = 2.25, (5+2+0+4)/4 = 2.75, (3+0+6+2)/4 = 2.75, (0+4+2+7)/4 = 3.25.
        assert_grid(&y, [[2.25, 2.75], [2.75, 3.25]]);
    }

    #[test]
    fn non_square_same_pool_with_unequal_strides() {
        // 2 x 4 x 2, pool (2, 3), stride (1, 2), same: OH = 2, pad H = 1·1 + 2 - 2 = 1 (top 0);
        // OW = 2, pad W = 1·2 + 3 - 4 = 1 (left 0). Channel 1 is channel 0 times -2.
        let mut x = [[[0.0f64; 2]; 4]; 2];
        for (r, row) in x.iter_mut().enumerate() {
            for (c, px) in row.iter_mut().enumerate() {
                let v = (4 * r + c + 1) as f64;
                *px = [v, -2.0 * v];
            }
        }
        let mut y = [[[0.0f64; 2]; 2]; 2];
        AvgPool2D::<2, 3, 1, 2, 0, 0>.forward(&x, &mut y);
        // (0,0): rows 0-1, cols 0-2: (1+2+3+5+6+7)/6 = 4
        // (0,1): rows 0-1, cols 2-3: (3+4+7+8)/4 = 5.5
        // (1,0): row 1, cols 0-2: (5+6+7)/3 = 6
        // (1,1): row 1, cols 2-3: (7+8)/2 = 7.5
        assert_eq!(
            y,
            [[[4.0, -8.0], [5.5, -11.0]], [[6.0, -12.0], [7.5, -15.0]]]
        );
    }

    #[test]
    fn backward_divides_by_the_real_cells_of_each_window() {
        // 3 x 3, pool 2, stride 2, same (padding bottom/right), dy = [[4, 2], [2, 1]]: the
        // windows hold 4, 2, 2 and 1 real cells, so every cell gets 4/4 = 2/2 = 1/1 = 1.
        let dy = image::<f64, 2, 2>([[4.0, 2.0], [2.0, 1.0]]);
        let mut dx = [[[f64::NAN; 1]; 3]; 3];
        AvgPool2D::<2, 2, 2, 2, 0, 0>.backward(&one_to_nine(), &dy, &mut dx);
        assert_grid(&dx, [[1.0; 3]; 3]);
        // Pool 2, stride 1, valid, dy all 4: each window adds 1 to its four cells, so a cell
        // gets the number of windows over it.
        let dy = image::<f64, 2, 2>([[4.0, 4.0], [4.0, 4.0]]);
        AvgPool2D::<2, 2, 1, 1, 0, 0>.backward(&one_to_nine(), &dy, &mut dx);
        assert_grid(&dx, [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]);
    }

    /// Checks `dx` of an average pool against finite differences.
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
        let pool = AvgPool2D::<PH, PW, SH, SW, PT, PL>;
        let mut x = [[[0.0f64; C]; W]; H];
        random(seed, flat_mut(&mut x));
        let mut c = [[[0.0f64; C]; OW]; OH];
        random(seed + 1, flat_mut(&mut c));
        let mut dx = [[[f64::NAN; C]; W]; H];
        pool.backward(&x, &c, &mut dx);
        // Linear in x, so a large step only reduces rounding.
        assert_gradient("x", flat(&x), flat(&dx), flat(&c), 1e-3, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[[0.0f64; C]; OW]; OH];
            pool.forward(&x, &mut y);
            y
        });
    }

    #[test]
    fn gradient_with_same_padding() {
        // Pool 2, stride 2, same on 5 x 5 -> 3 x 3, PT = PL = 0.
        check_gradient::<2, 2, 2, 2, 0, 0, 5, 5, 2, 3, 3>(1);
        // Pool 3, stride 1, same on 4 x 5, PT = PL = 1.
        check_gradient::<3, 3, 1, 1, 1, 1, 4, 5, 2, 4, 5>(2);
        // Pool (2, 3), stride (1, 2), same on 2 x 4 -> 2 x 2, PT = PL = 0 (the forward test).
        check_gradient::<2, 3, 1, 2, 0, 0, 2, 4, 2, 2, 2>(3);
        // Pool 3, stride 2, same on 6 x 7 -> 3 x 4, PT = 0, PL = 1.
        check_gradient::<3, 3, 2, 2, 0, 1, 6, 7, 1, 3, 4>(4);
    }

    #[test]
    fn gradient_valid() {
        // Pool 2, stride 2 on 4 x 6 -> 2 x 3; pool 3, stride 1 on 5 x 5 -> 3 x 3 (overlapping).
        check_gradient::<2, 2, 2, 2, 0, 0, 4, 6, 3, 2, 3>(5);
        check_gradient::<3, 3, 1, 1, 0, 0, 5, 5, 2, 3, 3>(6);
    }
}
