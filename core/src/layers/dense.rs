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
        T::dense_forward(&self.kernel, BIAS.then_some(&self.bias), x, y);
    }

    /// The gradients of [`Dense::forward`], given the rows `x` it read and `dy = ∂L/∂y` for the
    /// rows it wrote: adds `xᵀ·dy` to `grad.kernel` and the sum of the rows of `dy` to
    /// `grad.bias` (only when `BIAS`), and overwrites `dx` with `dy·kernelᵀ`.
    ///
    /// Gradients accumulate, so that a batch can be fed sample by sample into one `grad`; start
    /// it at zero. `x`, `dy` and `dx` are zipped: each holds the same number of rows.
    pub fn backward(&self, x: &[[T; I]], dy: &[[T; O]], dx: &mut [[T; I]], grad: &mut Self) {
        // `dx` first, while the kernel rows the forward pass read last may still be in cache.
        T::dense_backward_input(&self.kernel, dy, dx);
        Self::backward_params(x, dy, grad);
    }

    /// [`Dense::backward`] without `dx`, for a model's first layer, whose input needs no
    /// gradient: adds `xᵀ·dy` to `grad.kernel` and the row sums of `dy` to `grad.bias`.
    ///
    /// A zero input (most MNIST pixels, every inactive ReLU) adds nothing and is skipped, which
    /// also skips `0 · inf = NaN` from a diverged `dy`; the bias and the other rows still
    /// receive it.
    pub fn backward_params(x: &[[T; I]], dy: &[[T; O]], grad: &mut Self) {
        let bias = BIAS.then_some(&mut grad.bias);
        T::dense_backward_params(x, dy, &mut grad.kernel, bias);
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
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::Rows;
    use bytemuck::Zeroable as _;
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

    #[test]
    fn backward_by_hand() {
        // kernel [[1, 2], [3, 4], [5, 6]]; x rows [1, 0, -1] and [2, 1, 0]; dy rows [1, -1] and
        // [0.5, 2].
        // grad.kernel[i][o] = Σ_r x[r][i] · dy[r][o]:
        //   i = 0 (x 1, 2):  [1·1 + 2·0.5, 1·-1 + 2·2] = [2, 3]
        //   i = 1 (x 0, 1):  [0.5, 2]
        //   i = 2 (x -1, 0): [-1, 1]
        // grad.bias = dy[0] + dy[1] = [1.5, 1]
        // dx[r][i] = Σ_o dy[r][o] · kernel[i][o]:
        //   r = 0: [1 - 2, 3 - 4, 5 - 6] = [-1, -1, -1]
        //   r = 1: [0.5 + 4, 1.5 + 8, 2.5 + 12] = [4.5, 9.5, 14.5]
        let x = [[1.0f32, 0.0, -1.0], [2.0, 1.0, 0.0]];
        let dy = [[1.0f32, -1.0], [0.5, 2.0]];
        let mut dx = [[f32::NAN; 3]; 2];
        let mut grad = Dense::zeroed();
        layer::<f32, true>().backward(&x, &dy, &mut dx, &mut grad);
        assert_eq!(grad.kernel, [[2.0, 3.0], [0.5, 2.0], [-1.0, 1.0]]);
        assert_eq!(grad.bias, [1.5, 1.0]);
        assert_eq!(dx, [[-1.0, -1.0, -1.0], [4.5, 9.5, 14.5]]);

        // Without a bias the kernel and dx are the same and grad.bias is left alone.
        let mut grad = Dense::zeroed();
        grad.bias = [7.0, 8.0];
        layer::<f32, false>().backward(&x, &dy, &mut dx, &mut grad);
        assert_eq!(grad.kernel, [[2.0, 3.0], [0.5, 2.0], [-1.0, 1.0]]);
        assert_eq!(grad.bias, [7.0, 8.0]);
        assert_eq!(dx, [[-1.0, -1.0, -1.0], [4.5, 9.5, 14.5]]);
    }

    /// Checks every gradient of a random `Dense<I, O>` on `R` rows against finite differences.
    fn check_gradients<const I: usize, const O: usize, const R: usize, const BIAS: bool>(
        seed: u64,
    ) {
        let mut l = Dense::<f64, I, O, BIAS>::zeroed();
        random(seed, flat_mut(&mut l.kernel));
        random(seed + 1, &mut l.bias);
        let mut x = [[0.0f64; I]; R];
        random(seed + 2, flat_mut(&mut x));
        let mut c = [[0.0f64; O]; R];
        random(seed + 3, flat_mut(&mut c));
        x[R - 1][0] = 0.0; // takes the path that skips zero inputs
        let output = |l: &Dense<f64, I, O, BIAS>, x: &[[f64; I]; R]| {
            let mut y = [[0.0f64; O]; R];
            l.forward(x, &mut y);
            y
        };

        let mut grad = Dense::zeroed();
        let mut dx = [[f64::NAN; I]; R];
        l.backward(&x, &c, &mut dx, &mut grad);
        // The output is linear in each value alone, so a large step only reduces rounding.
        let (c, h) = (flat(&c), 1e-3);
        assert_gradient("kernel", flat(&l.kernel), flat(&grad.kernel), c, h, |k| {
            let mut l = l;
            flat_mut(&mut l.kernel).copy_from_slice(k);
            output(&l, &x)
        });
        if BIAS {
            assert_gradient("bias", &l.bias, &grad.bias, c, h, |b| {
                let mut l = l;
                l.bias.copy_from_slice(b);
                output(&l, &x)
            });
        } else {
            assert_eq!(grad.bias, [0.0; O]);
        }
        assert_gradient("x", flat(&x), flat(&dx), c, h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            output(&l, &x)
        });
    }

    #[test]
    fn gradients_match_finite_differences_over_several_rows() {
        check_gradients::<5, 3, 4, true>(1);
        check_gradients::<7, 10, 1, true>(2);
    }

    #[test]
    fn gradients_without_bias_match_finite_differences() {
        check_gradients::<4, 6, 3, false>(3);
        check_gradients::<1, 1, 2, false>(4);
    }

    #[test]
    fn gradients_accumulate_and_dx_is_overwritten() {
        let l = layer::<f64, true>();
        let x = [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]];
        let dy = [[1.0, -1.0], [0.5, 2.0]];
        let mut once = Dense::zeroed();
        let mut dx = [[f64::NAN; 3]; 2];
        l.backward(&x, &dy, &mut dx, &mut once);
        let first_dx = dx;
        let mut twice = once;
        l.backward(&x, &dy, &mut dx, &mut twice);
        assert_eq!(dx, first_dx);
        assert_eq!(twice.kernel, once.kernel.map(|r| r.map(|v| 2.0 * v)));
        assert_eq!(twice.bias, once.bias.map(|v| 2.0 * v));
    }

    #[test]
    fn backward_params_adds_what_backward_adds() {
        let mut l = Dense::<f64, 6, 4, true>::zeroed();
        l.init_params(&mut rng(8));
        let mut x = [[0.0f64; 6]; 3];
        random(9, flat_mut(&mut x));
        x[1][2] = 0.0; // a skipped zero input
        let mut dy = [[0.0f64; 4]; 3];
        random(10, flat_mut(&mut dy));
        let (mut a, mut b) = (Dense::zeroed(), Dense::zeroed());
        a.bias = [1.0; 4];
        b.bias = [1.0; 4];
        l.backward(&x, &dy, &mut [[0.0; 6]; 3], &mut a);
        Dense::<f64, 6, 4, true>::backward_params(&x, &dy, &mut b);
        assert_eq!(a.kernel, b.kernel);
        assert_eq!(a.bias, b.bias);
    }

    #[test]
    fn backward_acts_on_the_last_axis_of_a_higher_rank_tensor() {
        // The same two rows as `backward_by_hand`, as a [1][2][3] tensor.
        let x = [[[1.0f32, 0.0, -1.0], [2.0, 1.0, 0.0]]];
        let dy = [[[1.0f32, -1.0], [0.5, 2.0]]];
        let mut dx = [[[0.0f32; 3]; 2]; 1];
        let mut grad = Dense::zeroed();
        layer::<f32, true>().backward(x.rows(), dy.rows(), dx.rows_mut(), &mut grad);
        assert_eq!(grad.kernel, [[2.0, 3.0], [0.5, 2.0], [-1.0, 1.0]]);
        assert_eq!(dx, [[[-1.0, -1.0, -1.0], [4.5, 9.5, 14.5]]]);
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
