//! Callbacks: code that runs at the edges of epochs and batches, as in Keras. The ones Keras
//! users reach for are here; a user-written callback implements [`Callback`].

use super::logs::Logs;
use crate::Error;
use kiln_core::metrics::Metric;
use kiln_core::optimizers::Optimizer;
use kiln_core::train::Train;

mod csv_logger;
mod early_stopping;
mod model_checkpoint;
mod python_format;
mod reduce_lr_on_plateau;

use python_format::python_float;

pub use csv_logger::CSVLogger;
pub use early_stopping::EarlyStopping;
pub use model_checkpoint::{ModelCheckpoint, SaveFreq};
pub use reduce_lr_on_plateau::ReduceLROnPlateau;

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

/// Lets a callback be passed by `&mut` so its state can be read after `fit`, e.g.
/// `callbacks: vec![Box::new(&mut early_stopping)]`, then `early_stopping.stopped_epoch()`.
impl<M: Train, C: Callback<M> + ?Sized> Callback<M> for &mut C {
    fn on_train_begin(&mut self, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        (**self).on_train_begin(ctx)
    }
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        (**self).on_epoch_begin(epoch, ctx)
    }
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        (**self).on_batch_end(batch, logs, ctx)
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        (**self).on_epoch_end(epoch, logs, ctx)
    }
    fn on_train_end(&mut self, ctx: &mut Context<'_, M>) -> Result<(), Error> {
        (**self).on_train_end(ctx)
    }
}

/// Which way a monitored figure improves: Keras's `mode` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Keras's `"auto"`: `loss` (and `val_loss`) improve downwards, and every metric kiln logs
    /// (`accuracy`, `precision`, `recall`, `f1_score`, top-k accuracy, with or without `val_`)
    /// improves upwards, as their Keras metrics' `_direction`. Any other name is an error
    /// asking for [`Mode::Min`] or [`Mode::Max`], as Keras raises.
    #[default]
    Auto,
    /// Lower is better (Keras's `"min"`).
    Min,
    /// Higher is better (Keras's `"max"`).
    Max,
}

/// The figure a callback watches and when a new value of it counts as better: Keras's
/// `MonitorCallback`.
#[derive(Clone, Debug)]
struct Monitor {
    /// The logged name, e.g. `val_loss`.
    name: String,
    mode: Mode,
    /// Keras's `abs(min_delta)`: the least change that counts as an improvement.
    min_delta: f64,
}

impl Monitor {
    fn new(name: impl Into<String>, min_delta: f64) -> Self {
        Monitor {
            name: name.into(),
            mode: Mode::Auto,
            min_delta: min_delta.abs(),
        }
    }

    /// [`Mode::Min`] or [`Mode::Max`], [`Mode::Auto`] resolved from the name (Keras's
    /// `_set_monitor_op`); `who` names the callback in the error.
    fn direction(&self, who: &str) -> Result<Mode, Error> {
        if self.mode != Mode::Auto {
            return Ok(self.mode);
        }
        let base = self.name.strip_prefix("val_").unwrap_or(&self.name);
        if base == "loss" {
            Ok(Mode::Min)
        } else if Metric::from_name(base).is_some() {
            Ok(Mode::Max)
        } else {
            Err(Error::InvalidArgument(format!(
                "{who} monitors `{}`, and cannot tell whether it should be minimized or \
                 maximized: it is neither `loss` nor a metric kiln logs (accuracy, precision, \
                 recall, f1_score, top_k_categorical_accuracy, \
                 sparse_top_k_categorical_accuracy), with or without `val_`; check its \
                 spelling, or set `.mode(Mode::Min)` or `.mode(Mode::Max)`",
                self.name
            )))
        }
    }

    /// Whether `current` beats `reference` by more than `min_delta` (Keras's
    /// `_is_improvement`); anything beats no reference, and NaN beats nothing.
    fn is_improvement(&self, direction: Mode, current: f64, reference: Option<f64>) -> bool {
        match (reference, direction) {
            (None, _) => true,
            (Some(r), Mode::Max) => current - self.min_delta > r,
            (Some(r), _) => current + self.min_delta < r,
        }
    }

    /// The monitored value in `logs`. A missing name is an error rather than Keras's warning:
    /// `fit` logs the same names every epoch, so it is a misspelling or a `val_` figure without
    /// validation data, and would otherwise silently disable the callback.
    fn value(&self, who: &str, logs: &Logs) -> Result<f64, Error> {
        logs.get(&self.name)
            .ok_or_else(|| missing_figure(who, &self.name, logs.iter().map(|(n, _)| n)))
    }
}

/// The error for a monitored figure that is not logged, naming the ones that are.
fn missing_figure<'a>(who: &str, name: &str, available: impl Iterator<Item = &'a str>) -> Error {
    let available: Vec<&str> = available.collect();
    let hint = if name.starts_with("val_") && !available.iter().any(|n| n.starts_with("val_")) {
        " (`val_` figures are logged only when `fit` has `validation_data` or a \
         `validation_split`)"
    } else {
        ""
    };
    Error::InvalidArgument(format!(
        "{who} monitors `{name}`, which is not logged; the logs have: {}{hint}",
        available.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_follows_the_metric_direction() {
        let dir = |name: &str| Monitor::new(name, 0.0).direction("test");
        assert_eq!(dir("val_loss").unwrap(), Mode::Min);
        assert_eq!(dir("loss").unwrap(), Mode::Min);
        assert_eq!(dir("val_accuracy").unwrap(), Mode::Max);
        assert_eq!(dir("acc").unwrap(), Mode::Max);
        assert_eq!(dir("f1_score").unwrap(), Mode::Max);
        assert_eq!(
            dir("val_sparse_top_k_categorical_accuracy").unwrap(),
            Mode::Max
        );
        let err = dir("val_mystery").unwrap_err().to_string();
        assert!(
            err.contains("`val_mystery`") && err.contains("Mode::Min"),
            "{err}"
        );
    }

    #[test]
    fn min_delta_counts_against_the_direction() {
        let m = Monitor::new("val_loss", -0.1);
        assert!(m.is_improvement(Mode::Min, 0.5, None));
        assert!(m.is_improvement(Mode::Min, 0.39, Some(0.5)));
        assert!(!m.is_improvement(Mode::Min, 0.41, Some(0.5)));
        assert!(m.is_improvement(Mode::Max, 0.61, Some(0.5)));
        assert!(!m.is_improvement(Mode::Max, 0.59, Some(0.5)));
        assert!(!m.is_improvement(Mode::Min, f64::NAN, Some(0.5)));
    }
}
