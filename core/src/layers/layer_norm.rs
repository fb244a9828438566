//! Keras's `LayerNormalization` over the last axis: each row of `C` features shifted to mean 0
//! and scaled to variance 1, then by the learned `gamma` and `beta`.

use crate::init::Rng;
use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;

/// Layer normalization of rows of `C` features, with `gamma` (scale) and `beta` (offset).
///
/// The epsilon added to the variance is an argument of each method rather than a field, so the
/// struct stays nothing but trainable parameters (the optimizers update it as one slice);
/// the macro passes the layer's literal (Keras's default `1e-3`).
///
/// # Shapes
/// - input and output: rows of `[C]` (any leading axes)
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LayerNormalization<T, const C: usize> {
    /// `gamma[c]`, Keras shape `[C]`; starts at one.
    pub gamma: [T; C],
    /// `beta[c]`, Keras shape `[C]`; starts at zero.
    pub beta: [T; C],
}

// SAFETY: `repr(C)` arrays of a `Pod` scalar, with no padding between them; all zeros is a
// valid value.
unsafe impl<T: Scalar, const C: usize> bytemuck::Zeroable for LayerNormalization<T, C> {}

/// A row's mean and `1 / sqrt(variance + eps)` (the population variance, as Keras's
/// `ops.moments`).
#[inline]
fn moments<T: Scalar, const C: usize>(row: &[T; C], eps: T) -> (T, T) {
    let n = T::of(C as f64);
    let mean = row.iter().fold(T::zero(), |s, &v| s + v) / n;
    let var = row
        .iter()
        .fold(T::zero(), |s, &v| s + (v - mean) * (v - mean))
        / n;
    (mean, T::one() / (var + eps).sqrt())
}

impl<T: Scalar, const C: usize> LayerNormalization<T, C> {
    /// The number of trainable parameters, as Keras's `count_params()` reports it.
    pub const PARAMS: usize = 2 * C;

    /// `y = gamma · (x − mean) / sqrt(var + eps) + beta`, row by row.
    pub fn forward(&self, eps: T, x: &[[T; C]], y: &mut [[T; C]]) {
        assert_eq!(x.len(), y.len(), "LayerNormalization: rows in and out");
        for (xr, yr) in x.iter().zip(y.iter_mut()) {
            let (mean, r) = moments(xr, eps);
            for c in 0..C {
                yr[c] = (xr[c] - mean) * r * self.gamma[c] + self.beta[c];
            }
        }
    }

    /// The gradients of [`LayerNormalization::forward`], given its input `x` and
    /// `dy = ∂L/∂y`: adds `∂L/∂gamma` and `∂L/∂beta` into `grad` and overwrites `dx` with
    /// `r · (g − mean(g) − x̂ · mean(g · x̂))`, where `g = gamma · dy`, `x̂` is the normalized
    /// input and `r = 1 / sqrt(var + eps)`.
    pub fn backward(
        &self,
        eps: T,
        x: &[[T; C]],
        dy: &[[T; C]],
        dx: &mut [[T; C]],
        grad: &mut Self,
    ) {
        assert_eq!(x.len(), dy.len(), "LayerNormalization: rows of x and dy");
        assert_eq!(x.len(), dx.len(), "LayerNormalization: rows of x and dx");
        let n = T::of(C as f64);
        for ((xr, dyr), dxr) in x.iter().zip(dy).zip(dx.iter_mut()) {
            let (mean, r) = moments(xr, eps);
            let (mut mean_g, mut mean_gx) = (T::zero(), T::zero());
            for c in 0..C {
                let xhat = (xr[c] - mean) * r;
                let g = self.gamma[c] * dyr[c];
                grad.gamma[c] = grad.gamma[c] + dyr[c] * xhat;
                grad.beta[c] = grad.beta[c] + dyr[c];
                mean_g = mean_g + g;
                mean_gx = mean_gx + g * xhat;
            }
            let (mean_g, mean_gx) = (mean_g / n, mean_gx / n);
            for c in 0..C {
                let xhat = (xr[c] - mean) * r;
                dxr[c] = r * (self.gamma[c] * dyr[c] - mean_g - xhat * mean_gx);
            }
        }
    }

    /// [`LayerNormalization::backward`] without `dx`, for a model's first layer.
    pub fn backward_params(eps: T, x: &[[T; C]], dy: &[[T; C]], grad: &mut Self) {
        assert_eq!(x.len(), dy.len(), "LayerNormalization: rows of x and dy");
        for (xr, dyr) in x.iter().zip(dy) {
            let (mean, r) = moments(xr, eps);
            for c in 0..C {
                grad.gamma[c] = grad.gamma[c] + dyr[c] * (xr[c] - mean) * r;
                grad.beta[c] = grad.beta[c] + dyr[c];
            }
        }
    }
}

impl<T: Scalar, const C: usize> Params<T> for LayerNormalization<T, C> {
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        f(Param {
            name: &Name::child(prefix, "gamma"),
            shape: &[C],
            data: &self.gamma,
        });
        f(Param {
            name: &Name::child(prefix, "beta"),
            shape: &[C],
            data: &self.beta,
        });
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: &Name::child(prefix, "gamma"),
            shape: &[C],
            data: &mut self.gamma,
        });
        f(ParamMut {
            name: &Name::child(prefix, "beta"),
            shape: &[C],
            data: &mut self.beta,
        });
    }

    /// Keras's initializers: `gamma` ones, `beta` zeros.
    fn init_params(&mut self, _: &mut Rng) {
        self.gamma.fill(T::one());
        self.beta.fill(T::zero());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::tensor::{flat, flat_mut};
    use bytemuck::Zeroable as _;

    #[test]
    fn normalizes_each_row_by_hand() {
        // Row [1, 2, 3, 6]: mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5; eps 0.5 -> sd 2.
        let ln = LayerNormalization::<f64, 4> {
            gamma: [1.0, 2.0, 1.0, 0.5],
            beta: [0.0, 0.0, 1.0, -1.0],
        };
        let x = [[1.0, 2.0, 3.0, 6.0], [5.0; 4]];
        let mut y = [[0.0; 4]; 2];
        ln.forward(0.5, &x, &mut y);
        assert_eq!(y[0], [-1.0, -1.0, 1.0, -0.25]);
        // A constant row has variance 0: x̂ = 0, so y = beta.
        assert_eq!(y[1], ln.beta);
    }

    #[test]
    fn gradients() {
        let mut ln = LayerNormalization::<f64, 5>::zeroed();
        random(1, &mut ln.gamma);
        random(2, &mut ln.beta);
        let mut x = [[0.0f64; 5]; 3];
        random(3, flat_mut(&mut x));
        let mut c = [[0.0f64; 5]; 3];
        random(4, flat_mut(&mut c));
        let eps = 1e-3;
        let mut dx = [[f64::NAN; 5]; 3];
        let mut grad = LayerNormalization::<f64, 5>::zeroed();
        ln.backward(eps, &x, &c, &mut dx, &mut grad);
        let mut only = LayerNormalization::<f64, 5>::zeroed();
        LayerNormalization::backward_params(eps, &x, &c, &mut only);
        assert_eq!((only.gamma, only.beta), (grad.gamma, grad.beta));
        let run = |ln: &LayerNormalization<f64, 5>, x: &[[f64; 5]; 3]| {
            let mut y = [[0.0f64; 5]; 3];
            ln.forward(eps, x, &mut y);
            y
        };
        let h = 1e-6;
        assert_gradient("x", flat(&x), flat(&dx), flat(&c), h, |xs| {
            let mut x = x;
            flat_mut(&mut x).copy_from_slice(xs);
            run(&ln, &x)
        });
        assert_gradient("gamma", &ln.gamma, &grad.gamma, flat(&c), h, |g| {
            let mut ln = ln;
            ln.gamma.copy_from_slice(g);
            run(&ln, &x)
        });
        assert_gradient("beta", &ln.beta, &grad.beta, flat(&c), h, |b| {
            let mut ln = ln;
            ln.beta.copy_from_slice(b);
            run(&ln, &x)
        });
    }
}
