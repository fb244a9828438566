//! Keras's `ZeroPadding2D` and `Cropping2D`: rows and columns of zeros added around an image, or
//! cut from its edges. Each is the other's backward, so they share their two copies.

use crate::scalar::Scalar;

/// Adds `TOP` rows and `LEFT` columns of zeros before the image, and as many after as the
/// output's size leaves; zero-sized, as it has no weights.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][C]`, `OH ≥ H + TOP`, `OW ≥ W + LEFT`
#[derive(Clone, Copy, Debug, Default)]
pub struct ZeroPadding2D<const TOP: usize, const LEFT: usize>;

impl<const TOP: usize, const LEFT: usize> ZeroPadding2D<TOP, LEFT> {
    /// `y` is zero but for `x` at row `TOP`, column `LEFT`.
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
        const {
            assert!(
                OH >= H + TOP && OW >= W + LEFT,
                "ZeroPadding2D: output too small"
            )
        };
        y.as_flattened_mut().fill([T::zero(); C]);
        place(x, y, TOP, LEFT);
    }

    /// The gradient of [`ZeroPadding2D::forward`]: `dy`'s window over the input; overwrites
    /// `dx`.
    pub fn backward<
        T: Scalar,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        dy: &[[[T; C]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
    ) {
        const {
            assert!(
                OH >= H + TOP && OW >= W + LEFT,
                "ZeroPadding2D: output too small"
            )
        };
        take(dy, dx, TOP, LEFT);
    }
}

/// Cuts `TOP` rows and `LEFT` columns from the start of the image, and as many from its end as
/// the output's size leaves; zero-sized, as it has no weights.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[OH][OW][C]`, `OH + TOP ≤ H`, `OW + LEFT ≤ W`
#[derive(Clone, Copy, Debug, Default)]
pub struct Cropping2D<const TOP: usize, const LEFT: usize>;

impl<const TOP: usize, const LEFT: usize> Cropping2D<TOP, LEFT> {
    /// `y` is the window of `x` from row `TOP`, column `LEFT`.
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
        const {
            assert!(
                OH + TOP <= H && OW + LEFT <= W,
                "Cropping2D: output too large"
            )
        };
        take(x, y, TOP, LEFT);
    }

    /// The gradient of [`Cropping2D::forward`]: `dy` where the window was, zero on the cut
    /// edges; overwrites `dx`.
    pub fn backward<
        T: Scalar,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        dy: &[[[T; C]; OW]; OH],
        dx: &mut [[[T; C]; W]; H],
    ) {
        const {
            assert!(
                OH + TOP <= H && OW + LEFT <= W,
                "Cropping2D: output too large"
            )
        };
        dx.as_flattened_mut().fill([T::zero(); C]);
        place(dy, dx, TOP, LEFT);
    }
}

/// Copies the small image `src` into `dst` at row `top`, column `left`.
fn place<
    T: Copy,
    const H: usize,
    const W: usize,
    const C: usize,
    const BH: usize,
    const BW: usize,
>(
    src: &[[[T; C]; W]; H],
    dst: &mut [[[T; C]; BW]; BH],
    top: usize,
    left: usize,
) {
    for (row, out) in src.iter().zip(&mut dst[top..]) {
        out[left..left + W].copy_from_slice(row);
    }
}

/// Fills the small image `dst` with `src`'s window from row `top`, column `left`.
fn take<
    T: Copy,
    const H: usize,
    const W: usize,
    const C: usize,
    const BH: usize,
    const BW: usize,
>(
    src: &[[[T; C]; BW]; BH],
    dst: &mut [[[T; C]; W]; H],
    top: usize,
    left: usize,
) {
    for (out, row) in dst.iter_mut().zip(&src[top..]) {
        out.copy_from_slice(&row[left..left + W]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::{flat, flat_mut};

    #[test]
    fn pads_with_zeros_around_the_image() {
        // 2 x 1 x 1, one row on top, two columns on the left, one on the right, none below.
        let x = [[[1.0f32]], [[2.0]]];
        let mut y = [[[9.0f32]; 4]; 3];
        ZeroPadding2D::<1, 2>.forward(&x, &mut y);
        assert_eq!(
            y,
            [
                [[0.0]; 4],
                [[0.0], [0.0], [1.0], [0.0]],
                [[0.0], [0.0], [2.0], [0.0]]
            ]
        );
        let mut dx = [[[f32::NAN]]; 2];
        let dy = [
            [[1.0f32], [2.0], [3.0], [4.0]],
            [[5.0], [6.0], [7.0], [8.0]],
            [[9.0], [10.0], [11.0], [12.0]],
        ];
        ZeroPadding2D::<1, 2>.backward(&dy, &mut dx);
        assert_eq!(dx, [[[7.0]], [[11.0]]]);
    }

    #[test]
    fn crops_the_edges_and_backward_puts_dy_back() {
        // 3 x 3 x 2 to its 2 x 1 window at row 1, column 2.
        let x: [[[f32; 2]; 3]; 3] =
            core::array::from_fn(|r| core::array::from_fn(|c| [(r * 3 + c) as f32, -1.0]));
        let mut y = [[[0.0f32; 2]; 1]; 2];
        Cropping2D::<1, 2>.forward(&x, &mut y);
        assert_eq!(y, [[[5.0, -1.0]], [[8.0, -1.0]]]);
        let mut dx = [[[f32::NAN; 2]; 3]; 3];
        Cropping2D::<1, 2>.backward(&[[[1.0, 2.0]], [[3.0, 4.0]]], &mut dx);
        let mut want = [[[0.0f32; 2]; 3]; 3];
        want[1][2] = [1.0, 2.0];
        want[2][2] = [3.0, 4.0];
        assert_eq!(dx, want);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut x = [[[0.0f64; 2]; 3]; 4];
        random(5, flat_mut(&mut x));
        let mut c = [[[0.0f64; 2]; 6]; 5];
        random(6, flat_mut(&mut c));
        let mut dx = [[[f64::NAN; 2]; 3]; 4];
        ZeroPadding2D::<1, 2>.backward(&c, &mut dx);
        assert_gradient("padding", flat(&x), flat(&dx), flat(&c), 1e-3, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[[0.0f64; 2]; 6]; 5];
            ZeroPadding2D::<1, 2>.forward(&x, &mut y);
            y
        });
        let mut c = [[[0.0f64; 2]; 1]; 2];
        random(7, flat_mut(&mut c));
        let mut dx = [[[f64::NAN; 2]; 3]; 4];
        Cropping2D::<1, 1>.backward(&c, &mut dx);
        assert_gradient("cropping", flat(&x), flat(&dx), flat(&c), 1e-3, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[[0.0f64; 2]; 1]; 2];
            Cropping2D::<1, 1>.forward(&x, &mut y);
            y
        });
    }
}
