//! Lowering the learning rate when a monitored figure stops improving.

use super::{missing_figure, python_float, Callback, Context, Logs, Mode, Monitor};
use crate::Error;
use kiln_core::train::Train;

/// Multiplies the optimizer's learning rate by `factor` once the monitored figure has not
/// improved for `patience` epochs, then waits `cooldown` epochs before watching again, never
/// going below `min_lr`: Keras's `keras.callbacks.ReduceLROnPlateau`, with its defaults
/// (`monitor="val_loss"`, `factor=0.1`, `patience=10`, `mode="auto"`, `min_delta=1e-4`,
/// `cooldown=0`, `min_lr=0`).
///
/// The monitor may be `"learning_rate"`, which Keras adds to the logs; here the logs are not
/// changed, so `history` and [`CSVLogger`](super::CSVLogger) do not get a `learning_rate`
/// column. On an optimizer driven by a schedule, a reduction replaces the schedule with a
/// constant rate (Keras raises instead). A monitored figure missing from the logs is an error
/// (Keras warns and skips the epoch).
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: usize,
    verbose: u8,
    cooldown: usize,
    min_lr: f64,
    best: Option<f64>,
    wait: usize,
    /// Epochs of cooldown left.
    cooldown_counter: usize,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        ReduceLROnPlateau::new()
    }
}

impl ReduceLROnPlateau {
    /// Keras's defaults: watches `val_loss`.
    pub fn new() -> Self {
        ReduceLROnPlateau {
            monitor: Monitor::new("val_loss", 1e-4),
            factor: 0.1,
            patience: 10,
            verbose: 0,
            cooldown: 0,
            min_lr: 0.0,
            best: None,
            wait: 0,
            cooldown_counter: 0,
        }
    }

    /// The logged figure to watch. Default `"val_loss"`.
    pub fn monitor(mut self, name: impl Into<String>) -> Self {
        self.monitor.name = name.into();
        self
    }

    /// `new_lr = lr · factor`; must be below 1 (`fit` fails otherwise). Default 0.1.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Epochs without improvement after which the learning rate is lowered. Default 10.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// Whether lower or higher is better. Default [`Mode::Auto`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }

    /// The least change that counts as an improvement; its sign is ignored. Default 1e-4.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.monitor.min_delta = delta.abs();
        self
    }

    /// Epochs after a reduction during which the figure is not watched. Default 0.
    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }

    /// The learning rate is never lowered below this. Default 0.
    pub fn min_lr(mut self, lr: f64) -> Self {
        self.min_lr = lr;
        self
    }

    /// 1: print each reduction, as Keras does.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// The best value of the monitored figure so far in this `fit`.
    pub fn best(&self) -> Option<f64> {
        self.best
    }
}

impl<M: Train> Callback<M> for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        if self.factor >= 1.0 || self.factor.is_nan() {
            return Err(Error::InvalidArgument(format!(
                "ReduceLROnPlateau does not support a factor >= 1.0. Received factor={}",
                python_float(self.factor)
            )));
        }
        self.monitor.direction("ReduceLROnPlateau")?;
        self.best = None;
        self.cooldown_counter = 0;
        self.wait = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        let direction = self.monitor.direction("ReduceLROnPlateau")?;
        let lr = ctx.optimizer.learning_rate();
        let current = if self.monitor.name == "learning_rate" {
            lr
        } else {
            logs.get(&self.monitor.name).ok_or_else(|| {
                let names = logs.iter().map(|(n, _)| n).chain(["learning_rate"]);
                missing_figure("ReduceLROnPlateau", &self.monitor.name, names)
            })?
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.is_improvement(direction, current, self.best) {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience && lr > self.min_lr {
                let new_lr = (lr * self.factor).max(self.min_lr);
                ctx.optimizer.set_learning_rate(new_lr);
                if self.verbose > 0 {
                    println!(
                        "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {}.",
                        epoch + 1,
                        python_float(new_lr)
                    );
                }
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}
