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
}
