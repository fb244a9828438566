//! What `fit` accepts as targets: arrays shaped like the model's output (one-hot or real
//! values), or integer class labels for `sparse_categorical_crossentropy`.

use kiln_core::losses::Target;
use kiln_core::Scalar;

/// A training target for a model whose output is `O` with elements `T`.
pub trait Label<T: Scalar, O>: Sync {
    /// The target as losses and metrics take it.
    fn target(&self) -> Target<'_, T>;
    /// The class this target stands for (an integer label, or the argmax of a one-hot
    /// vector), used by `class_weight`; `None` for multi-row targets.
    fn class(&self) -> Option<usize>;
}

impl<T: Scalar, const N: usize> Label<T, [T; N]> for [T; N] {
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self)
    }
    fn class(&self) -> Option<usize> {
        (0..N).reduce(|best, i| if self[i] > self[best] { i } else { best })
    }
}

impl<T: Scalar, const N: usize, const M: usize> Label<T, [[T; N]; M]> for [[T; N]; M] {
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self.as_flattened())
    }
    fn class(&self) -> Option<usize> {
        None
    }
}

impl<T: Scalar, const N: usize, const M: usize, const K: usize> Label<T, [[[T; N]; M]; K]>
    for [[[T; N]; M]; K]
{
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self.as_flattened().as_flattened())
    }
    fn class(&self) -> Option<usize> {
        None
    }
}

macro_rules! int_label {
    ($($int:ty),*) => {$(
        impl<T: Scalar, O> Label<T, O> for $int {
            fn target(&self) -> Target<'_, T> {
                Target::Class(*self as usize)
            }
            fn class(&self) -> Option<usize> {
                Some(*self as usize)
            }
        }
    )*};
}
int_label!(u8, u16, u32, u64, usize);
