//! `compile`, `fit`, `evaluate`: the Keras workflow over a generated model. Each worker runs its
//! samples through the generated `forward_train`/`backward` in blocks of up to
//! [`kiln_core::train::BLOCK`], into a gradient struct of the model's own type; after the batch
//! the optimizer updates the whole model as one flat slice.

use super::callbacks::{Callback, Context};
use super::heads::{Head, Losses, Metrics};
use super::history::History;
use super::label::Label;
use super::logs::Logs;
use super::options::FitOptions;
use super::pool::Pool;
use super::progress::Progress;
use super::step::{run_samples, sample_loss, sample_weight, workers, StepData, StepError, Worker};
use super::tracker::Tracker;
use crate::datasets::BatchOrder;
use crate::Error;
use kiln_core::bytemuck::Zeroable;
use kiln_core::metrics::Metric;
use kiln_core::model::{default_threads, Scratch, BLOCK};
use kiln_core::optimizers::Optimizer;
use kiln_core::tensor::{flat, flat_mut};
use kiln_core::train::{variable_ranges, Fusion, Train};
use kiln_core::Model;
use std::ops::Range;
use std::sync::Mutex;
use std::time::Instant;

/// A model with an optimizer, a loss and metrics: what Keras's `model.compile` sets up.
pub struct Trainer<'m, M: Train, O> {
    model: &'m mut M,
    optimizer: O,
    /// One loss and weight per output, in [`Train::OUTPUTS`]'s order.
    heads: Vec<Head>,
    /// Why the losses given to `compile` do not fit the model's outputs, reported by the
    /// first `fit`, `train_on_batch` or `evaluate`.
    setup: Option<String>,
    /// Each output's metrics, in [`Train::OUTPUTS`]'s order.
    metrics: Vec<Vec<Metric>>,
    /// One per thread (each locked only by its own thread); worker 0's gradients receive the
    /// others' after each batch.
    workers: Vec<Mutex<Worker<M>>>,
    /// Runs the workers; built once, so a step spawns nothing.
    pool: Pool,
    ranges: Vec<Range<usize>>,
    /// Reused by `train_on_batch` for the batch's sample indices.
    indices: Vec<usize>,
}

/// `model.compile(optimizer, loss, metrics)` for every generated model.
pub trait Compile: Train {
    /// Prepares training: the buffers a step needs are allocated here, once. `loss` is a
    /// [`Loss`](kiln_core::losses::Loss) for every output, or [`Losses::per_output`] for one
    /// per output with weights (Keras's `loss={…}, loss_weights={…}`). `metrics` is a list
    /// (`&[Metric::Accuracy]`), or with several outputs [`Metrics::per_output`], each logged
    /// as `<output>_<metric>`. Losses or metrics that do not fit the outputs are reported by
    /// the first `fit`, `train_on_batch` or `evaluate`.
    fn compile<O: Optimizer<Self::Scalar>>(
        &mut self,
        optimizer: O,
        loss: impl Into<Losses>,
        metrics: impl Into<Metrics>,
    ) -> Trainer<'_, Self, O> {
        let ranges = variable_ranges(self);
        let (workers, pool) = workers(default_threads());
        let resolved = loss
            .into()
            .resolve(Self::OUTPUTS)
            .and_then(|h| Ok((h, metrics.into().resolve(Self::OUTPUTS)?)));
        let (heads, metrics, setup) = match resolved {
            Ok((heads, metrics)) => (heads, metrics, None),
            Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
        };
        Trainer {
            model: self,
            optimizer,
            heads,
            setup,
            metrics,
            workers,
            pool,
            ranges,
            indices: Vec::new(),
        }
    }
}

impl<M: Train> Compile for M {}

fn check_lengths(what: &str, x: usize, y: usize) -> Result<(), Error> {
    if x != y {
        return Err(Error::LengthMismatch {
            what: what.to_string(),
            expected: x,
            found: y,
        });
    }
    Ok(())
}

impl<'m, M: Train, O: Optimizer<M::Scalar>> Trainer<'m, M, O> {
    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
    }

    /// The optimizer, with its state.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// Trains with `n` threads (default: `KILN_NUM_THREADS`, else every core). Results are
    /// reproducible for a given seed and thread count.
    pub fn with_threads(mut self, n: usize) -> Self {
        (self.workers, self.pool) = workers(n.max(1));
        self
    }

    /// The number of threads a training step uses.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Trains for `options.epochs` epochs, as Keras's `model.fit`. A NaN or infinite loss stops
    /// training with [`Error::NonFiniteLoss`], naming the epoch and batch.
    pub fn fit<Y: Label<M::Scalar, M::Output>>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
        mut options: FitOptions<'_, M, Y>,
    ) -> Result<History, Error> {
        self.ready()?;
        check_lengths("targets (y) for the training inputs (x)", x.len(), y.len())?;
        if options.class_weight.is_some() && self.heads.len() > 1 {
            return Err(Error::InvalidArgument(
                "class_weight is for a model with one output; with several, weigh samples with sample_weight".into(),
            ));
        }
        if let Some(w) = options.sample_weight {
            check_lengths("sample weights for the training inputs", x.len(), w.len())?;
        }
        if !(0.0..1.0).contains(&options.validation_split) {
            return Err(Error::InvalidArgument(format!(
                "validation_split must be in [0, 1), got {}",
                options.validation_split
            )));
        }
        if options.batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        let (x_train, y_train, validation) = match options.validation_data {
            Some((vx, vy)) => {
                check_lengths(
                    "validation targets for the validation inputs",
                    vx.len(),
                    vy.len(),
                )?;
                (x, y, Some((vx, vy)))
            }
            None if options.validation_split > 0.0 => {
                let n_train = (x.len() as f64 * (1.0 - options.validation_split)) as usize;
                (
                    &x[..n_train],
                    &y[..n_train],
                    Some((&x[n_train..], &y[n_train..])),
                )
            }
            None => (x, y, None),
        };
        if x_train.is_empty() {
            return Err(Error::InvalidArgument(
                "no training samples left to fit on".into(),
            ));
        }

        let mut history = History::default();
        let mut progress = Progress::new(options.verbose, options.epochs);
        let mut callbacks = std::mem::take(&mut options.callbacks);
        self.each_callback(&mut callbacks, |cb, ctx| cb.on_train_begin(ctx))?;
        let steps = x_train.len().div_ceil(options.batch_size);
        for epoch in 0..options.epochs {
            let stop =
                self.each_callback(&mut callbacks, |cb, ctx| cb.on_epoch_begin(epoch, ctx))?;
            if stop {
                break;
            }
            progress.epoch_begin(epoch, steps);
            let started = Instant::now();
            let order = if options.shuffle {
                BatchOrder::shuffled(x_train.len(), options.seed.wrapping_add(epoch as u64))
            } else {
                BatchOrder::sequential(x_train.len())
            };
            let mut tracker = Tracker::new(&self.heads, &self.metrics);
            for (b, batch) in order.batches(options.batch_size).enumerate() {
                self.train_batch(x_train, y_train, batch, &options, epoch, &mut tracker)
                    .map_err(|e| e.at(epoch, b))?;
                let logs = tracker.logs();
                progress.batch_end(b + 1, &logs);
                self.each_callback(&mut callbacks, |cb, ctx| cb.on_batch_end(b, &logs, ctx))?;
            }
            let train_time = started.elapsed();
            let mut logs = tracker.logs();
            if let Some((vx, vy)) = validation {
                for (name, v) in self.evaluate_logs(vx, vy)?.iter() {
                    logs.set(&format!("val_{name}"), v);
                }
            }
            progress.epoch_end(steps, &logs, started.elapsed(), train_time, x_train.len());
            history.push(epoch, &logs);
            let stop =
                self.each_callback(&mut callbacks, |cb, ctx| cb.on_epoch_end(epoch, &logs, ctx))?;
            if stop {
                break;
            }
        }
        self.each_callback(&mut callbacks, |cb, ctx| cb.on_train_end(ctx))?;
        Ok(history)
    }

    /// The error `compile` found in the losses, if any.
    fn ready(&self) -> Result<(), Error> {
        match &self.setup {
            Some(msg) => Err(Error::InvalidArgument(msg.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` on every callback; returns whether one asked to stop training.
    fn each_callback(
        &mut self,
        callbacks: &mut [Box<dyn Callback<M> + '_>],
        mut f: impl FnMut(&mut dyn Callback<M>, &mut Context<'_, M>) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let mut ctx = Context {
            model: &mut *self.model,
            optimizer: &mut self.optimizer,
            stop_training: false,
        };
        for cb in callbacks.iter_mut() {
            f(cb.as_mut(), &mut ctx)?;
        }
        Ok(ctx.stop_training)
    }

    /// One gradient step on the samples `batch` (indices into `x`), split across the workers
    /// in contiguous parts. On a non-finite loss or a target the loss cannot take, stops before
    /// updating the model.
    fn train_batch<Y: Label<M::Scalar, M::Output>>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
        batch: &[usize],
        options: &FitOptions<'_, M, Y>,
        epoch: usize,
        tracker: &mut Tracker,
    ) -> Result<(), StepError> {
        let data = StepData::<M, Y> {
            x,
            y,
            seed: options.seed,
            epoch,
            class_weight: options.class_weight.as_deref(),
            sample_weight: options.sample_weight,
            batch_len: batch.len() as f64,
        };
        let (model, heads) = (&*self.model, &self.heads[..]);
        let part = batch.len().div_ceil(self.workers.len());
        let workers = &self.workers;
        self.pool.run(&|t| {
            let mut w = workers[t]
                .lock()
                .expect("a worker is locked by its own thread only");
            let samples = batch
                .get(t * part..((t + 1) * part).min(batch.len()))
                .unwrap_or(&[]);
            w.error = run_samples(model, heads, &data, samples, &mut w).err();
        });
        for w in &self.workers {
            if let Some(e) = w.lock().expect("not poisoned").error.take() {
                return Err(e);
            }
        }

        let mut samples = batch.iter();
        let mut batch_loss = 0.0;
        let heads = self.heads.len();
        let mut batch_each = vec![0.0; if heads > 1 { heads } else { 0 }];
        for w in &self.workers {
            let w = w.lock().expect("not poisoned");
            for (r, (loss_i, out)) in w.records.iter().enumerate() {
                let i = *samples.next().expect("one record per sample");
                let weight = sample_weight(&data, &y[i], i);
                batch_loss += weight * loss_i;
                for (k, sum) in batch_each.iter_mut().enumerate() {
                    *sum += weight * w.head_losses[r * heads + k];
                }
                tracker
                    .update_metrics(M::OUTPUTS, flat(out), &y[i], weight)
                    .map_err(|e| StepError::Target(i, e))?;
            }
        }
        tracker.add_loss(batch_loss, &batch_each, data.batch_len);

        // Sum the workers' gradients into worker 0's, always in the same order.
        let (first, rest) = self.workers.split_first_mut().expect("at least one worker");
        let total = first.get_mut().expect("not poisoned").grads.flat_mut();
        for w in rest.iter_mut() {
            let g = w.get_mut().expect("not poisoned").grads.flat();
            total.iter_mut().zip(g).for_each(|(t, g)| *t = *t + *g);
        }
        self.optimizer
            .step(self.model.flat_mut(), total, &self.ranges);
        Ok(())
    }

    /// One gradient step on all of `x`, `y` (Keras's `train_on_batch`); returns the batch's
    /// mean loss. After the first call it allocates nothing.
    pub fn train_on_batch<Y: Label<M::Scalar, M::Output>>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
    ) -> Result<f64, Error> {
        self.ready()?;
        check_lengths("targets (y) for the inputs (x)", x.len(), y.len())?;
        let mut indices = std::mem::take(&mut self.indices);
        indices.clear();
        indices.extend(0..x.len());
        let options = FitOptions::<M, Y> {
            shuffle: false,
            ..Default::default()
        };
        let mut tracker = Tracker::new(&self.heads, &[]);
        let result = self.train_batch(x, y, &indices, &options, 0, &mut tracker);
        self.indices = indices;
        result.map_err(|e| e.at(0, 0))?;
        Ok(tracker.loss())
    }

    /// The loss and metrics on `x`, `y` in inference mode, as Keras's `model.evaluate`: write
    /// `let [loss, accuracy] = trainer.evaluate(&x, &y)?;` (N must be 1 + the number of metrics;
    /// with several outputs, in the order of [`Trainer::evaluate_logs`]: the loss, each output's
    /// loss, then each output's metrics).
    pub fn evaluate<Y: Label<M::Scalar, M::Output>, const N: usize>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
    ) -> Result<[f64; N], Error> {
        let logs = self.evaluate_logs(x, y)?;
        let values: Vec<f64> = logs.iter().map(|(_, v)| v).collect();
        values.try_into().map_err(|v: Vec<f64>| {
            let names: Vec<&str> = logs.iter().map(|(n, _)| n).collect();
            Error::InvalidArgument(format!(
                "evaluate returns {} values ({}) but {N} were asked for",
                v.len(),
                names.join(", ")
            ))
        })
    }

    /// The loss and metrics on `x`, `y` by name (`loss`, `accuracy`, …).
    pub fn evaluate_logs<Y: Label<M::Scalar, M::Output>>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
    ) -> Result<Logs, Error> {
        self.ready()?;
        check_lengths("targets (y) for the inputs (x)", x.len(), y.len())?;
        let outputs = predict_parallel(&*self.model, x, &self.pool);
        let mut tracker = Tracker::new(&self.heads, &self.metrics);
        let mut grad = M::Output::zeroed();
        let mut each = vec![0.0; self.heads.len()];
        for (i, (out, yi)) in outputs.iter().zip(y).enumerate() {
            let invalid = |reason: String| Error::InvalidTarget { index: i, reason };
            let grad = flat_mut(&mut grad);
            let total =
                sample_loss::<M, Y>(&self.heads, Fusion::NONE, (out, out), yi, grad, |k, v| {
                    each[k] = v
                })
                .map_err(invalid)?;
            let each = if self.heads.len() > 1 { &each[..] } else { &[] };
            tracker.add_loss(total, each, 1.0);
            tracker
                .update_metrics(M::OUTPUTS, flat(out), yi, 1.0)
                .map_err(invalid)?;
        }
        Ok(tracker.logs())
    }
}

/// One thread's share of a prediction: its inputs and where their outputs go.
type Share<'a, M> = Mutex<(&'a [<M as Model>::Input], &'a mut [<M as Model>::Output])>;

/// [`Model::predict`] on the pool's threads, one contiguous share of whole blocks each.
fn predict_parallel<M: Model>(model: &M, x: &[M::Input], pool: &Pool) -> Vec<M::Output> {
    let mut out = vec![M::Output::zeroed(); x.len()];
    let part = x.len().div_ceil(pool.threads()).div_ceil(BLOCK).max(1) * BLOCK;
    let parts: Vec<Share<'_, M>> = x
        .chunks(part)
        .zip(out.chunks_mut(part))
        .map(Mutex::new)
        .collect();
    pool.run(&|t| {
        if let Some(p) = parts.get(t) {
            let (xs, ys) = &mut *p
                .lock()
                .expect("each part is locked by its own thread only");
            let mut scratch: Box<Scratch<M>> = kiln_core::bytemuck::zeroed_box();
            model.forward_batch(xs, ys, &mut scratch);
        }
    });
    drop(parts);
    out
}
