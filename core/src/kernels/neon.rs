//! AArch64 NEON (Advanced SIMD): 4 lanes, 32 registers, so tiles of 6 rows × 4 registers (24
//! accumulators). Every AArch64 CPU an OS targets has it, so it is chosen at compile time.

use super::gemm::{SumTile, Tile};
use super::simd::{entry_points, Simd};
use core::arch::aarch64::*;

/// The NEON instruction set.
pub(crate) struct Neon;

// SAFETY: every method uses NEON instructions only, and this file is compiled only for targets
// that have them.
unsafe impl Simd for Neon {
    type R = float32x4_t;
    /// NEON has no masked loads: a partial register is the number of lanes, moved through a
    /// small buffer.
    type M = usize;
    const LANES: usize = 4;
    const NV: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> float32x4_t {
        vdupq_n_f32(0.0)
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> float32x4_t {
        vdupq_n_f32(v)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> float32x4_t {
        vld1q_f32(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: float32x4_t) {
        vst1q_f32(p, v)
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> usize {
        n
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, n: usize) -> float32x4_t {
        let mut lanes = [0.0f32; 4];
        core::ptr::copy_nonoverlapping(p, lanes.as_mut_ptr(), n);
        vld1q_f32(lanes.as_ptr())
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: float32x4_t, n: usize) {
        let mut lanes = [0.0f32; 4];
        vst1q_f32(lanes.as_mut_ptr(), v);
        core::ptr::copy_nonoverlapping(lanes.as_ptr(), p, n);
    }
    #[inline(always)]
    unsafe fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vaddq_f32(a, b)
    }
    #[inline(always)]
    unsafe fn div(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vdivq_f32(a, b)
    }
    #[inline(always)]
    unsafe fn fma(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // `vfmaq_f32(c, a, b)` is `c + a · b`.
        vfmaq_f32(c, a, b)
    }
    #[inline(always)]
    unsafe fn max(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // `fmaxnm` returns the number when one operand is NaN, as `f32::max` does.
        vmaxnmq_f32(a, b)
    }
    #[inline(always)]
    unsafe fn select_eq(
        a: float32x4_t,
        b: float32x4_t,
        t: float32x4_t,
        f: float32x4_t,
    ) -> float32x4_t {
        vbslq_f32(vceqq_f32(a, b), t, f)
    }
    #[inline(always)]
    unsafe fn any_nonzero(v: float32x4_t) -> bool {
        // `v == 0` is false for NaN, so NaN counts as nonzero.
        vmaxvq_u32(vmvnq_u32(vceqq_f32(v, vdupq_n_f32(0.0)))) != 0
    }
    #[inline(always)]
    unsafe fn sum(v: float32x4_t) -> f32 {
        vaddvq_f32(v)
    }

    #[inline(always)]
    unsafe fn gemm(t: &Tile) {
        gemm_tile(t)
    }
    #[inline(always)]
    unsafe fn gemm_sum(t: &SumTile<'_>) {
        gemm_sum_tile(t)
    }
}

entry_points!(Neon, "neon");
