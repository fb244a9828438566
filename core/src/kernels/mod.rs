//! The loops behind the layers: a portable scalar path, and hand-vectorised `f32` paths for
//! AVX2+FMA and AVX-512F chosen once at run time, and for NEON on AArch64.
//!
//! Layers call their element type's [`Kernels`] methods with every size as a constant. `f64`
//! keeps the default bodies, the scalar loops of [`scalar`], which are also the reference the
//! vector paths are tested against; `f32` overrides each method with one `match` on [`isa()`]
//! (in `dispatch.rs`, the only place an instruction set is chosen).
//!
//! The vector paths follow matrixmultiply: one register-blocked micro-kernel per instruction
//! set (`gemm.rs`, compiled in `avx2.rs`, `avx512.rs`, `neon.rs`), and per layer a driver that cuts
//! its work into tiles for it (`dense.rs`, `conv2d.rs`; pools in `pool2d.rs`). A convolution is
//! an implicit GEMM: for each kernel row `ky`, an output pixel's taps are `KW·CI` contiguous
//! inputs, a row of a matrix whose rows are `SW·CI` apart, against `kernel[ky]` as a
//! `(KW·CI) × CO` matrix; nothing is copied but a transposed `[CO][CI]` panel of one tap for the
//! input gradient. Kernels allocate nothing and keep their scratch small and on the stack.

mod dispatch;
pub mod optim;
pub mod scalar;
mod window;

#[cfg(test)]
mod tests;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(all(target_arch = "x86_64", kiln_avx512))]
#[clippy::msrv = "1.89"] // compiled only by Rust 1.89 or later, see build.rs
mod avx512;
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod neon;

// The drivers, written once over `simd::Simd` for every instruction set above.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod conv2d;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod dense;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod gemm;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod pool2d;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod simd;

#[cfg(any(feature = "std", test))]
pub use dispatch::with_isa;
pub use dispatch::{isa, Isa};

use crate::scalar::Scalar;

/// The geometry of a 2-D window op (a convolution or a pool) on channels-last images, as
/// constants: input `[H][W][CI]`, output `[OH][OW][CO]`, a `KH × KW` window moved by `SH × SW`
/// with `PT` rows and `PL` columns of padding before the input (the padding after is implied by
/// the output size). Pools have `CO = CI`.
///
/// Kernels take the images as flat slices in that layout; the sizes come from here, so that
/// loops over them have constant bounds.
pub trait Shape2d {
    /// Input rows.
    const H: usize;
    /// Input columns.
    const W: usize;
    /// Input channels.
    const CI: usize;
    /// Output channels.
    const CO: usize;
    /// Window rows.
    const KH: usize;
    /// Window columns.
    const KW: usize;
    /// Row stride.
    const SH: usize;
    /// Column stride.
    const SW: usize;
    /// Padding rows before the input.
    const PT: usize;
    /// Padding columns before the input.
    const PL: usize;
    /// Output rows.
    const OH: usize;
    /// Output columns.
    const OW: usize;
}

/// A [`Shape2d`] spelled as const generics, in the order of its constants.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window2d<
    const H: usize,
    const W: usize,
    const CI: usize,
    const CO: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const OH: usize,
    const OW: usize,
>;

impl<
        const H: usize,
        const W: usize,
        const CI: usize,
        const CO: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    > Shape2d for Window2d<H, W, CI, CO, KH, KW, SH, SW, PT, PL, OH, OW>
{
    const H: usize = H;
    const W: usize = W;
    const CI: usize = CI;
    const CO: usize = CO;
    const KH: usize = KH;
    const KW: usize = KW;
    const SH: usize = SH;
    const SW: usize = SW;
    const PT: usize = PT;
    const PL: usize = PL;
    const OH: usize = OH;
    const OW: usize = OW;
}

/// The kernels of the layers, as methods of the element type; [`Scalar`] requires it.
///
/// Why methods of the element type: the choice between the scalar loops and the vector paths
/// is then made by the compiler, per type, with no run-time type check. Every default body is
/// the portable loop of [`scalar`], right for any [`Scalar`], so `f64` (and any new element
/// type) writes `impl Kernels for f64 {}`; `f32` overrides every method with its dispatch. The
/// hooks live here rather than in [`Scalar`] so that `Scalar` stays about arithmetic and the
/// whole kernel interface is in one file.
///
/// Images are flat slices in the layout of the [`Shape2d`] `G`; all lengths are checked.
pub trait Kernels: Sized {
    /// Dense: `y[r] = bias + x[r] · kernel` for every row, `kernel` being `[I][O]`.
    fn dense_forward<const I: usize, const O: usize>(
        kernel: &[[Self; O]; I],
        bias: Option<&[Self; O]>,
        x: &[[Self; I]],
        y: &mut [[Self; O]],
    ) where
        Self: Scalar,
    {
        scalar::dense_forward(kernel, bias, x, y)
    }

    /// Dense: `grad_kernel += xᵀ · dy` (rows of `x` with a zero input skipped) and
    /// `grad_bias += Σ dy`.
    fn dense_backward_params<const I: usize, const O: usize>(
        x: &[[Self; I]],
        dy: &[[Self; O]],
        grad_kernel: &mut [[Self; O]; I],
        grad_bias: Option<&mut [Self; O]>,
    ) where
        Self: Scalar,
    {
        scalar::dense_backward_params(x, dy, grad_kernel, grad_bias)
    }

    /// Dense: `dx[r] = dy[r] · kernelᵀ` for every row, overwriting `dx`.
    fn dense_backward_input<const I: usize, const O: usize>(
        kernel: &[[Self; O]; I],
        dy: &[[Self; O]],
        dx: &mut [[Self; I]],
    ) where
        Self: Scalar,
    {
        scalar::dense_backward_input(kernel, dy, dx)
    }

    /// Conv2D: `y = bias + x ⋆ kernel`, `kernel` being `[KH][KW][CI][CO]`.
    fn conv2d_forward<G: Shape2d>(
        kernel: &[Self],
        bias: Option<&[Self]>,
        x: &[Self],
        y: &mut [Self],
    ) where
        Self: Scalar,
    {
        scalar::conv2d_forward::<Self, G>(kernel, bias, x, y)
    }

    /// Conv2D: adds `∂L/∂kernel` to `grad_kernel` and `Σ dy` over pixels to `grad_bias`.
    fn conv2d_backward_params<G: Shape2d>(
        x: &[Self],
        dy: &[Self],
        grad_kernel: &mut [Self],
        grad_bias: Option<&mut [Self]>,
    ) where
        Self: Scalar,
    {
        scalar::conv2d_backward_params::<Self, G>(x, dy, grad_kernel, grad_bias)
    }

    /// Conv2D: `dx = ∂L/∂x`, overwriting `dx`.
    fn conv2d_backward_input<G: Shape2d>(kernel: &[Self], dy: &[Self], dx: &mut [Self])
    where
        Self: Scalar,
    {
        scalar::conv2d_backward_input::<Self, G>(kernel, dy, dx)
    }

    /// MaxPool2D: the largest real cell of each window, per channel.
    fn max_pool2d_forward<G: Shape2d>(x: &[Self], y: &mut [Self])
    where
        Self: Scalar,
    {
        scalar::max_pool2d_forward::<Self, G>(x, y)
    }

    /// MaxPool2D: each window's `dy` to its first largest cell, overwriting `dx`.
    fn max_pool2d_backward<G: Shape2d>(x: &[Self], dy: &[Self], dx: &mut [Self])
    where
        Self: Scalar,
    {
        scalar::max_pool2d_backward::<Self, G>(x, dy, dx)
    }

    /// AvgPool2D: the mean of the real cells of each window, per channel.
    fn avg_pool2d_forward<G: Shape2d>(x: &[Self], y: &mut [Self])
    where
        Self: Scalar,
    {
        scalar::avg_pool2d_forward::<Self, G>(x, y)
    }

    /// AvgPool2D: each window's `dy`, divided by its real cells, to each of them; overwrites
    /// `dx`.
    fn avg_pool2d_backward<G: Shape2d>(dy: &[Self], dx: &mut [Self])
    where
        Self: Scalar,
    {
        scalar::avg_pool2d_backward::<Self, G>(dy, dx)
    }

    /// Adam's (and AdamW's) update of every parameter, see [`optim::adam`].
    fn adam_update(
        step: &optim::AdamStep<Self>,
        params: &mut [Self],
        grads: &[Self],
        m: &mut [Self],
        v: &mut [Self],
        v_hat: Option<&mut [Self]>,
    ) where
        Self: Scalar,
    {
        optim::adam(step, params, grads, m, v, v_hat)
    }

    /// SGD's update with momentum, see [`optim::sgd`].
    fn sgd_update(step: &optim::SgdStep<Self>, params: &mut [Self], grads: &[Self], m: &mut [Self])
    where
        Self: Scalar,
    {
        optim::sgd(step, params, grads, m)
    }

    /// RMSprop's update, see [`optim::rmsprop`].
    fn rmsprop_update(
        step: &optim::RmspropStep<Self>,
        params: &mut [Self],
        grads: &[Self],
        velocity: &mut [Self],
        momentum: Option<&mut [Self]>,
        average_grad: Option<&mut [Self]>,
    ) where
        Self: Scalar,
    {
        optim::rmsprop(step, params, grads, velocity, momentum, average_grad)
    }

    /// Adagrad's update, see [`optim::adagrad`].
    fn adagrad_update(
        step: &optim::AdagradStep<Self>,
        params: &mut [Self],
        grads: &[Self],
        accumulator: &mut [Self],
    ) where
        Self: Scalar,
    {
        optim::adagrad(step, params, grads, accumulator)
    }
}

/// `f64` is for exact gradient checks: always the scalar loops.
impl Kernels for f64 {}
