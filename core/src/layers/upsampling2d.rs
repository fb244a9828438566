//! Keras's `UpSampling2D` with `interpolation = "nearest"`: each pixel repeated into an
//! `SH × SW` block.

use crate::scalar::Scalar;

/// Repeats every row `SH` times and every column `SW` times; zero-sized, as it has no weights.
///
/// # Shapes
/// - input: `[H][W][C]`
/// - output: `[H·SH][W·SW][C]`
#[derive(Clone, Copy, Debug, Default)]
pub struct UpSampling2D<const SH: usize, const SW: usize>;

impl<const SH: usize, const SW: usize> UpSampling2D<SH, SW> {
    /// `y[oy][ox] = x[oy / SH][ox / SW]`.
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
        const { assert!(OH == H * SH && OW == W * SW, "UpSampling2D: output size") };
        for (oy, row) in y.iter_mut().enumerate() {
            let src = &x[oy / SH];
            for (ox, px) in row.iter_mut().enumerate() {
                *px = src[ox / SW];
            }
        }
    }

    /// The gradient of [`UpSampling2D::forward`]: each input pixel's `dx` is the sum of `dy`
    /// over its block; overwrites `dx`.
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
        const { assert!(OH == H * SH && OW == W * SW, "UpSampling2D: output size") };
        for (iy, row) in dx.iter_mut().enumerate() {
            for (ix, px) in row.iter_mut().enumerate() {
                let mut sum = [T::zero(); C];
                for dy_row in &dy[iy * SH..(iy + 1) * SH] {
                    for cell in &dy_row[ix * SW..(ix + 1) * SW] {
                        for (s, &d) in sum.iter_mut().zip(cell) {
                            *s = *s + d;
                        }
                    }
                }
                *px = sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::{flat, flat_mut};

    #[test]
    fn repeats_rows_and_columns() {
        // 2 x 2 x 1, size (2, 3) -> 4 x 6.
        let x = [[[1.0f32], [2.0]], [[3.0], [4.0]]];
        let mut y = [[[0.0f32; 1]; 6]; 4];
        UpSampling2D::<2, 3>.forward(&x, &mut y);
        let row = |a: f32, b: f32| [[a], [a], [a], [b], [b], [b]];
        assert_eq!(
            y,
            [row(1.0, 2.0), row(1.0, 2.0), row(3.0, 4.0), row(3.0, 4.0)]
        );
    }

    #[test]
    fn backward_sums_each_block() {
        // dy over 2 x 4 from 1 x 2 with size (2, 2): block sums 1+2+5+6 and 3+4+7+8.
        let dy = [
            [[1.0f64], [2.0], [3.0], [4.0]],
            [[5.0], [6.0], [7.0], [8.0]],
        ];
        let mut dx = [[[f64::NAN; 1]; 2]; 1];
        UpSampling2D::<2, 2>.backward(&dy, &mut dx);
        assert_eq!(dx, [[[14.0], [22.0]]]);
        // And against finite differences, with two channels and unequal sizes.
        let mut x = [[[0.0f64; 2]; 3]; 2];
        random(1, flat_mut(&mut x));
        let mut c = [[[0.0f64; 2]; 6]; 6];
        random(2, flat_mut(&mut c));
        let mut dx = [[[f64::NAN; 2]; 3]; 2];
        UpSampling2D::<3, 2>.backward(&c, &mut dx);
        assert_gradient("x", flat(&x), flat(&dx), flat(&c), 1e-6, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[[0.0f64; 2]; 6]; 6];
            UpSampling2D::<3, 2>.forward(&x, &mut y);
            y
        });
    }
}
