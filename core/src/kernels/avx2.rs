//! AVX2 with FMA: 8 lanes, 16 registers, so tiles of 6 rows × 2 registers (12 accumulators).

use super::gemm::{SumTile, Tile};
use super::simd::{entry_points, Simd};
use core::arch::x86_64::*;

/// The AVX2+FMA instruction set.
pub(crate) struct Avx2;

/// `-1` in the first 8, then `0`: 8 lanes from `8 - n` mask the first `n`.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

// SAFETY: every method uses AVX, AVX2 or FMA instructions only, and is called only once the
// CPU is known to have them.
unsafe impl Simd for Avx2 {
    type R = __m256;
    type M = __m256i;
    const LANES: usize = 8;
    const NV: usize = 2;

    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> __m256 {
        _mm256_set1_ps(v)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn mask(n: usize) -> __m256i {
        _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast())
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __m256i) -> __m256 {
        _mm256_maskload_ps(p, m)
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m256, m: __m256i) {
        _mm256_maskstore_ps(p, m, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn div(a: __m256, b: __m256) -> __m256 {
        _mm256_div_ps(a, b)
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        // `maxps` returns its second operand when either is NaN.
        _mm256_max_ps(a, b)
    }
    #[inline(always)]
    unsafe fn select_eq(a: __m256, b: __m256, t: __m256, f: __m256) -> __m256 {
        _mm256_blendv_ps(f, t, _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b))
    }
    #[inline(always)]
    unsafe fn any_nonzero(v: __m256) -> bool {
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) != 0
    }
    #[inline(always)]
    unsafe fn sum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s)))
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

entry_points!(Avx2, "avx2,fma");
