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

/// Writes, in the calling module, the `#[target_feature]` entry points of every kernel of
/// [`kernel_list!`](super::kernel_list) for one instruction set (the functions `dispatch.rs`
/// calls), and of its GEMM micro-kernels.
macro_rules! entry_points {
    ($S:ty, $features:literal) => {
        crate::kernels::kernel_list!(crate::kernels::simd::entry_point_fns, f32, $S, $features);

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

/// The kernels' entry points for `entry_points!`: each compiles its `fast` body with the
/// instruction set's features.
macro_rules! entry_point_fns {
    ([$features:literal] $(
        $(#[$attr:meta])*
        fn $name:ident [$($decl:tt)*] [$($g:ident),*] ($($arg:ident: $ty:ty),* $(,)?)
        scalar { $($scalar:tt)* }
        fast { $($fast:tt)* };
    )*) => {
        $(
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn $name<$($decl)*>($($arg: $ty),*) {
                $($fast)*($($arg),*)
            }
        )*
    };
}

pub(crate) use {entry_point_fns, entry_points};
