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

/// Every hot kernel, declared once: its doc, generics (declared, then as passed on), arguments
/// over the element type `$T`, its portable body (`scalar`, for any [`Scalar`]) and its
/// vectorised body (`fast`, compiled for the instruction set `$S`). The macro `$m` receives the
/// list with `$T` and `$S` written in, so the three things made from it, the trait
/// [`Kernels`] (`$T = Self`), its `f32` dispatch (`dispatch.rs`) and each instruction set's
/// `#[target_feature]` entry points (`simd.rs`), cannot disagree. A new kernel is one entry here.
macro_rules! kernel_list {
    ($($m:ident)::+, $T:ty, $S:ty $(, $extra:tt)*) => {
        $($m)::+! {
            [$($extra)*]

            /// Dense: `y[r] = bias + x[r] · kernel` for every row, `kernel` being `[I][O]`.
            fn dense_forward[const I: usize, const O: usize][I, O](
                kernel: &[[$T; O]; I],
                bias: Option<&[$T; O]>,
                x: &[[$T; I]],
                y: &mut [[$T; O]],
            )
            scalar { crate::kernels::scalar::dense_forward::<$T, I, O> }
            fast { crate::kernels::dense::forward::<$S, I, O> };

            /// Dense: `grad_kernel += xᵀ · dy` (rows of `x` with a zero input skipped) and
            /// `grad_bias += Σ dy`.
            fn dense_backward_params[const I: usize, const O: usize][I, O](
                x: &[[$T; I]],
                dy: &[[$T; O]],
                grad_kernel: &mut [[$T; O]; I],
                grad_bias: Option<&mut [$T; O]>,
            )
            scalar { crate::kernels::scalar::dense_backward_params::<$T, I, O> }
            fast { crate::kernels::dense::backward_params::<$S, I, O> };

            /// Dense: `dx[r] = dy[r] · kernelᵀ` for every row, overwriting `dx`.
            fn dense_backward_input[const I: usize, const O: usize][I, O](
                kernel: &[[$T; O]; I],
                dy: &[[$T; O]],
                dx: &mut [[$T; I]],
            )
            scalar { crate::kernels::scalar::dense_backward_input::<$T, I, O> }
            fast { crate::kernels::dense::backward_input::<$S, I, O> };

            /// Conv2D: `y = bias + x ⋆ kernel`, `kernel` being `[KH][KW][CI][CO]`.
            fn conv2d_forward[G: crate::kernels::Shape2d][G](
                kernel: &[$T],
                bias: Option<&[$T]>,
                x: &[$T],
                y: &mut [$T],
            )
            scalar { crate::kernels::scalar::conv2d_forward::<$T, G> }
            fast { crate::kernels::conv2d::forward::<$S, G> };

            /// Conv2D: adds `∂L/∂kernel` to `grad_kernel` and `Σ dy` over pixels to `grad_bias`.
            fn conv2d_backward_params[G: crate::kernels::Shape2d][G](
                x: &[$T],
                dy: &[$T],
                grad_kernel: &mut [$T],
                grad_bias: Option<&mut [$T]>,
            )
            scalar { crate::kernels::scalar::conv2d_backward_params::<$T, G> }
            fast { crate::kernels::conv2d::backward_params::<$S, G> };

            /// Conv2D: `dx = ∂L/∂x`, overwriting `dx`.
            fn conv2d_backward_input[G: crate::kernels::Shape2d][G](
                kernel: &[$T],
                dy: &[$T],
                dx: &mut [$T],
            )
            scalar { crate::kernels::scalar::conv2d_backward_input::<$T, G> }
            fast { crate::kernels::conv2d::backward_input::<$S, G> };

            /// MaxPool2D: the largest real cell of each window, per channel.
            fn max_pool2d_forward[G: crate::kernels::Shape2d][G](x: &[$T], y: &mut [$T])
            scalar { crate::kernels::scalar::max_pool2d_forward::<$T, G> }
            fast { crate::kernels::pool2d::max_forward::<$S, G> };

            /// MaxPool2D: each window's `dy` to its first largest cell, overwriting `dx`.
            fn max_pool2d_backward[G: crate::kernels::Shape2d][G](x: &[$T], dy: &[$T], dx: &mut [$T])
            scalar { crate::kernels::scalar::max_pool2d_backward::<$T, G> }
            fast { crate::kernels::pool2d::max_backward::<$S, G> };

            /// AvgPool2D: the mean of the real cells of each window, per channel.
            fn avg_pool2d_forward[G: crate::kernels::Shape2d][G](x: &[$T], y: &mut [$T])
            scalar { crate::kernels::scalar::avg_pool2d_forward::<$T, G> }
            fast { crate::kernels::pool2d::avg_forward::<$S, G> };

            /// AvgPool2D: each window's `dy`, divided by its real cells, to each of them;
            /// overwrites `dx`.
            fn avg_pool2d_backward[G: crate::kernels::Shape2d][G](dy: &[$T], dx: &mut [$T])
            scalar { crate::kernels::scalar::avg_pool2d_backward::<$T, G> }
            fast { crate::kernels::pool2d::avg_backward::<$S, G> };

            /// LSTM: one step of the cell on one sample, from the gates' pre-activations `z`
            /// (`[i | f | c | o]`): the cell state `c` and the output `h`.
            fn lstm_cell_forward[
                A: crate::activations::Elementwise,
                R: crate::activations::Elementwise,
                const U: usize,
                const G: usize
            ][A, R, U, G](
                z: &[$T; G],
                c_prev: &[$T; U],
                c: &mut [$T; U],
                h: &mut [$T; U],
            )
            scalar { crate::layers::lstm::cell_forward::<$T, A, R, U, G> }
            fast { crate::layers::lstm::cell_forward::<$T, A, R, U, G> };

            /// LSTM: the cell's backward for one step of one sample, given `dh` (the output's
            /// gradient) and `dc` (the cell state's, from the next step): overwrites `z` with
            /// the gates' gradients and `dc` with the previous cell state's.
            fn lstm_cell_backward[
                A: crate::activations::Elementwise,
                R: crate::activations::Elementwise,
                const U: usize,
                const G: usize
            ][A, R, U, G](
                z: &mut [$T; G],
                c_prev: &[$T; U],
                c: &[$T; U],
                dh: &[$T; U],
                dc: &mut [$T; U],
            )
            scalar { crate::layers::lstm::cell_backward::<$T, A, R, U, G> }
            fast { crate::layers::lstm::cell_backward::<$T, A, R, U, G> };

            /// GRU: one step of the cell on one sample, from the input projection `x` and the
            /// recurrent one `r` (`[z | r | h]`, biases included): the output `h`.
            fn gru_cell_forward[
                A: crate::activations::Elementwise,
                R: crate::activations::Elementwise,
                const U: usize,
                const G: usize
            ][A, R, U, G](
                x: &[$T; G],
                r: &[$T; G],
                h_prev: &[$T; U],
                h: &mut [$T; U],
            )
            scalar { crate::layers::gru::cell_forward::<$T, A, R, U, G> }
            fast { crate::layers::gru::cell_forward::<$T, A, R, U, G> };

            /// GRU: the cell's backward for one step of one sample, given the output's gradient
            /// `dh`: overwrites `x` and `r` with their projections' gradients and writes
            /// `dh_prev = dh · z`.
            fn gru_cell_backward[
                A: crate::activations::Elementwise,
                R: crate::activations::Elementwise,
                const U: usize,
                const G: usize
            ][A, R, U, G](
                x: &mut [$T; G],
                r: &mut [$T; G],
                h_prev: &[$T; U],
                dh: &[$T; U],
                dh_prev: &mut [$T; U],
            )
            scalar { crate::layers::gru::cell_backward::<$T, A, R, U, G> }
            fast { crate::layers::gru::cell_backward::<$T, A, R, U, G> };

            /// Adam's (and AdamW's) update of every parameter, see [`optim::adam`].
            fn adam_update[][](
                step: &crate::kernels::optim::AdamStep<$T>,
                params: &mut [$T],
                grads: &[$T],
                m: &mut [$T],
                v: &mut [$T],
                v_hat: Option<&mut [$T]>,
            )
            scalar { crate::kernels::optim::adam::<$T> }
            fast { crate::kernels::optim::fast::adam };

            /// SGD's update with momentum, see [`optim::sgd`].
            fn sgd_update[][](
                step: &crate::kernels::optim::SgdStep<$T>,
                params: &mut [$T],
                grads: &[$T],
                m: &mut [$T],
            )
            scalar { crate::kernels::optim::sgd::<$T> }
            fast { crate::kernels::optim::fast::sgd };

            /// RMSprop's update, see [`optim::rmsprop`].
            fn rmsprop_update[][](
                step: &crate::kernels::optim::RmspropStep<$T>,
                params: &mut [$T],
                grads: &[$T],
                velocity: &mut [$T],
                momentum: Option<&mut [$T]>,
                average_grad: Option<&mut [$T]>,
            )
            scalar { crate::kernels::optim::rmsprop::<$T> }
            fast { crate::kernels::optim::fast::rmsprop };

            /// Adagrad's update, see [`optim::adagrad`].
            fn adagrad_update[][](
                step: &crate::kernels::optim::AdagradStep<$T>,
                params: &mut [$T],
                grads: &[$T],
                accumulator: &mut [$T],
            )
            scalar { crate::kernels::optim::adagrad::<$T> }
            fast { crate::kernels::optim::fast::adagrad };
        }
    };
}

pub(crate) use kernel_list;

/// Writes the trait [`Kernels`] from [`kernel_list!`]: each method's default body is its
/// portable loop.
macro_rules! kernels_trait {
    ([] $(
        $(#[$attr:meta])*
        fn $name:ident [$($decl:tt)*] [$($g:ident),*] ($($arg:ident: $ty:ty),* $(,)?)
        scalar { $($scalar:tt)* }
        fast { $($fast:tt)* };
    )*) => {
        /// The kernels of the layers, as methods of the element type; [`Scalar`] requires it.
        ///
        /// Why methods of the element type: the choice between the scalar loops and the vector
        /// paths is then made by the compiler, per type, with no run-time type check. Every
        /// default body is the portable loop of [`scalar`] (or [`optim`]), right for any
        /// [`Scalar`], so `f64` (and any new element type) writes `impl Kernels for f64 {}`;
        /// `f32` overrides every method with its dispatch. The methods are declared once, in
        /// `kernel_list!` (this file), with their dispatch and per-instruction-set entry points.
        ///
        /// Images are flat slices in the layout of the [`Shape2d`] `G`; all lengths are checked.
        pub trait Kernels: Sized {
            $(
                $(#[$attr])*
                fn $name<$($decl)*>($($arg: $ty),*)
                where
                    Self: Scalar,
                {
                    $($scalar)*($($arg),*)
                }
            )*
        }
    };
}

kernel_list!(kernels_trait, Self, ());

/// `f64` is for exact gradient checks: always the scalar loops.
impl Kernels for f64 {}
