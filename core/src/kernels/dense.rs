//! Dense in `f32` vectors: the forward pass as GEMM tiles, the kernel gradient as updates of
//! each kernel row by every input row that reaches it (zero inputs skipped), the input gradient
//! as dot products of kernel rows.
//!
//! One sample's Dense is a matrix-vector product: each kernel weight is used once, so a large
//! layer runs at the speed its kernel streams from memory, and the kernels read it once, in
//! order.

use super::gemm::{column_blocks, runs, Start, Tile, MR};
use super::simd::{axpy, load_n, store_n, Simd};

/// The floats of the kernel one column block of tiles reads: 24 KiB, half of a 48 KiB L1 data
/// cache, so that the block stays there while every tile of rows reads it.
const PANEL_FLOATS: usize = 6 * 1024;

/// The most kernel rows in one block: [`PANEL_FLOATS`] over the narrowest tile (16 floats).
const MAX_KC: usize = PANEL_FLOATS / 16;

/// Tiles of rows whose lists of nonzero inputs are kept at once.
const GROUP: usize = 8;

/// `y[r] = bias + x[r] · kernel`, a zero input skipped (it adds nothing; skipping it also skips
/// `0 · inf = NaN` from a diverged kernel, as the backward pass does).
///
/// For each group of up to `GROUP · MR` rows, for each block of kernel rows, for each block of
/// output columns as wide as a tile (a panel of the kernel that fits in L1), every tile of up
/// to [`MR`] rows; the first block of kernel rows starts from the bias, the others from `y`.
/// When the layer is wide enough for it to pay, a tile skips the inputs that are zero in all of
/// its rows (MNIST's border pixels, inactive ReLUs). One row wider than a tile (a Dense after a
/// Flatten) is a pass of `y += x[i] · kernel[i]` over its nonzero inputs instead. Either way
/// each output is the bias, then one multiply-add per nonzero input in order, so a row's
/// result does not depend on the rows computed with it.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd, const I: usize, const O: usize>(
    kernel: &[[f32; O]; I],
    bias: Option<&[f32; O]>,
    x: &[[f32; I]],
    y: &mut [[f32; O]],
) {
    let rows = x.len().min(y.len());
    let start = |y: &mut [f32; O]| match bias {
        Some(b) => y.copy_from_slice(b),
        None => y.fill(0.0),
    };
    if I == 0 {
        y[..rows].iter_mut().for_each(start);
        return;
    }
    let width = S::NV * S::LANES;
    if rows == 1 && O > width {
        // One row and outputs wider than a tile: the tiles would read each kernel row in
        // pieces, one block of columns after another; a pass of multiply-adds over whole rows
        // reads the kernel once, in order, with `y` in L1, and never reads the rows of zero
        // inputs.
        let y = &mut y[0];
        start(y);
        for (&xi, k) in x[0].iter().zip(kernel) {
            if xi != 0.0 {
                axpy_fused::<S>(xi, k.as_ptr(), y.as_mut_ptr(), O);
            }
        }
        return;
    }
    // Listing a tile's nonzero inputs is a pass over them; it pays when the list serves
    // several column blocks.
    let skip = O.div_ceil(width) >= 4;
    let kc = PANEL_FLOATS / width;
    debug_assert!(kc <= MAX_KC);
    let (k, yp) = (kernel.as_ptr().cast::<f32>(), y.as_mut_ptr().cast::<f32>());
    let mut lists = [[0u16; MAX_KC]; GROUP];
    let mut counts = [0usize; GROUP];
    for (g0, g_rows) in column_blocks(rows, GROUP * MR) {
        let tiles = || runs(g_rows, MR).map(move |(r, mr)| (g0 + r, mr));
        for (i0, ki) in column_blocks(I, kc) {
            if skip {
                for (t, (r0, mr)) in tiles().enumerate() {
                    let mut n = 0;
                    for i in 0..ki {
                        lists[t][n] = i as u16;
                        n += usize::from(x[r0..r0 + mr].iter().any(|x| x[i0 + i] != 0.0));
                    }
                    counts[t] = n;
                }
            }
            for (o0, n) in column_blocks(O, width) {
                for (t, (r0, mr)) in tiles().enumerate() {
                    S::gemm(&Tile {
                        rows: mr,
                        a: core::array::from_fn(|m| x[r0 + m.min(mr - 1)].as_ptr().add(i0)),
                        c: core::array::from_fn(|m| yp.add((r0 + m.min(mr - 1)) * O + o0)),
                        n,
                        b: k.add(i0 * O + o0),
                        ldb: O,
                        k: if skip { counts[t] } else { ki },
                        segs: 1,
                        a_seg: 0,
                        b_seg: 0,
                        start: match bias {
                            _ if i0 > 0 => Start::Accumulate,
                            Some(b) => Start::Row(b.as_ptr().add(o0)),
                            None => Start::Zero,
                        },
                        ks: if skip {
                            lists[t].as_ptr()
                        } else {
                            core::ptr::null()
                        },
                    });
                }
            }
        }
    }
}

/// `dst[..n] += a · src[..n]` with every float rounded once, as a GEMM tile's multiply-adds
/// are: so that one row's forward pass gives the same floats as the tiles of several rows.
#[inline(always)]
unsafe fn axpy_fused<S: Simd>(a: f32, src: *const f32, dst: *mut f32, n: usize) {
    let av = S::splat(a);
    let mut c = 0;
    while c < n {
        let len = (n - c).min(S::LANES);
        let d = S::fma(
            av,
            load_n::<S>(src.add(c), len),
            load_n::<S>(dst.add(c), len),
        );
        store_n::<S>(dst.add(c), d, len);
        c += len;
    }
}

/// `grad_kernel += xᵀ·dy` and `grad_bias += Σ dy`, zero inputs skipped. One row is a pass of
/// `grad_kernel[i] += x[i] · dy`; with several, each kernel-gradient row is read and written
/// once, `Σ_r x[r][i] · dy[r]` summed into it in registers, in row order as the scalar path
/// adds.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn backward_params<S: Simd, const I: usize, const O: usize>(
    x: &[[f32; I]],
    dy: &[[f32; O]],
    grad_kernel: &mut [[f32; O]; I],
    grad_bias: Option<&mut [f32; O]>,
) {
    const NV: usize = 4;
    let l = S::LANES;
    let rows = x.len().min(dy.len());
    let (x, dy) = (&x[..rows], &dy[..rows]);
    if O < S::LANES {
        // Rows shorter than a register: the plain loops do better.
        return super::scalar::dense_backward_params(x, dy, grad_kernel, grad_bias);
    }
    if let Some(b) = grad_bias {
        for dy in dy {
            axpy::<S>(1.0, dy.as_ptr(), b.as_mut_ptr(), O);
        }
    }
    if let ([x], [dy]) = (x, dy) {
        // One row (one sample after a Flatten): a pass of `grad_kernel[i] += x[i] · dy`.
        for (&xi, g) in x.iter().zip(grad_kernel.iter_mut()) {
            if xi != 0.0 {
                axpy::<S>(xi, dy.as_ptr(), g.as_mut_ptr(), O);
            }
        }
        return;
    }
    // Whole registers; the floats past them one by one, as a masked store there would hold up
    // the next row's loads, which share its cache line.
    let whole = O - O % l;
    for (i, g) in grad_kernel.iter_mut().enumerate() {
        // A zero input adds nothing; skipping it also skips `0 · inf = NaN` from a diverged
        // `dy`, as the scalar path does. A row no input reaches is not touched at all.
        if x.iter().all(|x| x[i] == 0.0) {
            continue;
        }
        let g = g.as_mut_ptr();
        for o in (0..whole).step_by(NV * l) {
            match (whole - o) / l {
                1 => rank_rows::<S, I, O, 1>(x, dy, i, o, g),
                2 => rank_rows::<S, I, O, 2>(x, dy, i, o, g),
                3 => rank_rows::<S, I, O, 3>(x, dy, i, o, g),
                _ => rank_rows::<S, I, O, NV>(x, dy, i, o, g),
            }
        }
        for (x, dy) in x.iter().zip(dy) {
            if x[i] != 0.0 {
                for (o, d) in dy.iter().enumerate().skip(whole) {
                    *g.add(o) += x[i] * d;
                }
            }
        }
    }
}

/// `g[o..][..NV·LANES] += Σ_r x[r][i] · dy[r][o..]` over the rows with a nonzero `x[r][i]`.
#[inline(always)]
unsafe fn rank_rows<S: Simd, const I: usize, const O: usize, const NV: usize>(
    x: &[[f32; I]],
    dy: &[[f32; O]],
    i: usize,
    o: usize,
    g: *mut f32,
) {
    let l = S::LANES;
    let g = g.add(o);
    let mut acc: [S::R; NV] = core::array::from_fn(|v| S::load(g.add(v * l)));
    for (x, dy) in x.iter().zip(dy) {
        if x[i] == 0.0 {
            continue;
        }
        let a = S::splat(x[i]);
        let d = dy.as_ptr().add(o);
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = S::fma(a, S::load(d.add(v * l)), *acc);
        }
    }
    for (v, &acc) in acc.iter().enumerate() {
        S::store(g.add(v * l), acc);
    }
}

/// `dx[r][i] = kernel[i] · dy[r]`: four kernel rows at a time, from the last, each against
/// every row of `dy` while it is in cache.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn backward_input<S: Simd, const I: usize, const O: usize>(
    kernel: &[[f32; O]; I],
    dy: &[[f32; O]],
    dx: &mut [[f32; I]],
) {
    if O < S::LANES {
        // Rows shorter than a register: summing each one's products across the lanes of a
        // register costs more than the plain loop.
        return super::scalar::dense_backward_input(kernel, dy, dx);
    }
    const ROWS: usize = 4;
    let whole = I / ROWS * ROWS;
    // Last rows first: the forward pass read the kernel first to last, so its last rows may
    // still be in cache.
    for i in (whole..I).rev() {
        for (dy, dx) in dy.iter().zip(dx.iter_mut()) {
            dx[i] = dots::<S, 1>([kernel[i].as_ptr()], dy.as_ptr(), O)[0];
        }
    }
    for i in (0..whole).step_by(ROWS).rev() {
        let k = core::array::from_fn(|r| kernel[i + r].as_ptr());
        for (dy, dx) in dy.iter().zip(dx.iter_mut()) {
            dx[i..i + ROWS].copy_from_slice(&dots::<S, ROWS>(k, dy.as_ptr(), O));
        }
    }
}

/// `k[r][..n] · d[..n]` for each of `R` rows, each summed in two registers.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // registers indexed as in the formula
unsafe fn dots<S: Simd, const R: usize>(k: [*const f32; R], d: *const f32, n: usize) -> [f32; R] {
    let l = S::LANES;
    let mut even = [S::zero(); R];
    let mut odd = [S::zero(); R];
    let mut o = 0;
    while o + 2 * l <= n {
        let (d0, d1) = (S::load(d.add(o)), S::load(d.add(o + l)));
        for r in 0..R {
            even[r] = S::fma(S::load(k[r].add(o)), d0, even[r]);
            odd[r] = S::fma(S::load(k[r].add(o + l)), d1, odd[r]);
        }
        o += 2 * l;
    }
    while o < n {
        let len = (n - o).min(l);
        let d0 = load_n::<S>(d.add(o), len);
        for r in 0..R {
            even[r] = S::fma(load_n::<S>(k[r].add(o), len), d0, even[r]);
        }
        o += len;
    }
    core::array::from_fn(|r| S::sum(S::add(even[r], odd[r])))
}
