//! Mini-batches without copying the dataset: in order as slices, or shuffled for a seed as
//! slices of indices. The last batch holds what is left, so every sample is seen once per epoch.

extern crate std;

use std::vec::Vec;

use kiln_core::init::{rng, Rng};
use rand_core::Rng as _;

/// `xs` in batches of `batch_size` samples, in order; the last batch holds the remainder.
///
/// ```
/// let xs = [1, 2, 3, 4, 5];
/// let b: Vec<&[i32]> = kiln::datasets::batches(&xs, 2).collect();
/// assert_eq!(b, [&[1, 2][..], &[3, 4], &[5]]);
/// ```
///
/// # Panics
/// If `batch_size` is 0.
pub fn batches<T>(xs: &[T], batch_size: usize) -> std::slice::Chunks<'_, T> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    xs.chunks(batch_size)
}

/// An order in which to visit `len` samples: in order, or shuffled reproducibly from a seed.
///
/// Batches of it are slices of indices; index the data with them, so nothing but the indices is
/// copied. Keras shuffles anew each epoch: seed each epoch differently, e.g. `seed + epoch`.
///
/// ```
/// use kiln::datasets::BatchOrder;
///
/// let (xs, ys) = (vec![10, 20, 30, 40, 50], vec![1, 2, 3, 4, 5]);
/// let order = BatchOrder::shuffled(xs.len(), 42);
/// let mut seen = 0;
/// for batch in order.batches(2) {
///     for &i in batch {
///         assert_eq!(xs[i], ys[i] * 10); // samples and labels stay paired
///         seen += 1;
///     }
/// }
/// assert_eq!(seen, 5);
/// assert_eq!(order, BatchOrder::shuffled(5, 42)); // the same seed, the same order
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOrder {
    indices: Vec<usize>,
}

impl BatchOrder {
    /// `0, 1, .., len - 1`.
    pub fn sequential(len: usize) -> Self {
        BatchOrder {
            indices: (0..len).collect(),
        }
    }

    /// A permutation of `0..len`, the same for the same `seed` on every platform and every run:
    /// a Fisher–Yates shuffle driven by kiln's seeded generator (ChaCha8, as `Model::init`).
    pub fn shuffled(len: usize, seed: u64) -> Self {
        let mut order = Self::sequential(len);
        let mut rng = rng(seed);
        for i in (1..len).rev() {
            order
                .indices
                .swap(i, below(&mut rng, i as u64 + 1) as usize);
        }
        order
    }

    /// The indices, in visiting order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The indices in batches of `batch_size`; the last batch holds the remainder.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn batches(&self, batch_size: usize) -> std::slice::Chunks<'_, usize> {
        batches(&self.indices, batch_size)
    }
}

/// Copies the samples of `xs` at `indices` into `out` (cleared first): one batch, for an API that
/// wants a contiguous slice such as `Model::predict`. Reusing `out` across batches allocates once.
///
/// # Panics
/// If an index is out of bounds for `xs`.
pub fn gather_into<T: Clone>(xs: &[T], indices: &[usize], out: &mut Vec<T>) {
    out.clear();
    out.extend(indices.iter().map(|&i| xs[i].clone()));
}

/// A uniform draw from `0..n` (`n > 0`) without modulo bias: Lemire's multiply-and-reject.
fn below(rng: &mut Rng, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = rng.next_u64() as u128 * n as u128;
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_partial_batch_is_kept() {
        let xs: Vec<u32> = (0..10).collect();
        let sizes: Vec<usize> = batches(&xs, 4).map(<[u32]>::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(BatchOrder::sequential(10).batches(5).count(), 2);
        assert_eq!(batches::<u8>(&[], 3).count(), 0);
    }

    #[test]
    fn a_shuffle_is_a_permutation_reproducible_for_its_seed() {
        let a = BatchOrder::shuffled(1000, 7);
        let mut sorted = a.indices().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, BatchOrder::sequential(1000).indices());
        assert_eq!(a, BatchOrder::shuffled(1000, 7));
        assert_ne!(a, BatchOrder::shuffled(1000, 8));
        assert_ne!(a, BatchOrder::sequential(1000));
        assert_eq!(BatchOrder::shuffled(0, 1).indices(), &[] as &[usize]);
        assert_eq!(BatchOrder::shuffled(1, 1).indices(), &[0]);
    }

    #[test]
    fn a_shuffle_moves_every_position_about_evenly() {
        // Over many seeds, index 0 lands in each of 4 slots about a quarter of the time.
        let mut counts = [0u32; 4];
        for seed in 0..4000 {
            let order = BatchOrder::shuffled(4, seed);
            counts[order.indices().iter().position(|&i| i == 0).unwrap()] += 1;
        }
        for c in counts {
            assert!((900..1100).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn below_stays_below_its_bound() {
        let mut r = rng(3);
        for n in [1, 2, 3, 7, 1 << 40, u64::MAX] {
            for _ in 0..100 {
                assert!(below(&mut r, n) < n);
            }
        }
    }

    #[test]
    fn gather_copies_one_batch_in_index_order() {
        let xs = ['a', 'b', 'c', 'd'];
        let mut out = Vec::new();
        gather_into(&xs, &[3, 0], &mut out);
        assert_eq!(out, ['d', 'a']);
        gather_into(&xs, &[1], &mut out);
        assert_eq!(out, ['b']);
    }

    #[test]
    #[should_panic(expected = "batch_size must be at least 1")]
    fn a_batch_size_of_zero_panics() {
        let _ = batches(&[1], 0);
    }
}
