//! kiln: Keras-style neural networks whose every shape is inferred and checked at compile time.
//!
//! ```
//! use kiln::prelude::*;
//!
//! kiln::model! {
//!     /// A small classifier for 8x8 single-channel images.
//!     pub struct Tiny: [8, 8, 1] => <
//!         Conv2D(4, 3, relu), MaxPool(2), Flatten, Dense(10, softmax),
//!     >
//! }
//!
//! let net = Tiny::init(42);
//! let probs = net.forward(&[[[0.5; 1]; 8]; 8]);
//! assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! assert_eq!(Tiny::PARAMS, 4 * 9 + 4 + 36 * 10 + 10);
//! ```
//!
//! See `model!` for the layers, keywords and activations it accepts, and ARCHITECTURE.md for
//! how the macro's tokens become monomorphized kernels.
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub use kiln_core as core;
#[cfg(feature = "std")]
pub mod datasets;
#[cfg(feature = "keras")]
pub mod keras;
#[cfg(feature = "std")]
pub mod quantize;
#[cfg(feature = "std")]
pub mod training;
#[cfg(feature = "alloc")]
pub use kiln_core::Error;
pub use kiln_core::{Arena, Infer, Model, Scalar};
pub use kiln_macros::model;

/// What a user of kiln needs in scope: the [`Model`] trait, the macro, and with `std` the
/// training workflow (`compile`, `FitOptions`, losses, optimizers, metrics, callbacks).
pub mod prelude {
    pub use crate::model;
    #[cfg(feature = "std")]
    pub use crate::training::callbacks::{
        CSVLogger, Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
    };
    #[cfg(feature = "std")]
    pub use crate::training::{Compile, FitOptions, History, Losses, Metrics};
    pub use kiln_core::losses::Loss;
    pub use kiln_core::metrics::Metric;
    #[cfg(feature = "alloc")]
    pub use kiln_core::optimizers::{schedules, Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};
    pub use kiln_core::Model;
}

/// Emits its tokens only when kiln is built with `alloc`: the generated code's boxed and batch
/// methods go through it, since the generated code cannot see kiln's features.
#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_alloc {
    ($($t:tt)*) => { $($t)* };
}

/// Emits nothing: kiln was built without `alloc`.
#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_alloc {
    ($($t:tt)*) => {};
}

/// Emits its tokens only when kiln is built with `std` (weight files).
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_std {
    ($($t:tt)*) => { $($t)* };
}

/// Emits nothing: kiln was built without `std`.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_std {
    ($($t:tt)*) => {};
}

/// The README's example, compiled as a doctest so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[doc(hidden)]
pub mod __private {
    /// The generated models' `save_weights`: Keras 3's `.weights.h5` too when kiln has `keras`.
    #[cfg(feature = "std")]
    pub fn save_weights<M: crate::Model>(
        model: &M,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), crate::Error> {
        #[cfg(feature = "keras")]
        return crate::keras::save_weights(model, path);
        #[cfg(not(feature = "keras"))]
        return model.save_weights(path);
    }

    /// The generated models' `save_keras`: Keras 3's `.keras` archive, when kiln has `keras`.
    #[cfg(feature = "std")]
    pub fn save_keras<M: crate::Model>(
        model: &M,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), crate::Error> {
        #[cfg(feature = "keras")]
        return crate::keras::save_keras(model, path);
        #[cfg(not(feature = "keras"))]
        return Err(crate::Error::InvalidArgument(format!(
            "{}: writing `.keras` archives needs kiln's `keras` feature",
            path.as_ref().display()
        )));
    }

    /// The generated models' `load_weights`: Keras's files too when kiln reads them.
    #[cfg(feature = "std")]
    pub fn load_weights<M: crate::Model>(
        model: &mut M,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), crate::Error> {
        #[cfg(feature = "keras")]
        return crate::keras::load_weights(model, path);
        #[cfg(not(feature = "keras"))]
        return model.load_weights(path);
    }

    #[cfg(feature = "alloc")]
    pub use alloc::{boxed::Box, vec::Vec};
    #[cfg(feature = "std")]
    extern crate std;
    #[cfg(feature = "std")]
    pub use std::path::Path;
}
