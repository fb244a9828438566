//! Naming and visiting a model's parameters, the one mechanism behind weight files, parameter
//! counts and initialisation.

use core::fmt;

/// A parameter's path, `<layer>/<param>` or deeper for nested models, built on the stack as a
/// chain of parts so that no allocation is needed to name a tensor.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    parent: Option<&'a Name<'a>>,
    part: &'a str,
}

impl<'a> Name<'a> {
    /// A top-level part, e.g. a layer name.
    pub const fn root(part: &'a str) -> Self {
        Name { parent: None, part }
    }

    /// `part` below `parent` (or at the top when `parent` is `None`).
    pub const fn child(parent: Option<&'a Name<'a>>, part: &'a str) -> Self {
        Name { parent, part }
    }

    /// The last part of the path.
    pub const fn part(&self) -> &'a str {
        self.part
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}/")?;
        }
        f.write_str(self.part)
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// One parameter tensor seen through a visitor: its path, its Keras shape, its data (row-major).
pub struct Param<'a, T> {
    /// `<layer>/<param>`, e.g. `conv2d/kernel`.
    pub name: &'a Name<'a>,
    /// Keras's layout: `[in, out]` for a Dense kernel, `[kh, kw, in, out]` for a Conv2D kernel.
    pub shape: &'a [usize],
    /// The values, row-major in `shape`.
    pub data: &'a [T],
}

/// [`Param`] with mutable data, for loading and initialisation.
pub struct ParamMut<'a, T> {
    /// `<layer>/<param>`, e.g. `conv2d/kernel`.
    pub name: &'a Name<'a>,
    /// Keras's layout, as in [`Param::shape`].
    pub shape: &'a [usize],
    /// The values, row-major in `shape`.
    pub data: &'a mut [T],
}

/// Something that owns parameter tensors: a layer with weights, or a whole model.
pub trait Params<T> {
    /// Calls `f` on every parameter tensor in a fixed order, with names below `prefix`.
    fn visit_params(&self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(Param<'_, T>));
    /// Calls `f` on every parameter tensor in the same order as [`Params::visit_params`].
    fn visit_params_mut(&mut self, prefix: Option<&Name<'_>>, f: &mut dyn FnMut(ParamMut<'_, T>));
    /// Sets every parameter to Keras's default initial value (glorot_uniform kernels, zero
    /// biases), drawing from `rng` in visiting order.
    fn init_params(&mut self, rng: &mut crate::init::Rng);
}
