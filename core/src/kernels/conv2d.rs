//! Conv2D in `f32` vectors, as implicit GEMMs on channels-last images: nothing is unfolded
//! (no im2col), the tiles read the image where it is.
//!
//! - Forward: for output row `oy` and kernel row `ky`, the taps of pixel `ox` are the `KW·CI`
//!   contiguous floats from `x[iy][ox·SW − PL]`, the rows of a matrix `SW·CI` apart, times
//!   `kernel[ky]` as a `(KW·CI) × CO` matrix; the kernel rows are the tile's segments. Pixels
//!   whose window leaves the image at the side take a one-row tile over the taps inside.
//! - Kernel gradient: for each tap, `grad_kernel[ky][kx]` (`CI × CO`) `+= Σ x[iy][ix]ᵀ · dy[oy][ox]`
//!   over the output pixels that tap sees, all-zero `dy` pixels left out.
//! - Input gradient: for each tap, `dx[iy][ix] += dy[oy][ox] · kernel[ky][kx]ᵀ`, with the tap's
//!   `[CO][CI]` transpose packed in a small panel on the stack.
//!
//! A layer with one input channel (kernel gradient) or too few to fill half a register (input
//! gradient) has too little work per pixel for tiles; it runs the scalar loops, which the
//! compiler vectorises over the output channels.

use super::gemm::{column_blocks, runs, Start, SumTile, Tile, MR};
use super::simd::{any_nonzero, load_n, store_n, Simd};
use super::window::{outputs_of_tap, window};
use super::Shape2d;
use core::ops::Range;

/// Checks the lengths of a convolution's flat slices.
fn check<G: Shape2d>(kernel: usize, x: usize, y: usize) {
    assert_eq!(
        kernel,
        G::KH * G::KW * G::CI * G::CO,
        "conv2d: kernel length"
    );
    assert_eq!(x, G::H * G::W * G::CI, "conv2d: input length");
    assert_eq!(y, G::OH * G::OW * G::CO, "conv2d: output length");
}

/// The output columns whose every tap lands inside the input.
fn inside_columns<G: Shape2d>() -> Range<usize> {
    let first = outputs_of_tap(0, G::SW, G::PL, G::W, G::OW);
    let last = outputs_of_tap(G::KW - 1, G::SW, G::PL, G::W, G::OW);
    let start = first.start.max(last.start);
    start..first.end.min(last.end).max(start)
}

/// `y = bias + x ⋆ kernel`.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd, G: Shape2d>(
    kernel: &[f32],
    bias: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
) {
    check::<G>(kernel.len(), x.len(), y.len());
    if let Some(b) = bias {
        assert_eq!(b.len(), G::CO, "conv2d: bias length");
    }
    let (w, ci, co) = (G::W, G::CI, G::CO);
    let (x, k, y) = (x.as_ptr(), kernel.as_ptr(), y.as_mut_ptr());
    let inside = inside_columns::<G>();
    let start = |o0: usize| match bias {
        Some(b) => Start::Row(b.as_ptr().add(o0)),
        None => Start::Zero,
    };
    for oy in 0..G::OH {
        let (ky, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        let x_row = x.add(rows.start * w * ci);
        let y_row = y.add(oy * G::OW * co);
        let k_row = k.add(ky * G::KW * ci * co);
        for (o0, n) in column_blocks(co, S::NV * S::LANES) {
            let tile = Tile {
                rows: 1,
                a: [x_row; MR],
                c: [y_row; MR],
                n,
                b: k_row.add(o0),
                ldb: co,
                k: G::KW * ci,
                segs: rows.len(),
                a_seg: w * ci,
                b_seg: G::KW * ci * co,
                start: start(o0),
                ks: core::ptr::null(),
            };
            for (ox, mr) in runs(inside.len(), MR) {
                let ox = inside.start + ox;
                let pixel = |m: usize| ox + m.min(mr - 1);
                S::gemm(&Tile {
                    rows: mr,
                    a: core::array::from_fn(|m| x_row.add((pixel(m) * G::SW - G::PL) * ci)),
                    c: core::array::from_fn(|m| y_row.add(pixel(m) * co + o0)),
                    ..tile
                });
            }
            for ox in (0..inside.start).chain(inside.end..G::OW) {
                let (kx, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
                S::gemm(&Tile {
                    a: [x_row.add(cols.start * ci); MR],
                    c: [y_row.add(ox * co + o0); MR],
                    b: k_row.add(kx * ci * co + o0),
                    k: cols.len() * ci,
                    ..tile
                });
            }
        }
    }
}

/// How many output pixels a tap's sum tiles take at once: a block of `dy` that stays in L1.
const PIXELS: usize = 256;

/// How many pixels of an image [`Zeros`] remembers: 4 KiB of flags.
const FLAGGED: usize = 4096;

/// Which pixels of a channels-last image are all zero, found once for the taps that read them
/// many times; pixels past the first [`FLAGGED`] are looked at when asked about.
struct Zeros {
    image: *const f32,
    channels: usize,
    flags: [bool; FLAGGED],
}

impl Zeros {
    /// The flags of `pixels` pixels of `channels` floats from `image`.
    #[inline(always)]
    unsafe fn new<S: Simd>(image: *const f32, pixels: usize, channels: usize) -> Zeros {
        let mut flags = [false; FLAGGED];
        for (p, zero) in flags.iter_mut().enumerate().take(pixels) {
            *zero = !any_nonzero::<S>(image.add(p * channels), channels);
        }
        Zeros {
            image,
            channels,
            flags,
        }
    }

    /// Whether pixel `p` is all zero.
    #[inline(always)]
    unsafe fn at<S: Simd>(&self, p: usize) -> bool {
        match self.flags.get(p) {
            Some(&zero) => zero,
            None => !any_nonzero::<S>(self.image.add(p * self.channels), self.channels),
        }
    }
}

/// `grad_kernel += ∂L/∂kernel` and `grad_bias += Σ dy` over pixels.
///
/// Output pixels whose `dy` is all zero are left out (behind a max pool or an inactive ReLU
/// there are many); with at most [`MR`] input channels (an image's first layer), so are input
/// pixels that are all zero.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn backward_params<S: Simd, G: Shape2d>(
    x: &[f32],
    dy: &[f32],
    grad_kernel: &mut [f32],
    grad_bias: Option<&mut [f32]>,
) {
    if G::CI == 1 {
        // One input channel (a grey image): a tap's sum is one multiply-add per pixel, too
        // little to pay for gathering its pixels; the scalar loops, which the compiler
        // vectorises over the output channels, do better.
        return super::scalar::conv2d_backward_params::<f32, G>(x, dy, grad_kernel, grad_bias);
    }
    check::<G>(grad_kernel.len(), x.len(), dy.len());
    let (w, ci, co) = (G::W, G::CI, G::CO);
    let (x, dy, g) = (x.as_ptr(), dy.as_ptr(), grad_kernel.as_mut_ptr());
    let dy_zero = Zeros::new::<S>(dy, G::OH * G::OW, co);
    let x_zero = match ci <= MR {
        true => Some(Zeros::new::<S>(x, G::H * G::W, ci)),
        false => None,
    };
    if let Some(b) = grad_bias {
        assert_eq!(b.len(), co, "conv2d: bias length");
        // In pixel order from the old value, as the scalar path adds.
        for (o0, n) in column_blocks(co, S::LANES) {
            let b = b.as_mut_ptr().add(o0);
            let mut sum = load_n::<S>(b, n);
            for p in 0..G::OH * G::OW {
                if !dy_zero.at::<S>(p) {
                    sum = S::add(sum, load_n::<S>(dy.add(p * co + o0), n));
                }
            }
            store_n::<S>(b, sum, n);
        }
    }
    let mut x_at = [0usize; PIXELS];
    let mut dy_at = [0usize; PIXELS];
    for ky in 0..G::KH {
        let rows = outputs_of_tap(ky, G::SH, G::PT, G::H, G::OH);
        for kx in 0..G::KW {
            let cols = outputs_of_tap(kx, G::SW, G::PL, G::W, G::OW);
            let g = g.add((ky * G::KW + kx) * ci * co);
            let flush = |len: usize, x_at: &[usize; PIXELS], dy_at: &[usize; PIXELS]| {
                for (c0, rows) in runs(ci, MR) {
                    for (o0, n) in column_blocks(co, S::NV * S::LANES) {
                        S::gemm_sum(&SumTile {
                            rows,
                            n,
                            a: x.add(c0),
                            a_at: &x_at[..len],
                            b: dy.add(o0),
                            b_at: &dy_at[..len],
                            g: g.add(c0 * co + o0),
                            ldg: co,
                        });
                    }
                }
            };
            let mut len = 0;
            for oy in rows.clone() {
                let iy = oy * G::SH + ky - G::PT;
                for ox in cols.clone() {
                    let (p, q) = (oy * G::OW + ox, iy * w + ox * G::SW + kx - G::PL);
                    if dy_zero.at::<S>(p) || x_zero.as_ref().is_some_and(|z| z.at::<S>(q)) {
                        continue;
                    }
                    x_at[len] = q * ci;
                    dy_at[len] = p * co;
                    len += 1;
                    if len == PIXELS {
                        flush(len, &x_at, &dy_at);
                        len = 0;
                    }
                }
            }
            if len > 0 {
                flush(len, &x_at, &dy_at);
            }
        }
    }
}

/// The floats of the transposed kernel panel of `backward_input`: 16 KiB.
const PANEL: usize = 4096;

/// `dx = ∂L/∂x`, overwriting it.
///
/// # Safety
/// The CPU has `S`.
#[inline(always)]
pub(crate) unsafe fn backward_input<S: Simd, G: Shape2d>(
    kernel: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) {
    if 2 * G::CI <= S::LANES {
        // Too few input channels to fill half a register (only a convolution after a layer of
        // few channels needs this): the scalar loops' dot products over the output channels,
        // which the compiler vectorises, do better.
        return super::scalar::conv2d_backward_input::<f32, G>(kernel, dy, dx);
    }
    check::<G>(kernel.len(), dx.len(), dy.len());
    dx.fill(0.0);
    let (w, ci, co) = (G::W, G::CI, G::CO);
    let (k, dy, dx) = (kernel.as_ptr(), dy.as_ptr(), dx.as_mut_ptr());
    // The panel holds `kernel[ky][kx][c0..][o0..]` transposed, `[o][c]`, rows `width` apart.
    let width = S::NV * S::LANES;
    let depth = PANEL / width;
    let mut panel = [0.0f32; PANEL];
    let dy_zero = Zeros::new::<S>(dy, G::OH * G::OW, co);
    for ky in 0..G::KH {
        let rows = outputs_of_tap(ky, G::SH, G::PT, G::H, G::OH);
        for kx in 0..G::KW {
            let cols = outputs_of_tap(kx, G::SW, G::PL, G::W, G::OW);
            if rows.is_empty() || cols.is_empty() {
                continue;
            }
            let k = k.add((ky * G::KW + kx) * ci * co);
            for (c0, nc) in column_blocks(ci, width) {
                for (o0, no) in column_blocks(co, depth) {
                    let p = panel.as_mut_ptr();
                    for c in 0..nc {
                        let k = k.add((c0 + c) * co + o0);
                        for o in 0..no {
                            *p.add(o * width + c) = *k.add(o);
                        }
                    }
                    let mut tile = Tile {
                        rows: 0,
                        a: [dy; MR],
                        c: [dx; MR],
                        n: nc,
                        b: panel.as_ptr(),
                        ldb: width,
                        k: no,
                        segs: 1,
                        a_seg: 0,
                        b_seg: 0,
                        start: Start::Accumulate,
                        ks: core::ptr::null(),
                    };
                    for oy in rows.clone() {
                        let iy = oy * G::SH + ky - G::PT;
                        for ox in cols.clone() {
                            let p = oy * G::OW + ox;
                            let d = dy.add(p * co + o0);
                            // Behind a max pool or an inactive ReLU many pixels get no gradient.
                            let zero = match no == co {
                                true => dy_zero.at::<S>(p),
                                false => !any_nonzero::<S>(d, no),
                            };
                            if zero {
                                continue;
                            }
                            tile.a[tile.rows] = d;
                            tile.c[tile.rows] =
                                dx.add((iy * w + ox * G::SW + kx - G::PL) * ci + c0);
                            tile.rows += 1;
                            if tile.rows == MR {
                                S::gemm(&tile);
                                tile.rows = 0;
                            }
                        }
                    }
                    if tile.rows > 0 {
                        S::gemm(&tile);
                    }
                }
            }
        }
    }
}
