//! The losses that are a mean of one term per value (mse, mae, huber, binary cross-entropy),
//! and the scalar functions they differentiate.

use crate::scalar::Scalar;

/// The sign of `x`, 0 at 0, as TensorFlow differentiates `abs`.
pub(super) fn sign<T: Scalar>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// The logistic function, computed from `exp(-|x|)` so that it never overflows.
pub(super) fn sigmoid<T: Scalar>(x: T) -> T {
    let e = (-x.abs()).exp();
    if x >= T::zero() {
        T::one() / (T::one() + e)
    } else {
        e / (T::one() + e)
    }
}

/// A loss that is a mean over each row of `f(p, y)`, then a mean over rows. `f` returns the
/// term and its derivative in `p`.
pub(super) fn elementwise<T: Scalar>(
    y_pred: &[T],
    y_true: &[T],
    classes: usize,
    mut grad: Option<&mut [T]>,
    f: impl Fn(T, T) -> (T, T),
) -> T {
    let rows = y_pred.len() / classes;
    let (n, r) = (T::of(classes as f64), T::of(rows as f64));
    let mut total = T::zero();
    for (row, (p, y)) in y_pred
        .chunks_exact(classes)
        .zip(y_true.chunks_exact(classes))
        .enumerate()
    {
        let mut sum = T::zero();
        for (c, (&p, &y)) in p.iter().zip(y).enumerate() {
            let (value, d) = f(p, y);
            sum = sum + value;
            if let Some(g) = grad.as_deref_mut() {
                g[row * classes + c] = d / n / r;
            }
        }
        total = total + sum / n;
    }
    total / r
}
