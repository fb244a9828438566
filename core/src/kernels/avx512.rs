//! AVX-512F: 16 lanes, 32 registers, so tiles of 6 rows × 4 registers (24 accumulators).
//! Its intrinsics are stable since Rust 1.89; older compilers leave this file out (`build.rs`).

use super::gemm::{SumTile, Tile};
use super::simd::{entry_points, Simd};
use core::arch::x86_64::*;

/// The AVX-512F instruction set.
pub(crate) struct Avx512;

// SAFETY: every method uses AVX-512F instructions only, and is called only once the CPU is
// known to have them.
unsafe impl Simd for Avx512 {
    type R = __m512;
    type M = __mmask16;
    const LANES: usize = 16;
    const NV: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> __m512 {
        _mm512_set1_ps(v)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __mmask16 {
        (u32::MAX >> (32 - n)) as __mmask16
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __mmask16) -> __m512 {
        _mm512_maskz_loadu_ps(m, p)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m512, m: __mmask16) {
        _mm512_mask_storeu_ps(p, m, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn div(a: __m512, b: __m512) -> __m512 {
        _mm512_div_ps(a, b)
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn max(a: __m512, b: __m512) -> __m512 {
        // `vmaxps` returns its second operand when either is NaN.
        _mm512_max_ps(a, b)
    }
    #[inline(always)]
    unsafe fn select_eq(a: __m512, b: __m512, t: __m512, f: __m512) -> __m512 {
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b), f, t)
    }
    #[inline(always)]
    unsafe fn any_nonzero(v: __m512) -> bool {
        _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(v, _mm512_setzero_ps()) != 0
    }
    #[inline(always)]
    unsafe fn sum(v: __m512) -> f32 {
        _mm512_reduce_add_ps(v)
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

entry_points!(Avx512, "avx512f");
