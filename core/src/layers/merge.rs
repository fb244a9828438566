//! Keras's merge layers, which combine the values of a graph: `Add`, `Subtract`, `Multiply`,
//! `Average`, `Maximum`, `Minimum` (elementwise, over inputs of one shape) and `Concatenate`
//! (along one axis). They work on flat slices: `model!` has checked the shapes, and passes the
//! sizes as constants.

use crate::scalar::Scalar;

/// An elementwise merge, as Keras defines it over its list of inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// `x0 + x1 + …`
    Add,
    /// `x0 - x1`, exactly two inputs.
    Subtract,
    /// `x0 · x1 · …`
    Multiply,
    /// `(x0 + x1 + …) / n`
    Average,
    /// The largest input; its gradient goes to the first input that holds it, as
    /// TensorFlow's `maximum` gives ties to its first argument.
    Maximum,
    /// The smallest input; ties as for `Maximum`.
    Minimum,
}

impl Merge {
    /// `y = op(xs[0], xs[1], …)`, element by element. Every slice has `y`'s length.
    pub fn forward<T: Scalar>(self, xs: &[&[T]], y: &mut [T]) {
        y.copy_from_slice(xs[0]);
        // The operation is chosen once, outside the loops over elements.
        fn fold<T: Copy>(xs: &[&[T]], y: &mut [T], f: impl Fn(T, T) -> T) {
            for x in xs {
                for (y, &x) in y.iter_mut().zip(x.iter()) {
                    *y = f(*y, x);
                }
            }
        }
        let rest = &xs[1..];
        match self {
            Merge::Add | Merge::Average => fold(rest, y, |a, b| a + b),
            Merge::Subtract => fold(rest, y, |a, b| a - b),
            Merge::Multiply => fold(rest, y, |a, b| a * b),
            Merge::Maximum => fold(rest, y, T::max),
            Merge::Minimum => fold(rest, y, T::min),
        }
        if self == Merge::Average {
            // Divided, not multiplied by `1 / n`, as Keras computes it.
            let n = T::of(xs.len() as f64);
            y.iter_mut().for_each(|y| *y = *y / n);
        }
    }

    /// The backward pass of [`Merge::forward`]: writes `dxs[k] = ∂L/∂xs[k]` from `dy`. Only
    /// `Multiply`, `Maximum` and `Minimum` read `xs`.
    pub fn backward<T: Scalar>(self, xs: &[&[T]], dy: &[T], dxs: &mut [&mut [T]]) {
        let n = dxs.len();
        match self {
            Merge::Add | Merge::Subtract | Merge::Average => {
                let count = T::of(n as f64);
                for (k, dx) in dxs.iter_mut().enumerate() {
                    for (dx, &d) in dx.iter_mut().zip(dy) {
                        *dx = match self {
                            Merge::Average => d / count,
                            Merge::Subtract if k > 0 => -d,
                            _ => d,
                        };
                    }
                }
            }
            Merge::Multiply => {
                for (k, dx) in dxs.iter_mut().enumerate() {
                    for (i, dx) in dx.iter_mut().enumerate() {
                        let others = xs.iter().enumerate().filter(|&(j, _)| j != k);
                        *dx = others.fold(dy[i], |p, (_, x)| p * x[i]);
                    }
                }
            }
            Merge::Maximum | Merge::Minimum => {
                for i in 0..dy.len() {
                    let mut best = 0;
                    for k in 1..n {
                        let (x, b) = (xs[k][i], xs[best][i]);
                        if (self == Merge::Maximum && x > b) || (self == Merge::Minimum && x < b) {
                            best = k;
                        }
                    }
                    for (k, dx) in dxs.iter_mut().enumerate() {
                        dx[i] = if k == best { dy[i] } else { T::zero() };
                    }
                }
            }
        }
    }
}

/// Keras's `Concatenate`: the output is, for each index before the axis, each input's chunk
/// of `chunks[k]` elements (its extent along the axis times everything after it) in turn.
pub fn concat_forward<T: Copy>(xs: &[&[T]], chunks: &[usize], y: &mut [T]) {
    let width: usize = chunks.iter().sum();
    for (o, row) in y.chunks_exact_mut(width).enumerate() {
        let mut at = 0;
        for (x, &c) in xs.iter().zip(chunks) {
            row[at..at + c].copy_from_slice(&x[o * c..(o + 1) * c]);
            at += c;
        }
    }
}

/// The backward pass of [`concat_forward`]: each input's gradient is its chunks of `dy`.
pub fn concat_backward<T: Copy>(dy: &[T], chunks: &[usize], dxs: &mut [&mut [T]]) {
    let width: usize = chunks.iter().sum();
    for (o, row) in dy.chunks_exact(width).enumerate() {
        let mut at = 0;
        for (dx, &c) in dxs.iter_mut().zip(chunks) {
            dx[o * c..(o + 1) * c].copy_from_slice(&row[at..at + c]);
            at += c;
        }
    }
}

/// `out = Σ parts`: the gradient of a value several layers read is the sum of what each sends
/// back.
pub fn sum_into<T: Scalar>(out: &mut [T], parts: &[&[T]]) {
    out.copy_from_slice(parts[0]);
    for p in &parts[1..] {
        for (o, &v) in out.iter_mut().zip(p.iter()) {
            *o = *o + v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::grad_check::{assert_gradient, distinct, random};
    use std::vec;
    use std::vec::Vec;

    extern crate std;

    #[test]
    fn forward_matches_hand_computed_values() {
        let (a, b, c) = ([1.0, -2.0, 3.0], [4.0, 5.0, -6.0], [0.5, 7.0, 2.0]);
        let xs: [&[f64]; 3] = [&a, &b, &c];
        let mut y = [0.0; 3];
        let cases: [(Merge, [f64; 3]); 5] = [
            (Merge::Add, [5.5, 10.0, -1.0]),
            (Merge::Multiply, [2.0, -70.0, -36.0]),
            (Merge::Average, [5.5 / 3.0, 10.0 / 3.0, -1.0 / 3.0]),
            (Merge::Maximum, [4.0, 7.0, 3.0]),
            (Merge::Minimum, [0.5, -2.0, -6.0]),
        ];
        for (op, want) in cases {
            op.forward(&xs, &mut y);
            assert_eq!(y, want, "{op:?}");
        }
        Merge::Subtract.forward(&xs[..2], &mut y);
        assert_eq!(y, [-3.0, -7.0, 9.0]);
    }

    #[test]
    fn ties_send_the_gradient_to_the_first_input() {
        let (a, b) = ([2.0f64, 1.0], [2.0, 1.0]);
        let mut da = [9.0; 2];
        let mut db = [9.0; 2];
        Merge::Maximum.backward(&[&a, &b], &[1.0, 3.0], &mut [&mut da, &mut db]);
        assert_eq!((da, db), ([1.0, 3.0], [0.0, 0.0]));
    }

    #[test]
    fn backward_matches_finite_differences() {
        const N: usize = 6;
        for (op, k) in [
            (Merge::Add, 3),
            (Merge::Subtract, 2),
            (Merge::Multiply, 3),
            (Merge::Average, 3),
            (Merge::Maximum, 3),
            (Merge::Minimum, 3),
        ] {
            // Distinct values, so no step changes which input is the largest.
            let mut p = vec![0.0; N * k];
            distinct(7, &mut p);
            let mut c = [0.0; N];
            random(8, &mut c);
            let split = |p: &[f64]| -> Vec<Vec<f64>> { p.chunks(N).map(<[f64]>::to_vec).collect() };
            let xs = split(&p);
            let refs: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
            let mut grads = vec![vec![0.0; N]; k];
            let mut views: Vec<&mut [f64]> = grads.iter_mut().map(Vec::as_mut_slice).collect();
            op.backward(&refs, &c, &mut views);
            let analytic: Vec<f64> = grads.concat();
            assert_gradient(&std::format!("{op:?}"), &p, &analytic, &c, 1e-6, |q| {
                let xs = split(q);
                let refs: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
                let mut y = [0.0; N];
                op.forward(&refs, &mut y);
                y
            });
        }
    }

    #[test]
    fn concatenate_interleaves_chunks_and_splits_them_back() {
        // Two [2, 2] and [2, 1] inputs along the last axis: rows [a0 a1 b0], [a2 a3 b1].
        let (a, b) = ([1, 2, 3, 4], [10, 20]);
        let mut y = [0; 6];
        concat_forward(&[&a, &b], &[2, 1], &mut y);
        assert_eq!(y, [1, 2, 10, 3, 4, 20]);
        let (mut da, mut db) = ([0; 4], [0; 2]);
        concat_backward(&y, &[2, 1], &mut [&mut da, &mut db]);
        assert_eq!((da, db), (a, b));
    }

    #[test]
    fn sum_into_adds_every_part() {
        let mut out = [0.0f32; 2];
        sum_into(&mut out, &[&[1.0, 2.0], &[3.0, 4.0], &[0.5, 0.5]]);
        assert_eq!(out, [4.5, 6.5]);
    }
}
