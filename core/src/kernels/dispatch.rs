//! Which instruction set the `f32` kernels run on, chosen once, and the one `match` per kernel
//! that routes to it.
//!
//! On x86-64 with the `std` feature the CPU is asked at run time (`is_x86_feature_detected!`) on
//! first use and the answer is kept in an atomic; `KILN_ISA=scalar|avx2|avx512` caps it. Without
//! `std` only what the build enables counts (`-C target-feature` or `target-cpu`), so a `no_std`
//! build for a plain `x86_64` target runs the scalar loops. NEON is part of every AArch64 target
//! that has floating point, so it is known at compile time.

use super::Kernels;
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

/// Writes `impl Kernels for f32` from [`kernel_list!`](super::kernel_list): each method is one
/// `match` on [`isa`], to the instruction set's entry point or to the portable loop.
macro_rules! f32_dispatch {
    ([] $(
        $(#[$attr:meta])*
        fn $name:ident [$($decl:tt)*] [$($g:ident),*] ($($arg:ident: $ty:ty),* $(,)?)
        scalar { $($scalar:tt)* }
        fast { $($fast:tt)* };
    )*) => {
        impl Kernels for f32 {
            $(
                fn $name<$($decl)*>($($arg: $ty),*) {
                    match isa() {
                        #[cfg(all(target_arch = "x86_64", kiln_avx512))]
                        // SAFETY: `isa` returns only what the CPU can run.
                        Isa::Avx512 => unsafe { avx512::$name::<$($g),*>($($arg),*) },
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: as above.
                        Isa::Avx2 => unsafe { avx2::$name::<$($g),*>($($arg),*) },
                        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
                        // SAFETY: this build's target has NEON.
                        Isa::Neon => unsafe { neon::$name::<$($g),*>($($arg),*) },
                        _ => $($scalar)*($($arg),*),
                    }
                }
            )*
        }
    };
}

super::kernel_list!(f32_dispatch, f32, ());
