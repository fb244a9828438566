//! Keras's `MaxPooling1D` and `AveragePooling1D` on `[steps, channels]` sequences: the 2-D
//! pools' kernels with a width of one.

use super::windows_reach_input;
use crate::kernels::Window2d;
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// The 2-D window geometry of a 1-D pool of `P` steps over `L`: one column.
type Geometry<
    const L: usize,
    const C: usize,
    const P: usize,
    const S: usize,
    const PT: usize,
    const OL: usize,
> = Window2d<L, 1, C, C, P, 1, S, 1, PT, 0, OL, 1>;

/// Writes a 1-D pool type: its docs, forward and backward, over the 2-D kernels `$fwd`, `$bwd`.
macro_rules! pool1d {
    ($(#[$doc:meta])* $name:ident, $fwd:ident, $bwd:ident, $what:literal) => {
        $(#[$doc])*
        ///
        /// `P`-step windows moved by `S`, with `PT` steps of padding before the input (the
        /// padding after is implied by the output length); padded steps are left out, as in
        /// Keras. Zero-sized, as it has no weights.
        ///
        /// # Shapes
        /// - input: `[L][C]`
        /// - output: `[OL][C]`
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name<const P: usize, const S: usize, const PT: usize>;

        impl<const P: usize, const S: usize, const PT: usize> $name<P, S, PT> {
            #[doc = concat!("Each window's ", $what, " of its real steps, per channel.")]
            pub fn forward<T: Scalar, const L: usize, const C: usize, const OL: usize>(
                &self,
                x: &[[T; C]; L],
                y: &mut [[T; C]; OL],
            ) {
                const { assert!(windows_reach_input(OL, S, PT, P, L), "steps see only padding") }
                T::$fwd::<Geometry<L, C, P, S, PT, OL>>(flat(x), flat_mut(y));
            }

            /// The gradient of `forward`, given its input `x` and `dy = ∂L/∂y`; overwrites
            /// `dx`, as the 2-D pool does.
            pub fn backward<T: Scalar, const L: usize, const C: usize, const OL: usize>(
                &self,
                x: &[[T; C]; L],
                dy: &[[T; C]; OL],
                dx: &mut [[T; C]; L],
            ) {
                const { assert!(windows_reach_input(OL, S, PT, P, L), "steps see only padding") }
                pool1d!(@backward $bwd, Geometry<L, C, P, S, PT, OL>, x, dy, dx);
            }
        }
    };
    (@backward max_pool2d_backward, $g:ty, $x:ident, $dy:ident, $dx:ident) => {
        T::max_pool2d_backward::<$g>(flat($x), flat($dy), flat_mut($dx))
    };
    (@backward avg_pool2d_backward, $g:ty, $x:ident, $dy:ident, $dx:ident) => {{
        let _ = $x;
        T::avg_pool2d_backward::<$g>(flat($dy), flat_mut($dx))
    }};
}

pool1d!(
    /// Keras's `MaxPooling1D`: the largest value in each window of steps, per channel. On a
    /// tie, backward gives the window's gradient to its first maximum, as TensorFlow does.
    MaxPool1D,
    max_pool2d_forward,
    max_pool2d_backward,
    "largest value"
);

pool1d!(
    /// Keras's `AveragePooling1D`: the mean of each window of steps, per channel.
    AvgPool1D,
    avg_pool2d_forward,
    avg_pool2d_backward,
    "mean"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, distinct, random};

    #[test]
    fn max_and_mean_by_hand() {
        // 5 steps, 2 channels; pool 2, stride 2, same: OL 3, pad total 1 after.
        let x = [
            [1.0f32, -1.0],
            [4.0, -4.0],
            [2.0, -2.0],
            [3.0, -3.0],
            [5.0, -5.0],
        ];
        let mut y = [[0.0f32; 2]; 3];
        MaxPool1D::<2, 2, 0>.forward(&x, &mut y);
        assert_eq!(y, [[4.0, -1.0], [3.0, -2.0], [5.0, -5.0]]);
        AvgPool1D::<2, 2, 0>.forward(&x, &mut y);
        assert_eq!(y, [[2.5, -2.5], [2.5, -2.5], [5.0, -5.0]]);
        // Pool 3, stride 1, valid: 3 windows.
        let mut y = [[0.0f32; 2]; 3];
        MaxPool1D::<3, 1, 0>.forward(&x, &mut y);
        assert_eq!(y, [[4.0, -1.0], [4.0, -2.0], [5.0, -2.0]]);
    }

    #[test]
    fn gradients() {
        // Pool 3, stride 2, same on 8 steps: OL 4, pad total 1, before 0; overlapping windows.
        let mut x = [[0.0f64; 3]; 8];
        distinct(1, flat_mut(&mut x));
        let mut c = [[0.0f64; 3]; 4];
        random(2, flat_mut(&mut c));
        let mut dx = [[f64::NAN; 3]; 8];
        MaxPool1D::<3, 2, 0>.backward(&x, &c, &mut dx);
        assert_gradient("max x", flat(&x), flat(&dx), flat(&c), 1e-4, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[0.0f64; 3]; 4];
            MaxPool1D::<3, 2, 0>.forward(&x, &mut y);
            y
        });
        let mut dx = [[f64::NAN; 3]; 8];
        AvgPool1D::<3, 2, 0>.backward(&x, &c, &mut dx);
        assert_gradient("mean x", flat(&x), flat(&dx), flat(&c), 1e-4, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            let mut y = [[0.0f64; 3]; 4];
            AvgPool1D::<3, 2, 0>.forward(&x, &mut y);
            y
        });
    }
}
