//! Dense in `f32` vectors. On several rows (a block of samples in training, of `predict`) all
//! three passes are GEMM tiles: the forward pass `x · kernel`, the kernel gradient `xᵀ · dy`
//! (sum tiles over the rows, zero inputs skipped), the input gradient `dy · kernelᵀ` (tiles of
//! `kernel · dyᵀ`). On one row each is a pass over the kernel in order.
//!
//! One sample's Dense is a matrix-vector product: each kernel weight is used once, so a large
//! layer runs at the speed its kernel streams from memory; a block of rows reads it once for
//! all of them.

use super::gemm::{column_blocks, runs, Start, SumTile, Tile, MR};
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
/// `grad_kernel[i] += x[i] · dy`. Several are sum tiles ([`SumTile`]): for each tile of up to
/// [`MR`] kernel rows, the rows of `x` whose inputs there are not all zero, each one term
/// `x[r][i..i + MR] ⊗ dy[r]`, summed in registers and added to the kernel gradient once.
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
    let rows = x.len().min(dy.len());
    let (x, dy) = (&x[..rows], &dy[..rows]);
    if (rows == 1 && O < S::LANES) || !dy.iter().flatten().all(|d| d.is_finite()) {
        // One row shorter than a register: the plain loops do better. A diverged `dy`: a
        // tile's rows share their terms, so an input that is zero in one of them would add
        // `0 · inf = NaN` where the scalar path skips it.
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
    let width = S::NV * S::LANES;
    let (xp, dyp) = (x.as_ptr().cast::<f32>(), dy.as_ptr().cast::<f32>());
    let mut a_at = [0usize; TERMS];
    let mut b_at = [0usize; TERMS];
    for (r0, nr) in column_blocks(rows, TERMS) {
        for (i0, mr) in column_blocks(I, MR) {
            // A term whose inputs are all zero adds nothing: leave it out. One that is zero in
            // only some of the tile's rows adds `0 · dy = 0` (`dy` is finite) to those.
            let mut terms = 0;
            for (r, x) in x[r0..r0 + nr].iter().enumerate() {
                a_at[terms] = (r0 + r) * I + i0;
                b_at[terms] = (r0 + r) * O;
                terms += usize::from(x[i0..i0 + mr].iter().any(|&v| v != 0.0));
            }
            for (o0, n) in column_blocks(O, width) {
                S::gemm_sum(&SumTile {
                    rows: mr,
                    n,
                    a: xp,
                    a_at: &a_at[..terms],
                    b: dyp.add(o0),
                    b_at: &b_at[..terms],
                    g: grad_kernel[i0].as_mut_ptr().add(o0),
                    ldg: O,
                });
            }
        }
    }
}

/// The most rows of `x` and `dy` one sum tile of [`backward_params`] takes as terms.
const TERMS: usize = 64;

/// The floats of `dy`, transposed, that [`backward_input`] keeps at once: 64 KiB, on the stack.
const DYT_FLOATS: usize = 16 * 1024;

/// The widest GEMM tile of any instruction set, in floats.
const MAX_WIDTH: usize = 64;

/// `dx[r][i] = kernel[i] · dy[r]`. One row is a set of dot products, four kernel rows at a
/// time. Several are GEMM tiles of `dxᵀ = kernel · dyᵀ`: `dy` is transposed (its rows become
/// the tile's columns), each tile of up to [`MR`] kernel rows is multiplied by it, and the
/// tile, `dx`'s columns, is written into `dx`'s rows.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn backward_input<S: Simd, const I: usize, const O: usize>(
    kernel: &[[f32; O]; I],
    dy: &[[f32; O]],
    dx: &mut [[f32; I]],
) {
    let rows = dy.len().min(dx.len());
    if rows > 1 {
        return backward_input_rows::<S, I, O>(kernel, &dy[..rows], &mut dx[..rows]);
    }
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

/// [`backward_input`] on several rows, as GEMM tiles: for each group of rows as wide as a tile,
/// for each block of outputs whose `dyᵀ` fits [`DYT_FLOATS`] (every output, unless `O` is in
/// the hundreds), every tile of kernel rows; a block after the first adds to `dx`.
#[inline(always)]
unsafe fn backward_input_rows<S: Simd, const I: usize, const O: usize>(
    kernel: &[[f32; O]; I],
    dy: &[[f32; O]],
    dx: &mut [[f32; I]],
) {
    let width = S::NV * S::LANES;
    debug_assert!(width <= MAX_WIDTH);
    let mut dyt = [0.0f32; DYT_FLOATS];
    let mut out = [[0.0f32; MAX_WIDTH]; MR];
    for (r0, nr) in column_blocks(dy.len(), width) {
        for (o0, ko) in column_blocks(O, DYT_FLOATS / nr) {
            for (r, dy) in dy[r0..r0 + nr].iter().enumerate() {
                for (k, &d) in dy[o0..o0 + ko].iter().enumerate() {
                    dyt[k * nr + r] = d;
                }
            }
            for (i0, mr) in column_blocks(I, MR) {
                let op = out.as_mut_ptr();
                S::gemm(&Tile {
                    rows: mr,
                    a: core::array::from_fn(|m| kernel[i0 + m.min(mr - 1)].as_ptr().add(o0)),
                    c: core::array::from_fn(|m| op.add(m.min(mr - 1)).cast::<f32>()),
                    n: nr,
                    b: dyt.as_ptr(),
                    ldb: nr,
                    k: ko,
                    segs: 1,
                    a_seg: 0,
                    b_seg: 0,
                    start: Start::Zero,
                    ks: core::ptr::null(),
                });
                for (r, dx) in dx[r0..r0 + nr].iter_mut().enumerate() {
                    for (m, d) in dx[i0..i0 + mr].iter_mut().enumerate() {
                        *d = if o0 == 0 { out[m][r] } else { *d + out[m][r] };
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    extern crate std;

    use crate::init::{rng, uniform01};
    use crate::kernels::{with_isa, Isa, Kernels};
    use std::vec::Vec;
    use std::{format, vec};

    fn random<const N: usize>(seed: u64, rows: usize, zeros: bool) -> Vec<[f32; N]> {
        let mut r = rng(seed);
        let mut v = vec![[0.0f32; N]; rows];
        for (k, x) in v.iter_mut().flatten().enumerate() {
            let u = 2.0 * uniform01(&mut r) - 1.0;
            *x = if zeros && k % 3 == 0 { 0.0 } else { u as f32 };
        }
        v
    }

    /// Both backward passes on `rows` rows against the scalar path: more rows than one GEMM
    /// tile is wide and than one sum tile takes, more outputs than one block of `dyᵀ` holds.
    fn check_backward_rows<const I: usize, const O: usize>(rows: usize, seed: u64) {
        let kernel: [[f32; O]; I] = random::<O>(seed, I, false).try_into().unwrap();
        let x = random::<I>(seed + 1, rows, true);
        let dy = random::<O>(seed + 2, rows, false);
        let g0 = random::<O>(seed + 3, I + 1, false);
        let run = |isa: Isa| {
            with_isa(isa, || {
                let mut g: [[f32; O]; I] = g0[..I].try_into().unwrap();
                let mut b = g0[I];
                f32::dense_backward_params(&x, &dy, &mut g, Some(&mut b));
                let mut dx = vec![[f32::NAN; I]; rows];
                f32::dense_backward_input(&kernel, &dy, &mut dx);
                (g, b, dx)
            })
        };
        let want = run(Isa::Scalar);
        for isa in Isa::available() {
            let got = run(isa);
            let what = format!("dense {I}x{O}, {rows} rows, {}", isa.name());
            let close = |a: &[f32], b: &[f32], part: &str| {
                for (k, (a, b)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{what}: {part}[{k}]: {a} vs {b}"
                    );
                }
            };
            close(got.0.as_flattened(), want.0.as_flattened(), "grad kernel");
            close(&got.1, &want.1, "grad bias");
            close(got.2.as_flattened(), want.2.as_flattened(), "dx");
        }
    }

    #[test]
    fn backward_on_many_rows_matches_scalar() {
        check_backward_rows::<20, 300>(70, 1);
        check_backward_rows::<13, 10>(131, 2);
        check_backward_rows::<9, 17>(2, 3);
    }
}
