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
use crate::datasets::BatchOrder;
use crate::Error;
use kiln_core::bytemuck::Zeroable;
use kiln_core::init::{self, Rng};
use kiln_core::metrics::{Metric, MetricState};
use kiln_core::model::{default_threads, Scratch, BLOCK};
use kiln_core::num_traits::{ToPrimitive, Zero};
use kiln_core::optimizers::Optimizer;
use kiln_core::tensor::{flat, flat_mut};
use kiln_core::train::{self, variable_ranges, Fusion, OutputSpec, Train};
use kiln_core::{Model, Scalar};
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

/// What one thread of a training step owns: its block's cache, inputs and dropout generators,
/// its gradient sum, and each of its samples' loss and output (for the metrics, taken in sample
/// order afterwards), with each output's own loss when there are several.
struct Worker<M: Train> {
    cache: Box<M::Cache>,
    /// The block's inputs, gathered from the batch's (shuffled) indices.
    inputs: Vec<M::Input>,
    rngs: Vec<Rng>,
    grads: Box<M>,
    records: Vec<(f64, M::Output)>,
    /// With several outputs, each sample's loss of each output, sample after sample.
    head_losses: Vec<f64>,
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
            head_losses: Vec::new(),
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

/// The width of an output's last axis: the classes of a classifier.
fn classes(o: &OutputSpec) -> usize {
    *o.shape.last().expect("outputs have rank >= 1")
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

/// Target `k` of `y`, for a model with `heads` outputs.
fn part<T: Scalar, O, Y: Label<T, O>>(
    y: &Y,
    k: usize,
    heads: usize,
) -> Result<kiln_core::losses::Target<'_, T>, String> {
    if y.parts() != heads {
        return Err(format!(
            "the model has {heads} outputs, so each target is a tuple of {heads} (one per output, in the order they are declared), but this one has {}",
            y.parts()
        ));
    }
    y.part(k).ok_or_else(|| format!("no target for output {k}"))
}

/// A loss's complaint about a target, naming the output when there are several.
fn about(head: &Head, heads: usize, e: impl std::fmt::Display) -> String {
    if heads > 1 {
        format!("output `{}`: {e}", head.name)
    } else {
        e.to_string()
    }
}

/// One sample's loss, the weighted sum of its outputs' (each passed to `each` with the
/// output's index), and each output's gradient in `grad`: with respect to the pre-activation
/// `z` for the outputs `fused` names, else to `out`. `Err` says what is wrong with the target.
fn sample_loss<M: Train, Y: Label<M::Scalar, M::Output>>(
    heads: &[Head],
    fused: Fusion,
    (z, out): (&M::Output, &M::Output),
    y: &Y,
    grad: &mut [M::Scalar],
    mut each: impl FnMut(usize, f64),
) -> Result<f64, String> {
    let mut total = 0.0;
    for (k, (head, o)) in heads.iter().zip(M::OUTPUTS).enumerate() {
        let target = part(y, k, heads.len())?;
        let (g, c) = (o.of_mut(&mut *grad), classes(o));
        let value = match o.activation.filter(|_| fused.has(k)) {
            Some(f) => head
                .loss
                .loss_grad_from_logits(o.of(flat(z)), f, target, c, g),
            None => head.loss.loss_grad(o.of(flat(out)), target, c, g),
        }
        .map_err(|e| about(head, heads.len(), e))?;
        let value = value.to_f64().unwrap_or(f64::NAN);
        each(k, value);
        total += head.weight * value;
    }
    Ok(total)
}

/// The outputs whose loss fuses with the activation that made them.
fn fusion<M: Train>(heads: &[Head]) -> Fusion {
    heads
        .iter()
        .zip(M::OUTPUTS)
        .enumerate()
        .fold(Fusion::NONE, |f, (k, (h, o))| {
            f.with(k, o.activation.is_some_and(|a| h.loss.fuses(a)))
        })
}

/// Forward and backward of `samples` on one worker, in blocks of [`train::BLOCK`]: zeroes its
/// gradients, then adds each sample's, scaled by its weight over the batch size (and each
/// output's by its loss weight), and records its loss and output.
fn run_samples<M: Train, Y: Label<M::Scalar, M::Output>>(
    model: &M,
    heads: &[Head],
    data: &StepData<'_, M, Y>,
    samples: &[usize],
    w: &mut Worker<M>,
) -> Result<(), StepError> {
    w.grads.flat_mut().fill(M::Scalar::zero());
    w.records.clear();
    w.head_losses.clear();
    let fused = fusion::<M>(heads);
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
            let grad = flat_mut::<M::Scalar, M::Output>(&mut M::output_grad(&mut w.cache)[s]);
            let (several, mut non_finite) = (heads.len() > 1, None);
            let total = sample_loss::<M, Y>(heads, fused, (&z, &out), &data.y[i], grad, |_, v| {
                if !v.is_finite() {
                    non_finite.get_or_insert(v);
                }
                if several {
                    w.head_losses.push(v);
                }
            })
            .map_err(|e| StepError::Target(i, e))?;
            if let Some(v) = non_finite {
                return Err(StepError::NonFinite(v));
            }
            let scale = sample_weight(data, &data.y[i], i) / data.batch_len;
            for (head, o) in heads.iter().zip(M::OUTPUTS) {
                let scale = M::Scalar::of(scale * head.weight);
                o.of_mut(&mut *grad)
                    .iter_mut()
                    .for_each(|g| *g = *g * scale);
            }
            w.records.push((total, out));
        }
        model.backward(&w.inputs, &mut w.cache, fused, &mut w.grads, None);
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

/// The running loss and metrics of an epoch: the total, and with several outputs each one's
/// loss and metrics.
struct Tracker {
    loss_sum: f64,
    count: f64,
    /// With several outputs, each output's name and weighted loss sum.
    heads: Vec<(&'static str, f64)>,
    /// Each metric of each output, output by output, with the output it reads.
    metrics: Vec<(usize, MetricState)>,
}

impl Tracker {
    /// `metrics`: each output's, or none at all (empty).
    fn new(heads: &[Head], metrics: &[Vec<Metric>]) -> Self {
        let several = heads.len() > 1;
        Tracker {
            loss_sum: 0.0,
            count: 0.0,
            heads: heads
                .iter()
                .filter(|_| several)
                .map(|h| (h.name, 0.0))
                .collect(),
            metrics: heads
                .iter()
                .zip(metrics)
                .enumerate()
                .flat_map(|(k, (h, ms))| ms.iter().map(move |m| (k, MetricState::new(*m, h.loss))))
                .collect(),
        }
    }

    /// The weighted loss sum of `samples` samples (`each`: every output's, with several).
    fn add_loss(&mut self, weighted_sum: f64, each: &[f64], samples: f64) {
        self.loss_sum += weighted_sum;
        for ((_, sum), l) in self.heads.iter_mut().zip(each) {
            *sum += l;
        }
        self.count += samples;
    }

    /// Adds one sample's outputs `out` (a flat view of the model's output) and targets `y`
    /// to every metric.
    fn update_metrics<T: Scalar, O, Y: Label<T, O>>(
        &mut self,
        outputs: &[OutputSpec],
        out: &[T],
        y: &Y,
        weight: f64,
    ) -> Result<(), String> {
        for (k, m) in &mut self.metrics {
            let o = &outputs[*k];
            let target = part(y, *k, outputs.len())?;
            m.update(o.of(out), target, classes(o), T::of(weight))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The mean loss so far.
    fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1.0)
    }

    /// `loss`, each output's `<name>_loss` when there are several, and each metric by its
    /// Keras name (`<output>_<metric>` with several outputs).
    fn logs(&self) -> Logs {
        let mut logs = Logs::default();
        logs.set("loss", self.loss());
        for (name, sum) in &self.heads {
            logs.set(&format!("{name}_loss"), sum / self.count.max(1.0));
        }
        for (k, m) in &self.metrics {
            match self.heads.get(*k) {
                Some((name, _)) => logs.set(&format!("{name}_{}", m.name()), m.result()),
                None => logs.set(m.name(), m.result()),
            }
        }
        logs
    }
}
