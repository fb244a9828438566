//! Keras's `Bidirectional` wrapper around a recurrent layer ([`super::Lstm`], [`super::Gru`],
//! [`super::SimpleRnn`]): a forward copy and a backward copy (Keras's `go_backwards`) run on
//! the same sequence `[S][F]`, their outputs merged (`concat`, `sum`, `mul`, `ave`).
//!
//! The two copies run on their own methods (`forward`, `forward_train`, `backward`), which
//! `kiln::model!` calls with every step's output (`[S][U]`, in the order the steps ran); this
//! file holds the parameters and what lies between the copies: [`merge`] (the backward copy's
//! sequence reversed back in time, so step `t` pairs both copies' outputs for input step `t`)
//! and its gradient [`split`].

use crate::params::{Name, Param, ParamMut, Params};
use crate::scalar::Scalar;

/// How the two directions' outputs are combined, as Keras's `merge_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    /// Features `[forward, backward]`, `2U` wide.
    Concat,
    /// `forward + backward`.
    Sum,
    /// `forward · backward`.
    Mul,
    /// `(forward + backward) / 2`.
    Ave,
}

/// A recurrent layer type `Bidirectional` may wrap, and the names Keras gives its two copies.
pub trait Wrapped {
    /// `forward_<name>`, Keras's name for the forward copy of a layer with its automatic name.
    const FORWARD: &'static str;
    /// `backward_<name>`.
    const BACKWARD: &'static str;
}

impl<T, const F: usize, const U: usize, const G: usize, const B: bool> Wrapped
    for super::Lstm<T, F, U, G, B>
{
    const FORWARD: &'static str = "forward_lstm";
    const BACKWARD: &'static str = "backward_lstm";
}

impl<T, const F: usize, const U: usize, const G: usize, const B: bool> Wrapped
    for super::Gru<T, F, U, G, B>
{
    const FORWARD: &'static str = "forward_gru";
    const BACKWARD: &'static str = "backward_gru";
}

impl<T, const F: usize, const U: usize, const G: usize, const B: bool> Wrapped
    for super::SimpleRnn<T, F, U, G, B>
{
    const FORWARD: &'static str = "forward_simple_rnn";
    const BACKWARD: &'static str = "backward_simple_rnn";
}

/// The two copies of a recurrent layer `L`, each with parameters of its own.
///
/// # Shapes
/// - input: `[S][F]` per sample
/// - output: `[S][O]` (`return_sequences`) or `[O]`, `O = 2U` with `concat`, else `U`
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Bidirectional<L> {
    /// The copy that reads the steps in order (`forward_<name>`).
    pub forward: L,
    /// The copy that reads them from the last (`backward_<name>`).
    pub backward: L,
}

// SAFETY: `repr(C)`, two values of the same zeroable type (no padding between them, as each is
// a `repr(C)` struct of arrays of one scalar); all zeros is a valid value.
unsafe impl<L: bytemuck::Zeroable> bytemuck::Zeroable for Bidirectional<L> {}

impl<T: Scalar, L: Params<T> + Wrapped> Params<T> for Bidirectional<L> {
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>)) {
        self.forward
            .visit_params(Some(&Name::child(prefix, L::FORWARD)), f);
        self.backward
            .visit_params(Some(&Name::child(prefix, L::BACKWARD)), f);
    }

    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.forward
            .visit_params_mut(Some(&Name::child(prefix, L::FORWARD)), f);
        self.backward
            .visit_params_mut(Some(&Name::child(prefix, L::BACKWARD)), f);
    }

    fn init_params(&mut self, rng: &mut crate::init::Rng) {
        self.forward.init_params(rng);
        self.backward.init_params(rng);
    }
}

/// One sample's output from both copies' step outputs, `f` in step order and `b` in the order
/// the backward copy ran (from the last input step). `y` is `[S][O]` with `SEQ` (step `t`
/// merges `f[t]` and `b[S-1-t]`), else `[O]` (the two copies' last outputs, `f[S-1]` and
/// `b[S-1]`); `O` is `2U` for [`MergeMode::Concat`], else `U`.
pub fn merge<T: Scalar, const U: usize, const S: usize, const SEQ: bool>(
    mode: MergeMode,
    f: &[[T; U]; S],
    b: &[[T; U]; S],
    y: &mut [T],
) {
    let o = width::<U>(mode);
    assert_eq!(
        y.len(),
        if SEQ { S * o } else { o },
        "Bidirectional: output length"
    );
    for (t, out) in y.chunks_exact_mut(o).enumerate() {
        let (ft, bt) = if SEQ {
            (&f[t], &b[S - 1 - t])
        } else {
            (&f[S - 1], &b[S - 1])
        };
        match mode {
            MergeMode::Concat => {
                out[..U].copy_from_slice(ft);
                out[U..].copy_from_slice(bt);
            }
            MergeMode::Sum => {
                for ((o, &a), &c) in out.iter_mut().zip(ft).zip(bt) {
                    *o = a + c;
                }
            }
            MergeMode::Mul => {
                for ((o, &a), &c) in out.iter_mut().zip(ft).zip(bt) {
                    *o = a * c;
                }
            }
            MergeMode::Ave => {
                let half = T::of(0.5);
                for ((o, &a), &c) in out.iter_mut().zip(ft).zip(bt) {
                    *o = (a + c) * half;
                }
            }
        }
    }
}

/// The gradient of [`merge`]: from `dy` (its output's), each copy's output gradients `df`, `db`
/// (every step's, in the orders of `f` and `b`; zero for steps the output does not read), for
/// the copies' `backward` with every step's output.
pub fn split<T: Scalar, const U: usize, const S: usize, const SEQ: bool>(
    mode: MergeMode,
    f: &[[T; U]; S],
    b: &[[T; U]; S],
    dy: &[T],
    df: &mut [[T; U]; S],
    db: &mut [[T; U]; S],
) {
    let o = width::<U>(mode);
    assert_eq!(
        dy.len(),
        if SEQ { S * o } else { o },
        "Bidirectional: dy length"
    );
    *df = [[T::zero(); U]; S];
    *db = [[T::zero(); U]; S];
    for (t, d) in dy.chunks_exact(o).enumerate() {
        let (tf, tb) = if SEQ { (t, S - 1 - t) } else { (S - 1, S - 1) };
        let (dft, dbt) = (&mut df[tf], &mut db[tb]);
        match mode {
            MergeMode::Concat => {
                dft.copy_from_slice(&d[..U]);
                dbt.copy_from_slice(&d[U..]);
            }
            MergeMode::Sum => {
                dft.copy_from_slice(d);
                dbt.copy_from_slice(d);
            }
            MergeMode::Mul => {
                for u in 0..U {
                    dft[u] = d[u] * b[tb][u];
                    dbt[u] = d[u] * f[tf][u];
                }
            }
            MergeMode::Ave => {
                let half = T::of(0.5);
                for u in 0..U {
                    dft[u] = d[u] * half;
                    dbt[u] = d[u] * half;
                }
            }
        }
    }
}

/// The merged width `O` for `U` units per copy.
pub const fn width<const U: usize>(mode: MergeMode) -> usize {
    match mode {
        MergeMode::Concat => 2 * U,
        MergeMode::Sum | MergeMode::Mul | MergeMode::Ave => U,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::activations::{Sigmoid, Tanh};
    use crate::layers::grad_check::{assert_gradient, random};
    use crate::layers::recurrent::Scratch;
    use crate::layers::Lstm;
    use crate::tensor::{flat, flat_mut};
    use bytemuck::Zeroable as _;

    type L = Lstm<f64, 2, 3, 12, true>;
    const S: usize = 4;

    fn layer() -> Bidirectional<L> {
        let mut l = Bidirectional::<L>::zeroed();
        random(1, flat_mut(&mut l.forward.kernel));
        random(2, flat_mut(&mut l.forward.recurrent_kernel));
        random(3, flat_mut(&mut l.forward.bias));
        random(4, flat_mut(&mut l.backward.kernel));
        random(5, flat_mut(&mut l.backward.recurrent_kernel));
        random(6, flat_mut(&mut l.backward.bias));
        l
    }

    /// The merged output of one sample, each copy run by its own `forward`.
    fn out<const SEQ: bool>(l: &Bidirectional<L>, mode: MergeMode, x: &[[f64; 2]; S]) -> [f64; 24] {
        let mut f = [[0.0; 3]; S];
        let mut b = [[0.0; 3]; S];
        let xs = core::slice::from_ref(x);
        l.forward
            .forward::<Tanh, Sigmoid, S, true, false, 1>(xs, flat_mut(&mut f));
        l.backward
            .forward::<Tanh, Sigmoid, S, true, true, 1>(xs, flat_mut(&mut b));
        let mut y = [0.0; 24];
        let o = if SEQ {
            S * width::<3>(mode)
        } else {
            width::<3>(mode)
        };
        merge::<f64, 3, S, SEQ>(mode, &f, &b, &mut y[..o]);
        y
    }

    #[test]
    fn the_backward_copy_is_reversed_back_in_time() {
        let l = layer();
        let mut x = [[0.0; 2]; S];
        random(7, flat_mut(&mut x));
        let y = out::<true>(&l, MergeMode::Concat, &x);
        // The backward copy alone on the reversed input, read from its last step.
        let mut rx = x;
        rx.reverse();
        let mut b = [[0.0; 3]; S];
        l.backward.forward::<Tanh, Sigmoid, S, true, false, 1>(
            core::slice::from_ref(&rx),
            flat_mut(&mut b),
        );
        for t in 0..S {
            assert_eq!(y[t * 6 + 3..t * 6 + 6], b[S - 1 - t], "step {t}");
        }
        let last = out::<false>(&l, MergeMode::Concat, &x);
        assert_eq!(
            last[..3],
            y[(S - 1) * 6..(S - 1) * 6 + 3],
            "forward's last step"
        );
        assert_eq!(last[3..6], y[3..6], "backward's last step is input step 0");
    }

    fn check<const SEQ: bool>(mode: MergeMode, seed: u64) {
        let l = layer();
        let mut x = [[[0.0; 2]; S]; 1];
        random(seed, flat_mut(&mut x));
        let o = if SEQ {
            S * width::<3>(mode)
        } else {
            width::<3>(mode)
        };
        let mut cw = [0.0; 24];
        random(seed + 1, &mut cw[..o]);
        // Training forward: each copy's caches.
        let (mut zf, mut cf, mut hf) =
            ([[[0.0; 12]; S]; 1], [[[0.0; 3]; S]; 1], [[[0.0; 3]; S]; 1]);
        let (mut zb, mut cb, mut hb) =
            ([[[0.0; 12]; S]; 1], [[[0.0; 3]; S]; 1], [[[0.0; 3]; S]; 1]);
        let mut s: Scratch<f64, 3, 12> = bytemuck::Zeroable::zeroed();
        l.forward
            .forward_train::<Tanh, Sigmoid, S, false>(&x, &mut zf, &mut cf, &mut hf, &mut s);
        l.backward
            .forward_train::<Tanh, Sigmoid, S, true>(&x, &mut zb, &mut cb, &mut hb, &mut s);
        let mut y = [0.0; 24];
        merge::<f64, 3, S, SEQ>(mode, &hf[0], &hb[0], &mut y[..o]);
        assert_eq!(y, out::<SEQ>(&l, mode, &x[0]), "forward and forward_train");
        let (mut df, mut db) = ([[0.0; 3]; S], [[0.0; 3]; S]);
        split::<f64, 3, S, SEQ>(mode, &hf[0], &hb[0], &cw[..o], &mut df, &mut db);
        let mut grad = Bidirectional::<L>::zeroed();
        let (mut dx, mut dxb) = ([[[0.0; 2]; S]; 1], [[[0.0; 2]; S]; 1]);
        l.forward.backward::<Tanh, Sigmoid, S, true, false>(
            &x,
            &mut zf,
            &mut cf,
            &hf,
            flat(&df),
            Some(&mut dx),
            &mut grad.forward,
            &mut s,
        );
        l.backward.backward::<Tanh, Sigmoid, S, true, true>(
            &x,
            &mut zb,
            &mut cb,
            &hb,
            flat(&db),
            Some(&mut dxb),
            &mut grad.backward,
            &mut s,
        );
        for (a, b) in flat_mut::<f64, _>(&mut dx)
            .iter_mut()
            .zip(flat::<f64, _>(&dxb))
        {
            *a += b;
        }
        assert_gradient("dx", flat(&x), flat(&dx), &cw, 1e-4, |p| {
            let mut x2 = x[0];
            flat_mut(&mut x2).copy_from_slice(p);
            out::<SEQ>(&l, mode, &x2)
        });
        let mut params = std::vec::Vec::new();
        l.visit_params(None, &mut |p| params.push(p.data.to_vec()));
        let mut grads = std::vec::Vec::new();
        grad.visit_params(None, &mut |p| grads.push(p.data.to_vec()));
        for k in 0..6 {
            assert_gradient("param", &params[k], &grads[k], &cw, 1e-4, |p| {
                let mut l2 = l;
                let mut i = 0;
                l2.visit_params_mut(None, &mut |q| {
                    if i == k {
                        q.data.copy_from_slice(p);
                    }
                    i += 1;
                });
                out::<SEQ>(&l2, mode, &x[0])
            });
        }
    }

    #[test]
    fn gradients_in_every_merge_mode() {
        for (i, mode) in [
            MergeMode::Concat,
            MergeMode::Sum,
            MergeMode::Mul,
            MergeMode::Ave,
        ]
        .into_iter()
        .enumerate()
        {
            check::<true>(mode, 10 + i as u64);
            check::<false>(mode, 20 + i as u64);
        }
    }

    #[test]
    fn parameters_are_named_after_each_copy() {
        let l = layer();
        let mut names = std::vec::Vec::new();
        l.visit_params(Some(&Name::root("bidirectional")), &mut |p| {
            names.push(std::format!("{}", p.name))
        });
        assert_eq!(
            names,
            [
                "bidirectional/forward_lstm/kernel",
                "bidirectional/forward_lstm/recurrent_kernel",
                "bidirectional/forward_lstm/bias",
                "bidirectional/backward_lstm/kernel",
                "bidirectional/backward_lstm/recurrent_kernel",
                "bidirectional/backward_lstm/bias",
            ]
        );
    }
}
