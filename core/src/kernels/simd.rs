//! The vector operations the `f32` drivers are written in, implemented once per instruction
//! set (`avx2.rs`, `avx512.rs`, `neon.rs`), and the macro that compiles the drivers for one of
//! them.

use super::gemm::{SumTile, Tile};

/// One instruction set's `f32` registers and operations, and its micro-kernels.
///
/// Methods are `#[inline(always)]` and are only called from code compiled with the instruction
/// set's target features (the entry points [`entry_points!`] writes), so that each becomes one
/// instruction there.
///
/// # Safety
/// Implementations may use instructions outside the target's baseline: every method may only be
/// called once the CPU is known to have them (see `dispatch.rs`).
pub(crate) unsafe trait Simd {
    /// A register of [`Simd::LANES`] floats.
    type R: Copy;
    /// Which lanes of a register a partial load or store touches.
    type M: Copy;
    /// Floats per register.
    const LANES: usize;
    /// Registers of output channels in the widest GEMM tile.
    const NV: usize;

    /// All lanes zero.
    unsafe fn zero() -> Self::R;
    /// All lanes `v`.
    unsafe fn splat(v: f32) -> Self::R;
    /// [`Simd::LANES`] floats from `p`, unaligned.
    unsafe fn load(p: *const f32) -> Self::R;
    /// [`Simd::LANES`] floats to `p`, unaligned.
    unsafe fn store(p: *mut f32, v: Self::R);
    /// The first `n` lanes, `1 <= n <= LANES`.
    unsafe fn mask(n: usize) -> Self::M;
    /// The lanes of `m` from `p` (nothing else is read), the others zero.
    unsafe fn load_masked(p: *const f32, m: Self::M) -> Self::R;
    /// The lanes of `m` to `p` (nothing else is written).
    unsafe fn store_masked(p: *mut f32, v: Self::R, m: Self::M);
    /// `a + b`.
    unsafe fn add(a: Self::R, b: Self::R) -> Self::R;
    /// `a / b`.
    unsafe fn div(a: Self::R, b: Self::R) -> Self::R;
    /// `a · b + c`, rounded once.
    unsafe fn fma(a: Self::R, b: Self::R, c: Self::R) -> Self::R;
    /// `max(a, b)` lane by lane, `b` where `a` is NaN, as `f32::max(b, a)` (the pools never
    /// pass a NaN `b`, on which instruction sets differ).
    unsafe fn max(a: Self::R, b: Self::R) -> Self::R;
    /// `if a == b { t } else { f }` lane by lane.
    unsafe fn select_eq(a: Self::R, b: Self::R, t: Self::R, f: Self::R) -> Self::R;
    /// Whether some lane is not `0.0` (NaN counts).
    unsafe fn any_nonzero(v: Self::R) -> bool;
    /// The sum of the lanes.
    unsafe fn sum(v: Self::R) -> f32;

    /// Runs one GEMM tile (see [`Tile`]), with the instruction set's features.
    unsafe fn gemm(t: &Tile);
    /// Runs one sum tile (see [`SumTile`]), with the instruction set's features.
    unsafe fn gemm_sum(t: &SumTile<'_>);
}

/// `n <= LANES` floats from `p`: a full load, or a masked one that reads nothing past them.
#[inline(always)]
pub(crate) unsafe fn load_n<S: Simd>(p: *const f32, n: usize) -> S::R {
    if n == S::LANES {
        S::load(p)
    } else {
        S::load_masked(p, S::mask(n))
    }
}

/// Writes the first `n <= LANES` lanes of `v` to `p`, nothing past them.
#[inline(always)]
pub(crate) unsafe fn store_n<S: Simd>(p: *mut f32, v: S::R, n: usize) {
    if n == S::LANES {
        S::store(p, v)
    } else {
        S::store_masked(p, v, S::mask(n))
    }
}

/// Whether some of the `n` floats from `p` is not zero.
#[inline(always)]
pub(crate) unsafe fn any_nonzero<S: Simd>(p: *const f32, n: usize) -> bool {
    let mut c = 0;
    while c < n {
        let len = (n - c).min(S::LANES);
        if S::any_nonzero(load_n::<S>(p.add(c), len)) {
            return true;
        }
        c += len;
    }
    false
}

/// `dst[..n] += a · src[..n]`, the floats past the last whole register one by one: a masked
/// store there would hold up the next row's loads, which share its cache line.
#[inline(always)]
pub(crate) unsafe fn axpy<S: Simd>(a: f32, src: *const f32, dst: *mut f32, n: usize) {
    let whole = n - n % S::LANES;
    let av = S::splat(a);
    for c in (0..whole).step_by(S::LANES) {
        let d = S::fma(av, S::load(src.add(c)), S::load(dst.add(c)));
        S::store(dst.add(c), d);
    }
    for c in whole..n {
        *dst.add(c) += a * *src.add(c);
    }
}

/// Writes, in the calling module, the `#[target_feature]` entry points of every driver for one
/// instruction set: the functions `dispatch.rs` calls.
macro_rules! entry_points {
    ($S:ty, $features:literal) => {
        use crate::kernels::Shape2d;

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn dense_forward<const I: usize, const O: usize>(
            kernel: &[[f32; O]; I],
            bias: Option<&[f32; O]>,
            x: &[[f32; I]],
            y: &mut [[f32; O]],
        ) {
            crate::kernels::dense::forward::<$S, I, O>(kernel, bias, x, y)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn dense_backward_params<const I: usize, const O: usize>(
            x: &[[f32; I]],
            dy: &[[f32; O]],
            grad_kernel: &mut [[f32; O]; I],
            grad_bias: Option<&mut [f32; O]>,
        ) {
            crate::kernels::dense::backward_params::<$S, I, O>(x, dy, grad_kernel, grad_bias)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn dense_backward_input<const I: usize, const O: usize>(
            kernel: &[[f32; O]; I],
            dy: &[[f32; O]],
            dx: &mut [[f32; I]],
        ) {
            crate::kernels::dense::backward_input::<$S, I, O>(kernel, dy, dx)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn conv2d_forward<G: Shape2d>(
            kernel: &[f32],
            bias: Option<&[f32]>,
            x: &[f32],
            y: &mut [f32],
        ) {
            crate::kernels::conv2d::forward::<$S, G>(kernel, bias, x, y)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn conv2d_backward_params<G: Shape2d>(
            x: &[f32],
            dy: &[f32],
            grad_kernel: &mut [f32],
            grad_bias: Option<&mut [f32]>,
        ) {
            crate::kernels::conv2d::backward_params::<$S, G>(x, dy, grad_kernel, grad_bias)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn conv2d_backward_input<G: Shape2d>(
            kernel: &[f32],
            dy: &[f32],
            dx: &mut [f32],
        ) {
            crate::kernels::conv2d::backward_input::<$S, G>(kernel, dy, dx)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn max_pool2d_forward<G: Shape2d>(x: &[f32], y: &mut [f32]) {
            crate::kernels::pool2d::max_forward::<$S, G>(x, y)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn max_pool2d_backward<G: Shape2d>(
            x: &[f32],
            dy: &[f32],
            dx: &mut [f32],
        ) {
            crate::kernels::pool2d::max_backward::<$S, G>(x, dy, dx)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn avg_pool2d_forward<G: Shape2d>(x: &[f32], y: &mut [f32]) {
            crate::kernels::pool2d::avg_forward::<$S, G>(x, y)
        }

        #[target_feature(enable = $features)]
        pub(crate) unsafe fn avg_pool2d_backward<G: Shape2d>(dy: &[f32], dx: &mut [f32]) {
            crate::kernels::pool2d::avg_backward::<$S, G>(dy, dx)
        }

        #[target_feature(enable = $features)]
        unsafe fn gemm_tile(t: &crate::kernels::gemm::Tile) {
            crate::kernels::gemm::tile::<$S>(t)
        }

        #[target_feature(enable = $features)]
        unsafe fn gemm_sum_tile(t: &crate::kernels::gemm::SumTile<'_>) {
            crate::kernels::gemm::sum_tile::<$S>(t)
        }
    };
}

pub(crate) use entry_points;
