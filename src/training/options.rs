//! `fit`'s arguments, with Keras's names and defaults.

use super::callbacks::Callback;
use kiln_core::train::Train;

/// How `fit` trains: Keras's `model.fit(...)` keyword arguments as fields.
///
/// ```ignore
/// FitOptions { epochs: 12, batch_size: 128, validation_split: 0.1, ..Default::default() }
/// ```
pub struct FitOptions<'a, M: Train, Y> {
    /// Passes over the training data. Keras's default: 1.
    pub epochs: usize,
    /// Samples per gradient step; the last partial batch is trained too. Keras's default: 32.
    pub batch_size: usize,
    /// Fraction of the training data, taken from its end before shuffling (as Keras does), held
    /// out for validation. Ignored when `validation_data` is given.
    pub validation_split: f64,
    /// Validation inputs and targets, evaluated after every epoch.
    pub validation_data: Option<(&'a [M::Input], &'a [Y])>,
    /// Shuffle the training samples before each epoch (seeded by `seed`).
    pub shuffle: bool,
    /// Seeds shuffling and dropout: the same seed gives the same run, bit for bit.
    pub seed: u64,
    /// A weight per class (indexed by class), multiplying each sample's loss.
    pub class_weight: Option<Vec<f64>>,
    /// A weight per training sample, multiplying its loss.
    pub sample_weight: Option<&'a [f64]>,
    /// 0: silent; 1: a progress bar per epoch; 2: one line per epoch.
    pub verbose: u8,
    /// Called at the edges of epochs and batches.
    pub callbacks: Vec<Box<dyn Callback<M> + 'a>>,
}

impl<M: Train, Y> Default for FitOptions<'_, M, Y> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            seed: 0,
            class_weight: None,
            sample_weight: None,
            verbose: 1,
            callbacks: Vec::new(),
        }
    }
}
