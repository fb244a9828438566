//! Keras's default initialisers, drawn from one seeded generator so `init(seed)` is reproducible.

use crate::scalar::Scalar;
use rand_core::{Rng as _, SeedableRng};

/// The generator behind every seeded draw in kiln: ChaCha8, portable and reproducible.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator seeded from a `u64`, as `Model::init(seed)` uses.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// A uniform draw in `[0, 1)` with 24 random bits (exact in `f32` and `f64`).
#[inline]
pub fn uniform01(rng: &mut Rng) -> f64 {
    (rng.next_u32() >> 8) as f64 * (1.0 / (1u32 << 24) as f64)
}

/// Fills `out` from U(-limit, limit) with `limit = sqrt(6 / (fan_in + fan_out))`: Keras's
/// `glorot_uniform`, the default kernel initialiser of Dense and Conv2D.
pub fn glorot_uniform<T: Scalar>(rng: &mut Rng, fan_in: usize, fan_out: usize, out: &mut [T]) {
    let limit = libm::sqrt(6.0 / (fan_in + fan_out) as f64);
    for v in out {
        *v = T::of((2.0 * uniform01(rng) - 1.0) * limit);
    }
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - uniform01(rng); // in (0, 1], so the logarithm is finite
    let u2 = uniform01(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
}

/// Fills the row-major `[rows, cols]` matrix `out` with Keras's `orthogonal` initialiser (gain
/// 1): normal draws made orthonormal along the shorter side (orthonormal rows when
/// `rows <= cols`, else columns), by modified Gram–Schmidt, which gives QR's `Q` with the
/// signs Keras fixes (a positive diagonal of `R`).
pub fn orthogonal<T: Scalar>(rng: &mut Rng, rows: usize, cols: usize, out: &mut [T]) {
    assert_eq!(out.len(), rows * cols, "orthogonal: matrix size");
    for v in out.iter_mut() {
        *v = T::of(normal(rng));
    }
    // Vector `k` of the shorter side, element `j`, as an index into `out`.
    let (count, len) = (rows.min(cols), rows.max(cols));
    let at = |k: usize, j: usize| {
        if rows <= cols {
            k * cols + j
        } else {
            j * cols + k
        }
    };
    for k in 0..count {
        for p in 0..k {
            let dot = (0..len).fold(T::zero(), |d, j| d + out[at(k, j)] * out[at(p, j)]);
            for j in 0..len {
                out[at(k, j)] = out[at(k, j)] - dot * out[at(p, j)];
            }
        }
        let norm = (0..len)
            .fold(T::zero(), |d, j| d + out[at(k, j)] * out[at(k, j)])
            .sqrt();
        for j in 0..len {
            out[at(k, j)] = out[at(k, j)] / norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_stays_within_its_limit_and_fills_it() {
        let mut r = rng(7);
        let mut w = [0.0f64; 4000];
        glorot_uniform(&mut r, 10, 14, &mut w);
        let limit = 0.5; // sqrt(6 / 24)
        assert!(w.iter().all(|v| v.abs() < limit));
        let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            max > 0.99 * limit,
            "draws should reach near the limit, max {max}"
        );
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn the_same_seed_draws_the_same_values() {
        let (mut a, mut b) = ([0.0f32; 64], [0.0f32; 64]);
        glorot_uniform(&mut rng(3), 4, 4, &mut a);
        glorot_uniform(&mut rng(3), 4, 4, &mut b);
        assert_eq!(a, b);
        glorot_uniform(&mut rng(4), 4, 4, &mut b);
        assert_ne!(a, b);
    }
}
