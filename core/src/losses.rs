//! Keras 3's training losses, one sample at a time: the loss value and its gradient.
//!
//! A sample's prediction is a flat slice seen as rows of `classes` values along the last axis
//! (one row for a plain classifier or regressor). As in Keras, the loss is reduced within each
//! row (mean for mse/mae/huber/bce, sum for the cross-entropies) and then averaged over the
//! rows; the caller averages the samples of a batch. Nothing here allocates or panics on user
//! data: shape and label mistakes come back as a [`LossError`].
//!
//! The cross-entropies from probabilities clip to `[1e-7, 1 - 1e-7]` exactly as Keras does, so
//! they saturate. When the model's last activation is softmax or sigmoid, use the fused
//! [`Loss::loss_grad_from_logits`] instead: Keras's TensorFlow backend does the same (it keeps
//! the logits behind every softmax and sigmoid output), and it stays exact for any logit.
//! Only the pairs that mean the same loss fuse (see [`Loss::fuses`]); Keras's TensorFlow
//! backend also swaps in the logits for binary cross-entropy after a softmax, or categorical
//! after a sigmoid, which silently computes a different loss.
//!
//! # Shapes
//! - `y_pred`, `grad`: `rows * classes` values.
//! - `y_true`: [`Target::Dense`] of the same length, or for the sparse loss one label per row
//!   ([`Target::Class`] for a single row, or [`Target::Dense`] of `rows` integral values).

use crate::scalar::Scalar;
use core::fmt;

/// Keras's `backend.epsilon()`, the clipping margin of the cross-entropies.
const EPSILON: f64 = 1e-7;

/// A training loss, as named in `model.compile(loss=...)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `mean((y_true - y_pred)^2)` over the last axis.
    MeanSquaredError,
    /// `mean(|y_true - y_pred|)` over the last axis.
    MeanAbsoluteError,
    /// `-mean(y·ln p + (1 - y)·ln(1 - p))` over the last axis, `p` clipped to `[1e-7, 1 - 1e-7]`.
    BinaryCrossentropy,
    /// `-Σ y·ln p` over the last axis, `p` normalised to sum 1 and clipped; one-hot targets.
    CategoricalCrossentropy,
    /// `-ln(clip(p_k) / Σ clip(p))` for class label `k`: clipped before normalising, as Keras's
    /// TensorFlow backend computes it.
    SparseCategoricalCrossentropy,
    /// `0.5·e²` for `|e| <= delta`, else `delta·|e| - 0.5·delta²`, averaged over the last axis.
    Huber {
        /// Where the loss turns from quadratic to linear (Keras's default is 1.0).
        delta: f64,
    },
}

/// The true value of one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target<'a, T> {
    /// Values laid out like `y_pred` (one-hot rows for the categorical loss), or, for the
    /// sparse loss only, one integral class label per row.
    Dense(&'a [T]),
    /// The class index of a single-row sample; only for the sparse loss.
    Class(usize),
}

/// The last activation of a model, when a loss can absorb it and work on the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused {
    /// Softmax over the last axis: fuses with (sparse) categorical cross-entropy.
    Softmax,
    /// Elementwise sigmoid: fuses with binary cross-entropy.
    Sigmoid,
}

impl Fused {
    /// The Keras name of the activation.
    pub fn name(self) -> &'static str {
        match self {
            Fused::Softmax => "softmax",
            Fused::Sigmoid => "sigmoid",
        }
    }
}

/// Why a sample's loss could not be computed: the data does not fit the loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossError {
    /// `classes` is zero, or `y_pred` is empty or not a whole number of rows of `classes`.
    Classes {
        /// The length of `y_pred`.
        len: usize,
        /// The width of the last axis given.
        classes: usize,
    },
    /// The gradient buffer is not as long as `y_pred`.
    GradLen {
        /// The length of `y_pred`.
        expected: usize,
        /// The length of the gradient buffer.
        found: usize,
    },
    /// A dense target has the wrong length.
    TargetLen {
        /// The length the loss needs: that of `y_pred`, or the number of rows for labels.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A class index was given to a loss that needs dense targets.
    ClassTarget {
        /// The Keras name of the loss.
        loss: &'static str,
    },
    /// A class label is not an integer in `0..classes`, or a [`Target::Class`] was given for a
    /// sample of several rows.
    Label {
        /// The row whose label is wrong.
        row: usize,
        /// The number of classes.
        classes: usize,
    },
    /// The loss cannot absorb this last activation (see [`Loss::fuses`]).
    NotFused {
        /// The Keras name of the loss.
        loss: &'static str,
        /// The Keras name of the activation.
        activation: &'static str,
    },
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LossError::Classes { len, classes } => write!(
                f,
                "a prediction of {len} values is not a whole number of rows of {classes} classes"
            ),
            LossError::GradLen { expected, found } => write!(
                f,
                "the gradient buffer has {found} values, the prediction {expected}"
            ),
            LossError::TargetLen { expected, found } => {
                write!(f, "the target has {found} values, expected {expected}")
            }
            LossError::ClassTarget { loss } => write!(
                f,
                "`{loss}` needs dense targets, not a class index \
                 (use sparse_categorical_crossentropy for class labels)"
            ),
            LossError::Label { row, classes } => write!(
                f,
                "the label of row {row} is not a class index in 0..{classes}"
            ),
            LossError::NotFused { loss, activation } => {
                write!(
                    f,
                    "`{loss}` cannot be computed from the logits of `{activation}`"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LossError {}

impl Loss {
    /// Huber loss with Keras's default `delta = 1.0`.
    pub const fn huber() -> Self {
        Loss::Huber { delta: 1.0 }
    }

    /// The Keras name of the loss, as in its `name` attribute (`"huber_loss"` for Huber).
    pub fn name(&self) -> &'static str {
        match self {
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::Huber { .. } => "huber_loss",
        }
    }

    /// The loss a name denotes in `keras.losses.get`: function names (`"huber"`), class names
    /// (`"MeanSquaredError"`) and the aliases `mse`, `mae`, `bce` in either case; `"huber_loss"`
    /// is also accepted so that [`Loss::name`] round-trips.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "mean_squared_error" | "MeanSquaredError" | "mse" | "MSE" => Loss::MeanSquaredError,
            "mean_absolute_error" | "MeanAbsoluteError" | "mae" | "MAE" => Loss::MeanAbsoluteError,
            "binary_crossentropy" | "BinaryCrossentropy" | "bce" | "BCE" => {
                Loss::BinaryCrossentropy
            }
            "categorical_crossentropy" | "CategoricalCrossentropy" => Loss::CategoricalCrossentropy,
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Loss::SparseCategoricalCrossentropy
            }
            "huber" | "Huber" | "huber_loss" => Loss::huber(),
            _ => return None,
        })
    }

    /// Whether this loss takes its targets as class labels rather than dense values.
    pub fn is_sparse(&self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy)
    }

    /// Whether this loss can be computed from the logits of `last`: (sparse) categorical
    /// cross-entropy after softmax, binary cross-entropy after sigmoid.
    pub fn fuses(&self, last: Fused) -> bool {
        matches!(
            (self, last),
            (Loss::CategoricalCrossentropy, Fused::Softmax)
                | (Loss::SparseCategoricalCrossentropy, Fused::Softmax)
                | (Loss::BinaryCrossentropy, Fused::Sigmoid)
        )
    }

    /// One sample's loss, as Keras computes it before averaging over the batch.
    pub fn loss<T: Scalar>(
        &self,
        y_pred: &[T],
        y_true: Target<'_, T>,
        classes: usize,
    ) -> Result<T, LossError> {
        self.eval(y_pred, y_true, classes, None)
    }

    /// One sample's loss, with `dLoss/dy_pred` written to `grad` (same length as `y_pred`).
    pub fn loss_grad<T: Scalar>(
        &self,
        y_pred: &[T],
        y_true: Target<'_, T>,
        classes: usize,
        grad: &mut [T],
    ) -> Result<T, LossError> {
        self.eval(y_pred, y_true, classes, Some(grad))
    }

    /// One sample's loss computed from the logits `z` that the last activation `last` would
    /// turn into the prediction, without ever forming (and clipping) the probabilities.
    pub fn loss_from_logits<T: Scalar>(
        &self,
        z: &[T],
        last: Fused,
        y_true: Target<'_, T>,
        classes: usize,
    ) -> Result<T, LossError> {
        self.eval_logits(z, last, y_true, classes, None)
    }

    /// [`Loss::loss_from_logits`], with `dLoss/dz` written to `grad_z`: `softmax(z)·Σy - y`
    /// (that is `p - y` for a one-hot `y`) per row, or `(sigmoid(z) - y) / classes`, each then
    /// divided by the number of rows.
    pub fn loss_grad_from_logits<T: Scalar>(
        &self,
        z: &[T],
        last: Fused,
        y_true: Target<'_, T>,
        classes: usize,
        grad_z: &mut [T],
    ) -> Result<T, LossError> {
        self.eval_logits(z, last, y_true, classes, Some(grad_z))
    }

    fn eval<T: Scalar>(
        &self,
        y_pred: &[T],
        y_true: Target<'_, T>,
        classes: usize,
        grad: Option<&mut [T]>,
    ) -> Result<T, LossError> {
        let rows = check_shape(y_pred.len(), classes, grad.as_deref())?;
        match *self {
            Loss::SparseCategoricalCrossentropy => {
                check_labels(y_true, rows, classes)?;
                Ok(sparse_crossentropy_from_probabilities(
                    y_pred, y_true, classes, grad,
                ))
            }
            Loss::CategoricalCrossentropy => {
                let t = dense(self, y_true, y_pred.len())?;
                Ok(crossentropy_from_probabilities(
                    y_pred,
                    |row, c| t[row * classes + c],
                    classes,
                    grad,
                ))
            }
            Loss::MeanSquaredError => {
                let t = dense(self, y_true, y_pred.len())?;
                Ok(elementwise(y_pred, t, classes, grad, |p, y| {
                    let d = y - p;
                    (d * d, -(d + d))
                }))
            }
            Loss::MeanAbsoluteError => {
                let t = dense(self, y_true, y_pred.len())?;
                Ok(elementwise(y_pred, t, classes, grad, |p, y| {
                    let e = p - y;
                    (e.abs(), sign(e))
                }))
            }
            Loss::Huber { delta } => {
                let t = dense(self, y_true, y_pred.len())?;
                let (delta, half) = (T::of(delta), T::of(0.5));
                Ok(elementwise(y_pred, t, classes, grad, |p, y| {
                    let e = p - y;
                    if e.abs() <= delta {
                        (half * e * e, e)
                    } else {
                        (delta * e.abs() - half * (delta * delta), delta * sign(e))
                    }
                }))
            }
            Loss::BinaryCrossentropy => {
                let t = dense(self, y_true, y_pred.len())?;
                let (lo, hi) = (T::of(EPSILON), T::of(1.0 - EPSILON));
                Ok(elementwise(y_pred, t, classes, grad, |p, y| {
                    let pc = p.max(lo).min(hi);
                    let value = -(y * pc.ln() + (T::one() - y) * (T::one() - pc).ln());
                    // Clipping is flat outside the interval, as TensorFlow differentiates it.
                    let d = if p < lo || p > hi {
                        T::zero()
                    } else {
                        (T::one() - y) / (T::one() - pc) - y / pc
                    };
                    (value, d)
                }))
            }
        }
    }

    fn eval_logits<T: Scalar>(
        &self,
        z: &[T],
        last: Fused,
        y_true: Target<'_, T>,
        classes: usize,
        grad: Option<&mut [T]>,
    ) -> Result<T, LossError> {
        if !self.fuses(last) {
            return Err(LossError::NotFused {
                loss: self.name(),
                activation: last.name(),
            });
        }
        let rows = check_shape(z.len(), classes, grad.as_deref())?;
        match self {
            Loss::SparseCategoricalCrossentropy => {
                check_labels(y_true, rows, classes)?;
                Ok(softmax_crossentropy(
                    z,
                    |row, c| one_hot(y_true, row, c),
                    classes,
                    grad,
                ))
            }
            Loss::CategoricalCrossentropy => {
                let t = dense(self, y_true, z.len())?;
                Ok(softmax_crossentropy(
                    z,
                    |row, c| t[row * classes + c],
                    classes,
                    grad,
                ))
            }
            _ => {
                let t = dense(self, y_true, z.len())?;
                // TensorFlow's sigmoid_cross_entropy_with_logits:
                // max(z, 0) - z·y + ln(1 + exp(-|z|)), exact for any z.
                Ok(elementwise(z, t, classes, grad, |z, y| {
                    let value = z.max(T::zero()) - z * y + (-z.abs()).exp().ln_1p();
                    (value, sigmoid(z) - y)
                }))
            }
        }
    }
}

/// Checks that `len` is a whole, non-zero number of rows of `classes` and that the gradient
/// buffer (if any) matches; returns the number of rows.
fn check_shape<T>(len: usize, classes: usize, grad: Option<&[T]>) -> Result<usize, LossError> {
    if classes == 0 || len == 0 || len % classes != 0 {
        return Err(LossError::Classes { len, classes });
    }
    if let Some(g) = grad {
        if g.len() != len {
            return Err(LossError::GradLen {
                expected: len,
                found: g.len(),
            });
        }
    }
    Ok(len / classes)
}

/// The dense target of a non-sparse loss, checked to be as long as the prediction.
fn dense<'a, T>(loss: &Loss, y_true: Target<'a, T>, len: usize) -> Result<&'a [T], LossError> {
    match y_true {
        Target::Dense(t) if t.len() == len => Ok(t),
        Target::Dense(t) => Err(LossError::TargetLen {
            expected: len,
            found: t.len(),
        }),
        Target::Class(_) => Err(LossError::ClassTarget { loss: loss.name() }),
    }
}

/// Checks that `y_true` holds one valid class label for each of `rows` rows.
fn check_labels<T: Scalar>(
    y_true: Target<'_, T>,
    rows: usize,
    classes: usize,
) -> Result<(), LossError> {
    match y_true {
        Target::Class(k) if rows == 1 && k < classes => Ok(()),
        Target::Class(_) => Err(LossError::Label { row: 0, classes }),
        Target::Dense(labels) if labels.len() != rows => Err(LossError::TargetLen {
            expected: rows,
            found: labels.len(),
        }),
        Target::Dense(labels) => {
            match labels.iter().position(|&l| label_of(l, classes).is_none()) {
                Some(row) => Err(LossError::Label { row, classes }),
                None => Ok(()),
            }
        }
    }
}

/// The class index a float label stands for, if it is an integer in `0..classes`.
pub(crate) fn label_of<T: Scalar>(l: T, classes: usize) -> Option<usize> {
    if l >= T::zero() && l < T::of(classes as f64) && l.fract() == T::zero() {
        l.to_usize()
    } else {
        None
    }
}

/// Element `c` of row `row` of the one-hot encoding of already checked labels.
fn one_hot<T: Scalar>(y_true: Target<'_, T>, row: usize, c: usize) -> T {
    let k = match y_true {
        Target::Class(k) => k,
        Target::Dense(labels) => label_of(labels[row], usize::MAX).unwrap_or(usize::MAX),
    };
    if k == c {
        T::one()
    } else {
        T::zero()
    }
}

/// The sign of `x`, 0 at 0, as TensorFlow differentiates `abs`.
fn sign<T: Scalar>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// The logistic function, computed from `exp(-|x|)` so that it never overflows.
fn sigmoid<T: Scalar>(x: T) -> T {
    let e = (-x.abs()).exp();
    if x >= T::zero() {
        T::one() / (T::one() + e)
    } else {
        e / (T::one() + e)
    }
}

/// A loss that is a mean over each row of `f(p, y)`, then a mean over rows. `f` returns the
/// term and its derivative in `p`.
fn elementwise<T: Scalar>(
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

/// Cross-entropy from probabilities, per row `-Σ y·ln(clip(p / Σp))` (Keras normalises the
/// row, then clips to `[1e-7, 1 - 1e-7]`), averaged over rows.
fn crossentropy_from_probabilities<T: Scalar>(
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
fn sparse_crossentropy_from_probabilities<T: Scalar>(
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
fn softmax_crossentropy<T: Scalar>(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    /// Checks `got` against Keras's value in f64 (to 1e-12) and in f32 (to 1e-5).
    fn check_value(
        loss: Loss,
        y_pred: &[f64],
        y_true: Target<'_, f64>,
        classes: usize,
        keras: f64,
    ) {
        check_value_f32(loss, y_pred, y_true, classes, keras, keras);
    }

    /// [`check_value`] where Keras's float32 value differs from its float64 one (saturation).
    fn check_value_f32(
        loss: Loss,
        y_pred: &[f64],
        y_true: Target<'_, f64>,
        classes: usize,
        keras: f64,
        keras32: f64,
    ) {
        let mut grad = [0.0; 16];
        let got = loss
            .loss_grad(y_pred, y_true, classes, &mut grad[..y_pred.len()])
            .unwrap();
        assert!(
            rel_close(got, keras, 1e-12),
            "{loss:?}: {got} vs Keras {keras}"
        );
        assert_eq!(loss.loss(y_pred, y_true, classes).unwrap(), got);

        let p32: [f32; 16] = core::array::from_fn(|i| y_pred.get(i).copied().unwrap_or(0.0) as f32);
        let t32: [f32; 16];
        let y32 = match y_true {
            Target::Dense(t) => {
                t32 = core::array::from_fn(|i| t.get(i).copied().unwrap_or(0.0) as f32);
                Target::Dense(&t32[..t.len()])
            }
            Target::Class(k) => Target::Class(k),
        };
        let got32 = loss.loss(&p32[..y_pred.len()], y32, classes).unwrap();
        assert!(
            rel_close(got32 as f64, keras32, 1e-5),
            "{loss:?} in f32: {got32} vs Keras {keras32}"
        );
    }

    /// Checks the analytic gradient of `f` against central differences, in f64.
    fn check_grad(y_pred: &[f64], f: impl Fn(&[f64], &mut [f64]) -> f64) {
        let n = y_pred.len();
        let mut grad = [0.0; 16];
        f(y_pred, &mut grad[..n]);
        let mut x = [0.0; 16];
        x[..n].copy_from_slice(y_pred);
        let mut scratch = [0.0; 16];
        for i in 0..n {
            let h = 1e-6 * y_pred[i].abs().max(1.0);
            x[i] = y_pred[i] + h;
            let up = f(&x[..n], &mut scratch[..n]);
            x[i] = y_pred[i] - h;
            let down = f(&x[..n], &mut scratch[..n]);
            x[i] = y_pred[i];
            let numeric = (up - down) / (2.0 * h);
            let err = (grad[i] - numeric).abs() / numeric.abs().max(grad[i].abs()).max(1e-8);
            assert!(
                err < 1e-6 || (grad[i] - numeric).abs() < 1e-10,
                "d/dy_pred[{i}]: analytic {}, finite difference {numeric}",
                grad[i]
            );
        }
    }

    fn check_loss_grad(loss: Loss, y_pred: &[f64], y_true: Target<'_, f64>, classes: usize) {
        check_grad(y_pred, |p, g| {
            loss.loss_grad(p, y_true, classes, g).unwrap()
        });
    }

    fn check_logits_grad(
        loss: Loss,
        last: Fused,
        z: &[f64],
        y_true: Target<'_, f64>,
        classes: usize,
    ) {
        check_grad(z, |z, g| {
            loss.loss_grad_from_logits(z, last, y_true, classes, g)
                .unwrap()
        });
    }

    // Expected values below come from Keras 3.15.1 (TensorFlow backend, floatx float64):
    // `keras.losses.<Class>(...)(np.array([y_true]), np.array([y_pred]))`, i.e. one sample in
    // a batch of one, which is exactly the per-sample value Keras averages over a batch.

    #[test]
    fn mean_squared_error_matches_keras() {
        let (p, t) = ([0.3, -1.2, 2.5], [0.0, -1.0, 3.0]);
        check_value(
            Loss::MeanSquaredError,
            &p,
            Target::Dense(&t),
            3,
            0.12666666666666668,
        );
        check_loss_grad(Loss::MeanSquaredError, &p, Target::Dense(&t), 3);
        // Two rows of two: mean over the last axis, then over the rows.
        let (p, t) = ([0.5, 0.25, 1.0, 0.0], [0.0, 1.0, 2.0, -1.0]);
        check_value(Loss::MeanSquaredError, &p, Target::Dense(&t), 2, 0.703125);
        check_loss_grad(Loss::MeanSquaredError, &p, Target::Dense(&t), 2);
    }

    #[test]
    fn mean_absolute_error_matches_keras() {
        let (p, t) = ([0.3, -1.2, 2.5], [0.0, -1.0, 3.0]);
        check_value(
            Loss::MeanAbsoluteError,
            &p,
            Target::Dense(&t),
            3,
            0.3333333333333333,
        );
        check_loss_grad(Loss::MeanAbsoluteError, &p, Target::Dense(&t), 3);
    }

    #[test]
    fn huber_matches_keras_on_both_sides_of_delta() {
        let (p, t) = ([0.3, -3.2, 2.5, 2.75], [0.0, -1.0, 3.0, 1.0]);
        check_value(Loss::huber(), &p, Target::Dense(&t), 4, 0.78);
        check_loss_grad(Loss::huber(), &p, Target::Dense(&t), 4);
        let half = Loss::Huber { delta: 0.5 };
        check_value(half, &p, Target::Dense(&t), 4, 0.47375);
        // Away from the kink at |e| = 0.5 that the third element sits on.
        check_loss_grad(half, &[0.3, -3.2, 2.7, 2.75], Target::Dense(&t), 4);
    }

    #[test]
    fn binary_crossentropy_matches_keras() {
        let (p, t) = ([0.2, 0.7, 0.4, 0.6], [0.0, 1.0, 1.0, 0.25]);
        check_value(
            Loss::BinaryCrossentropy,
            &p,
            Target::Dense(&t),
            4,
            0.5777584204935529,
        );
        check_loss_grad(Loss::BinaryCrossentropy, &p, Target::Dense(&t), 4);
    }

    #[test]
    fn binary_crossentropy_clips_saturated_probabilities_like_keras() {
        let (p, t) = ([0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]);
        // In float32, 1 - 1e-7 rounds to 1 - 2^-23, so saturation costs less (Keras: 8.0151195).
        check_value_f32(
            Loss::BinaryCrossentropy,
            &p,
            Target::Dense(&t),
            4,
            8.059047875610752,
            8.015119552612305,
        );
        let mut g = [1.0; 4];
        Loss::BinaryCrossentropy
            .loss_grad(&p, Target::Dense(&t), 4, &mut g)
            .unwrap();
        assert_eq!(g, [0.0; 4], "clipping is flat outside [1e-7, 1 - 1e-7]");
    }

    #[test]
    fn categorical_crossentropy_matches_keras() {
        // The row sums to 0.8: Keras normalises it first.
        let (p, t) = ([0.2, 0.5, 0.1], [0.0, 1.0, 0.0]);
        check_value(
            Loss::CategoricalCrossentropy,
            &p,
            Target::Dense(&t),
            3,
            0.4700036292457356,
        );
        check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
        let (p, t) = ([0.25, 0.6, 0.15], [0.1, 0.7, 0.2]);
        check_value(
            Loss::CategoricalCrossentropy,
            &p,
            Target::Dense(&t),
            3,
            0.8756313697253588,
        );
        check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
        let (p, t) = (
            [0.2, 0.7, 0.1, 0.3, 0.3, 0.4],
            [0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
        );
        check_value(
            Loss::CategoricalCrossentropy,
            &p,
            Target::Dense(&t),
            3,
            0.7803238741323341,
        );
        check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
        // A zero probability on the true class is clipped to 1e-7.
        let (p, t) = ([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]);
        check_value(
            Loss::CategoricalCrossentropy,
            &p,
            Target::Dense(&t),
            3,
            16.11809565095832,
        );
    }

    #[test]
    fn sparse_categorical_crossentropy_matches_keras() {
        let scce = Loss::SparseCategoricalCrossentropy;
        // The 0 is clipped to 1e-7 before the row is normalised: -ln(0.95 / (1 + 1e-7)).
        check_value(
            scce,
            &[0.05, 0.95, 0.0],
            Target::Class(1),
            3,
            0.05129339438754555,
        );
        check_value(
            scce,
            &[0.5, 0.5, 0.0],
            Target::Class(2),
            3,
            16.118095750958314,
        );
        check_value(
            scce,
            &[0.1, 0.8, 0.1],
            Target::Class(2),
            3,
            2.3025850929940455,
        );
        check_loss_grad(scce, &[0.1, 0.8, 0.1], Target::Class(2), 3);
        check_value(
            scce,
            &[0.2, 0.5, 0.1],
            Target::Class(0),
            3,
            1.3862943611198906,
        );
        check_loss_grad(scce, &[0.2, 0.5, 0.1], Target::Class(0), 3);
        // One label per row, given as floats like Keras's `y_true` array.
        let p = [0.2, 0.7, 0.1, 0.3, 0.3, 0.4];
        check_value(scce, &p, Target::Dense(&[1.0, 0.0]), 3, 0.7803238741323342);
        check_loss_grad(scce, &p, Target::Dense(&[1.0, 0.0]), 3);
    }

    #[test]
    fn softmax_crossentropy_from_logits_matches_keras() {
        let cce = Loss::CategoricalCrossentropy;
        let scce = Loss::SparseCategoricalCrossentropy;
        let sm = Fused::Softmax;
        let z = [2.0, -1.0, 0.5];
        let t = [0.0, 0.0, 1.0];
        let want = 1.7413112966571571;
        assert!(rel_close(
            cce.loss_from_logits(&z, sm, Target::Dense(&t), 3).unwrap(),
            want,
            1e-12
        ));
        assert!(rel_close(
            scce.loss_from_logits(&z, sm, Target::Class(2), 3).unwrap(),
            want,
            1e-12
        ));
        let z32 = [2.0f32, -1.0, 0.5];
        let got32 = scce
            .loss_from_logits(&z32, sm, Target::Class(2), 3)
            .unwrap();
        assert!(rel_close(got32 as f64, want, 1e-5));
        check_logits_grad(cce, sm, &z, Target::Dense(&t), 3);
        check_logits_grad(scce, sm, &z, Target::Class(2), 3);

        // Smoothed targets (not summing to 1) over two rows.
        let z = [0.3, -0.4, 1.1, 1.0, 2.0, 3.0];
        let t = [0.1, 0.7, 0.2, 0.0, 0.0, 1.0];
        let got = cce.loss_from_logits(&z, sm, Target::Dense(&t), 3).unwrap();
        assert!(rel_close(got, 1.025950518632506, 1e-12), "{got}");
        check_logits_grad(cce, sm, &z, Target::Dense(&t), 3);
        check_logits_grad(
            cce,
            sm,
            &z,
            Target::Dense(&[0.1, 0.7, 0.1, 0.0, 0.5, 1.0]),
            3,
        );
        check_logits_grad(scce, sm, &z, Target::Dense(&[1.0, 2.0]), 3);
    }

    #[test]
    fn softmax_crossentropy_survives_extreme_logits() {
        let sm = Fused::Softmax;
        let mut g = [0.0; 3];
        let got = Loss::CategoricalCrossentropy
            .loss_grad_from_logits(
                &[1000.0, 0.0, -1000.0],
                sm,
                Target::Dense(&[0.0, 0.0, 1.0]),
                3,
                &mut g,
            )
            .unwrap();
        assert_eq!(got, 2000.0); // Keras: 2000.0
        assert_eq!(g, [1.0, 0.0, -1.0]);
        let mut g32 = [0.0f32; 3];
        let got32 = Loss::SparseCategoricalCrossentropy
            .loss_grad_from_logits(
                &[-1000.0f32, 1000.0, 0.0],
                sm,
                Target::Class(0),
                3,
                &mut g32,
            )
            .unwrap();
        assert_eq!(got32, 2000.0); // Keras: 2000.0
        assert_eq!(g32, [-1.0, 1.0, 0.0]);
    }

    #[test]
    fn sigmoid_crossentropy_from_logits_matches_keras() {
        let bce = Loss::BinaryCrossentropy;
        let sg = Fused::Sigmoid;
        let z = [-1.5, 0.8, 2.0, 0.1];
        let t = [0.0, 1.0, 1.0, 0.25];
        let got = bce.loss_from_logits(&z, sg, Target::Dense(&t), 4).unwrap();
        assert!(rel_close(got, 0.3547096537617684, 1e-12), "{got}");
        check_logits_grad(bce, sg, &z, Target::Dense(&t), 4);
        check_logits_grad(bce, sg, &z, Target::Dense(&t), 2);

        let mut g = [0.0f32; 3];
        let got = bce
            .loss_grad_from_logits(
                &[1000.0f32, -1000.0, 0.3],
                sg,
                Target::Dense(&[0.0, 0.0, 1.0]),
                3,
                &mut g,
            )
            .unwrap();
        assert!(rel_close(got as f64, 333.5181184148228, 1e-6), "{got}");
        assert!(g.iter().all(|v| v.is_finite()));
        assert!(rel_close(g[0] as f64, 1.0 / 3.0, 1e-6));
    }

    #[test]
    fn bad_shapes_and_labels_are_errors_not_panics() {
        let mut g = [0.0; 3];
        let p = [0.2, 0.5, 0.3];
        let mse = Loss::MeanSquaredError;
        let scce = Loss::SparseCategoricalCrossentropy;
        assert_eq!(
            mse.loss(&p, Target::Dense(&[1.0, 2.0]), 3),
            Err(LossError::TargetLen {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            mse.loss(&p, Target::Dense(&p), 2),
            Err(LossError::Classes { len: 3, classes: 2 })
        );
        assert_eq!(
            mse.loss(&p, Target::Dense(&p), 0),
            Err(LossError::Classes { len: 3, classes: 0 })
        );
        assert_eq!(
            mse.loss::<f64>(&[], Target::Dense(&[]), 1),
            Err(LossError::Classes { len: 0, classes: 1 })
        );
        assert_eq!(
            mse.loss_grad(&p, Target::Dense(&p), 3, &mut g[..2]),
            Err(LossError::GradLen {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            Loss::CategoricalCrossentropy.loss(&p, Target::Class(1), 3),
            Err(LossError::ClassTarget {
                loss: "categorical_crossentropy"
            })
        );
        assert_eq!(
            scce.loss(&p, Target::Class(3), 3),
            Err(LossError::Label { row: 0, classes: 3 })
        );
        assert_eq!(
            scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Class(1), 2),
            Err(LossError::Label { row: 0, classes: 2 })
        );
        assert_eq!(
            scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[1.0, 0.5]), 2),
            Err(LossError::Label { row: 1, classes: 2 })
        );
        assert_eq!(
            scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[1.0, f64::NAN]), 2),
            Err(LossError::Label { row: 1, classes: 2 })
        );
        assert_eq!(
            scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[-1.0, 0.0]), 2),
            Err(LossError::Label { row: 0, classes: 2 })
        );
        assert_eq!(
            mse.loss_from_logits(&p, Fused::Softmax, Target::Dense(&p), 3),
            Err(LossError::NotFused {
                loss: "mean_squared_error",
                activation: "softmax"
            })
        );
        assert_eq!(
            Loss::BinaryCrossentropy.loss_from_logits(&p, Fused::Softmax, Target::Dense(&p), 3),
            Err(LossError::NotFused {
                loss: "binary_crossentropy",
                activation: "softmax"
            })
        );
        assert_eq!(
            Loss::CategoricalCrossentropy.loss_from_logits(
                &p,
                Fused::Sigmoid,
                Target::Dense(&p),
                3
            ),
            Err(LossError::NotFused {
                loss: "categorical_crossentropy",
                activation: "sigmoid"
            })
        );
    }

    #[test]
    fn names_round_trip_and_accept_keras_aliases() {
        let all = [
            Loss::MeanSquaredError,
            Loss::MeanAbsoluteError,
            Loss::BinaryCrossentropy,
            Loss::CategoricalCrossentropy,
            Loss::SparseCategoricalCrossentropy,
            Loss::huber(),
        ];
        for loss in all {
            assert_eq!(Loss::from_name(loss.name()), Some(loss));
        }
        assert_eq!(Loss::from_name("mse"), Some(Loss::MeanSquaredError));
        assert_eq!(Loss::from_name("MAE"), Some(Loss::MeanAbsoluteError));
        assert_eq!(Loss::from_name("bce"), Some(Loss::BinaryCrossentropy));
        assert_eq!(Loss::from_name("huber"), Some(Loss::Huber { delta: 1.0 }));
        assert_eq!(
            Loss::from_name("SparseCategoricalCrossentropy"),
            Some(Loss::SparseCategoricalCrossentropy)
        );
        assert_eq!(Loss::from_name("cce"), None);
    }
}
