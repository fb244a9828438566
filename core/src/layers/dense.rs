//! Keras's `Dense`: a matrix product over the last axis, plus a bias.

use crate::init::{glorot_uniform, Rng};
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;
use crate::tensor::{flat, flat_mut};

/// A fully connected layer from `I` to `O` features, applied to every row of the last axis as
/// Keras does; without a bias when `BIAS` is false (`use_bias=False`).
///
/// The kernel is `[in][out]`, Keras's layout, so weight files load without transposing. When
/// `BIAS` is false the `bias` field is kept (so the layout is the same) but never read.
///
/// # Shapes
/// - input: `[rows][I]` (any tensor seen as rows of its last axis)
/// - output: `[rows][O]`, the same number of rows
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Dense<T, const I: usize, const O: usize, const BIAS: bool> {
    /// `kernel[i][o]`, Keras shape `[I, O]`.
    pub kernel: [[T; O]; I],
    /// `bias[o]`, Keras shape `[O]`; unused when `BIAS` is false.
    pub bias: [T; O],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> bytemuck::Zeroable
    for Dense<T, I, O, BIAS>
{
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Dense<T, I, O, BIAS> {
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = I * O + if BIAS { O } else { 0 };

    /// `y[r][o] = bias[o] + Σ_i x[r][i] · kernel[i][o]` for every row `r`, the bias only when
    /// `BIAS`. `x` and `y` are zipped: each holds the same number of rows.
    pub fn forward(&self, x: &[[T; I]], y: &mut [[T; O]]) {
        for (x, y) in x.iter().zip(y.iter_mut()) {
            if BIAS {
                y.copy_from_slice(&self.bias);
            } else {
                y.fill(T::zero());
            }
            // Row by row of the kernel, so the inner loop runs over contiguous outputs.
            for (&xi, k) in x.iter().zip(&self.kernel) {
                for (yo, &ko) in y.iter_mut().zip(k) {
                    *yo = *yo + xi * ko;
                }
            }
        }
    }
}

impl<T: Scalar, const I: usize, const O: usize, const BIAS: bool> Params<T>
    for Dense<T, I, O, BIAS>
{
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        let shape = [I, O];
        f(Param {
            name: &Name::child(prefix, "kernel"),
            shape: &shape,
            data: flat(&self.kernel),
        });
        if BIAS {
            f(Param {
                name: &Name::child(prefix, "bias"),
                shape: &[O],
                data: &self.bias,
            });
        }
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        let shape = [I, O];
        f(ParamMut {
            name: &Name::child(prefix, "kernel"),
            shape: &shape,
            data: flat_mut(&mut self.kernel),
        });
        if BIAS {
            f(ParamMut {
                name: &Name::child(prefix, "bias"),
                shape: &[O],
                data: &mut self.bias,
            });
        }
    }

    fn init_params(&mut self, rng: &mut Rng) {
        glorot_uniform(rng, I, O, flat_mut::<T, _>(&mut self.kernel));
        self.bias.fill(T::zero());
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::init::rng;
    use crate::tensor::Rows;
    use std::string::{String, ToString};
    use std::vec::Vec;

    // kernel[i][o] = [[1, 2], [3, 4], [5, 6]], bias [0.5, -1].
    fn layer<T: Scalar, const BIAS: bool>() -> Dense<T, 3, 2, BIAS> {
        let k = |v: f64| T::of(v);
        Dense {
            kernel: [[k(1.0), k(2.0)], [k(3.0), k(4.0)], [k(5.0), k(6.0)]],
            bias: [k(0.5), k(-1.0)],
        }
    }

    fn visited<L: Params<f32>>(l: &L) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut seen = Vec::new();
        let root = Name::root("dense");
        l.visit_params(Some(&root), &mut |p| {
            seen.push((p.name.to_string(), p.shape.to_vec(), p.data.to_vec()))
        });
        seen
    }

    #[test]
    fn forward_multiplies_every_row_and_adds_the_bias() {
        // [1, 0, -1]: [1 - 5 + 0.5, 2 - 6 - 1] = [-3.5, -5]
        // [2, 1, 0]:  [2 + 3 + 0.5, 4 + 4 - 1] = [5.5, 7]
        // [0, 0, 0]:  the bias
        let x = [[1.0f32, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
        let mut y = [[9.0f32; 2]; 3];
        layer::<f32, true>().forward(&x, &mut y);
        assert_eq!(y, [[-3.5, -5.0], [5.5, 7.0], [0.5, -1.0]]);
    }

    #[test]
    fn forward_without_bias_ignores_the_bias_field() {
        // As above without [0.5, -1]: [-4, -4], [5, 8].
        let x = [[1.0f64, 0.0, -1.0], [2.0, 1.0, 0.0]];
        let mut y = [[9.0f64; 2]; 2];
        layer::<f64, false>().forward(&x, &mut y);
        assert_eq!(y, [[-4.0, -4.0], [5.0, 8.0]]);
    }

    #[test]
    fn forward_acts_on_the_last_axis_of_a_higher_rank_tensor() {
        // [2][2][3] input -> [2][2][2] output, each row of 3 as above.
        let x = [
            [[1.0f32, 0.0, -1.0], [2.0, 1.0, 0.0]],
            [[0.0, 1.0, 0.0], [0.0, 0.0, 0.5]],
        ];
        let mut y = [[[0.0f32; 2]; 2]; 2];
        layer::<f32, true>().forward(x.rows(), y.rows_mut());
        // [0, 1, 0]: [3.5, 3]; [0, 0, 0.5]: [2.5 + 0.5, 3 - 1] = [3, 2].
        assert_eq!(y, [[[-3.5, -5.0], [5.5, 7.0]], [[3.5, 3.0], [3.0, 2.0]]]);
    }

    #[test]
    fn params_are_kernel_then_bias_in_keras_shapes() {
        assert_eq!(Dense::<f32, 3, 2, true>::PARAMS, 8);
        assert_eq!(Dense::<f32, 3, 2, false>::PARAMS, 6);
        assert_eq!(Dense::<f64, 9216, 128, true>::PARAMS, 1_179_776);
        let kernel = (
            "dense/kernel".into(),
            [3, 2].to_vec(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].to_vec(),
        );
        let bias = ("dense/bias".into(), [2].to_vec(), [0.5, -1.0].to_vec());
        assert_eq!(visited(&layer::<f32, true>()), [kernel.clone(), bias]);
        assert_eq!(visited(&layer::<f32, false>()), [kernel]);
    }

    #[test]
    fn params_mut_visits_in_the_same_order_and_writes_through() {
        let mut l = layer::<f32, true>();
        let mut names = Vec::new();
        let mut next = 0.0;
        l.visit_params_mut(None, &mut |p| {
            names.push(p.name.to_string());
            for v in p.data.iter_mut() {
                next += 1.0;
                *v = next;
            }
        });
        assert_eq!(names, ["kernel", "bias"]);
        assert_eq!(l.kernel, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        assert_eq!(l.bias, [7.0, 8.0]);
    }

    #[test]
    fn init_draws_glorot_uniform_kernel_and_zero_bias_reproducibly() {
        let mut a = layer::<f32, true>();
        let mut b = layer::<f32, true>();
        a.init_params(&mut rng(11));
        b.init_params(&mut rng(11));
        assert_eq!(flat::<f32, _>(&a.kernel), flat::<f32, _>(&b.kernel));
        assert_eq!(a.bias, [0.0, 0.0]);
        // The kernel is exactly the first six draws, limit sqrt(6 / (3 + 2)).
        let mut draws = [0.0f32; 6];
        glorot_uniform(&mut rng(11), 3, 2, &mut draws);
        assert_eq!(flat::<f32, _>(&a.kernel), draws);
        let limit = (6.0f32 / 5.0).sqrt();
        assert!(draws.iter().all(|v| v.abs() < limit));
        b.init_params(&mut rng(12));
        assert_ne!(a.kernel, b.kernel);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn a_large_layer_is_built_and_initialised_in_place_on_the_heap() {
        // 9216 x 128 f32 is 4.7 MB: too big for a test thread's stack.
        let mut l: alloc::boxed::Box<Dense<f32, 9216, 128, true>> = bytemuck::zeroed_box();
        l.init_params(&mut rng(1));
        let limit = (6.0f32 / (9216.0 + 128.0)).sqrt();
        assert!(flat::<f32, _>(&l.kernel).iter().all(|v| v.abs() < limit));
        let x = [[1.0f32; 9216]; 1];
        let mut y = [[0.0f32; 128]; 1];
        l.forward(&x, &mut y);
        // Each output is the sum of one kernel column.
        let col0: f32 = l.kernel.iter().map(|k| k[0]).sum();
        assert!((y[0][0] - col0).abs() < 1e-4);
    }
}
