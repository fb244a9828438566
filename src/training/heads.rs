//! The losses and metrics `compile` takes: one loss for every output or one per output with
//! its weight in the total (Keras's `loss={…}, loss_weights={…}`), metrics as a list or per
//! output (`metrics={…}`); resolved against the model's outputs.

use crate::Error;
use kiln_core::losses::Loss;
use kiln_core::metrics::Metric;
use kiln_core::train::OutputSpec;

/// What [`Compile::compile`](super::Compile::compile) takes as the loss. A [`Loss`] converts
/// into one that applies to every output with weight 1 (as Keras's `loss="mse"` on a model
/// with several outputs); [`Losses::per_output`] names a loss and a weight for each.
#[derive(Clone, Debug, PartialEq)]
pub struct Losses(Spec);

#[derive(Clone, Debug, PartialEq)]
enum Spec {
    Every(Loss),
    PerOutput(Vec<(String, Loss, f64)>),
}

impl From<Loss> for Losses {
    fn from(loss: Loss) -> Self {
        Losses(Spec::Every(loss))
    }
}

impl Losses {
    /// One `(output name, loss, weight)` per output, as Keras's `loss={"class": …, "box": …},
    /// loss_weights={"class": 1.0, "box": 0.5}`: the loss `fit` minimizes is the weighted sum,
    /// and the logs show each output's own loss as `<name>_loss`. Every output needs one.
    pub fn per_output<'a>(each: impl IntoIterator<Item = (&'a str, Loss, f64)>) -> Self {
        Losses(Spec::PerOutput(
            each.into_iter()
                .map(|(n, l, w)| (n.to_string(), l, w))
                .collect(),
        ))
    }

    /// The loss and weight of each of `outputs`, in their order; an error names an output
    /// without a loss, a name that is no output, or a weight that is not finite.
    pub(crate) fn resolve(&self, outputs: &[OutputSpec]) -> Result<Vec<Head>, Error> {
        let each = match &self.0 {
            Spec::Every(loss) => {
                return Ok(outputs
                    .iter()
                    .map(|o| Head {
                        name: o.name,
                        loss: *loss,
                        weight: 1.0,
                    })
                    .collect())
            }
            Spec::PerOutput(each) => each,
        };
        let names = || {
            let all: Vec<String> = outputs.iter().map(|o| format!("`{}`", o.name)).collect();
            all.join(", ")
        };
        for (i, (name, _, weight)) in each.iter().enumerate() {
            if !outputs.iter().any(|o| o.name == name) {
                return Err(Error::InvalidArgument(format!(
                    "a loss is given for `{name}`, but the model has no output of that name; its outputs are {}",
                    names()
                )));
            }
            if each[..i].iter().any(|(n, _, _)| n == name) {
                return Err(Error::InvalidArgument(format!(
                    "the output `{name}` is given two losses; give each output one"
                )));
            }
            if !weight.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "the loss weight of `{name}` is {weight}; loss weights must be finite"
                )));
            }
        }
        outputs
            .iter()
            .map(|o| {
                let (_, loss, weight) = each.iter().find(|(n, _, _)| n == o.name).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "the output `{}` has no loss; `Losses::per_output` needs one for each of {}",
                        o.name,
                        names()
                    ))
                })?;
                Ok(Head {
                    name: o.name,
                    loss: *loss,
                    weight: *weight,
                })
            })
            .collect()
    }
}

/// One output's loss and its weight in the total.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    pub name: &'static str,
    pub loss: Loss,
    pub weight: f64,
}

/// What [`Compile::compile`](super::Compile::compile) takes as the metrics: a list, for a
/// model with one output, or [`Metrics::per_output`] naming each output's own, as Keras 3's
/// `metrics={"class": ["accuracy"]}`. Keras 3 refuses a flat list for a model with several
/// outputs, and so does kiln: a metric fits one kind of output (accuracy a classifier's).
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics(MetricSpec);

#[derive(Clone, Debug, PartialEq)]
enum MetricSpec {
    List(Vec<Metric>),
    PerOutput(Vec<(String, Vec<Metric>)>),
}

impl From<&[Metric]> for Metrics {
    fn from(m: &[Metric]) -> Self {
        Metrics(MetricSpec::List(m.to_vec()))
    }
}

impl<const N: usize> From<&[Metric; N]> for Metrics {
    fn from(m: &[Metric; N]) -> Self {
        Metrics(MetricSpec::List(m.to_vec()))
    }
}

impl From<&Vec<Metric>> for Metrics {
    fn from(m: &Vec<Metric>) -> Self {
        Metrics(MetricSpec::List(m.clone()))
    }
}

impl Metrics {
    /// Each named output's metrics, logged as `<output>_<metric>`; outputs not named have
    /// none.
    pub fn per_output<'a>(each: impl IntoIterator<Item = (&'a str, &'a [Metric])>) -> Self {
        Metrics(MetricSpec::PerOutput(
            each.into_iter()
                .map(|(n, m)| (n.to_string(), m.to_vec()))
                .collect(),
        ))
    }

    /// The metrics of each of `outputs`, in their order; an error names a name that is no
    /// output, or a flat list given to a model with several outputs.
    pub(crate) fn resolve(&self, outputs: &[OutputSpec]) -> Result<Vec<Vec<Metric>>, Error> {
        let names = || {
            let all: Vec<String> = outputs.iter().map(|o| format!("`{}`", o.name)).collect();
            all.join(", ")
        };
        match &self.0 {
            MetricSpec::List(list) if outputs.len() > 1 && !list.is_empty() => {
                Err(Error::InvalidArgument(format!(
                    "the model has {} outputs ({}), so give metrics per output, as \
                     `Metrics::per_output([(\"{}\", &[Metric::Accuracy][..])])` (Keras 3 refuses a flat list too)",
                    outputs.len(),
                    names(),
                    outputs[0].name
                )))
            }
            MetricSpec::List(list) => Ok(outputs.iter().map(|_| list.clone()).collect()),
            MetricSpec::PerOutput(each) => {
                if let Some((name, _)) = each
                    .iter()
                    .find(|(n, _)| !outputs.iter().any(|o| o.name == n))
                {
                    return Err(Error::InvalidArgument(format!(
                        "metrics are given for `{name}`, but the model has no output of that name; its outputs are {}",
                        names()
                    )));
                }
                Ok(outputs
                    .iter()
                    .map(|o| {
                        each.iter()
                            .filter(|(n, _)| n == o.name)
                            .flat_map(|(_, m)| m.iter().copied())
                            .collect()
                    })
                    .collect())
            }
        }
    }
}
