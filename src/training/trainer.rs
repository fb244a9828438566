//! `compile`, `fit`, `evaluate`: the Keras workflow over a generated model. Each worker runs its
//! samples through the generated `forward_train`/`backward` in blocks of up to
//! [`kiln_core::train::BLOCK`], into a gradient struct of the model's own type; after the batch
//! the optimizer updates the whole model as one flat slice.

use super::callbacks::{Callback, Context};
use super::history::History;
use super::label::Label;
use super::logs::Logs;
use super::options::FitOptions;
use super::pool::Pool;
use super::progress::Progress;
use crate::datasets::BatchOrder;
use crate::Error;
use kiln_core::bytemuck::Zeroable;
use kiln_core::init::{self, Rng};
use kiln_core::losses::Loss;
use kiln_core::metrics::{Metric, MetricState};
use kiln_core::model::{default_threads, Scratch, BLOCK};
use kiln_core::num_traits::{ToPrimitive, Zero};
use kiln_core::optimizers::Optimizer;
use kiln_core::tensor::{flat, flat_mut};
use kiln_core::train::{self, variable_ranges, Train};
use kiln_core::{Model, Scalar};
use std::ops::Range;
use std::sync::Mutex;
use std::time::Instant;

/// A model with an optimizer, a loss and metrics: what Keras's `model.compile` sets up.
pub struct Trainer<'m, M: Train, O> {
    model: &'m mut M,
    optimizer: O,
    loss: Loss,
    metrics: Vec<Metric>,
    /// One per thread (each locked only by its own thread); worker 0's gradients receive the
    /// others' after each batch.
    workers: Vec<Mutex<Worker<M>>>,
    /// Runs the workers; built once, so a step spawns nothing.
    pool: Pool,
    ranges: Vec<Range<usize>>,
    /// Reused by `train_on_batch` for the batch's sample indices.
    indices: Vec<usize>,
}

/// What one thread of a training step owns: its block's cache, inputs and dropout generators,
/// its gradient sum, and each of its samples' loss and output (for the metrics, taken in sample
/// order afterwards).
struct Worker<M: Train> {
    cache: Box<M::Cache>,
    /// The block's inputs, gathered from the batch's (shuffled) indices.
    inputs: Vec<M::Input>,
    rngs: Vec<Rng>,
    grads: Box<M>,
    records: Vec<(f64, M::Output)>,
    /// Why this worker's part of the step failed, if it did.
    error: Option<StepError>,
}

impl<M: Train> Worker<M> {
    fn new() -> Self {
        Worker {
            cache: kiln_core::bytemuck::zeroed_box(),
            inputs: Vec::with_capacity(train::BLOCK),
            rngs: Vec::with_capacity(train::BLOCK),
            grads: kiln_core::bytemuck::zeroed_box(),
            records: Vec::new(),
            error: None,
        }
    }
}

/// `n` workers and the pool that runs them.
fn workers<M: Train>(n: usize) -> (Vec<Mutex<Worker<M>>>, Pool) {
    (
        (0..n).map(|_| Mutex::new(Worker::new())).collect(),
        Pool::new(n),
    )
}

/// What the samples of a step need from the options, shareable across threads.
struct StepData<'a, M: Train, Y> {
    x: &'a [M::Input],
    y: &'a [Y],
    seed: u64,
    epoch: usize,
    class_weight: Option<&'a [f64]>,
    sample_weight: Option<&'a [f64]>,
    /// Divides every sample's gradient: the batch size (Keras's `sum_over_batch_size`).
    batch_len: f64,
}

/// `model.compile(optimizer, loss, metrics)` for every generated model.
pub trait Compile: Train {
    /// Prepares training: the buffers a step needs are allocated here, once.
    fn compile<O: Optimizer<Self::Scalar>>(
        &mut self,
        optimizer: O,
        loss: Loss,
        metrics: &[Metric],
    ) -> Trainer<'_, Self, O> {
        let ranges = variable_ranges(self);
        let (workers, pool) = workers(default_threads());
        Trainer {
            model: self,
            optimizer,
            loss,
            metrics: metrics.to_vec(),
            workers,
            pool,
            ranges,
            indices: Vec::new(),
        }
    }
}

impl<M: Train> Compile for M {}

/// The width of the output's last axis: the classes of a classifier.
fn classes<M: Model>() -> usize {
    *M::OUTPUT_SHAPE.last().expect("outputs have rank >= 1")
}

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

/// The generator for one sample's dropout in one epoch: independent of batching and threads.
fn sample_rng(seed: u64, epoch: usize, index: usize) -> Rng {
    init::rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ index as u64)
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
        check_lengths("targets (y) for the training inputs (x)", x.len(), y.len())?;
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
            let mut tracker = Tracker::new(self.loss, &self.metrics);
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
        let (model, loss) = (&*self.model, self.loss);
        let part = batch.len().div_ceil(self.workers.len());
        let workers = &self.workers;
        self.pool.run(&|t| {
            let mut w = workers[t]
                .lock()
                .expect("a worker is locked by its own thread only");
            let samples = batch
                .get(t * part..((t + 1) * part).min(batch.len()))
                .unwrap_or(&[]);
            w.error = run_samples(model, loss, &data, samples, &mut w).err();
        });
        for w in &self.workers {
            if let Some(e) = w.lock().expect("not poisoned").error.take() {
                return Err(e);
            }
        }

        let classes = classes::<M>();
        let mut samples = batch.iter();
        let mut batch_loss = 0.0;
        for w in &self.workers {
            let w = w.lock().expect("not poisoned");
            for (loss_i, out) in &w.records {
                let i = *samples.next().expect("one record per sample");
                let weight = sample_weight(&data, &y[i], i);
                batch_loss += weight * loss_i;
                tracker
                    .update_metrics(flat(out), y[i].target(), classes, weight)
                    .map_err(|e| StepError::Target(i, e))?;
            }
        }
        tracker.add_loss(batch_loss, data.batch_len);

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
        check_lengths("targets (y) for the inputs (x)", x.len(), y.len())?;
        let mut indices = std::mem::take(&mut self.indices);
        indices.clear();
        indices.extend(0..x.len());
        let options = FitOptions::<M, Y> {
            shuffle: false,
            ..Default::default()
        };
        let mut tracker = Tracker::new(self.loss, &[]);
        let result = self.train_batch(x, y, &indices, &options, 0, &mut tracker);
        self.indices = indices;
        result.map_err(|e| e.at(0, 0))?;
        Ok(tracker.loss())
    }

    /// The loss and metrics on `x`, `y` in inference mode, as Keras's `model.evaluate`: write
    /// `let [loss, accuracy] = trainer.evaluate(&x, &y)?;` (N must be 1 + the number of metrics).
    pub fn evaluate<Y: Label<M::Scalar, M::Output>, const N: usize>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
    ) -> Result<[f64; N], Error> {
        let logs = self.evaluate_logs(x, y)?;
        let values: Vec<f64> = logs.iter().map(|(_, v)| v).collect();
        values.try_into().map_err(|v: Vec<f64>| {
            Error::InvalidArgument(format!(
                "evaluate returns {} values (the loss and {} metrics) but {N} were asked for",
                v.len(),
                v.len() - 1
            ))
        })
    }

    /// The loss and metrics on `x`, `y` by name (`loss`, `accuracy`, …).
    pub fn evaluate_logs<Y: Label<M::Scalar, M::Output>>(
        &mut self,
        x: &[M::Input],
        y: &[Y],
    ) -> Result<Logs, Error> {
        check_lengths("targets (y) for the inputs (x)", x.len(), y.len())?;
        let outputs = predict_parallel(&*self.model, x, &self.pool);
        let classes = classes::<M>();
        let mut tracker = Tracker::new(self.loss, &self.metrics);
        let mut grad = M::Output::zeroed();
        for (i, (out, yi)) in outputs.iter().zip(y).enumerate() {
            let target = yi.target();
            let loss = self
                .loss
                .loss_grad(flat(out), target, classes, flat_mut(&mut grad))
                .map_err(|e| Error::InvalidTarget {
                    index: i,
                    reason: e.to_string(),
                })?;
            tracker.add_loss(loss.to_f64().unwrap_or(f64::NAN), 1.0);
            tracker
                .update_metrics(flat(out), target, classes, 1.0)
                .map_err(|reason| Error::InvalidTarget { index: i, reason })?;
        }
        Ok(tracker.logs())
    }
}

/// The weight of sample `i`: its `class_weight` times its `sample_weight`.
fn sample_weight<M: Train, Y: Label<M::Scalar, M::Output>>(
    data: &StepData<'_, M, Y>,
    y: &Y,
    i: usize,
) -> f64 {
    let class = match (data.class_weight, y.class()) {
        (Some(w), Some(c)) => w.get(c).copied().unwrap_or(1.0),
        _ => 1.0,
    };
    class * data.sample_weight.map_or(1.0, |w| w[i])
}

/// Forward and backward of `samples` on one worker, in blocks of [`train::BLOCK`]: zeroes its
/// gradients, then adds each sample's, scaled by its weight over the batch size, and records its
/// loss and output.
fn run_samples<M: Train, Y: Label<M::Scalar, M::Output>>(
    model: &M,
    loss: Loss,
    data: &StepData<'_, M, Y>,
    samples: &[usize],
    w: &mut Worker<M>,
) -> Result<(), StepError> {
    w.grads.flat_mut().fill(M::Scalar::zero());
    w.records.clear();
    let classes = classes::<M>();
    let fused = M::LAST_ACTIVATION.filter(|f| loss.fuses(*f));
    for block in samples.chunks(train::BLOCK) {
        w.inputs.clear();
        w.inputs.extend(block.iter().map(|&i| data.x[i]));
        w.rngs.clear();
        w.rngs
            .extend(block.iter().map(|&i| sample_rng(data.seed, data.epoch, i)));
        model.forward_train(&w.inputs, &mut w.cache, &mut w.rngs);
        for (s, &i) in block.iter().enumerate() {
            let (z, out) = M::outputs(&w.cache);
            let (z, out): (M::Output, M::Output) = (z[s], out[s]);
            let target = data.y[i].target();
            let grad = flat_mut::<M::Scalar, M::Output>(&mut M::output_grad(&mut w.cache)[s]);
            let value = match fused {
                Some(f) => loss.loss_grad_from_logits(flat(&z), f, target, classes, grad),
                None => loss.loss_grad(flat(&out), target, classes, grad),
            }
            .map_err(|e| StepError::Target(i, e.to_string()))?;
            let value = value.to_f64().unwrap_or(f64::NAN);
            if !value.is_finite() {
                return Err(StepError::NonFinite(value));
            }
            let scale = M::Scalar::of(sample_weight(data, &data.y[i], i) / data.batch_len);
            grad.iter_mut().for_each(|g| *g = *g * scale);
            w.records.push((value, out));
        }
        model.backward(&w.inputs, &mut w.cache, fused.is_some(), &mut w.grads, None);
    }
    Ok(())
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

/// Why a training step stopped.
enum StepError {
    /// The loss of a sample was NaN or infinite.
    NonFinite(f64),
    /// Sample `.0`'s target does not fit the loss.
    Target(usize, String),
}

impl StepError {
    /// The error `fit` returns, located at 0-based `epoch` and `batch`.
    fn at(self, epoch: usize, batch: usize) -> Error {
        match self {
            StepError::NonFinite(value) => Error::NonFiniteLoss {
                epoch: epoch + 1,
                batch: batch + 1,
                value,
            },
            StepError::Target(index, reason) => Error::InvalidTarget { index, reason },
        }
    }
}

/// The running loss and metrics of an epoch.
struct Tracker {
    loss_sum: f64,
    count: f64,
    metrics: Vec<MetricState>,
}

impl Tracker {
    fn new(loss: Loss, metrics: &[Metric]) -> Self {
        Tracker {
            loss_sum: 0.0,
            count: 0.0,
            metrics: metrics.iter().map(|m| MetricState::new(*m, loss)).collect(),
        }
    }

    fn add_loss(&mut self, weighted_sum: f64, samples: f64) {
        self.loss_sum += weighted_sum;
        self.count += samples;
    }

    fn update_metrics<T: Scalar>(
        &mut self,
        out: &[T],
        target: kiln_core::losses::Target<'_, T>,
        classes: usize,
        weight: f64,
    ) -> Result<(), String> {
        for m in &mut self.metrics {
            m.update(out, target, classes, T::of(weight))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The mean loss so far.
    fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1.0)
    }

    /// `loss` and each metric by its Keras name.
    fn logs(&self) -> Logs {
        let mut logs = Logs::default();
        logs.set("loss", self.loss());
        for m in &self.metrics {
            logs.set(m.name(), m.result());
        }
        logs
    }
}
