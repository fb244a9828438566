//! MaxPool2D and AvgPool2D in `f32` vectors: each window's cells in the scalar path's order,
//! one register of channels at a time, so the results are the scalar ones bit for bit.

use super::simd::{load_n, store_n, Simd};
use super::window::window;
use super::Shape2d;
use core::ops::Range;

/// Checks the lengths of a pool's flat slices.
fn check<G: Shape2d>(x: usize, y: usize) {
    assert_eq!(G::CI, G::CO, "pool2d: channels in and out differ");
    assert_eq!(x, G::H * G::W * G::CI, "pool2d: input length");
    assert_eq!(y, G::OH * G::OW * G::CO, "pool2d: output length");
}

/// Calls `f(out, rows, cols, c0, n)` for each output pixel's float offset `out`, its window's
/// input rows and columns, and each run of `n <= LANES` channels from `c0`.
#[inline(always)]
fn for_each_window<S: Simd, G: Shape2d>(
    mut f: impl FnMut(usize, Range<usize>, Range<usize>, usize, usize),
) {
    for oy in 0..G::OH {
        let (_, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for ox in 0..G::OW {
            let (_, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            let out = (oy * G::OW + ox) * G::CO;
            let mut c0 = 0;
            while c0 < G::CO {
                let n = (G::CO - c0).min(S::LANES);
                f(out, rows.clone(), cols.clone(), c0, n);
                c0 += n;
            }
        }
    }
}

/// The largest real cell of each window, per channel.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn max_forward<S: Simd, G: Shape2d>(x: &[f32], y: &mut [f32]) {
    check::<G>(x.len(), y.len());
    let (x, y) = (x.as_ptr(), y.as_mut_ptr());
    for_each_window::<S, G>(|out, rows, cols, c0, n| {
        let max = window_max::<S, G>(x, rows, cols, c0, n);
        store_n::<S>(y.add(out + c0), max, n);
    });
}

/// The maximum over a window's cells of channels `c0..c0 + n`, starting from `-inf`.
#[inline(always)]
unsafe fn window_max<S: Simd, G: Shape2d>(
    x: *const f32,
    rows: Range<usize>,
    cols: Range<usize>,
    c0: usize,
    n: usize,
) -> S::R {
    let mut max = S::splat(f32::NEG_INFINITY);
    for iy in rows {
        for ix in cols.clone() {
            // `max(v, m)`: a NaN cell leaves the maximum, as `m.max(v)` does.
            max = S::max(load_n::<S>(x.add((iy * G::W + ix) * G::CI + c0), n), max);
        }
    }
    max
}

/// Each window's `dy` to its first cell equal to the maximum; overwrites `dx`.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn max_backward<S: Simd, G: Shape2d>(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    check::<G>(x.len(), dy.len());
    check::<G>(dx.len(), dy.len());
    dx.fill(0.0);
    let (x, dy, dx) = (x.as_ptr(), dy.as_ptr(), dx.as_mut_ptr());
    for_each_window::<S, G>(|out, rows, cols, c0, n| {
        let max = window_max::<S, G>(x, rows.clone(), cols.clone(), c0, n);
        let mut pending = load_n::<S>(dy.add(out + c0), n);
        let zero = S::zero();
        for iy in rows {
            for ix in cols.clone() {
                let at = (iy * G::W + ix) * G::CI + c0;
                let v = load_n::<S>(x.add(at), n);
                let d = S::add(
                    load_n::<S>(dx.add(at), n),
                    S::select_eq(v, max, pending, zero),
                );
                store_n::<S>(dx.add(at), d, n);
                pending = S::select_eq(v, max, zero, pending);
            }
        }
    });
}

/// The mean of the real cells of each window, per channel.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn avg_forward<S: Simd, G: Shape2d>(x: &[f32], y: &mut [f32]) {
    check::<G>(x.len(), y.len());
    let (x, y) = (x.as_ptr(), y.as_mut_ptr());
    for_each_window::<S, G>(|out, rows, cols, c0, n| {
        let count = S::splat((rows.len() * cols.len()) as f32);
        let mut sum = S::zero();
        for iy in rows {
            for ix in cols.clone() {
                sum = S::add(sum, load_n::<S>(x.add((iy * G::W + ix) * G::CI + c0), n));
            }
        }
        store_n::<S>(y.add(out + c0), S::div(sum, count), n);
    });
}

/// Each window's `dy`, divided by its real cells, added to each of them; overwrites `dx`.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn avg_backward<S: Simd, G: Shape2d>(dy: &[f32], dx: &mut [f32]) {
    check::<G>(dx.len(), dy.len());
    dx.fill(0.0);
    let (dy, dx) = (dy.as_ptr(), dx.as_mut_ptr());
    for_each_window::<S, G>(|out, rows, cols, c0, n| {
        let count = S::splat((rows.len() * cols.len()) as f32);
        let share = S::div(load_n::<S>(dy.add(out + c0), n), count);
        for iy in rows {
            for ix in cols.clone() {
                let at = (iy * G::W + ix) * G::CI + c0;
                store_n::<S>(dx.add(at), S::add(load_n::<S>(dx.add(at), n), share), n);
            }
        }
    });
}
