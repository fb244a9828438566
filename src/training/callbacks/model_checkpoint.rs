//! Saving the weights during training, every epoch or only when they are the best so far.

use super::python_format::{five_decimals, format_template, Value};
use super::{Callback, Context, Logs, Mode, Monitor};
use crate::Error;
use kiln_core::train::Train;
use std::path::Path;

/// How often [`ModelCheckpoint`] saves: Keras's `save_freq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveFreq {
    /// After every epoch (Keras's `"epoch"`, the default).
    #[default]
    Epoch,
    /// After every this many training batches, counted across epochs (Keras's integer
    /// `save_freq`); the monitored figure is then the running one of the epoch so far.
    Batches(usize),
}

/// Saves the model's weights with [`Model::save_weights`](crate::Model::save_weights) (safetensors) after every epoch, or
/// only when the monitored figure improves: Keras's `keras.callbacks.ModelCheckpoint` with
/// `save_weights_only=True`, with its defaults (`monitor="val_loss"`, `save_best_only=False`,
/// `mode="auto"`, `save_freq="epoch"`, no `initial_value_threshold`).
///
/// The file path is a Python format string filled as Keras fills it: `{epoch}` is the epoch
/// counted from 1, `{batch}` the batch counted from 1 (with [`SaveFreq::Batches`]), and any
/// logged figure by name, with Python's format specs: `"ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"`
/// gives `ckpt-03-0.1235.safetensors`. A name that is not logged, or a spec that does not fit
/// the value, is an error, as in Keras. Missing folders are created. With `save_best_only` a
/// monitored figure missing from the logs is an error (Keras warns and saves anyway). As in
/// Keras, the best value is kept across `fit` calls.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: Monitor,
    verbose: u8,
    save_best_only: bool,
    save_freq: SaveFreq,
    best: Option<f64>,
    current_epoch: usize,
    batches_since_save: usize,
    last_batch_seen: Option<usize>,
}

impl ModelCheckpoint {
    /// Saves to `filepath`, a path that may hold `{epoch}`-style fields.
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: Monitor::new("val_loss", 0.0),
            verbose: 0,
            save_best_only: false,
            save_freq: SaveFreq::Epoch,
            best: None,
            current_epoch: 0,
            batches_since_save: 0,
            last_batch_seen: None,
        }
    }

    /// The logged figure that decides which weights are best. Default `"val_loss"`.
    pub fn monitor(mut self, name: impl Into<String>) -> Self {
        self.monitor.name = name.into();
        self
    }

    /// Saves only when the monitored figure improves on its best. Default `false`.
    pub fn save_best_only(mut self, best_only: bool) -> Self {
        self.save_best_only = best_only;
        self
    }

    /// Whether lower or higher is better. Default [`Mode::Auto`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }

    /// When to save. Default [`SaveFreq::Epoch`].
    pub fn save_freq(mut self, freq: SaveFreq) -> Self {
        self.save_freq = freq;
        self
    }

    /// With `save_best_only`, a value the monitored figure must beat before anything is saved
    /// (Keras's `initial_value_threshold`).
    pub fn initial_value_threshold(mut self, value: f64) -> Self {
        self.best = Some(value);
        self
    }

    /// 1: say what is saved and why, as Keras prints.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// The best value of the monitored figure seen (or the initial threshold).
    pub fn best(&self) -> Option<f64> {
        self.best
    }

    /// Whether the weights are to be saved now; with `save_best_only`, updates the best.
    fn should_save(&mut self, epoch: usize, logs: &Logs, filepath: &str) -> Result<bool, Error> {
        if !self.save_best_only {
            if self.verbose > 0 {
                println!("\nEpoch {}: saving model to {filepath}", epoch + 1);
            }
            return Ok(true);
        }
        let direction = self.monitor.direction("ModelCheckpoint")?;
        let current = self.monitor.value("ModelCheckpoint", logs)?;
        let best = self.best.map_or_else(|| "None".to_string(), five_decimals);
        let name = &self.monitor.name;
        if self.monitor.is_improvement(direction, current, self.best) {
            if self.verbose > 0 {
                let current = five_decimals(current);
                println!(
                    "\nEpoch {}: {name} improved from {best} to {current}, saving model to \
                     {filepath}",
                    epoch + 1
                );
            }
            self.best = Some(current);
            Ok(true)
        } else {
            if self.verbose > 0 {
                println!("\nEpoch {}: {name} did not improve from {best}", epoch + 1);
            }
            Ok(false)
        }
    }

    fn save<M: Train>(
        &mut self,
        epoch: usize,
        batch: Option<usize>,
        logs: &Logs,
        model: &M,
    ) -> Result<(), Error> {
        let filepath = fill_path(&self.filepath, epoch, batch, logs)?;
        if !self.should_save(epoch, logs, &filepath)? {
            return Ok(());
        }
        let path = Path::new(&filepath);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        model.save_weights(path)?;
        if self.verbose > 0 {
            println!("\nEpoch {}: finished saving model to {filepath}", epoch + 1);
        }
        Ok(())
    }
}

impl<M: Train> Callback<M> for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        if self.save_freq == SaveFreq::Batches(0) {
            return Err(Error::InvalidArgument(
                "ModelCheckpoint: SaveFreq::Batches(n) needs n >= 1".into(),
            ));
        }
        if self.save_best_only {
            self.monitor.direction("ModelCheckpoint")?;
        }
        Ok(())
    }

    fn on_epoch_begin(&mut self, epoch: usize, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        self.current_epoch = epoch;
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        let SaveFreq::Batches(every) = self.save_freq else {
            return Ok(());
        };
        // Batches restart from 0 each epoch; count every one seen since the last save.
        self.batches_since_save += match self.last_batch_seen {
            Some(last) if batch > last => batch - last,
            _ => batch + 1,
        };
        self.last_batch_seen = Some(batch);
        if self.batches_since_save >= every {
            self.batches_since_save = 0;
            self.save(self.current_epoch, Some(batch), logs, &*ctx.model)?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        if self.save_freq == SaveFreq::Epoch {
            self.save(epoch, None, logs, &*ctx.model)?;
        }
        Ok(())
    }
}

/// The checkpoint path for 0-based `epoch` (and `batch`): Keras's
/// `filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)`.
fn fill_path(
    template: &str,
    epoch: usize,
    batch: Option<usize>,
    logs: &Logs,
) -> Result<String, Error> {
    let lookup = |name: &str| match name {
        "epoch" => Some(Value::Int(epoch as i64 + 1)),
        "batch" if logs.get("batch").is_none() => batch.map(|b| Value::Int(b as i64 + 1)),
        _ => logs.get(name).map(Value::Float),
    };
    format_template(template, lookup).map_err(|reason| {
        let mut names = vec!["epoch"];
        names.extend(batch.map(|_| "batch"));
        names.extend(logs.iter().map(|(n, _)| n));
        Error::InvalidArgument(format!(
            "ModelCheckpoint cannot fill in the file path \"{template}\": {reason} (the names \
             it can use: {})",
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_filled_like_python_str_format() {
        let mut logs = Logs::default();
        logs.set("loss", 0.5);
        logs.set("val_loss", 0.123456);
        let fill = |t: &str| fill_path(t, 2, None, &logs);
        assert_eq!(
            fill("ckpt-{epoch:02d}-{val_loss:.4f}.safetensors").unwrap(),
            "ckpt-03-0.1235.safetensors"
        );
        assert_eq!(fill("{{epoch}}-{epoch}-{loss}").unwrap(), "{epoch}-3-0.5");
        assert_eq!(
            fill_path("b{batch:03d}", 0, Some(6), &logs).unwrap(),
            "b007"
        );
        for bad in [
            "{val_acc}",
            "{batch}",
            "{}",
            "{epoch!r}",
            "{epoch",
            "x}",
            "{loss:d}",
        ] {
            let err = fill(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        let err = fill("{val_acc:.2f}").unwrap_err().to_string();
        assert!(err.contains("`val_acc` is not logged"), "{err}");
        assert!(err.contains("epoch, loss, val_loss"), "{err}");
    }
}
