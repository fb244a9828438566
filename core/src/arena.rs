//! The activation memory of inference, planned by `kiln::model!` at compile time: one buffer of
//! [`Planned::ARENA_BYTES`] that the caller owns, so inference needs no heap and a fixed, known
//! amount of RAM.
//!
//! The macro places each layer's input and output at opposite ends of the arena (the output of
//! one layer is the input of the next), so the arena is the largest `input + output` pair over
//! the layers. Flatten, Reshape and Dropout reuse their input's bytes, activations run in place,
//! and an int8 model computes a pooling layer inside the convolution that feeds it.

use bytemuck::{Pod, Zeroable};

/// Sixteen bytes aligned to 16: the unit an arena is made of, so every tensor placed at a
/// multiple of 16 can be viewed as its own type (and as SIMD vectors).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
pub struct Chunk(pub [u8; 16]);

// SAFETY: sixteen bytes with no padding (size 16, align 16); any bit pattern is valid.
unsafe impl Zeroable for Chunk {}
// SAFETY: as above; `Copy` and `'static`.
unsafe impl Pod for Chunk {}

/// A model whose inference memory the macro has planned.
pub trait Planned {
    /// The arena's storage, `[Chunk; ARENA_BYTES / 16]`.
    type Buffer: Pod;
    /// Bytes of activation memory one inference needs: the size of an [`Arena`] for the model.
    const ARENA_BYTES: usize;
}

/// The working memory of one inference of `M`, [`Planned::ARENA_BYTES`] long.
///
/// Create it once and reuse it: `Arena::new()` is `const`, so it can live in a `static` (e.g. in
/// a `static_cell::ConstStaticCell`) or on the stack. Inference borrows it mutably and returns
/// its output as a reference into it.
#[repr(transparent)]
pub struct Arena<M: Planned> {
    buf: M::Buffer,
}

impl<M: Planned> Arena<M> {
    /// A zeroed arena. `const`, so a `static` arena costs no start-up work (it lands in `.bss`).
    pub const fn new() -> Self {
        // SAFETY: `Buffer: Pod`, so all-zero bytes are a valid value.
        Self {
            buf: unsafe { core::mem::zeroed() },
        }
    }

    /// The arena's bytes.
    pub fn bytes(&self) -> &[u8] {
        bytemuck::bytes_of(&self.buf)
    }

    /// The arena's bytes, mutably (inference writes here).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::bytes_of_mut(&mut self.buf)
    }
}

impl<M: Planned> Default for Arena<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// Views `len_of::<A>()` bytes at `at` as an `A`. The plan puts every tensor at a multiple of 16
/// inside the arena, so the checks bytemuck makes always pass and fold away.
#[inline(always)]
pub fn view<A: Pod>(buf: &[u8], at: usize) -> &A {
    bytemuck::from_bytes(&buf[at..at + core::mem::size_of::<A>()])
}

/// Mutable [`view`].
#[inline(always)]
pub fn view_mut<A: Pod>(buf: &mut [u8], at: usize) -> &mut A {
    bytemuck::from_bytes_mut(&mut buf[at..at + core::mem::size_of::<A>()])
}

/// A layer's input `A` at `a` and output `B` at `b`, which the plan keeps apart.
#[inline(always)]
pub fn io<A: Pod, B: Pod>(buf: &mut [u8], a: usize, b: usize) -> (&A, &mut B) {
    let (na, nb) = (core::mem::size_of::<A>(), core::mem::size_of::<B>());
    if a < b {
        let (lo, hi) = buf.split_at_mut(b);
        (
            bytemuck::from_bytes(&lo[a..a + na]),
            bytemuck::from_bytes_mut(&mut hi[..nb]),
        )
    } else {
        let (lo, hi) = buf.split_at_mut(a);
        (
            bytemuck::from_bytes(&hi[..na]),
            bytemuck::from_bytes_mut(&mut lo[b..b + nb]),
        )
    }
}

/// Three tensors at once: a layer's input `A` at `a`, a scratch `B` at `b` and its output `C`
/// at `c` (a convolution computing a band of rows, which a pooling layer then reduces into the
/// output). The plan keeps the three apart; that is checked here, and the checks fold away.
#[inline(always)]
pub fn io3<A: Pod, B: Pod, C: Pod>(
    buf: &mut [u8],
    a: usize,
    b: usize,
    c: usize,
) -> (&A, &mut B, &mut C) {
    let (na, nb, nc) = (
        core::mem::size_of::<A>(),
        core::mem::size_of::<B>(),
        core::mem::size_of::<C>(),
    );
    let apart = |x: usize, nx: usize, y: usize, ny: usize| x + nx <= y || y + ny <= x;
    assert!(
        a + na <= buf.len() && b + nb <= buf.len() && c + nc <= buf.len(),
        "io3: a tensor ends past the arena"
    );
    assert!(
        apart(a, na, b, nb) && apart(a, na, c, nc) && apart(b, nb, c, nc),
        "io3: tensors overlap"
    );
    let base = buf.as_mut_ptr();
    // SAFETY: the three ranges are inside `buf` and pairwise disjoint (checked above), so the
    // shared and the two mutable references never alias; `from_bytes(_mut)` checks alignment.
    unsafe {
        (
            bytemuck::from_bytes(core::slice::from_raw_parts(base.add(a), na)),
            bytemuck::from_bytes_mut(core::slice::from_raw_parts_mut(base.add(b), nb)),
            bytemuck::from_bytes_mut(core::slice::from_raw_parts_mut(base.add(c), nc)),
        )
    }
}

/// A merge's tensors: `N` inputs of `T`s, each `(offset, count)` (two may be the same tensor),
/// and its output `(offset, count)`, apart from every input (the plan keeps it so; a range
/// that crosses the output or the arena's end panics here).
#[inline(always)]
pub fn many<T: Pod, const N: usize>(
    buf: &mut [u8],
    ins: [(usize, usize); N],
    out: (usize, usize),
) -> ([&[T]; N], &mut [T]) {
    let size = core::mem::size_of::<T>();
    let (lo, rest) = buf.split_at_mut(out.0);
    let (y, hi) = rest.split_at_mut(out.1 * size);
    let (lo, hi): (&[u8], &[u8]) = (lo, hi);
    let end = out.0 + out.1 * size;
    let xs = ins.map(|(at, n)| {
        let bytes = if at < out.0 {
            &lo[at..at + n * size]
        } else {
            &hi[at - end..at - end + n * size]
        };
        bytemuck::cast_slice(bytes)
    });
    (xs, bytemuck::cast_slice_mut(y))
}

/// Inference into a caller-provided [`Arena`]: what both float and int8 models offer, and what
/// firmware calls.
pub trait Infer: Planned + Sized {
    /// One input sample (`[[[f32; 1]; 28]; 28]`, or `i8` for an int8 model).
    type Input: Pod;
    /// One output sample; an int8 classifier returns its int8 logits.
    type Output: Pod;
    /// Runs one sample, using only `arena` for activations; returns the output, which lives in
    /// the arena until the next call.
    fn infer<'a>(&self, arena: &'a mut Arena<Self>, x: &Self::Input) -> &'a Self::Output;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tiny;
    impl Planned for Tiny {
        type Buffer = [Chunk; 4];
        const ARENA_BYTES: usize = 64;
    }

    #[test]
    fn many_reads_inputs_on_both_sides_of_the_output() {
        let mut a = Arena::<Tiny>::new();
        let buf = a.bytes_mut();
        *view_mut::<[f32; 2]>(buf, 0) = [1.0, 2.0];
        *view_mut::<[f32; 2]>(buf, 48) = [10.0, 20.0];
        let ([x, z, w], y) = many::<f32, 3>(buf, [(0, 2), (48, 2), (0, 2)], (16, 4));
        y.copy_from_slice(&[x[0] + z[0], x[1] + z[1], w[0], z[1]]);
        assert_eq!(*view::<[f32; 4]>(buf, 16), [11.0, 22.0, 1.0, 20.0]);
    }

    #[test]
    #[should_panic]
    fn many_refuses_an_input_that_crosses_the_output() {
        let mut a = Arena::<Tiny>::new();
        let _ = many::<f32, 1>(a.bytes_mut(), [(8, 4)], (16, 4));
    }

    #[test]
    fn arena_is_aligned_zeroed_and_splits_both_ways() {
        let mut a = Arena::<Tiny>::new();
        assert_eq!(a.bytes().len(), 64);
        assert_eq!(a.bytes().as_ptr() as usize % 16, 0);
        assert!(a.bytes().iter().all(|&b| b == 0));
        let buf = a.bytes_mut();
        *view_mut::<[f32; 4]>(buf, 48) = [1.0, 2.0, 3.0, 4.0];
        let (x, y) = io::<[f32; 4], [f32; 2]>(buf, 48, 0);
        y[0] = x[0] + x[3];
        y[1] = x[1] * x[2];
        assert_eq!(*view::<[f32; 2]>(buf, 0), [5.0, 6.0]);
        let (x, y) = io::<[f32; 2], [f32; 8]>(buf, 0, 32);
        y[7] = x[0] + x[1];
        assert_eq!(view::<[f32; 8]>(buf, 32)[7], 11.0);
        let (x, s, y) = io3::<[f32; 2], [f32; 4], [f32; 4]>(buf, 0, 48, 16);
        s[0] = x[0] * 2.0;
        y[3] = s[0] + 1.0;
        assert_eq!(view::<[f32; 4]>(buf, 16)[3], 11.0);
    }

    #[test]
    #[should_panic(expected = "io3: tensors overlap")]
    fn io3_refuses_overlapping_tensors() {
        let mut a = Arena::<Tiny>::new();
        let _ = io3::<[f32; 4], [f32; 4], [f32; 4]>(a.bytes_mut(), 0, 8, 32);
    }
}
