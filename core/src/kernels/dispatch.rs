//! Which instruction set the `f32` kernels run on, chosen once, and the one `match` per kernel
//! that routes to it.
//!
//! On x86-64 with the `std` feature the CPU is asked at run time (`is_x86_feature_detected!`) on
//! first use and the answer is kept in an atomic; `KILN_ISA=scalar|avx2|avx512` caps it. Without
//! `std` only what the build enables counts (`-C target-feature` or `target-cpu`), so a `no_std`
//! build for a plain `x86_64` target runs the scalar loops. NEON is part of every AArch64 target
//! that has floating point, so it is known at compile time.

use super::scalar;
use super::{optim, Kernels, Shape2d};
use core::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
use super::avx2;
#[cfg(all(target_arch = "x86_64", kiln_avx512))]
use super::avx512;
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
use super::neon;

#[cfg(any(feature = "std", test))]
extern crate std;

/// An instruction set the `f32` kernels can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The portable loops of [`scalar`](super::scalar), whatever the compiler makes of them.
    Scalar,
    /// x86-64 AVX2 with FMA: 8 lanes.
    Avx2,
    /// x86-64 AVX-512F: 16 lanes (built with Rust 1.89 or later).
    Avx512,
    /// AArch64 NEON: 4 lanes.
    Neon,
}

impl Isa {
    /// Every instruction set.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// The name `KILN_ISA` takes: `"scalar"`, `"avx2"`, `"avx512"` or `"neon"`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// How wide it is: a name in `KILN_ISA` caps the choice at its width.
    fn width(self) -> u8 {
        match self {
            Isa::Scalar => 0,
            Isa::Avx2 | Isa::Neon => 1,
            Isa::Avx512 => 2,
        }
    }

    /// The instruction set of a name as [`Isa::name`] writes it.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|isa| isa.name() == name)
    }

    /// Whether this CPU (without `std`: this build) can run it, and this build has it.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            Isa::Avx2 => has_avx2(),
            Isa::Avx512 => has_avx512(),
            Isa::Neon => cfg!(all(target_arch = "aarch64", target_feature = "neon")),
        }
    }

    /// The instruction sets [`Isa::is_available`] says can run.
    pub fn available() -> impl Iterator<Item = Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.is_available())
    }

    /// The widest available instruction set that is not wider than `cap`.
    fn best_up_to(cap: u8) -> Isa {
        Isa::available()
            .filter(|isa| isa.width() <= cap)
            .max_by_key(|isa| isa.width())
            .unwrap_or(Isa::Scalar)
    }

    fn from_u8(v: u8) -> Isa {
        Isa::ALL[usize::from(v)]
    }
}

#[cfg(all(target_arch = "x86_64", any(feature = "std", test)))]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(all(target_arch = "x86_64", not(any(feature = "std", test))))]
fn has_avx2() -> bool {
    cfg!(all(target_feature = "avx2", target_feature = "fma"))
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

#[cfg(all(target_arch = "x86_64", kiln_avx512, any(feature = "std", test)))]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

#[cfg(all(target_arch = "x86_64", kiln_avx512, not(any(feature = "std", test))))]
fn has_avx512() -> bool {
    cfg!(target_feature = "avx512f")
}

#[cfg(not(all(target_arch = "x86_64", kiln_avx512)))]
fn has_avx512() -> bool {
    false
}

/// The instruction set chosen on first use, plus one; 0 until then.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// The instruction set the `f32` kernels run on: the fastest available, capped by the
/// environment variable `KILN_ISA` (read once; a name this CPU cannot run falls back to the best
/// it can below it), or the one `with_isa` (with `std`) forces on this thread.
///
/// The first call chooses. When `KILN_ISA` is set, reading it allocates its value once, so a
/// program that must not allocate after its start calls this first.
#[inline]
pub fn isa() -> Isa {
    #[cfg(any(feature = "std", test))]
    if let Some(forced) = FORCED.with(|f| f.get()) {
        return forced;
    }
    match CHOSEN.load(Ordering::Relaxed) {
        0 => choose(),
        v => Isa::from_u8(v - 1),
    }
}

#[cold]
fn choose() -> Isa {
    #[cfg(any(feature = "std", test))]
    let requested = std::env::var("KILN_ISA")
        .ok()
        .and_then(|name| Isa::from_name(name.trim()));
    #[cfg(not(any(feature = "std", test)))]
    let requested: Option<Isa> = None;
    let isa = match requested {
        Some(isa) if isa.is_available() => isa,
        Some(isa) => Isa::best_up_to(isa.width()),
        None => Isa::best_up_to(u8::MAX),
    };
    CHOSEN.store(isa as u8 + 1, Ordering::Relaxed);
    isa
}

#[cfg(any(feature = "std", test))]
std::thread_local! {
    static FORCED: core::cell::Cell<Option<Isa>> = const { core::cell::Cell::new(None) };
}

/// Runs `f` with this thread's `f32` kernels on `isa`, for tests and benchmarks that compare
/// paths; other threads (a trainer's workers) are not affected, use `KILN_ISA` for those.
///
/// # Panics
/// If `isa` is not [available](Isa::is_available): running it could be undefined behaviour.
#[cfg(any(feature = "std", test))]
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    assert!(isa.is_available(), "with_isa: this CPU cannot run {isa:?}");
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.with(|f| f.set(self.0));
        }
    }
    let _restore = Restore(FORCED.with(|f| f.replace(Some(isa))));
    f()
}

/// Calls the kernel `$f` of the instruction set [`isa`] returns, or the scalar one.
macro_rules! dispatch {
    ($f:ident::<$($g:tt),*>($($arg:expr),* $(,)?)) => {
        match isa() {
            #[cfg(all(target_arch = "x86_64", kiln_avx512))]
            // SAFETY: `isa` returns only what the CPU can run.
            Isa::Avx512 => unsafe { avx512::$f::<$($g),*>($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { avx2::$f::<$($g),*>($($arg),*) },
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            // SAFETY: this build's target has NEON.
            Isa::Neon => unsafe { neon::$f::<$($g),*>($($arg),*) },
            _ => scalar::$f::<f32, $($g),*>($($arg),*),
        }
    };
}

/// Calls the optimizer update `$f` of [`optim`] for the instruction set [`isa`] returns: its
/// fast body compiled for AVX-512F or AVX2, at the baseline on NEON, or the reference loop.
macro_rules! dispatch_optim {
    ($f:ident($($arg:expr),* $(,)?)) => {
        match isa() {
            #[cfg(all(target_arch = "x86_64", kiln_avx512))]
            // SAFETY: `isa` returns only what the CPU can run.
            Isa::Avx512 => unsafe { optim::avx512::$f($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { optim::avx2::$f($($arg),*) },
            Isa::Neon => optim::fast::$f($($arg),*),
            _ => optim::$f($($arg),*),
        }
    };
}

impl Kernels for f32 {
    fn dense_forward<const I: usize, const O: usize>(
        kernel: &[[f32; O]; I],
        bias: Option<&[f32; O]>,
        x: &[[f32; I]],
        y: &mut [[f32; O]],
    ) {
        dispatch!(dense_forward::<I, O>(kernel, bias, x, y))
    }

    fn dense_backward_params<const I: usize, const O: usize>(
        x: &[[f32; I]],
        dy: &[[f32; O]],
        grad_kernel: &mut [[f32; O]; I],
        grad_bias: Option<&mut [f32; O]>,
    ) {
        dispatch!(dense_backward_params::<I, O>(x, dy, grad_kernel, grad_bias))
    }

    fn dense_backward_input<const I: usize, const O: usize>(
        kernel: &[[f32; O]; I],
        dy: &[[f32; O]],
        dx: &mut [[f32; I]],
    ) {
        dispatch!(dense_backward_input::<I, O>(kernel, dy, dx))
    }

    fn conv2d_forward<G: Shape2d>(kernel: &[f32], bias: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
        dispatch!(conv2d_forward::<G>(kernel, bias, x, y))
    }

    fn conv2d_backward_params<G: Shape2d>(
        x: &[f32],
        dy: &[f32],
        grad_kernel: &mut [f32],
        grad_bias: Option<&mut [f32]>,
    ) {
        dispatch!(conv2d_backward_params::<G>(x, dy, grad_kernel, grad_bias))
    }

    fn conv2d_backward_input<G: Shape2d>(kernel: &[f32], dy: &[f32], dx: &mut [f32]) {
        dispatch!(conv2d_backward_input::<G>(kernel, dy, dx))
    }

    fn max_pool2d_forward<G: Shape2d>(x: &[f32], y: &mut [f32]) {
        dispatch!(max_pool2d_forward::<G>(x, y))
    }

    fn max_pool2d_backward<G: Shape2d>(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        dispatch!(max_pool2d_backward::<G>(x, dy, dx))
    }

    fn avg_pool2d_forward<G: Shape2d>(x: &[f32], y: &mut [f32]) {
        dispatch!(avg_pool2d_forward::<G>(x, y))
    }

    fn avg_pool2d_backward<G: Shape2d>(dy: &[f32], dx: &mut [f32]) {
        dispatch!(avg_pool2d_backward::<G>(dy, dx))
    }

    fn adam_update(
        step: &optim::AdamStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        v_hat: Option<&mut [f32]>,
    ) {
        dispatch_optim!(adam(step, params, grads, m, v, v_hat))
    }

    fn sgd_update(step: &optim::SgdStep<f32>, params: &mut [f32], grads: &[f32], m: &mut [f32]) {
        dispatch_optim!(sgd(step, params, grads, m))
    }

    fn rmsprop_update(
        step: &optim::RmspropStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        velocity: &mut [f32],
        momentum: Option<&mut [f32]>,
        average_grad: Option<&mut [f32]>,
    ) {
        dispatch_optim!(rmsprop(
            step,
            params,
            grads,
            velocity,
            momentum,
            average_grad
        ))
    }

    fn adagrad_update(
        step: &optim::AdagradStep<f32>,
        params: &mut [f32],
        grads: &[f32],
        accumulator: &mut [f32],
    ) {
        dispatch_optim!(adagrad(step, params, grads, accumulator))
    }
}
