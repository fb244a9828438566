//! Stopping training when a monitored figure stops improving.

use super::{Callback, Context, Logs, Mode, Monitor};
use crate::Error;
use kiln_core::bytemuck;
use kiln_core::train::Train;

/// Stops training once the monitored figure has not improved for `patience` epochs, and can
/// put back the weights of the best epoch: Keras's `keras.callbacks.EarlyStopping`, with its
/// defaults (`monitor="val_loss"`, `min_delta=0`, `patience=0`, `mode="auto"`, no baseline,
/// `restore_best_weights=False`, `start_from_epoch=0`).
///
/// As in Keras 3, the best weights are restored at the end of training whether training was
/// stopped early or ran all its epochs. A monitored figure missing from the logs is an error
/// (Keras warns and skips the epoch).
///
/// ```ignore
/// let mut early = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
/// trainer.fit(&x, &y, FitOptions { callbacks: vec![Box::new(&mut early)], ..Default::default() })?;
/// println!("stopped after epoch {:?}", early.stopped_epoch().map(|e| e + 1));
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    verbose: u8,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    /// Epochs since the last improvement (over the best and the baseline).
    wait: usize,
    stopped_epoch: Option<usize>,
    best: Option<f64>,
    best_epoch: Option<usize>,
    best_weights: Snapshot,
}

impl Default for EarlyStopping {
    /// Keras's defaults: monitors `val_loss`.
    fn default() -> Self {
        EarlyStopping::new("val_loss")
    }
}

impl EarlyStopping {
    /// Watches the logged figure `monitor` (e.g. `"val_loss"`, `"val_accuracy"`).
    pub fn new(monitor: impl Into<String>) -> Self {
        EarlyStopping {
            monitor: Monitor::new(monitor, 0.0),
            patience: 0,
            verbose: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            stopped_epoch: None,
            best: None,
            best_epoch: None,
            best_weights: Snapshot::default(),
        }
    }

    /// Epochs without improvement after which training stops. Default 0.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The least change that counts as an improvement; its sign is ignored. Default 0.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.monitor.min_delta = delta.abs();
        self
    }

    /// Whether lower or higher is better. Default [`Mode::Auto`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }

    /// A value the figure must beat: until it does, the patience runs out even while the figure
    /// improves on its own best.
    pub fn baseline(mut self, value: f64) -> Self {
        self.baseline = Some(value);
        self
    }

    /// Puts back the weights of the best epoch when training ends. Default `false`.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// Epochs of warm-up before the figure is watched at all. Default 0.
    pub fn start_from_epoch(mut self, epochs: usize) -> Self {
        self.start_from_epoch = epochs;
        self
    }

    /// 1: say when training stops early and when weights are restored, as Keras prints.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// The 0-based epoch after which this callback stopped training, if it did (Keras's
    /// `stopped_epoch`, where 0 means it did not).
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// The best value of the monitored figure in the last `fit`, if any was watched.
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// The 0-based epoch that had [`EarlyStopping::best`].
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

impl<M: Train> Callback<M> for EarlyStopping {
    /// Resets the state, so one instance can serve several `fit` calls.
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        self.monitor.direction("EarlyStopping")?;
        self.wait = 0;
        self.stopped_epoch = None;
        self.best = None;
        self.best_epoch = None;
        self.best_weights.clear();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        let direction = self.monitor.direction("EarlyStopping")?;
        let current = self.monitor.value("EarlyStopping", logs)?;
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        self.wait += 1;
        if self.monitor.is_improvement(direction, current, self.best) {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights.save(ctx.model.flat());
            }
            // The wait restarts only when the value beats both its best and the baseline.
            let beats_baseline = self
                .baseline
                .is_none_or(|b| self.monitor.is_improvement(direction, current, Some(b)));
            if beats_baseline {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.stop_training = true;
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        if let (Some(epoch), true) = (self.stopped_epoch, self.verbose > 0) {
            println!("Epoch {}: early stopping", epoch + 1);
        }
        if self.restore_best_weights && self.best_weights.is_saved() {
            if let (Some(epoch), true) = (self.best_epoch, self.verbose > 0) {
                println!(
                    "Restoring model weights from the end of the best epoch: {}.",
                    epoch + 1
                );
            }
            self.best_weights.restore(ctx.model.flat_mut());
        }
        Ok(())
    }
}

/// A copy of a model's parameters as raw bytes, so that one callback serves models of any
/// scalar type; saving again reuses the buffer.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    bytes: Vec<u8>,
    saved: bool,
}

impl Snapshot {
    fn save<T: bytemuck::Pod>(&mut self, params: &[T]) {
        self.bytes.clear();
        self.bytes.extend_from_slice(bytemuck::cast_slice(params));
        self.saved = true;
    }

    fn restore<T: bytemuck::Pod>(&self, params: &mut [T]) {
        bytemuck::cast_slice_mut(params).copy_from_slice(&self.bytes);
    }

    fn is_saved(&self) -> bool {
        self.saved
    }

    /// Forgets the copy but keeps the buffer.
    fn clear(&mut self) {
        self.saved = false;
    }
}
