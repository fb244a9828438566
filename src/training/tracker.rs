//! The running loss and metrics of an epoch (or of an evaluation), and the logs they make.

use super::heads::Head;
use super::label::Label;
use super::logs::Logs;
use super::step::{classes, part};
use kiln_core::metrics::{Metric, MetricState};
use kiln_core::train::OutputSpec;
use kiln_core::Scalar;

/// The running loss and metrics of an epoch: the total, and with several outputs each one's
/// loss and metrics.
pub(super) struct Tracker {
    pub(super) loss_sum: f64,
    pub(super) count: f64,
    /// With several outputs, each output's name and weighted loss sum.
    pub(super) heads: Vec<(&'static str, f64)>,
    /// Each metric of each output, output by output, with the output it reads.
    pub(super) metrics: Vec<(usize, MetricState)>,
}

impl Tracker {
    /// `metrics`: each output's, or none at all (empty).
    pub(super) fn new(heads: &[Head], metrics: &[Vec<Metric>]) -> Self {
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
    pub(super) fn add_loss(&mut self, weighted_sum: f64, each: &[f64], samples: f64) {
        self.loss_sum += weighted_sum;
        for ((_, sum), l) in self.heads.iter_mut().zip(each) {
            *sum += l;
        }
        self.count += samples;
    }

    /// Adds one sample's outputs `out` (a flat view of the model's output) and targets `y`
    /// to every metric.
    pub(super) fn update_metrics<T: Scalar, O, Y: Label<T, O>>(
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
    pub(super) fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1.0)
    }

    /// `loss`, each output's `<name>_loss` when there are several, and each metric by its
    /// Keras name (`<output>_<metric>` with several outputs).
    pub(super) fn logs(&self) -> Logs {
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
