//! The element types a model computes in: `f32` for use, `f64` for exact gradient checks.

use crate::kernels::Kernels;
use bytemuck::Pod;
use core::fmt::Debug;
use num_traits::Float;

/// A floating-point element type for tensors and kernels.
///
/// It adds to [`Float`] what layers need and `num_traits` lacks (`erf` for exact GELU), and what
/// weight files need (the safetensors dtype name), and the layers' loops: [`Kernels`], whose
/// default bodies are the portable ones and which `f32` overrides with vector paths.
pub trait Scalar: Float + Pod + Default + Debug + Send + Sync + Kernels + 'static {
    /// The safetensors dtype name of this type: `"F32"` or `"F64"`.
    const DTYPE: &'static str;
    /// The error function, as `libm` computes it.
    fn erf(self) -> Self;
    /// Converts an `f64` constant (rounding to nearest for `f32`).
    fn of(v: f64) -> Self;
    /// `e^self` as straight-line arithmetic that LLVM can vectorize: for `f32` a range
    /// reduction and Cephes's `expf` polynomial (within 2 ulp over `[-87.3, 88.3]`; 0 below,
    /// where the exact value is under 1.2e-38, and infinity above, where it is over 2e38 and
    /// finite up to 88.72; NaN kept), for `f64` the exact `exp` (gradient checks run in
    /// `f64`). Sigmoid and tanh never reach either edge.
    fn exp_fast(self) -> Self;
    /// `tanh(self)` the same way: Cephes's `tanhf` (an odd polynomial below 0.625, else from
    /// [`Scalar::exp_fast`]) for `f32`, the exact `tanh` for `f64`.
    fn tanh_fast(self) -> Self;
}

impl Scalar for f32 {
    const DTYPE: &'static str = "F32";
    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn exp_fast(self) -> Self {
        // e^x = 2^n · e^r with n = round(x / ln 2), |r| <= ln 2 / 2; ln 2 in two parts so
        // that n · ln 2 is exact to f32's precision.
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // 1.5 · 2^23: adding and subtracting it rounds to an integer without a round
        // instruction (which SSE2 lacks).
        const ROUND: f32 = 12_582_912.0;
        let x = self.clamp(-87.3, 88.3);
        let n = (x * core::f32::consts::LOG2_E + ROUND) - ROUND;
        let r = x - n * LN2_HI - n * LN2_LO;
        let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
            * r
            + 1.666_666_5e-1)
            * r
            + 0.5;
        let e = (p * r * r + r + 1.0) * f32::from_bits(((n as i32 + 127) as u32) << 23);
        // Past the clamp: 0 below, infinity above, NaN kept (see the trait's doc).
        if self < -87.3 {
            0.0
        } else if self > 88.3 {
            f32::INFINITY
        } else if self.is_nan() {
            self
        } else {
            e
        }
    }
    #[inline]
    fn tanh_fast(self) -> Self {
        let a = self.abs();
        let z = (2.0 * a).exp_fast();
        let large = (1.0 - 2.0 / (z + 1.0)).copysign(self);
        let x2 = self * self;
        let small = ((((-5.704_988_7e-3 * x2 + 2.063_909e-2) * x2 - 5.373_971_6e-2) * x2
            + 1.333_144_2e-1)
            * x2
            - 3.333_328e-1)
            * x2
            * self
            + self;
        if a >= 0.625 {
            large
        } else {
            small
        }
    }
}

impl Scalar for f64 {
    const DTYPE: &'static str = "F64";
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn exp_fast(self) -> Self {
        self.exp()
    }
    #[inline]
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::Scalar;

    #[test]
    fn fast_f32_exp_and_tanh_are_within_a_few_ulp_of_the_exact_ones() {
        let mut worst = (0.0f64, 0.0f64);
        for k in -870_000..=880_000 {
            let x = k as f32 * 1e-4;
            let e = (x.exp_fast() as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            let t = (x.tanh_fast() as f64 - (x as f64).tanh()).abs();
            worst = (worst.0.max(e), worst.1.max(t));
        }
        assert!(worst.0 < 3e-7, "exp: relative error {:e}", worst.0);
        assert!(worst.1 < 3e-7, "tanh: absolute error {:e}", worst.1);
        // Past the range: 0 and infinity, and NaN stays NaN.
        assert_eq!(
            (1000.0f32.exp_fast(), (-1000.0f32).exp_fast()),
            (f32::INFINITY, 0.0)
        );
        assert_eq!(1000.0f32.tanh_fast(), 1.0);
        assert_eq!((-1000.0f32).tanh_fast(), -1.0);
        assert!(f32::NAN.exp_fast().is_nan() && f32::NAN.tanh_fast().is_nan());
    }
}
