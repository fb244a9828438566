//! The portable kernels: plain loops over constant sizes, for any [`Scalar`].
//!
//! They are what `f64` always runs (exact gradient checks), what `f32` runs on a CPU without a
//! vector path, and the reference every vector path is tested against. Images are flat slices
//! in the layout of a [`Shape2d`].

use super::window::window;
use super::Shape2d;
use crate::scalar::Scalar;

/// `Σ a[k] · b[k]` over the common length, in eight interleaved partial sums: one running sum
/// is a chain of dependent additions the compiler must keep in order, eight can be vectorised.
#[inline]
pub fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 8;
    let (a, b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut sum = T::zero();
    for (&a, &b) in a.remainder().iter().zip(b.remainder()) {
        sum = sum + a * b;
    }
    let mut lanes = [T::zero(); LANES];
    for (a, b) in a.zip(b) {
        for ((s, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
            *s = *s + a * b;
        }
    }
    lanes.iter().fold(sum, |s, &v| s + v)
}

/// `y[r][o] = bias[o] + Σ_i x[r][i] · kernel[i][o]` for every row; rows of `x` and `y` zipped.
pub fn dense_forward<T: Scalar, const I: usize, const O: usize>(
    kernel: &[[T; O]; I],
    bias: Option<&[T; O]>,
    x: &[[T; I]],
    y: &mut [[T; O]],
) {
    for (x, y) in x.iter().zip(y.iter_mut()) {
        match bias {
            Some(b) => y.copy_from_slice(b),
            None => y.fill(T::zero()),
        }
        // Row by row of the kernel, so the inner loop runs over contiguous outputs.
        for (&xi, k) in x.iter().zip(kernel) {
            for (yo, &ko) in y.iter_mut().zip(k) {
                *yo = *yo + xi * ko;
            }
        }
    }
}

/// `grad_kernel += xᵀ·dy` and `grad_bias += Σ_r dy[r]`; rows of `x` and `dy` zipped.
pub fn dense_backward_params<T: Scalar, const I: usize, const O: usize>(
    x: &[[T; I]],
    dy: &[[T; O]],
    grad_kernel: &mut [[T; O]; I],
    mut grad_bias: Option<&mut [T; O]>,
) {
    for (x, dy) in x.iter().zip(dy) {
        if let Some(b) = grad_bias.as_deref_mut() {
            for (b, &d) in b.iter_mut().zip(dy) {
                *b = *b + d;
            }
        }
        for (&xi, g) in x.iter().zip(grad_kernel.iter_mut()) {
            // A zero input (most MNIST pixels, every inactive ReLU) adds nothing. Skipping it
            // also skips `0 · inf = NaN` from a diverged `dy`, which the bias and the other
            // rows still receive.
            if xi == T::zero() {
                continue;
            }
            for (g, &d) in g.iter_mut().zip(dy) {
                *g = *g + xi * d;
            }
        }
    }
}

/// `dx[r][i] = Σ_o dy[r][o] · kernel[i][o]`; rows of `dy` and `dx` zipped.
pub fn dense_backward_input<T: Scalar, const I: usize, const O: usize>(
    kernel: &[[T; O]; I],
    dy: &[[T; O]],
    dx: &mut [[T; I]],
) {
    for (dy, dx) in dy.iter().zip(dx.iter_mut()) {
        // A kernel row is contiguous.
        for (d, k) in dx.iter_mut().zip(kernel) {
            *d = dot(k, dy);
        }
    }
}

/// Checks the lengths of a convolution's flat slices.
fn check_conv<T, G: Shape2d>(kernel: usize, x: &[T], y: &[T]) {
    assert_eq!(
        kernel,
        G::KH * G::KW * G::CI * G::CO,
        "conv2d: kernel length"
    );
    assert_eq!(x.len(), G::H * G::W * G::CI, "conv2d: input length");
    assert_eq!(y.len(), G::OH * G::OW * G::CO, "conv2d: output length");
}

/// `y[oy][ox][co] = bias[co] + Σ x[iy][ix][ci] · kernel[ky][kx][ci][co]` over the taps with
/// `iy = oy·SH + ky − PT` and `ix = ox·SW + kx − PL` inside the input.
pub fn conv2d_forward<T: Scalar, G: Shape2d>(
    kernel: &[T],
    bias: Option<&[T]>,
    x: &[T],
    y: &mut [T],
) {
    check_conv::<T, G>(kernel.len(), x, y);
    let (ci, co) = (G::CI, G::CO);
    for (oy, y) in y.chunks_exact_mut(G::OW * co).enumerate() {
        let (ky, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, y) in y.chunks_exact_mut(co).enumerate() {
            let (kx, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            match bias {
                Some(b) => y.copy_from_slice(&b[..co]),
                None => y.fill(T::zero()),
            }
            for (ky, iy) in (ky..).zip(rows.clone()) {
                for (kx, ix) in (kx..).zip(cols.clone()) {
                    let x = &x[(iy * G::W + ix) * ci..][..ci];
                    let k = &kernel[(ky * G::KW + kx) * ci * co..][..ci * co];
                    // One pixel: a [CI] row times a [CI][CO] matrix, outputs contiguous.
                    for (&xc, k) in x.iter().zip(k.chunks_exact(co)) {
                        for (yo, &ko) in y.iter_mut().zip(k) {
                            *yo = *yo + xc * ko;
                        }
                    }
                }
            }
        }
    }
}

/// `grad_kernel[ky][kx][ci][co] += Σ x[iy][ix][ci] · dy[oy][ox][co]` over the forward's taps,
/// and `grad_bias[co] += Σ dy[oy][ox][co]`.
pub fn conv2d_backward_params<T: Scalar, G: Shape2d>(
    x: &[T],
    dy: &[T],
    grad_kernel: &mut [T],
    mut grad_bias: Option<&mut [T]>,
) {
    check_conv::<T, G>(grad_kernel.len(), x, dy);
    let (ci, co) = (G::CI, G::CO);
    for (oy, dy) in dy.chunks_exact(G::OW * co).enumerate() {
        let (ky, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, dy) in dy.chunks_exact(co).enumerate() {
            // Behind a max pool or an inactive ReLU many output pixels get no gradient.
            if is_zero(dy) {
                continue;
            }
            if let Some(b) = grad_bias.as_deref_mut() {
                for (b, &d) in b.iter_mut().zip(dy) {
                    *b = *b + d;
                }
            }
            let (kx, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            for (ky, iy) in (ky..).zip(rows.clone()) {
                for (kx, ix) in (kx..).zip(cols.clone()) {
                    let x = &x[(iy * G::W + ix) * ci..][..ci];
                    let g = &mut grad_kernel[(ky * G::KW + kx) * ci * co..][..ci * co];
                    for (&xc, g) in x.iter().zip(g.chunks_exact_mut(co)) {
                        if xc == T::zero() {
                            continue;
                        }
                        for (g, &d) in g.iter_mut().zip(dy) {
                            *g = *g + xc * d;
                        }
                    }
                }
            }
        }
    }
}

/// `dx[iy][ix][ci] = Σ dy[oy][ox][co] · kernel[ky][kx][ci][co]` over the outputs whose window
/// holds `(iy, ix)`: scattered from each output pixel in turn. Overwrites `dx`.
pub fn conv2d_backward_input<T: Scalar, G: Shape2d>(kernel: &[T], dy: &[T], dx: &mut [T]) {
    check_conv::<T, G>(kernel.len(), dx, dy);
    let (ci, co) = (G::CI, G::CO);
    dx.fill(T::zero());
    for (oy, dy) in dy.chunks_exact(G::OW * co).enumerate() {
        let (ky, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, dy) in dy.chunks_exact(co).enumerate() {
            if is_zero(dy) {
                continue;
            }
            let (kx, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            for (ky, iy) in (ky..).zip(rows.clone()) {
                for (kx, ix) in (kx..).zip(cols.clone()) {
                    let dx = &mut dx[(iy * G::W + ix) * ci..][..ci];
                    let k = &kernel[(ky * G::KW + kx) * ci * co..][..ci * co];
                    // One pixel: a [CI][CO] matrix times the [CO] gradient.
                    for (d, k) in dx.iter_mut().zip(k.chunks_exact(co)) {
                        *d = *d + dot(k, dy);
                    }
                }
            }
        }
    }
}

/// Whether an output pixel's gradient is all zeros, so that it adds nothing anywhere (but for
/// `inf · 0 = NaN`, which only an input or weight already infinite could make).
#[inline]
fn is_zero<T: Scalar>(dy: &[T]) -> bool {
    dy.iter().all(|&d| d == T::zero())
}

/// Checks the lengths of a pool's flat slices.
fn check_pool<T, G: Shape2d>(x: &[T], y: &[T]) {
    assert_eq!(G::CI, G::CO, "pool2d: channels in and out differ");
    assert_eq!(x.len(), G::H * G::W * G::CI, "pool2d: input length");
    assert_eq!(y.len(), G::OH * G::OW * G::CO, "pool2d: output length");
}

/// Calls `f(y, rows, cols)` for each output pixel `y` (its `C` channels) and the input rows and
/// columns its window covers.
#[inline]
fn for_each_window<T, G: Shape2d>(
    y: &mut [T],
    mut f: impl FnMut(&mut [T], core::ops::Range<usize>, core::ops::Range<usize>),
) {
    for (oy, y) in y.chunks_exact_mut(G::OW * G::CO).enumerate() {
        let (_, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, y) in y.chunks_exact_mut(G::CO).enumerate() {
            let (_, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            f(y, rows.clone(), cols);
        }
    }
}

/// `y[oy][ox][c] = max x[iy][ix][c]` over the window's cells inside the input.
pub fn max_pool2d_forward<T: Scalar, G: Shape2d>(x: &[T], y: &mut [T]) {
    check_pool::<T, G>(x, y);
    let c = G::CI;
    for_each_window::<T, G>(y, |y, rows, cols| {
        y.fill(T::neg_infinity());
        for iy in rows {
            for ix in cols.clone() {
                for (m, &v) in y.iter_mut().zip(&x[(iy * G::W + ix) * c..][..c]) {
                    *m = (*m).max(v);
                }
            }
        }
    });
}

/// Each window's `dy` to the first cell (row-major) equal to its maximum; overwrites `dx`.
pub fn max_pool2d_backward<T: Scalar, G: Shape2d>(x: &[T], dy: &[T], dx: &mut [T]) {
    check_pool::<T, G>(x, dy);
    check_pool::<T, G>(dx, dy);
    let c = G::CI;
    dx.fill(T::zero());
    for (oy, dy) in dy.chunks_exact(G::OW * c).enumerate() {
        let (_, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, dy) in dy.chunks_exact(c).enumerate() {
            let (_, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            // The window's maximum per channel, as forward found it; then, in row-major order,
            // the first cell equal to it takes the gradient and leaves none for later ties.
            // Selects rather than branches, so that both loops vectorise. `max` and `pending`
            // are kept in a few channels at a time, so that any C fits on the stack.
            const BLOCK: usize = 16;
            for c0 in (0..c).step_by(BLOCK) {
                let n = (c - c0).min(BLOCK);
                let mut max = [T::neg_infinity(); BLOCK];
                for iy in rows.clone() {
                    for ix in cols.clone() {
                        let x = &x[(iy * G::W + ix) * c + c0..][..n];
                        for (m, &v) in max.iter_mut().zip(x) {
                            *m = (*m).max(v);
                        }
                    }
                }
                let mut pending = [T::zero(); BLOCK];
                pending[..n].copy_from_slice(&dy[c0..c0 + n]);
                for iy in rows.clone() {
                    for ix in cols.clone() {
                        let at = (iy * G::W + ix) * c + c0;
                        let cells = x[at..at + n].iter().zip(&max).zip(&mut dx[at..at + n]);
                        for (((&v, &m), d), p) in cells.zip(&mut pending) {
                            let hit = v == m;
                            *d = *d + if hit { *p } else { T::zero() };
                            *p = if hit { T::zero() } else { *p };
                        }
                    }
                }
            }
        }
    }
}

/// `y[oy][ox][c] = mean x[iy][ix][c]` over the window's cells inside the input.
pub fn avg_pool2d_forward<T: Scalar, G: Shape2d>(x: &[T], y: &mut [T]) {
    check_pool::<T, G>(x, y);
    let c = G::CI;
    for_each_window::<T, G>(y, |y, rows, cols| {
        y.fill(T::zero());
        let count = T::of((rows.len() * cols.len()) as f64);
        for iy in rows {
            for ix in cols.clone() {
                for (s, &v) in y.iter_mut().zip(&x[(iy * G::W + ix) * c..][..c]) {
                    *s = *s + v;
                }
            }
        }
        for s in y.iter_mut() {
            *s = *s / count;
        }
    });
}

/// Each window's `dy`, divided by its real cells, added to each of them; overwrites `dx`.
pub fn avg_pool2d_backward<T: Scalar, G: Shape2d>(dy: &[T], dx: &mut [T]) {
    check_pool::<T, G>(dx, dy);
    let c = G::CI;
    dx.fill(T::zero());
    for (oy, dy) in dy.chunks_exact(G::OW * c).enumerate() {
        let (_, rows) = window(oy, G::SH, G::PT, G::KH, G::H);
        for (ox, dy) in dy.chunks_exact(c).enumerate() {
            let (_, cols) = window(ox, G::SW, G::PL, G::KW, G::W);
            let count = T::of((rows.len() * cols.len()) as f64);
            for iy in rows.clone() {
                for ix in cols.clone() {
                    let dx = &mut dx[(iy * G::W + ix) * c..][..c];
                    for (d, &g) in dx.iter_mut().zip(dy) {
                        *d = *d + g / count;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum_of_products_at_every_length() {
        // Integers in f64, so every order of summation is exact.
        for n in 0..=20 {
            let a: [f64; 20] = core::array::from_fn(|k| (k as f64) - 7.0);
            let b: [f64; 20] = core::array::from_fn(|k| (3 * k % 5) as f64 + 1.0);
            let want: f64 = (0..n).map(|k| a[k] * b[k]).sum();
            assert_eq!(dot(&a[..n], &b[..n]), want, "length {n}");
        }
    }
}
