//! The categorical cross-entropies, dense and sparse, from probabilities (clipped as Keras
//! clips) and from logits through a softmax (exact for any logit).

use super::targets::one_hot;
use super::{Target, EPSILON};
use crate::scalar::Scalar;

/// Cross-entropy from probabilities, per row `-Σ y·ln(clip(p / Σp))` (Keras normalises the
/// row, then clips to `[1e-7, 1 - 1e-7]`), averaged over rows.
pub(super) fn crossentropy_from_probabilities<T: Scalar>(
    y_pred: &[T],
    y_true: impl Fn(usize, usize) -> T,
    classes: usize,
    mut grad: Option<&mut [T]>,
) -> T {
    let rows = y_pred.len() / classes;
    let r = T::of(rows as f64);
    let (lo, hi) = (T::of(EPSILON), T::of(1.0 - EPSILON));
    let mut total = T::zero();
    for (row, p) in y_pred.chunks_exact(classes).enumerate() {
        let sum = p.iter().fold(T::zero(), |s, &v| s + v);
        let mut value = T::zero();
        // Σ g_i·q_i, with g_i = dLoss/dq_i, for the normalisation's part of the gradient.
        let mut gq = T::zero();
        for (c, &pc) in p.iter().enumerate() {
            let y = y_true(row, c);
            let q = pc / sum;
            let qc = q.max(lo).min(hi);
            value = value - y * qc.ln();
            let g = if q < lo || q > hi { T::zero() } else { -y / qc };
            gq = gq + g * q;
            if let Some(gr) = grad.as_deref_mut() {
                gr[row * classes + c] = g;
            }
        }
        if let Some(gr) = grad.as_deref_mut() {
            // d(p_i / S)/dp_j = (δ_ij - q_i) / S.
            for g in &mut gr[row * classes..(row + 1) * classes] {
                *g = (*g - gq) / sum / r;
            }
        }
        total = total + value;
    }
    total / r
}

/// Sparse cross-entropy from probabilities, per row `-ln(clip(p_k) / Σ clip(p))`, averaged
/// over rows. This is Keras's TensorFlow backend, which clips first and then normalises (by
/// taking a log-softmax of `ln(clip(p))`); its other backends normalise first, like the dense
/// loss. The two differ only when a probability lies outside `[1e-7, 1 - 1e-7]`.
pub(super) fn sparse_crossentropy_from_probabilities<T: Scalar>(
    y_pred: &[T],
    y_true: Target<'_, T>,
    classes: usize,
    mut grad: Option<&mut [T]>,
) -> T {
    let rows = y_pred.len() / classes;
    let r = T::of(rows as f64);
    let (lo, hi) = (T::of(EPSILON), T::of(1.0 - EPSILON));
    let mut total = T::zero();
    for (row, p) in y_pred.chunks_exact(classes).enumerate() {
        let sum = p.iter().fold(T::zero(), |s, &v| s + v.max(lo).min(hi));
        let mut value = sum.ln();
        for (c, &pc) in p.iter().enumerate() {
            let y = one_hot(y_true, row, c);
            let clipped = pc.max(lo).min(hi);
            value = value - y * clipped.ln();
            if let Some(g) = grad.as_deref_mut() {
                g[row * classes + c] = if pc < lo || pc > hi {
                    T::zero()
                } else {
                    (T::one() / sum - y / clipped) / r
                };
            }
        }
        total = total + value;
    }
    total / r
}

/// Softmax cross-entropy from logits, per row `Σ y·(lse(z) - z)` with a max-shifted
/// log-sum-exp, averaged over rows. Terms with `y = 0` are skipped so that a logit of `-inf`
/// cannot turn `0·inf` into NaN.
pub(super) fn softmax_crossentropy<T: Scalar>(
    z: &[T],
    y_true: impl Fn(usize, usize) -> T,
    classes: usize,
    mut grad: Option<&mut [T]>,
) -> T {
    let rows = z.len() / classes;
    let r = T::of(rows as f64);
    let mut total = T::zero();
    for (row, z) in z.chunks_exact(classes).enumerate() {
        let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
        let sum_exp = z.iter().fold(T::zero(), |s, &v| s + (v - max).exp());
        let lse = max + sum_exp.ln();
        let mut value = T::zero();
        let mut sum_y = T::zero();
        for (c, &zc) in z.iter().enumerate() {
            let y = y_true(row, c);
            if y != T::zero() {
                value = value + y * (lse - zc);
                sum_y = sum_y + y;
            }
        }
        if let Some(g) = grad.as_deref_mut() {
            for (c, &zc) in z.iter().enumerate() {
                let p = (zc - lse).exp();
                g[row * classes + c] = (p * sum_y - y_true(row, c)) / r;
            }
        }
        total = total + value;
    }
    total / r
}
