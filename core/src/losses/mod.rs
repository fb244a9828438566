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

mod crossentropy;
mod elementwise;
mod targets;
#[cfg(test)]
mod tests;

use crate::scalar::Scalar;
use core::fmt;
use crossentropy::{
    crossentropy_from_probabilities, softmax_crossentropy, sparse_crossentropy_from_probabilities,
};
use elementwise::{elementwise, sigmoid, sign};
pub(crate) use targets::label_of;
use targets::{check_labels, check_shape, dense, one_hot};

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
