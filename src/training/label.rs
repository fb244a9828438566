//! What `fit` accepts as targets: arrays shaped like the model's output (one-hot or real
//! values), or integer class labels for `sparse_categorical_crossentropy`; for a model with
//! several outputs, a tuple of one target per output, in the order they are declared (up to
//! 8 outputs), or the model's own `{Name}Output` struct of arrays (any number).

use kiln_core::losses::Target;
use kiln_core::Scalar;

/// A training target for a model whose output is `O` with elements `T`.
pub trait Label<T: Scalar, O>: Sync {
    /// The target as losses and metrics take it.
    fn target(&self) -> Target<'_, T>;
    /// The class this target stands for (an integer label, or the argmax of a one-hot
    /// vector), used by `class_weight`; `None` for multi-row targets.
    fn class(&self) -> Option<usize>;
    /// How many outputs this target covers: 1, or a tuple's length.
    fn parts(&self) -> usize {
        1
    }
    /// Output `k`'s target, `None` past [`Label::parts`].
    fn part(&self, k: usize) -> Option<Target<'_, T>> {
        (k == 0).then(|| self.target())
    }
}

/// One output's target inside a tuple of targets (a model with several outputs): an array
/// shaped like that output, or an integer class label.
pub trait Part<T: Scalar>: Sync {
    /// The target as losses and metrics take it.
    fn target(&self) -> Target<'_, T>;
}

impl<T: Scalar, const N: usize> Part<T> for [T; N] {
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self)
    }
}

impl<T: Scalar, const N: usize, const M: usize> Part<T> for [[T; N]; M] {
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self.as_flattened())
    }
}

impl<T: Scalar, const N: usize, const M: usize, const K: usize> Part<T> for [[[T; N]; M]; K] {
    fn target(&self) -> Target<'_, T> {
        Target::Dense(self.as_flattened().as_flattened())
    }
}

macro_rules! tuple_label {
    ($n:literal: $($p:ident $i:tt),*) => {
        /// The targets of a model with several outputs, one per output in declaration order.
        impl<T: Scalar, O, $($p: Part<T>),*> Label<T, O> for ($($p,)*) {
            fn target(&self) -> Target<'_, T> {
                self.0.target()
            }
            fn class(&self) -> Option<usize> {
                None
            }
            fn parts(&self) -> usize {
                $n
            }
            fn part(&self, k: usize) -> Option<Target<'_, T>> {
                match k {
                    $($i => Some(self.$i.target()),)*
                    _ => None,
                }
            }
        }
    };
}
tuple_label!(2: A 0, B 1);
tuple_label!(3: A 0, B 1, C 2);
tuple_label!(4: A 0, B 1, C 2, D 3);
tuple_label!(5: A 0, B 1, C 2, D 3, E 4);
tuple_label!(6: A 0, B 1, C 2, D 3, E 4, F 5);
tuple_label!(7: A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_label!(8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

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
        impl<T: Scalar> Part<T> for $int {
            fn target(&self) -> Target<'_, T> {
                Target::Class(*self as usize)
            }
        }

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
