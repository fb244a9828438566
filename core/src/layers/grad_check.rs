//! Central finite differences: the reference every backward pass is tested against (tests only).
//!
//! A layer's output `y` is probed with the scalar loss `L = Σ c[k] · y[k]` for fixed
//! pseudo-random `c`, so one check covers every output: `∂L/∂y = c` is the `dy` fed to the
//! backward pass, and each derivative `∂L/∂p[i]` it returns, for an input or a parameter, is
//! compared with `(L(p + h·e_i) − L(p − h·e_i)) / 2h`.
//!
//! The comparison is per element: `|a − n| / max(|a|, |n|, 1e-8) < 1e-6`, with `a` the analytic
//! and `n` the numeric derivative.

extern crate std;

use crate::init::{rng, uniform01};
use crate::tensor::flat;
use bytemuck::Pod;
use std::vec::Vec;

/// The largest relative error allowed for any one derivative.
pub const TOLERANCE: f64 = 1e-6;

/// Fills `out` with pseudo-random values in `[-1, 1)`, the same for the same `seed`.
pub fn random(seed: u64, out: &mut [f64]) {
    let mut r = rng(seed);
    for v in out {
        *v = 2.0 * uniform01(&mut r) - 1.0;
    }
}

/// Fills `out` with a random permutation of `k / n − 0.5` for `k` in `0..n`: distinct values at
/// least `1 / n` apart, so that a step of `h` much smaller than that never changes which cell
/// of a max-pool window is largest.
pub fn distinct(seed: u64, out: &mut [f64]) {
    let n = out.len();
    let mut keys = std::vec![0.0; n];
    random(seed, &mut keys);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    for (rank, &k) in order.iter().enumerate() {
        out[k] = rank as f64 / n as f64 - 0.5;
    }
}

/// Asserts that `analytic[i]` is `∂L/∂p[i]` for every `i`, where `L(p) = Σ c[k] · f(p)[k]`,
/// against central differences with step `h`, to [`TOLERANCE`]. `what` names the gradient in
/// the failure message.
///
/// The outputs are differenced before they are weighted, `Σ c[k] · (f(p + h·e_i)[k] −
/// f(p − h·e_i)[k]) / 2h`, so outputs that do not depend on `p[i]` cancel exactly instead of
/// adding the rounding of the whole sum. Also asserts that the gradient is not all zeros, which
/// would make the check vacuous.
pub fn assert_gradient<Y: Pod>(
    what: &str,
    p: &[f64],
    analytic: &[f64],
    c: &[f64],
    h: f64,
    mut f: impl FnMut(&[f64]) -> Y,
) {
    assert_eq!(p.len(), analytic.len(), "{what}: lengths differ");
    assert!(
        analytic.iter().any(|&a| a != 0.0),
        "{what}: the gradient is all zeros"
    );
    let mut q = p.to_vec();
    for (i, (&p, &a)) in p.iter().zip(analytic).enumerate() {
        // The steps as represented, so that rounding of p ± h does not count as error.
        let (up, down) = (p + h, p - h);
        q[i] = up;
        let y_up = f(&q);
        q[i] = down;
        let y_down = f(&q);
        q[i] = p;
        let (y_up, y_down) = (flat::<f64, Y>(&y_up), flat::<f64, Y>(&y_down));
        assert_eq!(y_up.len(), c.len(), "{what}: one coefficient per output");
        let dl: f64 = c
            .iter()
            .zip(y_up.iter().zip(y_down))
            .map(|(c, (u, d))| c * (u - d))
            .sum();
        let n = dl / (up - down);
        let err = (a - n).abs() / a.abs().max(n.abs()).max(1e-8);
        assert!(
            err < TOLERANCE,
            "{what}[{i}]: analytic {a}, finite difference {n}, relative error {err:e}"
        );
    }
}
