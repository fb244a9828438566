//! One Keras layer's config as kiln's call (`Conv2D(32, 3, relu)`): a translation per class,
//! every option kiln lacks reported with the layer's class, name and position.

use super::{is_ident, Layer, Problems, KEYWORDS};
use serde_json::Value;

/// The merge classes: applied to their values directly, `Add(a, b)`.
const MERGES: &[&str] = &[
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
];

/// Keras's (and kiln's) automatic-name stem of a class kiln has: `dense` for `Dense`.
pub(super) fn stem(class: &str) -> Option<&'static str> {
    Some(match class {
        "Dense" => "dense",
        "Conv2D" => "conv2d",
        "Conv1D" => "conv1d",
        "DepthwiseConv2D" => "depthwise_conv2d",
        "SeparableConv2D" => "separable_conv2d",
        "MaxPooling2D" => "max_pooling2d",
        "AveragePooling2D" => "average_pooling2d",
        "MaxPooling1D" => "max_pooling1d",
        "AveragePooling1D" => "average_pooling1d",
        "GlobalAveragePooling2D" => "global_average_pooling2d",
        "GlobalMaxPooling2D" => "global_max_pooling2d",
        "GlobalAveragePooling1D" => "global_average_pooling1d",
        "GlobalMaxPooling1D" => "global_max_pooling1d",
        "Flatten" => "flatten",
        "Reshape" => "reshape",
        "Dropout" => "dropout",
        "Activation" => "activation",
        "ZeroPadding2D" => "zero_padding2d",
        "Cropping2D" => "cropping2d",
        "UpSampling2D" => "up_sampling2d",
        "LayerNormalization" => "layer_normalization",
        "LSTM" => "lstm",
        "GRU" => "gru",
        "SimpleRNN" => "simple_rnn",
        "Bidirectional" => "bidirectional",
        "Embedding" => "embedding",
        "Add" => "add",
        "Subtract" => "subtract",
        "Multiply" => "multiply",
        "Average" => "average",
        "Maximum" => "maximum",
        "Minimum" => "minimum",
        "Concatenate" => "concatenate",
        _ => return None,
    })
}

/// The activations kiln has, by Keras's names.
const ACTIVATIONS: &[&str] = &[
    "linear",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "gelu",
    "swish",
    "silu",
    "softplus",
    "hard_sigmoid",
];

/// Reads one layer's options, writing kiln's arguments and reporting what kiln lacks.
struct Args<'a, 'p> {
    l: &'a Layer<'a>,
    pos: usize,
    problems: &'p mut Problems,
    out: Vec<String>,
}

impl Args<'_, '_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.l.config.get(key).filter(|v| !v.is_null())
    }

    fn bad(&mut self, what: String) {
        self.problems.at(self.pos, self.l, what);
    }

    /// A whole number, written positionally.
    fn int(&mut self, key: &str) {
        match self.get(key).and_then(Value::as_u64) {
            Some(n) => self.out.push(n.to_string()),
            None => self.bad(format!("`{key}` is missing or not a whole number")),
        }
    }

    /// A size or a pair of sizes (`3` or `(3, 2)`): `[k]` or `[a, b]` in the config.
    fn sizes(&mut self, key: &str, keyword: bool, default: Option<&[u64]>) {
        let v: Option<Vec<u64>> = match self.get(key) {
            Some(Value::Array(a)) => a.iter().map(Value::as_u64).collect(),
            Some(Value::Number(n)) => n.as_u64().map(|n| vec![n]),
            _ => None,
        };
        let Some(v) = v else {
            if self.get(key).is_some() {
                self.bad(format!("`{key}` is not a list of sizes"));
            }
            return;
        };
        if default.is_some_and(|d| d == v.as_slice()) {
            return;
        }
        let text = match v.as_slice() {
            [a] => a.to_string(),
            [a, b] if a == b => a.to_string(),
            [a, b] => format!("({a}, {b})"),
            _ => {
                self.bad(format!("`{key}` {v:?} has more axes than kiln's layer"));
                return;
            }
        };
        self.out.push(if keyword {
            format!("{key} = {text}")
        } else {
            text
        });
    }

    fn activation(&mut self, key: &str, default: &str, positional: bool) {
        match self.get(key) {
            None => {}
            Some(Value::String(a)) if a == default => {}
            Some(Value::String(a)) if ACTIVATIONS.contains(&a.as_str()) => {
                let arg = if positional {
                    a.clone()
                } else {
                    format!("{key} = {a}")
                };
                self.out.push(arg);
            }
            Some(other) => self.bad(format!("`{key}` {other} is not an activation kiln has")),
        }
    }

    fn flag(&mut self, key: &str, default: bool) {
        if let Some(b) = self.get(key).and_then(Value::as_bool) {
            if b != default {
                self.out.push(format!("{key} = {b}"));
            }
        }
    }

    fn padding(&mut self, allowed: &[&str]) {
        match self.get("padding").and_then(Value::as_str) {
            None | Some("valid") => {}
            Some(p) if allowed.contains(&p) => self.out.push(format!("padding = {p}")),
            Some(p) => self.bad(format!("`padding = {p}` is not one kiln has here")),
        }
    }

    /// An option kiln has only at Keras's default value.
    fn only(&mut self, key: &str, default: Value) {
        if let Some(v) = self.get(key) {
            if *v != default {
                self.bad(format!("`{key} = {v}` is not supported (only {default})"));
            }
        }
    }

    /// Options that change training only (regularizers, constraints): refused, since kiln would
    /// train the model differently.
    fn no_training_extras(&mut self) {
        for key in [
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "recurrent_regularizer",
            "depthwise_regularizer",
            "pointwise_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "recurrent_constraint",
            "depthwise_constraint",
            "pointwise_constraint",
        ] {
            if self.get(key).is_some() {
                self.bad(format!(
                    "`{key}` is set; kiln has no regularizers or constraints"
                ));
            }
        }
    }
}

/// `v` without the `shared_object_id`s Keras writes in each initializer's config, which
/// differ between a `Bidirectional`'s two copies.
fn without_ids(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k != "shared_object_id")
                .map(|(k, v)| (k, without_ids(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_ids).collect()),
        other => other,
    }
}

/// kiln's call for layer `l` at `pos` (`Conv2D(32, 3, relu)`), its Keras name added when
/// `named`; `None` (with the problems reported) when kiln cannot build it.
pub(super) fn layer_call(
    l: &Layer,
    pos: usize,
    named: bool,
    problems: &mut Problems,
) -> Option<String> {
    let before = problems.0.len();
    let mut a = Args {
        l,
        pos,
        problems,
        out: Vec::new(),
    };
    a.only("data_format", Value::from("channels_last"));
    a.no_training_extras();
    let kiln = match l.class {
        "Dense" => {
            a.int("units");
            a.activation("activation", "linear", true);
            a.flag("use_bias", true);
            a.only("lora_rank", Value::Null);
            "Dense"
        }
        "Conv2D" | "Conv1D" => {
            a.int("filters");
            a.sizes("kernel_size", false, None);
            a.activation("activation", "linear", true);
            a.sizes(
                "strides",
                true,
                Some(&[1, 1][..if l.class == "Conv1D" { 1 } else { 2 }]),
            );
            a.padding(if l.class == "Conv1D" {
                &["same", "causal"]
            } else {
                &["same"]
            });
            if l.class == "Conv1D" {
                a.sizes("dilation_rate", true, Some(&[1]));
            } else {
                a.only("dilation_rate", Value::from(vec![1, 1]));
            }
            a.only("groups", Value::from(1));
            a.flag("use_bias", true);
            l.class
        }
        "DepthwiseConv2D" => {
            a.sizes("kernel_size", false, None);
            a.activation("activation", "linear", true);
            a.sizes("strides", true, Some(&[1, 1]));
            a.padding(&["same"]);
            match a.get("depth_multiplier").map(Value::as_u64) {
                None | Some(Some(1)) => {}
                Some(Some(m)) => a.out.push(format!("depth_multiplier = {m}")),
                Some(None) => a.bad("`depth_multiplier` is not a whole number".into()),
            }
            a.only("dilation_rate", Value::from(vec![1, 1]));
            a.flag("use_bias", true);
            "DepthwiseConv2D"
        }
        "SeparableConv2D" => {
            a.int("filters");
            a.sizes("kernel_size", false, None);
            a.activation("activation", "linear", true);
            a.sizes("strides", true, Some(&[1, 1]));
            a.padding(&["same"]);
            match a.get("depth_multiplier").map(Value::as_u64) {
                None | Some(Some(1)) => {}
                Some(Some(m)) => a.out.push(format!("depth_multiplier = {m}")),
                Some(None) => a.bad("`depth_multiplier` is not a whole number".into()),
            }
            a.only("dilation_rate", Value::from(vec![1, 1]));
            a.flag("use_bias", true);
            "SeparableConv2D"
        }
        "MaxPooling2D" | "AveragePooling2D" | "MaxPooling1D" | "AveragePooling1D" => {
            let pool = a.get("pool_size").cloned();
            a.sizes("pool_size", false, None);
            if a.get("strides").is_some() && a.get("strides") != pool.as_ref() {
                a.sizes("strides", true, None);
            }
            a.padding(&["same"]);
            l.class
        }
        "GlobalAveragePooling2D"
        | "GlobalMaxPooling2D"
        | "GlobalAveragePooling1D"
        | "GlobalMaxPooling1D" => {
            a.only("keepdims", Value::from(false));
            l.class
        }
        "Flatten" => "Flatten",
        "Reshape" => {
            match a.get("target_shape").and_then(Value::as_array) {
                Some(s) => {
                    let d: Vec<String> = s.iter().map(|d| d.to_string()).collect();
                    a.out.push(format!("({})", d.join(", ")));
                }
                None => a.bad("`target_shape` is missing".into()),
            }
            "Reshape"
        }
        "Dropout" => {
            match a.get("rate").and_then(Value::as_f64) {
                Some(r) => a.out.push(format!("{r:?}")),
                None => a.bad("`rate` is missing".into()),
            }
            a.only("noise_shape", Value::Null);
            "Dropout"
        }
        "Activation" => {
            a.activation("activation", "", true);
            "Activation"
        }
        "ZeroPadding2D" | "Cropping2D" => {
            let key = if l.class == "ZeroPadding2D" {
                "padding"
            } else {
                "cropping"
            };
            let v: Option<Vec<Vec<u64>>> = a.get(key).and_then(Value::as_array).and_then(|p| {
                p.iter()
                    .map(|q| q.as_array()?.iter().map(Value::as_u64).collect())
                    .collect()
            });
            match v.as_deref() {
                Some([t, w]) if t.len() == 2 && w.len() == 2 => a
                    .out
                    .push(format!("(({}, {}), ({}, {}))", t[0], t[1], w[0], w[1])),
                _ => a.bad(format!("`{key}` is not two pairs of sizes")),
            }
            l.class
        }
        "UpSampling2D" => {
            a.sizes("size", false, Some(&[2, 2]));
            a.only("interpolation", Value::from("nearest"));
            "UpSampling2D"
        }
        "LayerNormalization" => {
            match a.get("axis") {
                Some(Value::Number(n)) if n.as_i64() == Some(-1) => {}
                Some(Value::Array(v)) if v.len() == 1 && v[0].as_i64() == Some(-1) => {}
                Some(other) => a.bad(format!(
                    "`axis = {other}`: kiln normalizes the last axis only"
                )),
                None => {}
            }
            if let Some(e) = a.get("epsilon").and_then(Value::as_f64) {
                if e != 1e-3 {
                    a.out.push(format!("epsilon = {e:e}"));
                }
            }
            a.only("center", Value::from(true));
            a.only("scale", Value::from(true));
            a.only("rms_scaling", Value::from(false));
            "LayerNormalization"
        }
        "LSTM" | "GRU" | "SimpleRNN" => {
            a.int("units");
            a.activation("activation", "tanh", false);
            if l.class != "SimpleRNN" {
                a.activation("recurrent_activation", "sigmoid", false);
            }
            a.flag("use_bias", true);
            a.flag("return_sequences", false);
            a.flag("go_backwards", false);
            a.only("return_state", Value::from(false));
            a.only("stateful", Value::from(false));
            a.only("dropout", Value::from(0.0));
            a.only("recurrent_dropout", Value::from(0.0));
            if l.class == "GRU" {
                a.only("reset_after", Value::from(true));
            }
            if l.class == "LSTM" {
                a.only("unit_forget_bias", Value::from(true));
            }
            l.class
        }
        "Bidirectional" => {
            // The wrapped layer, as kiln's call (its problems reported under its own name);
            // the backward copy must be the same layer going backwards.
            let own = |key: &str| {
                let v = l.config.get(key)?.as_object()?;
                Some((
                    v.get("class_name")?.as_str()?,
                    v.get("config")?.as_object()?,
                ))
            };
            match own("layer") {
                Some((class @ ("LSTM" | "GRU" | "SimpleRNN"), config)) => {
                    let name = config.get("name").and_then(Value::as_str).unwrap_or(class);
                    let inner = Layer {
                        class,
                        name,
                        config,
                        calls: Vec::new(),
                    };
                    if config.get("go_backwards") == Some(&Value::Bool(true)) {
                        a.bad(format!(
                            "its `{name}` has `go_backwards = true`; kiln's Bidirectional wraps \
                             a layer going forwards"
                        ));
                    } else if let Some(call) = layer_call(&inner, pos, false, a.problems) {
                        a.out.push(call);
                    }
                    let same = |c: &serde_json::Map<String, Value>| {
                        let mut c = c.clone();
                        c.remove("name");
                        c.remove("go_backwards");
                        without_ids(Value::Object(c))
                    };
                    match own("backward_layer") {
                        Some((b, bc))
                            if b == class
                                && bc.get("go_backwards") == Some(&Value::Bool(true))
                                && same(bc) == same(config) => {}
                        None if l.config.get("backward_layer").is_none_or(Value::is_null) => {}
                        _ => a.bad(
                            "its `backward_layer` is not the wrapped layer's copy going \
                             backwards, the only one kiln has"
                                .into(),
                        ),
                    }
                }
                Some((class, _)) => a.bad(format!(
                    "it wraps a {class}; kiln's Bidirectional wraps LSTM, GRU or SimpleRNN"
                )),
                None => a.bad("`layer` is missing or not a layer's config".into()),
            }
            match a.get("merge_mode").and_then(Value::as_str) {
                None | Some("concat") => {}
                Some(m @ ("sum" | "mul" | "ave")) => a.out.push(format!("merge_mode = {m}")),
                Some(m) => a.bad(format!("`merge_mode = {m}` is not one kiln has")),
            }
            "Bidirectional"
        }
        "Embedding" => {
            a.int("input_dim");
            a.int("output_dim");
            a.only("mask_zero", Value::from(false));
            "Embedding"
        }
        "Concatenate" => {
            if let Some(axis) = a.get("axis").and_then(Value::as_i64) {
                if axis != -1 {
                    a.out.push(format!("axis = {axis}"));
                }
            }
            "Concatenate"
        }
        c if MERGES.contains(&c) => c,
        "Sequential" | "Functional" | "Model" => {
            a.bad("a nested model whose config lists no layers".into());
            "?"
        }
        other => {
            a.bad(format!("kiln has no `{other}` layer"));
            "?"
        }
    };
    if !is_ident(l.name) {
        a.bad(format!(
            "its name is not a Rust identifier (or is a keyword), which kiln's layer names must \
             be (they become the model's fields); rename it in Keras, e.g. `{}`",
            l.name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                + if KEYWORDS.contains(&l.name) {
                    "_layer"
                } else {
                    ""
                }
        ));
    }
    let mut out = a.out;
    if named {
        out.push(format!("name = \"{}\"", l.name));
    }
    if problems.0.len() > before {
        return None;
    }
    Some(if out.is_empty() {
        kiln.to_string()
    } else {
        format!("{kiln}({})", out.join(", "))
    })
}
