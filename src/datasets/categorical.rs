//! One-hot encoding of class labels, Keras's `keras.utils.to_categorical`.

extern crate std;

use std::vec::Vec;

use kiln_core::Error;

use super::idx::check_labels;

/// One-hot encodes `labels` over `N` classes: label `k` becomes `[0.0, .., 1.0 (at k), .., 0.0]`.
///
/// Keras's `to_categorical(y, num_classes=N)`; the class count is the output type's length, so
/// it matches a model's `[f32; N]` output by construction.
///
/// ```
/// let y: Vec<[f32; 3]> = kiln::datasets::to_categorical(&[2, 0])?;
/// assert_eq!(y, [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// assert!(kiln::datasets::to_categorical::<3>(&[3]).is_err());
/// # Ok::<(), kiln::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidLabel`] naming the first label that is not below `N`, and its index.
pub fn to_categorical<const N: usize>(labels: &[u8]) -> Result<Vec<[f32; N]>, Error> {
    check_labels(labels, N, "to_categorical")?;
    Ok(labels
        .iter()
        .map(|&l| {
            let mut one_hot = [0.0; N];
            one_hot[l as usize] = 1.0;
            one_hot
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn every_row_has_a_single_one_at_its_label() {
        let y = to_categorical::<10>(&[5, 0, 4, 1, 9]).unwrap();
        for (row, label) in y.iter().zip([5, 0, 4, 1, 9]) {
            for (k, v) in row.iter().enumerate() {
                assert_eq!(*v, if k == label { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn a_label_past_the_classes_is_named() {
        let e = to_categorical::<10>(&[1, 2, 10]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "to_categorical: label 10 at index 2 is out of range: labels must be below 10, the \
             number of classes"
        );
    }
}
