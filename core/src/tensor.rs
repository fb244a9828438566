//! Tensors are plain nested arrays, channels last and contiguous (`[[[T; C]; W]; H]` for an
//! image), so their shape is their type. This module holds the zero-cost views between them.

use bytemuck::Pod;

/// Views a tensor as rows along its last axis, e.g. `[[[T; C]; W]; H]` as `H * W` rows of `C`.
///
/// Dense layers and softmax act on the last axis whatever the rank, as in Keras.
pub trait Rows<T, const C: usize> {
    /// The rows, in row-major order.
    fn rows(&self) -> &[[T; C]];
    /// The rows, mutable.
    fn rows_mut(&mut self) -> &mut [[T; C]];
}

impl<T, const C: usize> Rows<T, C> for [T; C] {
    #[inline]
    fn rows(&self) -> &[[T; C]] {
        core::slice::from_ref(self)
    }
    #[inline]
    fn rows_mut(&mut self) -> &mut [[T; C]] {
        core::slice::from_mut(self)
    }
}

impl<T, const C: usize, const A: usize> Rows<T, C> for [[T; C]; A] {
    #[inline]
    fn rows(&self) -> &[[T; C]] {
        self
    }
    #[inline]
    fn rows_mut(&mut self) -> &mut [[T; C]] {
        self
    }
}

impl<T, const C: usize, const B: usize, const A: usize> Rows<T, C> for [[[T; C]; B]; A] {
    #[inline]
    fn rows(&self) -> &[[T; C]] {
        self.as_flattened()
    }
    #[inline]
    fn rows_mut(&mut self) -> &mut [[T; C]] {
        self.as_flattened_mut()
    }
}

/// Reinterprets a tensor as another of the same element count (Flatten, Reshape): row-major
/// order is kept, as in Keras. The sizes are compared at compile time; nothing is copied.
#[inline]
pub fn reshape<A: Pod, B: Pod>(a: &A) -> &B {
    bytemuck::must_cast_ref(a)
}

/// Reinterprets a tensor, mutably, as [`reshape`] does.
#[inline]
pub fn reshape_mut<A: Pod, B: Pod>(a: &mut A) -> &mut B {
    bytemuck::must_cast_mut(a)
}

/// The tensor `B` that starts `offset` elements of `T` into `a`: one output of a nested model
/// with several, inside its packed outputs. Panics if `B` does not fit there.
#[inline]
pub fn part<T: Pod, A: Pod, B: Pod>(a: &A, offset: usize) -> &B {
    let n = core::mem::size_of::<B>() / core::mem::size_of::<T>();
    bytemuck::from_bytes(bytemuck::cast_slice(&flat::<T, A>(a)[offset..offset + n]))
}

/// [`part`], mutably.
#[inline]
pub fn part_mut<T: Pod, A: Pod, B: Pod>(a: &mut A, offset: usize) -> &mut B {
    let n = core::mem::size_of::<B>() / core::mem::size_of::<T>();
    bytemuck::from_bytes_mut(bytemuck::cast_slice_mut(
        &mut flat_mut::<T, A>(a)[offset..offset + n],
    ))
}

/// All elements of a tensor in row-major order.
#[inline]
pub fn flat<T: Pod, A: Pod>(a: &A) -> &[T] {
    bytemuck::cast_slice(core::slice::from_ref(a))
}

/// All elements of a tensor in row-major order, mutable.
#[inline]
pub fn flat_mut<T: Pod, A: Pod>(a: &mut A) -> &mut [T] {
    bytemuck::cast_slice_mut(core::slice::from_mut(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_an_image_run_along_channels() {
        let x = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
        let r: &[[i32; 2]] = Rows::<i32, 2>::rows(&x);
        assert_eq!(r, &[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]);
        assert_eq!(Rows::<i32, 3>::rows(&[1, 2, 3]), &[[1, 2, 3]]);
    }

    #[test]
    fn reshape_keeps_row_major_order() {
        let x = [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let y: &[[f32; 2]; 3] = reshape(&x);
        assert_eq!(y, &[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        assert_eq!(flat::<f32, _>(&x), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
