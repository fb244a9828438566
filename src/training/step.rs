//! One training step's work on one thread: each worker's buffers, every sample's loss, gradient
//! and weight, and why a step stops (a non-finite loss, a target that does not fit).

use super::heads::Head;
use super::label::Label;
use super::pool::Pool;
use crate::Error;
use kiln_core::init::{self, Rng};
use kiln_core::num_traits::{ToPrimitive, Zero};
use kiln_core::tensor::{flat, flat_mut};
use kiln_core::train::{self, Fusion, OutputSpec, Train};
use kiln_core::Scalar;
use std::sync::Mutex;

/// The width of an output's last axis: the classes of a classifier.
pub(super) fn classes(o: &OutputSpec) -> usize {
    *o.shape.last().expect("outputs have rank >= 1")
}

/// What one thread of a training step owns: its block's cache, inputs and dropout generators,
/// its gradient sum, and each of its samples' loss and output (for the metrics, taken in sample
/// order afterwards), with each output's own loss when there are several.
pub(super) struct Worker<M: Train> {
    pub(super) cache: Box<M::Cache>,
    /// The block's inputs, gathered from the batch's (shuffled) indices.
    pub(super) inputs: Vec<M::Input>,
    pub(super) rngs: Vec<Rng>,
    pub(super) grads: Box<M>,
    pub(super) records: Vec<(f64, M::Output)>,
    /// With several outputs, each sample's loss of each output, sample after sample.
    pub(super) head_losses: Vec<f64>,
    /// Why this worker's part of the step failed, if it did.
    pub(super) error: Option<StepError>,
}

impl<M: Train> Worker<M> {
    pub(super) fn new() -> Self {
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
pub(super) fn workers<M: Train>(n: usize) -> (Vec<Mutex<Worker<M>>>, Pool) {
    (
        (0..n).map(|_| Mutex::new(Worker::new())).collect(),
        Pool::new(n),
    )
}

/// What the samples of a step need from the options, shareable across threads.
pub(super) struct StepData<'a, M: Train, Y> {
    pub(super) x: &'a [M::Input],
    pub(super) y: &'a [Y],
    pub(super) seed: u64,
    pub(super) epoch: usize,
    pub(super) class_weight: Option<&'a [f64]>,
    pub(super) sample_weight: Option<&'a [f64]>,
    /// Divides every sample's gradient: the batch size (Keras's `sum_over_batch_size`).
    pub(super) batch_len: f64,
}

/// The generator for one sample's dropout in one epoch: independent of batching and threads.
pub(super) fn sample_rng(seed: u64, epoch: usize, index: usize) -> Rng {
    init::rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 40) ^ index as u64)
}

/// The weight of sample `i`: its `class_weight` times its `sample_weight`.
pub(super) fn sample_weight<M: Train, Y: Label<M::Scalar, M::Output>>(
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
pub(super) fn part<T: Scalar, O, Y: Label<T, O>>(
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
pub(super) fn about(head: &Head, heads: usize, e: impl std::fmt::Display) -> String {
    if heads > 1 {
        format!("output `{}`: {e}", head.name)
    } else {
        e.to_string()
    }
}

/// One sample's loss, the weighted sum of its outputs' (each passed to `each` with the
/// output's index), and each output's gradient in `grad`: with respect to the pre-activation
/// `z` for the outputs `fused` names, else to `out`. `Err` says what is wrong with the target.
pub(super) fn sample_loss<M: Train, Y: Label<M::Scalar, M::Output>>(
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
pub(super) fn fusion<M: Train>(heads: &[Head]) -> Fusion {
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
pub(super) fn run_samples<M: Train, Y: Label<M::Scalar, M::Output>>(
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

/// Why a training step stopped.
pub(super) enum StepError {
    /// The loss of a sample was NaN or infinite.
    NonFinite(f64),
    /// Sample `.0`'s target does not fit the loss.
    Target(usize, String),
}

impl StepError {
    /// The error `fit` returns, located at 0-based `epoch` and `batch`.
    pub(super) fn at(self, epoch: usize, batch: usize) -> Error {
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
