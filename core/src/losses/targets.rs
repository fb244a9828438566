//! Reading a sample's targets: shape checks, dense or sparse labels, and one-hot lookups.

use super::{Loss, LossError, Target};
use crate::scalar::Scalar;

/// Checks that `len` is a whole, non-zero number of rows of `classes` and that the gradient
/// buffer (if any) matches; returns the number of rows.
pub(super) fn check_shape<T>(
    len: usize,
    classes: usize,
    grad: Option<&[T]>,
) -> Result<usize, LossError> {
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
pub(super) fn dense<'a, T>(
    loss: &Loss,
    y_true: Target<'a, T>,
    len: usize,
) -> Result<&'a [T], LossError> {
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
pub(super) fn check_labels<T: Scalar>(
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
pub(super) fn one_hot<T: Scalar>(y_true: Target<'_, T>, row: usize, c: usize) -> T {
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
