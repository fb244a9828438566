//! Streaming metrics, as `model.fit` reports them: updated one sample at a time, read at the
//! end of an epoch, reset before the next. Nothing allocates.
//!
//! Each sample is given as the loss functions take it (see [`crate::losses`]): `y_pred` as
//! rows of `classes` values and a [`Target`]. A dense target as long as `y_pred` holds values
//! (binary labels or one-hot rows); a target with one value per row, or a [`Target::Class`],
//! holds class labels, which Precision, Recall and F1 see as one-hot rows. With `classes == 1`
//! (a single sigmoid output) a [`Target::Class`] is the binary label itself.
//!
//! Sample weights weigh samples as in Keras: a mean metric adds `weight · value` to its total
//! and `weight` to its count; a confusion count adds `weight` per element.

use crate::losses::{label_of, Loss, LossError, Target};
use crate::scalar::Scalar;

/// Keras's `backend.epsilon()`, which F1Score adds to its denominators.
const EPSILON: f64 = 1e-7;

/// A metric, as named in `model.compile(metrics=[...])`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// `"accuracy"`: binary, categorical or sparse categorical accuracy, chosen from the
    /// shapes exactly as Keras's `compile` chooses (see [`MetricState::update`]).
    Accuracy,
    /// `keras.metrics.Precision()`: `tp / (tp + fp)` with predictions above 0.5 positive and
    /// nonzero labels positive, elementwise; 0 before any positive prediction.
    Precision,
    /// `keras.metrics.Recall()`: `tp / (tp + fn)`, thresholded like [`Metric::Precision`].
    Recall,
    /// `keras.metrics.F1Score(average="micro", threshold=0.5)`: one F1 over all elements,
    /// predictions above 0.5 positive, labels counted by their value, with Keras's 1e-7 in the
    /// denominators. (Keras's default `average=None` reports one F1 per class instead.)
    F1,
    /// `keras.metrics.TopKCategoricalAccuracy(k)`, or `SparseTopKCategoricalAccuracy(k)` for
    /// class labels: whether the true class is among the `k` highest predictions, where ties
    /// at the boundary count as in (as `in_top_k` does) and any non-finite prediction in the row
    /// counts as a miss.
    TopKAccuracy(usize),
}

impl Metric {
    /// The name Keras logs the metric under when it is given by this name.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1_score",
            Metric::TopKAccuracy(_) => "top_k_categorical_accuracy",
        }
    }

    /// The metric a name denotes in `compile(metrics=[...])`: `"accuracy"`/`"acc"`, and the
    /// snake-case or class names of the others (top-k with Keras's default `k = 5`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "precision" | "Precision" => Metric::Precision,
            "recall" | "Recall" => Metric::Recall,
            "f1_score" | "F1Score" => Metric::F1,
            "top_k_categorical_accuracy"
            | "TopKCategoricalAccuracy"
            | "sparse_top_k_categorical_accuracy"
            | "SparseTopKCategoricalAccuracy" => Metric::TopKAccuracy(5),
            _ => return None,
        })
    }
}

/// The running state of one metric over an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricState {
    metric: Metric,
    loss: Loss,
    /// Weighted sum of per-sample values (mean metrics).
    total: f64,
    /// Sum of sample weights (mean metrics).
    count: f64,
    /// Weighted true positives, false positives, false negatives (Precision, Recall, F1).
    tp: f64,
    fp: f64,
    fn_: f64,
}

/// How a sample's target reads, after checking it against `y_pred`.
#[derive(Clone, Copy)]
enum Truth<'a, T> {
    /// One value per element of `y_pred`.
    Dense(&'a [T]),
    /// One class label per row (already checked to be valid).
    Labels(Target<'a, T>),
    /// The binary label of a single-row, single-class sample given as a [`Target::Class`].
    Binary(T),
}

impl<T: Scalar> Truth<'_, T> {
    /// The true class of `row`: its label, or the argmax of its dense row.
    fn class(&self, row: usize, classes: usize) -> usize {
        match *self {
            Truth::Dense(t) => argmax(&t[row * classes..(row + 1) * classes]),
            Truth::Labels(Target::Class(k)) => k,
            Truth::Labels(Target::Dense(l)) => label_of(l[row], usize::MAX).unwrap_or(usize::MAX),
            Truth::Binary(_) => 0,
        }
    }

    /// Element `i` of the dense (one-hot, for labels) target.
    fn value(&self, i: usize, classes: usize) -> T {
        match *self {
            Truth::Dense(t) => t[i],
            Truth::Binary(y) => y,
            Truth::Labels(_) if self.class(i / classes, classes) == i % classes => T::one(),
            Truth::Labels(_) => T::zero(),
        }
    }
}

impl MetricState {
    /// A fresh metric for a model trained with `loss` (which names the sparse top-k variant).
    pub fn new(metric: Metric, loss: Loss) -> Self {
        MetricState {
            metric,
            loss,
            total: 0.0,
            count: 0.0,
            tp: 0.0,
            fp: 0.0,
            fn_: 0.0,
        }
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The name Keras logs this metric under; top-k with a sparse loss is
    /// `"sparse_top_k_categorical_accuracy"`.
    pub fn name(&self) -> &'static str {
        match self.metric {
            Metric::TopKAccuracy(_) if self.loss.is_sparse() => "sparse_top_k_categorical_accuracy",
            m => m.name(),
        }
    }

    /// Adds one sample with weight `sample_weight` (1 for unweighted training).
    ///
    /// For [`Metric::Accuracy`] the kind of accuracy follows Keras's `compile`, which looks at
    /// shapes, not at the loss: one class (`classes == 1`) is binary accuracy (prediction
    /// above 0.5 equals the label), class labels are sparse categorical accuracy, and dense
    /// targets of several classes are categorical accuracy (argmax against argmax, first
    /// index on ties) — even with binary cross-entropy on several sigmoid outputs.
    pub fn update<T: Scalar>(
        &mut self,
        y_pred: &[T],
        y_true: Target<'_, T>,
        classes: usize,
        sample_weight: T,
    ) -> Result<(), LossError> {
        let truth = truth(y_pred, y_true, classes)?;
        let rows = y_pred.len() / classes;
        let w = sample_weight.to_f64().unwrap_or(f64::NAN);
        let hits = |hit: &dyn Fn(usize) -> bool| (0..rows).filter(|&r| hit(r)).count() as f64;
        match self.metric {
            Metric::Accuracy if classes == 1 => {
                let half = T::of(0.5);
                let hit = |i: usize| {
                    let pred = if y_pred[i] > half {
                        T::one()
                    } else {
                        T::zero()
                    };
                    truth.value(i, 1) == pred
                };
                self.add_mean(w, hits(&hit) / rows as f64);
            }
            Metric::Accuracy => {
                let hit = |r: usize| {
                    argmax(&y_pred[r * classes..(r + 1) * classes]) == truth.class(r, classes)
                };
                self.add_mean(w, hits(&hit) / rows as f64);
            }
            Metric::TopKAccuracy(k) => {
                let hit = |r: usize| {
                    in_top_k(
                        &y_pred[r * classes..(r + 1) * classes],
                        truth.class(r, classes),
                        k,
                    )
                };
                self.add_mean(w, hits(&hit) / rows as f64);
            }
            Metric::Precision | Metric::Recall => {
                let half = T::of(0.5);
                for (i, &p) in y_pred.iter().enumerate() {
                    let label = truth.value(i, classes) != T::zero();
                    match (p > half, label) {
                        (true, true) => self.tp += w,
                        (true, false) => self.fp += w,
                        (false, true) => self.fn_ += w,
                        (false, false) => {}
                    }
                }
            }
            Metric::F1 => {
                let half = T::of(0.5);
                for (i, &p) in y_pred.iter().enumerate() {
                    let y = truth.value(i, classes).to_f64().unwrap_or(f64::NAN);
                    if p > half {
                        self.tp += w * y;
                        self.fp += w * (1.0 - y);
                    } else {
                        self.fn_ += w * y;
                    }
                }
            }
        }
        Ok(())
    }

    /// The metric over the samples seen since the last reset (0 before any, as in Keras).
    pub fn result(&self) -> f64 {
        let divide_no_nan = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
        match self.metric {
            Metric::Accuracy | Metric::TopKAccuracy(_) => divide_no_nan(self.total, self.count),
            Metric::Precision => divide_no_nan(self.tp, self.tp + self.fp),
            Metric::Recall => divide_no_nan(self.tp, self.tp + self.fn_),
            Metric::F1 => {
                let precision = self.tp / (self.tp + self.fp + EPSILON);
                let recall = self.tp / (self.tp + self.fn_ + EPSILON);
                2.0 * (precision * recall / (precision + recall + EPSILON))
            }
        }
    }

    /// Forgets all samples, as Keras does at the start of each epoch.
    pub fn reset(&mut self) {
        *self = MetricState::new(self.metric, self.loss);
    }

    fn add_mean(&mut self, weight: f64, value: f64) {
        self.total += weight * value;
        self.count += weight;
    }
}

/// Checks the sample's shapes and reads its target as dense values or as labels.
fn truth<'a, T: Scalar>(
    y_pred: &[T],
    y_true: Target<'a, T>,
    classes: usize,
) -> Result<Truth<'a, T>, LossError> {
    let len = y_pred.len();
    if classes == 0 || len == 0 || len % classes != 0 {
        return Err(LossError::Classes { len, classes });
    }
    let rows = len / classes;
    match y_true {
        Target::Dense(t) if t.len() == len => Ok(Truth::Dense(t)),
        Target::Dense(labels) if labels.len() == rows => {
            match labels.iter().position(|&l| label_of(l, classes).is_none()) {
                Some(row) => Err(LossError::Label { row, classes }),
                None => Ok(Truth::Labels(y_true)),
            }
        }
        Target::Dense(t) => Err(LossError::TargetLen {
            expected: len,
            found: t.len(),
        }),
        Target::Class(k) if rows == 1 && classes == 1 && k <= 1 => {
            Ok(Truth::Binary(T::of(k as f64)))
        }
        Target::Class(k) if rows == 1 && k < classes => Ok(Truth::Labels(y_true)),
        Target::Class(_) => Err(LossError::Label { row: 0, classes }),
    }
}

/// The index of the largest value, the first on ties, as TensorFlow's argmax.
fn argmax<T: Scalar>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// TensorFlow's `in_top_k`: fewer than `k` classes score strictly higher than the target, so
/// ties straddling the boundary are all in; a non-finite score anywhere in the row is a miss.
fn in_top_k<T: Scalar>(row: &[T], target: usize, k: usize) -> bool {
    let Some(&score) = row.get(target) else {
        return false;
    };
    if row.iter().any(|v| !v.is_finite()) {
        return false;
    }
    row.iter().filter(|&&v| v > score).count() < k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streams `(y_pred, y_true, weight)` samples into a fresh metric and returns the result.
    fn stream(
        metric: Metric,
        loss: Loss,
        classes: usize,
        samples: &[(&[f32], Target<'_, f32>, f32)],
    ) -> f64 {
        let mut state = MetricState::new(metric, loss);
        for &(p, t, w) in samples {
            state.update(p, t, classes, w).unwrap();
        }
        state.result()
    }

    fn assert_close(got: f64, keras: f64) {
        assert!(
            (got - keras).abs() <= 1e-6 * keras.abs().max(1e-6),
            "{got}, Keras {keras}"
        );
    }

    // Expected values from Keras 3.15.1: a batch at a time,
    // `m.update_state(y_true, y_pred, sample_weight=w)` on the Keras metric named in each
    // test, then `float(m.result())` (float32, hence ~1e-7 agreement).

    const BINARY: [(&[f32], Target<'static, f32>, f32); 6] = [
        (&[0.9], Target::Dense(&[1.0]), 1.0),
        (&[0.4], Target::Dense(&[1.0]), 0.5),
        (&[0.5], Target::Dense(&[0.0]), 2.0),
        (&[0.7], Target::Dense(&[0.0]), 1.0),
        (&[0.2], Target::Class(0), 1.0),
        (&[0.8], Target::Class(1), 1.0),
    ];

    #[test]
    fn binary_metrics_match_keras() {
        let bce = Loss::BinaryCrossentropy;
        // BinaryAccuracy(), which compile picks for y_pred of shape (batch, 1).
        assert_close(
            stream(Metric::Accuracy, bce, 1, &BINARY),
            0.7692307829856873,
        );
        assert_close(
            stream(Metric::Precision, bce, 1, &BINARY),
            0.6666666865348816,
        );
        assert_close(stream(Metric::Recall, bce, 1, &BINARY), 0.800000011920929);
        // F1Score(average="micro", threshold=0.5)
        assert_close(stream(Metric::F1, bce, 1, &BINARY), 0.7272726893424988);
    }

    const PRED: [&[f32]; 6] = [
        &[0.1, 0.7, 0.2],
        &[0.5, 0.3, 0.2],
        &[0.3, 0.3, 0.4],
        &[0.4, 0.4, 0.2], // a tie: argmax says 0, in_top_k counts 0 and 1
        &[0.8, 0.1, 0.1],
        &[0.2, 0.2, 0.6],
    ];
    const LABELS: [usize; 6] = [1, 2, 0, 1, 0, 1];
    const WEIGHTS: [f32; 6] = [1.0, 2.0, 1.0, 0.5, 1.0, 3.0];
    const ONE_HOT: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    fn categorical(metric: Metric, loss: Loss) -> f64 {
        let mut state = MetricState::new(metric, loss);
        for i in 0..6 {
            let t = Target::Dense(&ONE_HOT[LABELS[i]][..]);
            state.update(PRED[i], t, 3, WEIGHTS[i]).unwrap();
        }
        state.result()
    }

    fn sparse(metric: Metric) -> f64 {
        let mut state = MetricState::new(metric, Loss::SparseCategoricalCrossentropy);
        for i in 0..6 {
            // Alternate the two ways of giving a label.
            let label = [LABELS[i] as f32];
            let t = if i % 2 == 0 {
                Target::Class(LABELS[i])
            } else {
                Target::Dense(&label)
            };
            state.update(PRED[i], t, 3, WEIGHTS[i]).unwrap();
        }
        state.result()
    }

    #[test]
    fn categorical_metrics_match_keras() {
        let cce = Loss::CategoricalCrossentropy;
        // CategoricalAccuracy(), which compile picks for y_true and y_pred both (batch, 3).
        assert_close(categorical(Metric::Accuracy, cce), 0.23529411852359772);
        assert_close(categorical(Metric::Precision, cce), 0.4000000059604645);
        assert_close(categorical(Metric::Recall, cce), 0.23529411852359772);
        assert_close(categorical(Metric::F1, cce), 0.29629623889923096);
        assert_close(
            categorical(Metric::TopKAccuracy(2), cce),
            0.7647058963775635,
        );
        assert_close(
            categorical(Metric::TopKAccuracy(1), cce),
            0.29411765933036804,
        );
    }

    #[test]
    fn accuracy_follows_shapes_not_the_loss_like_keras_compile() {
        // With binary cross-entropy on three sigmoid outputs, Keras still picks
        // CategoricalAccuracy, since y_true and y_pred are both (batch, 3).
        assert_close(
            categorical(Metric::Accuracy, Loss::BinaryCrossentropy),
            0.23529411852359772,
        );
    }

    #[test]
    fn sparse_metrics_match_keras() {
        // SparseCategoricalAccuracy(), which compile picks for y_true (batch,), y_pred (batch, 3).
        assert_close(sparse(Metric::Accuracy), 0.23529411852359772);
        // SparseTopKCategoricalAccuracy(k)
        assert_close(sparse(Metric::TopKAccuracy(2)), 0.7647058963775635);
        assert_close(sparse(Metric::TopKAccuracy(1)), 0.29411765933036804);
        // Precision() and Recall() on the one-hot labels.
        assert_close(sparse(Metric::Precision), 0.4000000059604645);
        assert_close(sparse(Metric::Recall), 0.23529411852359772);
    }

    #[test]
    fn top_k_counts_ties_in_and_non_finite_rows_out_like_in_top_k() {
        let cce = Loss::CategoricalCrossentropy;
        let ties = [
            (&[0.4f32, 0.4, 0.2][..], Target::Dense(&ONE_HOT[1][..]), 1.0),
            (&[0.5, 0.2, 0.5][..], Target::Dense(&ONE_HOT[2][..]), 1.0),
        ];
        assert_close(stream(Metric::TopKAccuracy(1), cce, 3, &ties), 1.0); // Keras: 1.0
        let non_finite = [
            (
                &[f32::INFINITY, 0.4, 0.2][..],
                Target::Dense(&ONE_HOT[1][..]),
                1.0,
            ),
            (
                &[0.5, 0.2, f32::NAN][..],
                Target::Dense(&ONE_HOT[0][..]),
                1.0,
            ),
        ];
        assert_eq!(stream(Metric::TopKAccuracy(2), cce, 3, &non_finite), 0.0); // Keras: 0.0
    }

    #[test]
    fn several_rows_per_sample_match_keras() {
        // CategoricalAccuracy() and Precision() on y of shape (2, 2, 3), sample weights [1, 3].
        let p: [&[f32]; 2] = [
            &[0.1, 0.7, 0.2, 0.5, 0.3, 0.2],
            &[0.3, 0.3, 0.4, 0.4, 0.4, 0.2],
        ];
        let t: [&[f32]; 2] = [
            &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        ];
        let samples = [
            (p[0], Target::Dense(t[0]), 1.0),
            (p[1], Target::Dense(t[1]), 3.0),
        ];
        let cce = Loss::CategoricalCrossentropy;
        assert_close(stream(Metric::Accuracy, cce, 3, &samples), 0.5);
        assert_close(stream(Metric::Precision, cce, 3, &samples), 1.0);
    }

    #[test]
    fn fractional_labels_count_as_keras_counts_them() {
        // Precision() calls any nonzero label positive, F1Score weighs a label by its value,
        // BinaryAccuracy() compares the label itself with the thresholded prediction.
        let bce = Loss::BinaryCrossentropy;
        let samples = [
            (&[0.9f32][..], Target::Dense(&[0.3f32][..]), 1.0),
            (&[0.6][..], Target::Dense(&[1.0][..]), 1.0),
            (&[0.7][..], Target::Dense(&[0.0][..]), 1.0),
        ];
        assert_close(
            stream(Metric::Precision, bce, 1, &samples),
            0.6666666865348816,
        );
        assert_close(stream(Metric::F1, bce, 1, &samples), 0.6046510934829712);
        assert_close(
            stream(Metric::Accuracy, bce, 1, &samples),
            0.3333333432674408,
        );
    }

    #[test]
    fn reset_and_empty_results_are_zero_like_keras() {
        for metric in [
            Metric::Accuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::F1,
            Metric::TopKAccuracy(5),
        ] {
            let mut state = MetricState::new(metric, Loss::CategoricalCrossentropy);
            assert_eq!(state.result(), 0.0, "{metric:?}");
            state
                .update(&[0.9f64, 0.1], Target::Dense(&[1.0, 0.0]), 2, 1.0)
                .unwrap();
            assert!(state.result() > 0.0, "{metric:?}");
            state.reset();
            assert_eq!(state.result(), 0.0, "{metric:?}");
        }
    }

    #[test]
    fn bad_samples_are_errors_and_leave_the_state_alone() {
        let mut state = MetricState::new(Metric::Accuracy, Loss::SparseCategoricalCrossentropy);
        let p = [0.2f32, 0.8];
        assert_eq!(
            state.update(&p, Target::Class(2), 2, 1.0),
            Err(LossError::Label { row: 0, classes: 2 })
        );
        assert_eq!(
            state.update(&p, Target::Dense(&[1.5]), 2, 1.0),
            Err(LossError::Label { row: 0, classes: 2 })
        );
        assert_eq!(
            state.update(&p, Target::Dense(&[1.0, 0.0, 0.0]), 2, 1.0),
            Err(LossError::TargetLen {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            state.update(&p, Target::Class(1), 3, 1.0),
            Err(LossError::Classes { len: 2, classes: 3 })
        );
        assert_eq!(
            state,
            MetricState::new(Metric::Accuracy, Loss::SparseCategoricalCrossentropy)
        );
    }

    #[test]
    fn names_match_keras() {
        assert_eq!(Metric::Accuracy.name(), "accuracy");
        assert_eq!(Metric::F1.name(), "f1_score");
        assert_eq!(Metric::from_name("acc"), Some(Metric::Accuracy));
        assert_eq!(
            Metric::from_name("top_k_categorical_accuracy"),
            Some(Metric::TopKAccuracy(5))
        );
        for m in [
            Metric::Accuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::F1,
        ] {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        let top = MetricState::new(Metric::TopKAccuracy(3), Loss::SparseCategoricalCrossentropy);
        assert_eq!(top.name(), "sparse_top_k_categorical_accuracy");
        let top = MetricState::new(Metric::TopKAccuracy(3), Loss::CategoricalCrossentropy);
        assert_eq!(top.name(), "top_k_categorical_accuracy");
    }
}
