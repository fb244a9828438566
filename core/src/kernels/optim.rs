//! The optimizers' per-parameter update rules (Keras's arithmetic, operation by operation, see
//! `crate::optimizers`), as loops over the whole flat parameter slice.
//!
//! Each rule comes twice. The reference loop (`adam`, `sgd`, `rmsprop`, `adagrad`) is the
//! [`Kernels`](super::Kernels) default, what `f64` and `KILN_ISA=scalar` run. The fast body
//! (`fast::*`) is the same arithmetic written for the auto-vectoriser: slices cut to one length
//! so there are no bounds checks, and every option a const generic so the loop has no branch.
//! `f32` runs it compiled for AVX-512F or AVX2 (the wrappers in `avx512` and `avx2`), or for
//! the target's baseline on NEON. The rules are elementwise and use no fused multiply-add
//! (Rust never contracts `a * b + c`), and `sqrt`, `/` and `max` are exact in every width, so
//! every path gives the reference's bits, not just close values. (The root vectorises with the
//! `std` feature; without it `libm` takes one root at a time.)
//!
//! A step's constants (bias corrections, `1 - β`) are computed once by the optimizer, in the
//! parameters' type, and handed over in a `*Step` struct.

use crate::scalar::Scalar;

/// The constants of one Adam (or AdamW) step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep<T> {
    /// The step size with the bias correction folded in, `lr · √(1 - β₂ᵗ) / (1 - β₁ᵗ)`.
    pub alpha: T,
    /// `1 - β₁`.
    pub one_minus_beta_1: T,
    /// `1 - β₂`.
    pub one_minus_beta_2: T,
    /// Added to `√v`.
    pub epsilon: T,
    /// Decoupled weight decay `(weight_decay, lr)`: `w -= w · weight_decay · lr` first.
    pub decay: Option<(T, T)>,
}

/// The constants of one SGD step with momentum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep<T> {
    /// The learning rate.
    pub lr: T,
    /// The momentum.
    pub momentum: T,
    /// Nesterov momentum.
    pub nesterov: bool,
}

/// The constants of one RMSprop step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropStep<T> {
    /// The learning rate.
    pub lr: T,
    /// `ρ`.
    pub rho: T,
    /// `1 - ρ`.
    pub one_minus_rho: T,
    /// The momentum, used with a momentum buffer.
    pub momentum: T,
    /// Added to `v` inside the root.
    pub epsilon: T,
}

/// The constants of one Adagrad step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradStep<T> {
    /// The learning rate.
    pub lr: T,
    /// Added to the accumulator inside the root.
    pub epsilon: T,
}

/// Adam: `m`, `v` (and with AMSGrad `v_hat`, the running maximum of `v`) move towards `g` and
/// `g²`, then `w -= m · α / (√v + ε)`, after the weight decay if any.
///
/// # Panics
/// If a buffer's length differs from `params`'s.
pub fn adam<T: Scalar>(
    s: &AdamStep<T>,
    params: &mut [T],
    grads: &[T],
    m: &mut [T],
    v: &mut [T],
    mut v_hat: Option<&mut [T]>,
) {
    check_lengths(params.len(), &[grads.len(), m.len(), v.len()]);
    check_lengths(
        params.len(),
        &[v_hat.as_deref().map_or(params.len(), <[T]>::len)],
    );
    for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
        if let Some((wd, lr)) = s.decay {
            *p = *p - *p * wd * lr;
        }
        m[i] = m[i] + (g - m[i]) * s.one_minus_beta_1;
        v[i] = v[i] + (g * g - v[i]) * s.one_minus_beta_2;
        let v = match v_hat.as_deref_mut() {
            Some(v_hat) => {
                v_hat[i] = v_hat[i].max(v[i]);
                v_hat[i]
            }
            None => v[i],
        };
        *p = *p - m[i] * s.alpha / (v.sqrt() + s.epsilon);
    }
}

/// SGD with momentum: `m = momentum · m - lr · g`, then `w += m`, or with Nesterov
/// `w += momentum · m - lr · g`.
///
/// # Panics
/// If a buffer's length differs from `params`'s.
pub fn sgd<T: Scalar>(s: &SgdStep<T>, params: &mut [T], grads: &[T], m: &mut [T]) {
    check_lengths(params.len(), &[grads.len(), m.len()]);
    for ((p, &g), m) in params.iter_mut().zip(grads).zip(m) {
        *m = *m * s.momentum - g * s.lr;
        *p = if s.nesterov {
            *p + (*m * s.momentum - g * s.lr)
        } else {
            *p + *m
        };
    }
}

/// RMSprop: `v = ρ · v + (1 - ρ) · g²`; centered, `ḡ = ρ · ḡ + (1 - ρ) · g` and `v - ḡ²`
/// replaces `v`; the increment `lr · g / √(v + ε)` is subtracted, or with a momentum buffer
/// accumulated into `m = momentum · m + increment` and `m` subtracted.
///
/// # Panics
/// If a buffer's length differs from `params`'s.
pub fn rmsprop<T: Scalar>(
    s: &RmspropStep<T>,
    params: &mut [T],
    grads: &[T],
    velocity: &mut [T],
    mut momentum: Option<&mut [T]>,
    mut average_grad: Option<&mut [T]>,
) {
    let n = params.len();
    check_lengths(n, &[grads.len(), velocity.len()]);
    check_lengths(n, &[momentum.as_deref().map_or(n, <[T]>::len)]);
    check_lengths(n, &[average_grad.as_deref().map_or(n, <[T]>::len)]);
    for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
        velocity[i] = s.rho * velocity[i] + s.one_minus_rho * (g * g);
        let denominator = match average_grad.as_deref_mut() {
            Some(a) => {
                a[i] = s.rho * a[i] + s.one_minus_rho * g;
                velocity[i] - a[i] * a[i] + s.epsilon
            }
            None => velocity[i] + s.epsilon,
        };
        let increment = s.lr * g / denominator.sqrt();
        match momentum.as_deref_mut() {
            Some(m) => {
                m[i] = s.momentum * m[i] + increment;
                *p = *p - m[i];
            }
            None => *p = *p - increment,
        }
    }
}

/// Adagrad: `acc += g²`, then `w -= lr · g / √(acc + ε)`.
///
/// # Panics
/// If a buffer's length differs from `params`'s.
pub fn adagrad<T: Scalar>(
    s: &AdagradStep<T>,
    params: &mut [T],
    grads: &[T],
    accumulator: &mut [T],
) {
    check_lengths(params.len(), &[grads.len(), accumulator.len()]);
    for ((p, &g), acc) in params.iter_mut().zip(grads).zip(accumulator) {
        *acc = *acc + g * g;
        *p = *p - s.lr * g / (*acc + s.epsilon).sqrt();
    }
}

fn check_lengths(n: usize, others: &[usize]) {
    for &len in others {
        assert_eq!(
            len, n,
            "optimizer update: a buffer of {len} for {n} parameters"
        );
    }
}

/// The rules again, for the auto-vectoriser: the same operations in the same order as the
/// reference loops. `#[inline(always)]`, so that each takes the target features of the
/// function it is compiled into.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
pub(crate) mod fast {
    use super::{check_lengths, AdagradStep, AdamStep, RmspropStep, SgdStep};
    // `core` has no `f32::sqrt`: with `std`, `num_traits` calls LLVM's, which vectorises; in a
    // `no_std` build `libm`'s, one root at a time but with the same (correctly rounded) result.
    use num_traits::Float;

    /// [`super::adam`].
    #[inline(always)]
    pub(crate) fn adam(
        s: &AdamStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        v_hat: Option<&mut [f32]>,
    ) {
        match (s.decay, v_hat) {
            (None, None) => adam_body::<false, false>(s, params, grads, m, v, &mut []),
            (Some(_), None) => adam_body::<true, false>(s, params, grads, m, v, &mut []),
            (None, Some(h)) => adam_body::<false, true>(s, params, grads, m, v, h),
            (Some(_), Some(h)) => adam_body::<true, true>(s, params, grads, m, v, h),
        }
    }

    #[inline(always)]
    fn adam_body<const DECAY: bool, const AMSGRAD: bool>(
        s: &AdamStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        v_hat: &mut [f32],
    ) {
        let n = params.len();
        check_lengths(n, &[grads.len(), m.len(), v.len()]);
        if AMSGRAD {
            check_lengths(n, &[v_hat.len()]);
        }
        let (wd, lr) = s.decay.unwrap_or((0.0, 0.0));
        let (c1, c2, alpha, eps) = (s.one_minus_beta_1, s.one_minus_beta_2, s.alpha, s.epsilon);
        let (grads, m, v) = (&grads[..n], &mut m[..n], &mut v[..n]);
        let v_hat = if AMSGRAD { &mut v_hat[..n] } else { v_hat };
        for i in 0..n {
            let g = grads[i];
            let mut p = params[i];
            if DECAY {
                p = p - p * wd * lr;
            }
            let mi = m[i] + (g - m[i]) * c1;
            let vi = v[i] + (g * g - v[i]) * c2;
            m[i] = mi;
            v[i] = vi;
            let vd = if AMSGRAD {
                let h = v_hat[i].max(vi);
                v_hat[i] = h;
                h
            } else {
                vi
            };
            params[i] = p - mi * alpha / (Float::sqrt(vd) + eps);
        }
    }

    /// [`super::sgd`].
    #[inline(always)]
    pub(crate) fn sgd(s: &SgdStep<f32>, params: &mut [f32], grads: &[f32], m: &mut [f32]) {
        if s.nesterov {
            sgd_body::<true>(s, params, grads, m)
        } else {
            sgd_body::<false>(s, params, grads, m)
        }
    }

    #[inline(always)]
    fn sgd_body<const NESTEROV: bool>(
        s: &SgdStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
    ) {
        let n = params.len();
        check_lengths(n, &[grads.len(), m.len()]);
        let (lr, momentum) = (s.lr, s.momentum);
        let (grads, m) = (&grads[..n], &mut m[..n]);
        for i in 0..n {
            let g = grads[i];
            let mi = m[i] * momentum - g * lr;
            m[i] = mi;
            params[i] = if NESTEROV {
                params[i] + (mi * momentum - g * lr)
            } else {
                params[i] + mi
            };
        }
    }

    /// [`super::rmsprop`].
    #[inline(always)]
    pub(crate) fn rmsprop(
        s: &RmspropStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        velocity: &mut [f32],
        momentum: Option<&mut [f32]>,
        average_grad: Option<&mut [f32]>,
    ) {
        let (p, g, vel) = (params, grads, velocity);
        match (momentum, average_grad) {
            (None, None) => rmsprop_body::<false, false>(s, p, g, vel, &mut [], &mut []),
            (Some(m), None) => rmsprop_body::<true, false>(s, p, g, vel, m, &mut []),
            (None, Some(a)) => rmsprop_body::<false, true>(s, p, g, vel, &mut [], a),
            (Some(m), Some(a)) => rmsprop_body::<true, true>(s, p, g, vel, m, a),
        }
    }

    #[inline(always)]
    fn rmsprop_body<const MOMENTUM: bool, const CENTERED: bool>(
        s: &RmspropStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        velocity: &mut [f32],
        momentum: &mut [f32],
        average_grad: &mut [f32],
    ) {
        let n = params.len();
        check_lengths(n, &[grads.len(), velocity.len()]);
        if MOMENTUM {
            check_lengths(n, &[momentum.len()]);
        }
        if CENTERED {
            check_lengths(n, &[average_grad.len()]);
        }
        let (lr, rho, one_minus_rho, mom, eps) =
            (s.lr, s.rho, s.one_minus_rho, s.momentum, s.epsilon);
        let (grads, velocity) = (&grads[..n], &mut velocity[..n]);
        let momentum = if MOMENTUM {
            &mut momentum[..n]
        } else {
            momentum
        };
        let average_grad = if CENTERED {
            &mut average_grad[..n]
        } else {
            average_grad
        };
        for i in 0..n {
            let g = grads[i];
            let vel = rho * velocity[i] + one_minus_rho * (g * g);
            velocity[i] = vel;
            let denominator = if CENTERED {
                let a = rho * average_grad[i] + one_minus_rho * g;
                average_grad[i] = a;
                vel - a * a + eps
            } else {
                vel + eps
            };
            let increment = lr * g / Float::sqrt(denominator);
            params[i] = if MOMENTUM {
                let m = mom * momentum[i] + increment;
                momentum[i] = m;
                params[i] - m
            } else {
                params[i] - increment
            };
        }
    }

    /// [`super::adagrad`].
    #[inline(always)]
    pub(crate) fn adagrad(
        s: &AdagradStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        accumulator: &mut [f32],
    ) {
        let n = params.len();
        check_lengths(n, &[grads.len(), accumulator.len()]);
        let (lr, eps) = (s.lr, s.epsilon);
        let (grads, accumulator) = (&grads[..n], &mut accumulator[..n]);
        for i in 0..n {
            let g = grads[i];
            let acc = accumulator[i] + g * g;
            accumulator[i] = acc;
            params[i] -= lr * g / Float::sqrt(acc + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every path against the reference loop, bit for bit (see the module's comment for why
    //! they agree exactly), on lengths around the vector widths, with every option.

    extern crate std;

    use super::*;
    use crate::init::{rng, uniform01};
    use crate::kernels::{with_isa, Isa, Kernels};
    use std::vec::Vec;

    const LENGTHS: [usize; 12] = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 1031];

    /// `n` pseudo-random values in `[lo, hi)`.
    fn random(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        let mut r = rng(seed);
        (0..n)
            .map(|_| (lo + (hi - lo) * uniform01(&mut r)) as f32)
            .collect()
    }

    fn assert_bits(what: &str, isa: Isa, n: usize, got: &[f32], want: &[f32]) {
        let differ = got
            .iter()
            .zip(want)
            .position(|(g, w)| g.to_bits() != w.to_bits());
        if let Some(i) = differ {
            panic!(
                "{what} {isa:?} n={n} [{i}]: {} vs reference {}",
                got[i], want[i]
            );
        }
    }

    /// Runs `update` on the buffers through every available instruction set and through the
    /// reference, and compares all buffers afterwards.
    fn check(
        what: &str,
        n: usize,
        slots: usize,
        update: impl Fn(bool, &mut [f32], &[f32], &mut [Vec<f32>]),
    ) {
        let grads = random(1, n, -2.0, 2.0);
        let params0 = random(2, n, -1.0, 1.0);
        // Slots start non-negative (velocities, accumulators) and differ from each other.
        let slots0: Vec<Vec<f32>> = (0..slots)
            .map(|k| random(3 + k as u64, n, 0.0, 0.5))
            .collect();
        let (mut want_p, mut want_s) = (params0.clone(), slots0.clone());
        update(true, &mut want_p, &grads, &mut want_s);
        for isa in Isa::available() {
            let (mut p, mut s) = (params0.clone(), slots0.clone());
            with_isa(isa, || update(false, &mut p, &grads, &mut s));
            assert_bits(what, isa, n, &p, &want_p);
            for (k, (s, want)) in s.iter().zip(&want_s).enumerate() {
                assert_bits(&std::format!("{what} slot {k}"), isa, n, s, want);
            }
        }
    }

    #[test]
    fn adam_paths_agree_bit_for_bit() {
        for n in LENGTHS {
            for (decay, amsgrad) in [(None, false), (Some((0.004, 0.01)), false), (None, true)]
                .into_iter()
                .chain([(Some((0.5, 0.1)), true)])
            {
                let s = AdamStep {
                    alpha: 0.0316,
                    one_minus_beta_1: 0.1,
                    one_minus_beta_2: 0.001,
                    epsilon: 1e-7,
                    decay,
                };
                check("adam", n, 3, |reference, p, g, slots| {
                    let [m, v, h] = slots else { unreachable!() };
                    let h = amsgrad.then_some(&mut h[..]);
                    if reference {
                        adam(&s, p, g, m, v, h)
                    } else {
                        f32::adam_update(&s, p, g, m, v, h)
                    }
                });
            }
        }
    }

    #[test]
    fn sgd_paths_agree_bit_for_bit() {
        for n in LENGTHS {
            for nesterov in [false, true] {
                let s = SgdStep {
                    lr: 0.01,
                    momentum: 0.9,
                    nesterov,
                };
                check("sgd", n, 1, |reference, p, g, slots| {
                    if reference {
                        sgd(&s, p, g, &mut slots[0])
                    } else {
                        f32::sgd_update(&s, p, g, &mut slots[0])
                    }
                });
            }
        }
    }

    #[test]
    fn rmsprop_paths_agree_bit_for_bit() {
        for n in LENGTHS {
            for (with_momentum, centered) in [(false, false), (true, false), (false, true)]
                .into_iter()
                .chain([(true, true)])
            {
                let s = RmspropStep {
                    lr: 0.001,
                    rho: 0.9,
                    one_minus_rho: 0.1,
                    momentum: 0.5,
                    epsilon: 1e-7,
                };
                check("rmsprop", n, 3, |reference, p, g, slots| {
                    let [v, m, a] = slots else { unreachable!() };
                    // Centered, `v - ḡ²` must stay positive: start `v` above `ḡ²`.
                    for (v, a) in v.iter_mut().zip(a.iter()) {
                        *v += a * a;
                    }
                    let m = with_momentum.then_some(&mut m[..]);
                    let a = centered.then_some(&mut a[..]);
                    if reference {
                        rmsprop(&s, p, g, v, m, a)
                    } else {
                        f32::rmsprop_update(&s, p, g, v, m, a)
                    }
                });
            }
        }
    }

    #[test]
    fn adagrad_paths_agree_bit_for_bit() {
        for n in LENGTHS {
            let s = AdagradStep {
                lr: 0.001,
                epsilon: 1e-7,
            };
            check("adagrad", n, 1, |reference, p, g, slots| {
                if reference {
                    adagrad(&s, p, g, &mut slots[0])
                } else {
                    f32::adagrad_update(&s, p, g, &mut slots[0])
                }
            });
        }
    }

    #[test]
    #[should_panic(expected = "a buffer of 3 for 4 parameters")]
    fn a_short_buffer_panics() {
        let s = AdagradStep {
            lr: 0.001,
            epsilon: 1e-7,
        };
        f32::adagrad_update(&s, &mut [0.0; 4], &[0.0; 4], &mut [0.0; 3]);
    }
}
