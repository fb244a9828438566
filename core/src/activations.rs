//! Keras 3's activation functions, applied in place along the last axis of a tensor.
//!
//! Each elementwise activation keeps its function `f` and its derivative `df` side by side, so
//! that forward and backward of one thing live together. Softmax couples a whole row, so it
//! implements [`Activation`] directly.

use crate::scalar::Scalar;

/// An activation as a layer applies it: in place, on a tensor seen as rows along its last axis
/// (see [`crate::tensor::Rows`]).
pub trait Activation {
    /// The Keras name of the activation, e.g. `"relu"`.
    const NAME: &'static str;
    /// Replaces every row of `x` by the activation of it.
    fn apply<T: Scalar, const C: usize>(x: &mut [[T; C]]);
    /// The backward pass, in place: given the input `z`, the output `y` that [`apply`] made of
    /// it and `dy = ∂L/∂y`, turns `dy` into `∂L/∂z`. The three are zipped row by row.
    ///
    /// [`apply`]: Activation::apply
    fn backward<T: Scalar, const C: usize>(z: &[[T; C]], y: &[[T; C]], dy: &mut [[T; C]]);
}

/// An activation that acts on each element alone; every such type is an [`Activation`].
pub trait Elementwise {
    /// The Keras name of the activation, e.g. `"relu"`.
    const NAME: &'static str;
    /// The activation of one element.
    fn f<T: Scalar>(x: T) -> T;
    /// The derivative `f'(x)`, given the input `x` and the output `y = f(x)` (whichever is
    /// cheaper to use).
    fn df<T: Scalar>(x: T, y: T) -> T;
}

impl<A: Elementwise> Activation for A {
    const NAME: &'static str = <A as Elementwise>::NAME;

    #[inline]
    fn apply<T: Scalar, const C: usize>(x: &mut [[T; C]]) {
        for v in x.as_flattened_mut() {
            *v = A::f(*v);
        }
    }

    /// `dy *= f'(z)`, element by element. For [`Linear`] `f'` is 1, and the product by one
    /// folds away.
    #[inline]
    fn backward<T: Scalar, const C: usize>(z: &[[T; C]], y: &[[T; C]], dy: &mut [[T; C]]) {
        let zy = z.as_flattened().iter().zip(y.as_flattened());
        for (d, (&z, &y)) in dy.as_flattened_mut().iter_mut().zip(zy) {
            *d = *d * A::df(z, y);
        }
    }
}

/// The identity, `x`: Keras's default for Dense and Conv2D.
#[derive(Clone, Copy, Debug, Default)]
pub struct Linear;

impl Elementwise for Linear {
    const NAME: &'static str = "linear";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        x
    }
    #[inline]
    fn df<T: Scalar>(_x: T, _y: T) -> T {
        T::one()
    }
}

/// `max(x, 0)`. NaN stays NaN.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;

impl Elementwise for Relu {
    const NAME: &'static str = "relu";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        if x < T::zero() {
            T::zero()
        } else {
            x
        }
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }
}

/// `min(max(x, 0), 6)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu6;

impl Elementwise for Relu6 {
    const NAME: &'static str = "relu6";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        let six = T::of(6.0);
        if x < T::zero() {
            T::zero()
        } else if x > six {
            six
        } else {
            x
        }
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        if x > T::zero() && x < T::of(6.0) {
            T::one()
        } else {
            T::zero()
        }
    }
}

/// `1 / (1 + exp(-x))`, computed from `exp(-|x|)` so that no large `|x|` overflows into NaN
/// ([`Scalar::exp_fast`]: vectorizable in `f32`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

impl Elementwise for Sigmoid {
    const NAME: &'static str = "sigmoid";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        let e = (-x.abs()).exp_fast();
        if x >= T::zero() {
            T::one() / (T::one() + e)
        } else {
            e / (T::one() + e)
        }
    }
    #[inline]
    fn df<T: Scalar>(_x: T, y: T) -> T {
        y * (T::one() - y)
    }
}

/// The hyperbolic tangent ([`Scalar::tanh_fast`]: vectorizable in `f32`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;

impl Elementwise for Tanh {
    const NAME: &'static str = "tanh";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        x.tanh_fast()
    }
    #[inline]
    fn df<T: Scalar>(_x: T, y: T) -> T {
        T::one() - y * y
    }
}

/// `exp(x) / Σ exp(row)` over each row of the last axis, after subtracting the row's maximum so
/// that large inputs cannot overflow.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax;

impl Activation for Softmax {
    const NAME: &'static str = "softmax";

    fn apply<T: Scalar, const C: usize>(x: &mut [[T; C]]) {
        for row in x {
            let max = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
            let mut sum = T::zero();
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum = sum + *v;
            }
            let inv = T::one() / sum;
            for v in row.iter_mut() {
                *v = *v * inv;
            }
        }
    }

    /// `dz_i = y_i · (dy_i − Σ_j dy_j · y_j)` on each row: the product of `dy` with the
    /// Jacobian `∂y_j/∂z_i = y_j · (δ_ij − y_i)`, which needs only the output.
    fn backward<T: Scalar, const C: usize>(_z: &[[T; C]], y: &[[T; C]], dy: &mut [[T; C]]) {
        for (y, dy) in y.iter().zip(dy) {
            let dot = y
                .iter()
                .zip(dy.iter())
                .fold(T::zero(), |s, (&y, &d)| s + y * d);
            for (d, &y) in dy.iter_mut().zip(y) {
                *d = y * (*d - dot);
            }
        }
    }
}

/// `x` for `x > 0`, else `0.2 * x`: Keras 3's default `negative_slope`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeakyRelu;

impl LeakyRelu {
    /// The slope for negative inputs.
    pub const NEGATIVE_SLOPE: f64 = 0.2;
}

impl Elementwise for LeakyRelu {
    const NAME: &'static str = "leaky_relu";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of(Self::NEGATIVE_SLOPE) * x
        }
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::of(Self::NEGATIVE_SLOPE)
        }
    }
}

/// `x` for `x > 0`, else `exp(x) - 1` (Keras's `alpha = 1`), with `exp_m1` for accuracy near 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Elu;

impl Elementwise for Elu {
    const NAME: &'static str = "elu";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        if x > T::zero() {
            x
        } else {
            x.exp_m1()
        }
    }
    #[inline]
    fn df<T: Scalar>(x: T, y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            y + T::one()
        }
    }
}

/// `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`: the exact form, Keras's default
/// (`approximate=False`), not the tanh approximation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;

impl Elementwise for Gelu {
    const NAME: &'static str = "gelu";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        T::of(0.5) * x * (T::one() + (x * T::of(core::f64::consts::FRAC_1_SQRT_2)).erf())
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        // Φ(x) + x·φ(x), with φ the standard normal density.
        let cdf = T::of(0.5) * (T::one() + (x * T::of(core::f64::consts::FRAC_1_SQRT_2)).erf());
        let pdf = (T::of(-0.5) * x * x).exp() * T::of(0.398_942_280_401_432_7); // 1/√(2π)
        cdf + x * pdf
    }
}

/// `x · sigmoid(x)`, also called SiLU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Swish;

impl Elementwise for Swish {
    const NAME: &'static str = "swish";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        x * Sigmoid::f(x)
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        let s = Sigmoid::f(x);
        s + x * s * (T::one() - s)
    }
}

/// `ln(1 + exp(x))`, computed as `max(x, 0) + ln_1p(exp(-|x|))` so that it neither overflows
/// for large `x` nor rounds to 0 for very negative `x`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softplus;

impl Elementwise for Softplus {
    const NAME: &'static str = "softplus";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        x.max(T::zero()) + (-x.abs()).exp().ln_1p()
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        Sigmoid::f(x)
    }
}

/// `relu6(x + 3) / 6`: Keras 3's definition (Keras 2 used `0.2 · x + 0.5`).
#[derive(Clone, Copy, Debug, Default)]
pub struct HardSigmoid;

impl Elementwise for HardSigmoid {
    const NAME: &'static str = "hard_sigmoid";
    #[inline]
    fn f<T: Scalar>(x: T) -> T {
        Relu6::f(x + T::of(3.0)) / T::of(6.0)
    }
    #[inline]
    fn df<T: Scalar>(x: T, _y: T) -> T {
        if x > T::of(-3.0) && x < T::of(3.0) {
            T::of(1.0 / 6.0)
        } else {
            T::zero()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    /// `f(x)` at each `(x, expected)` pair, in f64 and in f32.
    fn check_f<A: Elementwise>(cases: &[(f64, f64)]) {
        for &(x, want) in cases {
            let got = A::f(x);
            assert!(
                close(got, want, 1e-15),
                "{}({x}) = {got}, want {want}",
                A::NAME
            );
            let got32 = A::f(x as f32);
            assert!(
                close(got32 as f64, want, 1e-6),
                "{}({x}) in f32 = {got32}, want {want}",
                A::NAME
            );
        }
    }

    /// `df` against the central difference `(f(x + h) - f(x - h)) / 2h` in f64.
    fn check_df<A: Elementwise>(points: &[f64]) {
        let h = 1e-5;
        for &x in points {
            let numeric = (A::f(x + h) - A::f(x - h)) / (2.0 * h);
            let analytic = A::df(x, A::f(x));
            assert!(
                close(analytic, numeric, 1e-8),
                "{}'({x}) = {analytic}, finite difference {numeric}",
                A::NAME
            );
        }
    }

    // Away from the kinks at 0, 6 and ±3.
    const POINTS: [f64; 7] = [-7.5, -2.3, -0.7, 0.4, 1.9, 4.2, 8.1];

    #[test]
    fn names_are_keras_names() {
        fn name<A: Activation>() -> &'static str {
            A::NAME
        }
        let names = [
            name::<Linear>(),
            name::<Relu>(),
            name::<Relu6>(),
            name::<Sigmoid>(),
            name::<Tanh>(),
            name::<Softmax>(),
            name::<LeakyRelu>(),
            name::<Elu>(),
            name::<Gelu>(),
            name::<Swish>(),
            name::<Softplus>(),
            name::<HardSigmoid>(),
        ];
        let keras = [
            "linear",
            "relu",
            "relu6",
            "sigmoid",
            "tanh",
            "softmax",
            "leaky_relu",
            "elu",
            "gelu",
            "swish",
            "softplus",
            "hard_sigmoid",
        ];
        assert_eq!(names, keras);
    }

    #[test]
    fn linear_is_the_identity() {
        check_f::<Linear>(&[(-2.5, -2.5), (0.0, 0.0), (3.0, 3.0)]);
        check_df::<Linear>(&POINTS);
    }

    #[test]
    fn relu_clips_below_zero() {
        check_f::<Relu>(&[(-1.0, 0.0), (0.0, 0.0), (2.0, 2.0)]);
        check_df::<Relu>(&POINTS);
        assert!(Relu::f(f64::NAN).is_nan());
    }

    #[test]
    fn relu6_clips_below_zero_and_above_six() {
        check_f::<Relu6>(&[(-1.0, 0.0), (3.0, 3.0), (6.0, 6.0), (7.0, 6.0)]);
        check_df::<Relu6>(&POINTS);
    }

    #[test]
    fn sigmoid_saturates_without_nan() {
        // 1 / (1 + e^-1) = 0.7310585786300049; e^-1 / (1 + e^-1) = 0.2689414213699951.
        check_f::<Sigmoid>(&[
            (0.0, 0.5),
            (1.0, 0.7310585786300049),
            (-1.0, 0.2689414213699951),
            (1000.0, 1.0),
            (-1000.0, 0.0),
        ]);
        assert_eq!(Sigmoid::f(-1000.0f32), 0.0);
        assert_eq!(Sigmoid::f(-1000.0f64), 0.0);
        assert_eq!(Sigmoid::f(f32::NEG_INFINITY), 0.0);
        assert_eq!(Sigmoid::f(f32::INFINITY), 1.0);
        check_df::<Sigmoid>(&POINTS);
    }

    #[test]
    fn tanh_matches_its_values() {
        // tanh(0.5) = (e - 1) / (e + 1) = 0.46211715726000974.
        check_f::<Tanh>(&[
            (0.0, 0.0),
            (0.5, 0.46211715726000974),
            (-0.5, -0.46211715726000974),
        ]);
        check_df::<Tanh>(&POINTS);
    }

    #[test]
    fn leaky_relu_has_slope_two_tenths_below_zero() {
        check_f::<LeakyRelu>(&[(-1.0, -0.2), (-5.0, -1.0), (3.0, 3.0)]);
        check_df::<LeakyRelu>(&POINTS);
    }

    #[test]
    fn elu_is_exp_minus_one_below_zero() {
        // e^-1 - 1 = -0.6321205588285577; e^-30 - 1 = -1 + 9.36e-14 = -0.9999999999999064.
        check_f::<Elu>(&[
            (-1.0, -0.6321205588285577),
            (2.0, 2.0),
            (0.0, 0.0),
            (-30.0, -0.9999999999999064),
        ]);
        check_df::<Elu>(&POINTS);
    }

    #[test]
    fn gelu_is_the_exact_erf_form() {
        // Φ(1) = 0.8413447460685429, so gelu(1) = Φ(1) and gelu(-1) = -Φ(-1) = -0.15865525393145707.
        // The tanh approximation would give gelu(1) = 0.8411919906082768.
        check_f::<Gelu>(&[
            (0.0, 0.0),
            (1.0, 0.8413447460685429),
            (-1.0, -0.15865525393145707),
            (10.0, 10.0),
        ]);
        check_df::<Gelu>(&POINTS);
    }

    #[test]
    fn swish_is_x_times_sigmoid() {
        // 1 · 0.7310585786300049; -1 · 0.2689414213699951.
        check_f::<Swish>(&[
            (0.0, 0.0),
            (1.0, 0.7310585786300049),
            (-1.0, -0.2689414213699951),
        ]);
        assert_eq!(Swish::f(-1000.0f32), 0.0);
        check_df::<Swish>(&POINTS);
    }

    #[test]
    fn softplus_neither_overflows_nor_underflows() {
        // ln(1 + e^-30) = 9.357622968839737e-14, not 0;
        // 30 + ln(1 + e^-30) = 30.000000000000092; softplus(1000) = 1000, not inf.
        check_f::<Softplus>(&[
            (0.0, core::f64::consts::LN_2),
            (-30.0, 9.357622968839737e-14),
            (30.0, 30.000000000000092),
            (1000.0, 1000.0),
        ]);
        assert!(Softplus::f(-30.0f32) > 0.0);
        assert_eq!(Softplus::f(1000.0f32), 1000.0);
        check_df::<Softplus>(&POINTS);
    }

    #[test]
    fn hard_sigmoid_is_relu6_of_x_plus_three_over_six() {
        // (1.5 + 3) / 6 = 0.75; (-1.5 + 3) / 6 = 0.25.
        check_f::<HardSigmoid>(&[
            (-4.0, 0.0),
            (-3.0, 0.0),
            (-1.5, 0.25),
            (0.0, 0.5),
            (1.5, 0.75),
            (3.0, 1.0),
            (4.0, 1.0),
        ]);
        check_df::<HardSigmoid>(&POINTS);
    }

    #[test]
    fn elementwise_activations_apply_to_every_row() {
        let mut x = [[-1.0f32, 2.0], [3.0, -4.0], [0.5, 7.0]];
        Relu::apply(&mut x);
        assert_eq!(x, [[0.0, 2.0], [3.0, 0.0], [0.5, 7.0]]);
        Relu6::apply(&mut x);
        assert_eq!(x, [[0.0, 2.0], [3.0, 0.0], [0.5, 6.0]]);
    }

    #[test]
    fn softmax_normalises_each_row_separately() {
        // Row 0: e^(x - 3) = [e^-2, e^-1, 1], divided by their sum 1.5032147244080551.
        // Row 1: e^(x - 2) = [e^-3, e^-2, e^-1, 1], divided by their sum 1.553001792775919.
        let mut x = [[1.0f64, 2.0, 3.0, f64::NEG_INFINITY], [-1.0, 0.0, 1.0, 2.0]];
        Softmax::apply(&mut x);
        let want = [
            [
                0.09003057317038046,
                0.24472847105479764,
                0.6652409557748218,
                0.0,
            ],
            [
                0.03205860328008499,
                0.08714431874203257,
                0.23688281808991013,
                0.6439142598879724,
            ],
        ];
        for (row, want) in x.iter().zip(&want) {
            for (&v, &w) in row.iter().zip(want) {
                assert!(close(v, w, 1e-15), "{v} vs {w}");
            }
            assert!(close(row.iter().sum(), 1.0, 1e-15));
        }
    }

    #[test]
    fn softmax_of_large_equal_inputs_does_not_overflow() {
        let mut x = [[1000.0f32, 1000.0], [-1000.0, -1000.0]];
        Softmax::apply(&mut x);
        assert_eq!(x, [[0.5, 0.5], [0.5, 0.5]]);
        let mut y = [[1000.0f64, 0.0]];
        Softmax::apply(&mut y);
        assert_eq!(y, [[1.0, 0.0]]);
    }

    /// Checks `A::backward` on a `[3][4]` tensor against finite differences of the probe loss
    /// `Σ c · A(z)`.
    fn check_backward<A: Activation>(z: [[f64; 4]; 3]) {
        let mut c = [[0.0f64; 4]; 3];
        random(1, c.as_flattened_mut());
        let y = applied::<A>(z);
        let mut dz = c;
        A::backward(&z, &y, &mut dz);
        // Central differences err by about h² · f‴ / 6 and by rounding / h: 1e-5 balances
        // them.
        assert_gradient(
            A::NAME,
            z.as_flattened(),
            dz.as_flattened(),
            c.as_flattened(),
            1e-5,
            |zs| {
                let mut z = [[0.0f64; 4]; 3];
                z.as_flattened_mut().copy_from_slice(zs);
                applied::<A>(z)
            },
        );
    }

    fn applied<A: Activation>(mut z: [[f64; 4]; 3]) -> [[f64; 4]; 3] {
        A::apply(&mut z);
        z
    }

    /// Points in every piece of every elementwise activation (below -3, between -3 and 0, 0 and
    /// 3, 3 and 6, above 6), each at least 0.2 from a kink, far more than the step.
    const Z: [[f64; 4]; 3] = [
        [-7.5, -2.3, -0.7, 0.4],
        [1.9, 4.2, 8.1, -3.6],
        [2.9, 5.5, 6.7, -0.2],
    ];

    #[test]
    fn elementwise_backward_matches_finite_differences() {
        check_backward::<Linear>(Z);
        check_backward::<Relu>(Z);
        check_backward::<Relu6>(Z);
        check_backward::<Sigmoid>(Z);
        // Where tanh rounds to ±1 (|z| > 6) and where gelu's `1 + erf` cancels (z < -6) their
        // slopes, below 2e-5 and 1e-11, are beyond what a difference of outputs resolves to
        // 1e-6. Half of Z stays within ±4.1.
        let half_z = Z.map(|r| r.map(|z| z / 2.0));
        check_backward::<Tanh>(half_z);
        check_backward::<LeakyRelu>(Z);
        check_backward::<Elu>(Z);
        check_backward::<Gelu>(half_z);
        check_backward::<Swish>(Z);
        check_backward::<Softplus>(Z);
        check_backward::<HardSigmoid>(Z);
    }

    #[test]
    fn elementwise_backward_multiplies_by_the_derivative() {
        // relu: 0 below zero, 1 above; relu6 also 0 above six; hard_sigmoid 1/6 inside ±3.
        let z = [[-1.0f32, 2.0, 7.0], [0.5, -4.0, 3.5]];
        let dy = [[10.0f32, 20.0, 30.0], [40.0, 50.0, 60.0]];
        type Backward = fn(&[[f32; 3]], &[[f32; 3]], &mut [[f32; 3]]);
        let backward = |f: Backward| {
            let mut d = dy;
            f(&z, &z, &mut d); // y is not read by these
            d
        };
        assert_eq!(
            backward(Relu::backward),
            [[0.0, 20.0, 30.0], [40.0, 0.0, 60.0]]
        );
        assert_eq!(
            backward(Relu6::backward),
            [[0.0, 20.0, 0.0], [40.0, 0.0, 60.0]]
        );
        let sixth = (1.0f64 / 6.0) as f32;
        assert_eq!(
            backward(HardSigmoid::backward),
            [[10.0 * sixth, 20.0 * sixth, 0.0], [40.0 * sixth, 0.0, 0.0]]
        );
        // Linear leaves the gradient exactly as it is.
        assert_eq!(backward(Linear::backward), dy);
    }

    #[test]
    fn softmax_backward_matches_finite_differences() {
        let mut z = [[0.0f64; 4]; 3];
        random(2, z.as_flattened_mut());
        z[2] = [3.0, -1.0, 0.5, 2.0];
        check_backward::<Softmax>(z);
    }

    #[test]
    fn softmax_backward_by_hand() {
        // y = [0.25, 0.75] (z = [0, ln 3]), dy = [1, 3]: Σ dy·y = 0.25 + 2.25 = 2.5,
        // dz = [0.25 · (1 - 2.5), 0.75 · (3 - 2.5)] = [-0.375, 0.375]. A dy that is the same
        // across the row ([2, 2]) would shift every logit alike, which softmax ignores: dz = 0.
        let z = [[0.0f64, 3.0f64.ln()], [0.0, 3.0f64.ln()]];
        let y = [[0.25, 0.75], [0.25, 0.75]];
        let mut dy = [[1.0, 3.0], [2.0, 2.0]];
        Softmax::backward(&z, &y, &mut dy);
        assert_eq!(dy, [[-0.375, 0.375], [0.0, 0.0]]);
    }

    #[test]
    fn softmax_rows_sum_to_one_in_f32() {
        let mut x = [[0.1f32, -2.0, 3.5, 0.0, 7.25], [-9.0, 4.0, 4.0, 1.0, -0.5]];
        Softmax::apply(&mut x);
        for row in &x {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "{sum}");
            assert!(row.iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
    }
}
