//! Keras's `Embedding(input_dim, output_dim)`: each token id of a sequence replaced by its row
//! of the `embeddings` table.
//!
//! The ids arrive in the model's element type, as Keras's layer takes them (it casts any input
//! to `int32`, truncating toward zero); an `f32` holds every id up to 2^24 exactly. An id outside `[0, input_dim)` (or NaN) is clamped to the
//! nearest row, never read out of bounds: Keras on a CPU raises an error there instead, so a
//! model that sees such ids is already wrong; kiln keeps `forward` infallible and documents the
//! clamp.

use crate::init::{uniform01, Rng};
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A table of `V` rows of `D` values, one per token id.
///
/// # Shapes
/// - input: `[S]` token ids
/// - output: `[S][D]`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Embedding<T, const V: usize, const D: usize> {
    /// `embeddings[id][d]`, Keras shape `[V, D]`.
    pub embeddings: [[T; D]; V],
}

// SAFETY: a `repr(C)` array of a `Pod` scalar; all zeros is a valid value.
unsafe impl<T: Scalar, const V: usize, const D: usize> bytemuck::Zeroable for Embedding<T, V, D> {}

impl<T: Scalar, const V: usize, const D: usize> Embedding<T, V, D> {
    /// The number of parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = V * D;

    /// The row of token `id`: truncated toward zero as Keras's cast, then clamped to
    /// `[0, V)` (NaN to 0).
    #[inline]
    pub fn row(id: T) -> usize {
        let id = id.to_f64().unwrap_or(0.0);
        if id >= V as f64 {
            V - 1
        } else if id >= 1.0 {
            id as usize
        } else {
            0
        }
    }

    /// `y[s] = embeddings[row(x[s])]`.
    pub fn forward<const S: usize>(&self, x: &[T; S], y: &mut [[T; D]; S]) {
        for (&id, out) in x.iter().zip(y.iter_mut()) {
            *out = self.embeddings[Self::row(id)];
        }
    }

    /// Adds each step's `dy` to the gradient of the row it read; the ids themselves have no
    /// gradient.
    pub fn backward_params<const S: usize>(x: &[T; S], dy: &[[T; D]; S], grad: &mut Self) {
        for (&id, d) in x.iter().zip(dy) {
            let g = &mut grad.embeddings[Self::row(id)];
            g.iter_mut().zip(d).for_each(|(g, &d)| *g = *g + d);
        }
    }

    /// [`Embedding::backward_params`], and `dx = 0`: a token id has no gradient (Keras gives
    /// none).
    pub fn backward<const S: usize>(
        x: &[T; S],
        dy: &[[T; D]; S],
        dx: &mut [T; S],
        grad: &mut Self,
    ) {
        Self::backward_params(x, dy, grad);
        dx.fill(T::zero());
    }
}

impl<T: Scalar, const V: usize, const D: usize> Params<T> for Embedding<T, V, D> {
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        f(Param {
            name: &Name::child(prefix, "embeddings"),
            shape: &[V, D],
            data: flat(&self.embeddings),
        });
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: &Name::child(prefix, "embeddings"),
            shape: &[V, D],
            data: flat_mut(&mut self.embeddings),
        });
    }

    /// Keras's initializer: `uniform` in `[-0.05, 0.05)`.
    fn init_params(&mut self, rng: &mut Rng) {
        for v in flat_mut::<T, _>(&mut self.embeddings) {
            *v = T::of((uniform01(rng) * 2.0 - 1.0) * 0.05);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Embedding<f64, 3, 2> {
        Embedding {
            embeddings: [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        }
    }

    #[test]
    fn looks_up_truncated_ids_and_clamps_the_rest() {
        let mut y = [[0.0; 2]; 7];
        table().forward(&[0.0, 2.0, 1.9, -0.5, 7.0, -3.0, f64::NAN], &mut y);
        assert_eq!(
            y,
            [
                [1.0, 2.0],
                [5.0, 6.0],
                [3.0, 4.0],
                [1.0, 2.0],
                [5.0, 6.0],
                [1.0, 2.0],
                [1.0, 2.0]
            ]
        );
    }

    #[test]
    fn backward_adds_each_step_to_its_row() {
        let mut grad = Embedding::<f64, 3, 2> {
            embeddings: [[0.0; 2]; 3],
        };
        let mut dx = [9.0; 3];
        Embedding::backward(
            &[2.0, 0.0, 2.0],
            &[[1.0, 1.0], [0.5, -1.0], [2.0, 3.0]],
            &mut dx,
            &mut grad,
        );
        assert_eq!(grad.embeddings, [[0.5, -1.0], [0.0, 0.0], [3.0, 4.0]]);
        assert_eq!(dx, [0.0; 3]);
    }

    #[test]
    fn init_is_uniform_within_five_hundredths() {
        let mut t = Embedding::<f64, 50, 20> {
            embeddings: [[0.0; 20]; 50],
        };
        t.init_params(&mut crate::init::rng(3));
        let all = flat::<f64, _>(&t.embeddings);
        assert!(all.iter().all(|v| v.abs() <= 0.05));
        assert!(all.iter().any(|v| v.abs() > 0.045));
    }
}
