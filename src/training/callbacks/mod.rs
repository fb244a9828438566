//! Callbacks: code that runs at the edges of epochs and batches, as in Keras. The ones Keras
//! users reach for are here; a user-written callback implements [`Callback`].

use super::logs::Logs;
use crate::Error;
use kiln_core::optimizers::Optimizer;
use kiln_core::train::Train;

/// What a callback can see and change while training runs.
pub struct Context<'a, M: Train> {
    /// The model being trained.
    pub model: &'a mut M,
    /// The optimizer, for its learning rate.
    pub optimizer: &'a mut dyn Optimizer<M::Scalar>,
    /// Set to `true` to stop after the current epoch (Keras's `model.stop_training`).
    pub stop_training: bool,
}

/// Hooks called by `fit`. Every method has an empty default; an `Err` stops training and is
/// returned by `fit`.
#[allow(unused_variables)]
pub trait Callback<M: Train> {
    /// Before the first epoch.
    fn on_train_begin(&mut self, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        Ok(())
    }
    /// Before each epoch (0-based).
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        Ok(())
    }
    /// After each training batch, with the running figures of the epoch so far.
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// After each epoch (0-based), with its training and validation figures.
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// After the last epoch, or after a callback stopped training.
    fn on_train_end(&mut self, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        Ok(())
    }
}
