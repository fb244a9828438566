//! The register-blocked micro-kernels every vector driver ends in: a tile of up to [`MR`] rows
//! by [`Simd::NV`] registers of columns, summed in registers and written once.
//!
//! [`Tile`] is a product `C = start + A·B` whose rows of `A` may be anywhere (the pixels of a
//! convolution, the rows of a Dense input), in segments (the kernel rows of a convolution).
//! [`SumTile`] is a product `G += Aᵀ·B` summed over a list of rows of `A` and `B` (the pixels a
//! kernel tap sees), for parameter gradients. Both are compiled once per instruction set, with
//! every row count and register count a constant, so the tile lives in registers.

use super::simd::Simd;

/// The most rows a tile holds: 6 rows × 4 AVX-512 registers (or 2 AVX2 ones) of accumulators,
/// plus the registers of one row of `B` and a broadcast, fit the register file.
pub(crate) const MR: usize = 6;

/// What a [`Tile`] adds its product to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// Nothing: `C` is overwritten with the product.
    Zero,
    /// The same row under every row of `C` (a bias), `n` floats.
    Row(*const f32),
    /// `C` itself: the product is added to it.
    Accumulate,
}

/// `C[m][..n] = start + Σ_s Σ_k A_m[s·a_seg + k] · B[s·b_seg + k·ldb ..][..n]` for `m < rows`,
/// with `A_m = a[m]` and `C[m] = c[m]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tile {
    /// Rows, `1..=MR`.
    pub rows: usize,
    /// Where each row of `A` starts; rows past `rows` are not read.
    pub a: [*const f32; MR],
    /// Where each row of `C` starts; rows past `rows` are not written.
    pub c: [*mut f32; MR],
    /// Columns, `1..=NV·LANES`; nothing past them is read or written.
    pub n: usize,
    /// Row 0 of `B`.
    pub b: *const f32,
    /// Floats from one row of `B` to the next.
    pub ldb: usize,
    /// The length of each segment of the sum.
    pub k: usize,
    /// Segments.
    pub segs: usize,
    /// Floats from one segment of a row of `A` to the next.
    pub a_seg: usize,
    /// Floats from one segment of `B` to the next.
    pub b_seg: usize,
    /// What the product is added to.
    pub start: Start,
    /// When not null, the terms to sum: `k` indices below the segment's length (one segment),
    /// in increasing order; the terms left out must add nothing (their row of `A` is zero).
    pub ks: *const u16,
}

/// `G[r][..n] += Σ_j A[a_at[j] + r] · B[b_at[j] ..][..n]` for `r < rows`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SumTile<'a> {
    /// Rows of `G`, `1..=MR`.
    pub rows: usize,
    /// Columns, `1..=NV·LANES`.
    pub n: usize,
    /// `A`, read at `a_at[j] + r`.
    pub a: *const f32,
    /// Where each term's `rows` floats of `A` start.
    pub a_at: &'a [usize],
    /// `B`, read at `b_at[j]`.
    pub b: *const f32,
    /// Where each term's `n` floats of `B` start, zipped with `a_at`.
    pub b_at: &'a [usize],
    /// Row 0 of `G`.
    pub g: *mut f32,
    /// Floats from one row of `G` to the next.
    pub ldg: usize,
}

/// Runs `t` with the kernel compiled for its shape.
///
/// # Safety
/// The CPU has `S`; every pointer of `t` is valid for what the tile reads and writes.
#[inline(always)]
pub(crate) unsafe fn tile<S: Simd>(t: &Tile) {
    debug_assert!((1..=MR).contains(&t.rows) && (1..=S::NV * S::LANES).contains(&t.n));
    let nv = t.n.div_ceil(S::LANES);
    match (nv, t.n % S::LANES == 0) {
        (1, true) => tile_rows::<S, 1, false>(t),
        (2, true) => tile_rows::<S, 2, false>(t),
        (3, true) if S::NV >= 3 => tile_rows::<S, 3, false>(t),
        (4, true) if S::NV >= 4 => tile_rows::<S, 4, false>(t),
        (1, false) => tile_rows::<S, 1, true>(t),
        (2, false) => tile_rows::<S, 2, true>(t),
        (3, false) if S::NV >= 3 => tile_rows::<S, 3, true>(t),
        (4, false) if S::NV >= 4 => tile_rows::<S, 4, true>(t),
        _ => unreachable!("gemm tile of {} columns", t.n),
    }
}

#[inline(always)]
unsafe fn tile_rows<S: Simd, const NV: usize, const MASKED: bool>(t: &Tile) {
    match t.rows {
        1 => tile_kernel::<S, 1, NV, MASKED>(t),
        2 => tile_kernel::<S, 2, NV, MASKED>(t),
        3 => tile_kernel::<S, 3, NV, MASKED>(t),
        4 => tile_kernel::<S, 4, NV, MASKED>(t),
        5 => tile_kernel::<S, 5, NV, MASKED>(t),
        _ => tile_kernel::<S, 6, NV, MASKED>(t),
    }
}

/// The tile of `R` rows and `NV` registers, the last one partial when `MASKED`.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // registers indexed as in the formula
unsafe fn tile_kernel<S: Simd, const R: usize, const NV: usize, const MASKED: bool>(t: &Tile) {
    let l = S::LANES;
    let mask = S::mask(t.n - (NV - 1) * l);
    let a: [*const f32; R] = core::array::from_fn(|m| t.a[m]);
    let load = |p: *const f32, v: usize| {
        if MASKED && v == NV - 1 {
            S::load_masked(p, mask)
        } else {
            S::load(p)
        }
    };
    // The sum starts from `start`, so each `C[m][o]` is `start`, then one multiply-add per
    // term in order: the order of a pass of `axpy` over the rows of `B`, whatever the tile's
    // row count, so one sample's result does not depend on the rows batched with it.
    let mut acc = [[S::zero(); NV]; R];
    for m in 0..R {
        for v in 0..NV {
            acc[m][v] = match t.start {
                Start::Zero => S::zero(),
                Start::Row(r) => load(r.add(v * l), v),
                Start::Accumulate => load(t.c[m].add(v * l), v),
            };
        }
    }
    for s in 0..t.segs {
        let a_s = s * t.a_seg;
        let b = t.b.add(s * t.b_seg);
        for j in 0..t.k {
            let k = if t.ks.is_null() {
                j
            } else {
                usize::from(*t.ks.add(j))
            };
            let bk = b.add(k * t.ldb);
            let mut bv = [S::zero(); NV];
            for v in 0..NV {
                bv[v] = if MASKED && v == NV - 1 {
                    S::load_masked(bk.add(v * l), mask)
                } else {
                    S::load(bk.add(v * l))
                };
            }
            for m in 0..R {
                let am = S::splat(*a[m].add(a_s + k));
                for v in 0..NV {
                    acc[m][v] = S::fma(am, bv[v], acc[m][v]);
                }
            }
        }
    }
    for m in 0..R {
        let c = t.c[m];
        for v in 0..NV {
            if MASKED && v == NV - 1 {
                S::store_masked(c.add(v * l), acc[m][v], mask);
            } else {
                S::store(c.add(v * l), acc[m][v]);
            }
        }
    }
}

/// Runs `t` with the kernel compiled for its shape.
///
/// # Safety
/// The CPU has `S`; every pointer of `t`, at every offset it lists, is valid for what the tile
/// reads and writes.
#[inline(always)]
pub(crate) unsafe fn sum_tile<S: Simd>(t: &SumTile<'_>) {
    debug_assert!((1..=MR).contains(&t.rows) && (1..=S::NV * S::LANES).contains(&t.n));
    let nv = t.n.div_ceil(S::LANES);
    match (nv, t.n % S::LANES == 0) {
        (1, true) => sum_rows::<S, 1, false>(t),
        (2, true) => sum_rows::<S, 2, false>(t),
        (3, true) if S::NV >= 3 => sum_rows::<S, 3, false>(t),
        (4, true) if S::NV >= 4 => sum_rows::<S, 4, false>(t),
        (1, false) => sum_rows::<S, 1, true>(t),
        (2, false) => sum_rows::<S, 2, true>(t),
        (3, false) if S::NV >= 3 => sum_rows::<S, 3, true>(t),
        (4, false) if S::NV >= 4 => sum_rows::<S, 4, true>(t),
        _ => unreachable!("gemm sum tile of {} columns", t.n),
    }
}

#[inline(always)]
unsafe fn sum_rows<S: Simd, const NV: usize, const MASKED: bool>(t: &SumTile<'_>) {
    match t.rows {
        1 => sum_kernel::<S, 1, NV, MASKED>(t),
        2 => sum_kernel::<S, 2, NV, MASKED>(t),
        3 => sum_kernel::<S, 3, NV, MASKED>(t),
        4 => sum_kernel::<S, 4, NV, MASKED>(t),
        5 => sum_kernel::<S, 5, NV, MASKED>(t),
        _ => sum_kernel::<S, 6, NV, MASKED>(t),
    }
}

/// The sum tile of `R` rows and `NV` registers, the last one partial when `MASKED`. A tile of
/// few registers sums alternate terms into two sets of them, so that more multiply-adds are in
/// flight than one register's chain of dependent ones allows.
#[inline(always)]
unsafe fn sum_kernel<S: Simd, const R: usize, const NV: usize, const MASKED: bool>(
    t: &SumTile<'_>,
) {
    let mask = S::mask(t.n - (NV - 1) * S::LANES);
    let mut acc = [[S::zero(); NV]; R];
    let (mut a_at, mut b_at) = (t.a_at, t.b_at);
    if R * NV <= 4 {
        let mut odd = [[S::zero(); NV]; R];
        while let ([a0, a1, a_rest @ ..], [b0, b1, b_rest @ ..]) = (a_at, b_at) {
            sum_step::<S, R, NV, MASKED>(&mut acc, t.a.add(*a0), t.b.add(*b0), mask);
            sum_step::<S, R, NV, MASKED>(&mut odd, t.a.add(*a1), t.b.add(*b1), mask);
            (a_at, b_at) = (a_rest, b_rest);
        }
        for (acc, odd) in acc.iter_mut().zip(&odd) {
            for (acc, &odd) in acc.iter_mut().zip(odd) {
                *acc = S::add(*acc, odd);
            }
        }
    }
    for (&a_at, &b_at) in a_at.iter().zip(b_at) {
        sum_step::<S, R, NV, MASKED>(&mut acc, t.a.add(a_at), t.b.add(b_at), mask);
    }
    for (r, acc) in acc.iter().enumerate() {
        let g = t.g.add(r * t.ldg);
        for (v, &acc) in acc.iter().enumerate() {
            let p = g.add(v * S::LANES);
            if MASKED && v == NV - 1 {
                S::store_masked(p, S::add(S::load_masked(p, mask), acc), mask);
            } else {
                S::store(p, S::add(S::load(p), acc));
            }
        }
    }
}

/// One term of a sum tile: `acc[r] += a[r] · b` for `R` rows of `NV` registers.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // registers indexed as in the formula
unsafe fn sum_step<S: Simd, const R: usize, const NV: usize, const MASKED: bool>(
    acc: &mut [[S::R; NV]; R],
    a: *const f32,
    b: *const f32,
    mask: S::M,
) {
    let l = S::LANES;
    let mut bv = [S::zero(); NV];
    for v in 0..NV {
        bv[v] = if MASKED && v == NV - 1 {
            S::load_masked(b.add(v * l), mask)
        } else {
            S::load(b.add(v * l))
        };
    }
    for r in 0..R {
        let ar = S::splat(*a.add(r));
        for v in 0..NV {
            acc[r][v] = S::fma(ar, bv[v], acc[r][v]);
        }
    }
}

/// Splits `0..n` into runs of at most `max`, as even as can be: `(start, len)` pairs.
pub(crate) fn runs(n: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = n.div_ceil(max);
    let (base, extra) = match count {
        0 => (0, 0),
        _ => (n / count, n % count),
    };
    (0..count).scan(0, move |start, i| {
        let len = base + usize::from(i < extra);
        let run = (*start, len);
        *start += len;
        Some(run)
    })
}

/// Splits `0..n` columns into blocks of `block`, the last one shorter: `(start, len)` pairs.
pub(crate) fn column_blocks(n: usize, block: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(block)
        .map(move |start| (start, (n - start).min(block)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_even_and_cover_everything() {
        extern crate std;
        use std::vec::Vec;
        assert_eq!(runs(0, 6).count(), 0);
        assert_eq!(runs(5, 6).collect::<Vec<_>>(), [(0, 5)]);
        assert_eq!(
            runs(24, 6).collect::<Vec<_>>(),
            [(0, 6), (6, 6), (12, 6), (18, 6)]
        );
        // 32 rows in six runs: 6, 6, 5, 5, 5, 5, not five of 6 and one of 2.
        let lens: Vec<_> = runs(32, 6).map(|(_, len)| len).collect();
        assert_eq!(lens, [6, 6, 5, 5, 5, 5]);
        for n in 0..50 {
            let mut next = 0;
            for (start, len) in runs(n, 6) {
                assert_eq!(start, next);
                assert!((1..=6).contains(&len));
                next += len;
            }
            assert_eq!(next, n);
        }
        assert_eq!(
            column_blocks(70, 32).collect::<Vec<_>>(),
            [(0, 32), (32, 32), (64, 6)]
        );
    }
}
