//! `kiln import`: a Keras model file (`.keras`, legacy `.h5`) to the Rust source of the same
//! model in `kiln::model!`, Sequential or functional, with Keras's layer names kept so the
//! file's own weights load into it. Every layer or option kiln lacks is reported, all at once,
//! with its class, name and position; nothing is dropped silently.

use crate::Error;
use kiln_core::keras::{hdf5, read_config, Format};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// One Keras layer of the config: class, name, options, and (functional) its calls.
struct Layer<'a> {
    class: &'a str,
    name: &'a str,
    config: &'a Map<String, Value>,
    /// Each call: the `(layer, node)` of every value it reads.
    calls: Vec<Vec<(String, usize)>>,
}

/// Problems found so far, each naming its layer.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn at(&mut self, pos: usize, l: &Layer, what: String) {
        self.0
            .push(format!("layer {pos} `{}` ({}): {what}", l.name, l.class));
    }
}

/// Reads the model config of a `.keras` archive or a legacy `.h5` file.
fn model_config(path: &Path) -> Result<String, Error> {
    let shown = path.display().to_string();
    let corrupt = |reason: String| Error::Corrupt {
        path: shown.clone(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    match Format::of(&bytes) {
        Format::Keras => read_config(&bytes).map_err(corrupt),
        Format::Hdf5 => {
            let h5 = hdf5::H5::parse(bytes).map_err(corrupt)?;
            match h5.strings("/", "model_config").map_err(corrupt)? {
                Some(json) => Ok(json.concat()),
                None => Err(corrupt(
                    "this HDF5 file holds weights only (no `model_config`): import the `.keras` or \
                     `.h5` file `model.save` wrote"
                        .into(),
                )),
            }
        }
        Format::Safetensors => Err(corrupt(
            "not a Keras model file: `kiln import` reads `.keras` archives and legacy `.h5` files"
                .into(),
        )),
    }
}

/// The Rust source of `path`'s model as `pub struct NAME` (default: the Keras model's name in
/// UpperCamelCase), with a comment saying where it came from and how to load its weights; with
/// `embed`, the model compiles the file in instead (`weights = "PATH"`, `path` as given, which
/// `model!` resolves from the crate's `Cargo.toml` directory). With `test`, a file of inputs
/// and Keras's outputs for them ([`Reference`](super::Reference)), it also writes a `#[test]`
/// that checks the model reproduces them.
///
/// # Errors
/// [`Error::InvalidArgument`] listing every layer or option kiln does not support (class,
/// name, position); [`Error::Io`] / [`Error::Corrupt`] for a file that cannot be read.
pub fn import(
    path: &Path,
    name: Option<&str>,
    embed: bool,
    test: Option<&Path>,
) -> Result<String, Error> {
    let shown = path.display().to_string();
    let v = parsed(path)?;
    let class = v["class_name"].as_str().unwrap_or("");
    let config = v["config"].as_object().expect("checked by parsed");
    let keras_name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model");
    let name = name.map_or_else(|| camel(keras_name), str::to_string);
    let layers = layers_of(config);
    let mut problems = Problems::default();
    let body = match class {
        "Sequential" => sequential(&layers, &mut problems),
        "Functional" | "Model" => functional(config, &layers, &mut problems),
        other => {
            problems.0.push(format!(
                "the file's model is a {other}; kiln imports Sequential and functional models"
            ));
            String::new()
        }
    };
    if !problems.0.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "kiln import {shown}: {} problem{}; kiln cannot build this model yet:\n  {}",
            problems.0.len(),
            if problems.0.len() == 1 { "" } else { "s" },
            problems.0.join("\n  ")
        )));
    }
    let file = path
        .file_name()
        .map_or(shown.clone(), |f| f.to_string_lossy().into_owned());
    let (how, weights) = if embed {
        (
            format!("Its weights are compiled in: `{name}::weights()`."),
            format!(",\n    weights = \"{}\",", shown.replace('\\', "/")),
        )
    } else {
        (
            format!(
                "Its weights load from the same file: `{name}::init(0).load_weights(\"{file}\")`."
            ),
            String::new(),
        )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! `{name}`: the Keras model `{keras_name}` of `{file}`, imported by `kiln import`.\n\
         //! {how}\n\n\
         use kiln::prelude::*;\n\n\
         kiln::model! {{\n    /// Keras's `{keras_name}` ({class}), from `{file}`.\n    pub struct {name}{body}{weights}\n}}"
    );
    if let Some(io) = test {
        let io = io.display().to_string().replace('\\', "/");
        let (model, load) = if embed {
            (format!("{name}::weights()"), String::new())
        } else {
            (
                "&*net".to_string(),
                format!(
                    "        let mut net = {name}::init(0);\n        \
                     net.load_weights(\"{}\").unwrap();\n",
                    shown.replace('\\', "/")
                ),
            )
        };
        let _ = writeln!(
            out,
            "\n#[cfg(test)]\nmod keras_reference {{\n    use super::*;\n\n    \
             /// The inputs of `{io}` give Keras's outputs for them.\n    #[test]\n    \
             fn reproduces_keras() {{\n{load}        \
             let io = kiln::keras::Reference::read(\"{io}\").unwrap();\n        \
             io.check({model}, 1e-5).unwrap();\n    }}\n}}"
        );
    }
    Ok(out)
}

/// The model config of `path`, parsed: `{"class_name": …, "config": {…}}`.
fn parsed(path: &Path) -> Result<Value, Error> {
    let json = model_config(path)?;
    let corrupt = |reason: String| Error::Corrupt {
        path: path.display().to_string(),
        reason,
    };
    let v: Value = serde_json::from_str(&json)
        .map_err(|e| corrupt(format!("the model config is not JSON: {e}")))?;
    if !v["config"].is_object() {
        return Err(corrupt("the model config has no `config` object".into()));
    }
    Ok(v)
}

/// The layers of a model config, in its order.
fn layers_of(config: &Map<String, Value>) -> Vec<Layer<'_>> {
    let mut layers = Vec::new();
    for l in config
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let calls = l
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .map(|nodes| nodes.iter().map(history).collect())
            .unwrap_or_default();
        layers.push(Layer {
            class: l["class_name"].as_str().unwrap_or("?"),
            name: l
                .pointer("/config/name")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            config: l["config"].as_object().unwrap_or(config),
            calls,
        });
    }
    layers
}

/// The diagram of `path`'s model as SVG (`kiln plot`), as `Model::plot` draws a kiln model:
/// a box per layer with its name and class, an arrow from each layer to the layers that read it.
/// Output shapes come from what each reader records of its input (none for the outputs).
///
/// # Errors
/// As [`import`], for a file that cannot be read.
pub fn plot(path: &Path) -> Result<String, Error> {
    let v = parsed(path)?;
    let config = v["config"].as_object().expect("checked by parsed");
    let title = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model");
    let layers = layers_of(config);
    // What readers record of each layer's first output: Keras 3's `keras_tensor` shapes.
    let mut shapes: HashMap<String, String> = HashMap::new();
    fn walk(v: &Value, shapes: &mut HashMap<String, String>) {
        match v {
            Value::Array(a) => a.iter().for_each(|i| walk(i, shapes)),
            Value::Object(o) => {
                let c = o.get("config");
                let h = c.and_then(|c| c.get("keras_history"));
                let s = c.and_then(|c| c.get("shape")).and_then(Value::as_array);
                if let (Some(h), Some(s)) = (h, s) {
                    let dims: Vec<String> = s
                        .iter()
                        .map(|d| d.as_u64().map_or("None".into(), |d| d.to_string()))
                        .collect();
                    if let Some(l) = h[0].as_str() {
                        shapes.insert(l.to_string(), format!("({})", dims.join(", ")));
                    }
                }
                o.values().for_each(|i| walk(i, shapes));
            }
            _ => {}
        }
    }
    walk(&v["config"]["layers"], &mut shapes);
    let index = |name: &str| layers.iter().position(|l| l.name == name);
    let sequential = v["class_name"] == "Sequential";
    let inputs: Vec<Vec<usize>> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if sequential {
                return if i == 0 { Vec::new() } else { vec![i - 1] };
            }
            let mut ins = Vec::new();
            for r in l.calls.iter().flatten() {
                if let Some(j) = index(&r.0).filter(|j| !ins.contains(j)) {
                    ins.push(j);
                }
            }
            ins
        })
        .collect();
    let nodes: Vec<kiln_core::PlotNode> = layers
        .iter()
        .zip(&inputs)
        .map(|(l, ins)| kiln_core::PlotNode {
            name: l.name,
            class: l.class,
            shape: shapes.get(l.name).map_or("", String::as_str),
            inputs: ins,
        })
        .collect();
    Ok(kiln_core::plot::svg(title, &nodes))
}

/// The `(layer, node)` every value of a call reads, from Keras 3's `keras_history`.
fn history(node: &Value) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<(String, usize)>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => {
                if let Some(h) = o.get("config").and_then(|c| c.get("keras_history")) {
                    if let (Some(l), Some(n)) = (h[0].as_str(), h[1].as_u64()) {
                        out.push((l.to_string(), n as usize));
                    }
                } else {
                    o.values().for_each(|i| walk(i, out));
                }
            }
            _ => {}
        }
    }
    walk(node.get("args").unwrap_or(node), &mut out);
    out
}

/// `MnistCnn` from `mnist_cnn`: a Rust type name from a Keras model name.
fn camel(name: &str) -> String {
    let out: String = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect();
    match out.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => out,
        _ => format!("Model{out}"),
    }
}

/// Rust's keywords (strict, reserved and the 2024 edition's), and the words of `model!`'s
/// functional form: none can name a value, and a layer named one cannot be a field.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union", "input",
    "output",
];

/// Whether `name` can name a kiln layer (it becomes a struct field): a Rust identifier that
/// is not a keyword.
fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
        && name != "_"
}

/// A Rust identifier from a Keras name for a value: other characters become `_`; a keyword
/// or a name starting with a digit gets a suffix or prefix. ([`Idents`] makes them unique.)
fn ident(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v_{s}")
    } else if KEYWORDS.contains(&s.as_str()) || s == "_" {
        format!("{s}_")
    } else {
        s
    }
}

/// Unique Rust names for the values of a functional model.
#[derive(Default)]
struct Idents(std::collections::HashSet<String>);

impl Idents {
    /// `base` if no value has it yet, else `base_2`, `base_3`, …
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while !self.0.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }
}

/// An input layer's shape, from `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2).
fn input_shape(l: &Layer, pos: usize, problems: &mut Problems) -> Option<Vec<usize>> {
    let shape = l
        .config
        .get("batch_shape")
        .or_else(|| l.config.get("batch_input_shape"))
        .and_then(Value::as_array)?;
    let dims: Option<Vec<usize>> = shape[1..]
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect();
    if dims.is_none() {
        problems.at(
            pos,
            l,
            format!("its shape {shape:?} has an axis of unknown size; kiln's shapes are fixed"),
        );
    }
    dims
}

/// `[a, b, c]`.
fn dims(d: &[usize]) -> String {
    let v: Vec<String> = d.iter().map(usize::to_string).collect();
    format!("[{}]", v.join(", "))
}

fn sequential(layers: &[Layer], problems: &mut Problems) -> String {
    let mut input = None;
    let mut calls = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut pos = 0;
    for l in layers {
        if l.class == "InputLayer" {
            input = input_shape(l, 0, problems);
            continue;
        }
        pos += 1;
        // kiln's automatic name for this layer: the stem, numbered per model as Keras's are.
        let auto = stem(l.class).map(|s| {
            let k = counts.entry(s).or_insert(0);
            let name = if *k == 0 {
                s.to_string()
            } else {
                format!("{s}_{k}")
            };
            *k += 1;
            name
        });
        if let Some(call) = layer_call(l, pos, auto.as_deref() != Some(l.name), problems) {
            calls.push(call);
        }
    }
    let input = input.or_else(|| {
        let shape = layers.first().and_then(|l| {
            l.config
                .get("batch_input_shape")
                .or_else(|| l.config.get("batch_shape"))
        });
        shape.and_then(Value::as_array).and_then(|s| {
            s[1..]
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect()
        })
    });
    let Some(input) = input else {
        problems.0.push(
            "the model has no input shape (build it with `keras.Input` before saving)".into(),
        );
        return String::new();
    };
    format!(
        ": {} => <\n        {},\n    >",
        dims(&input),
        calls.join(",\n        ")
    )
}

fn functional(config: &Map<String, Value>, layers: &[Layer], problems: &mut Problems) -> String {
    // `input_layers` / `output_layers`: one `[name, node, tensor]`, or a list of them.
    let refs = |key: &str| -> Vec<(String, usize)> {
        let v = &config[key];
        let list: Vec<&Value> = match v.as_array() {
            Some(a) if a.first().is_some_and(Value::is_array) => a.iter().collect(),
            Some(_) => vec![v],
            None => Vec::new(),
        };
        list.iter()
            .filter_map(|r| {
                let node = r[1].as_u64().unwrap_or(0) as usize;
                r[0].as_str().map(|n| (n.to_string(), node))
            })
            .collect()
    };
    let (inputs, outputs) = (refs("input_layers"), refs("output_layers"));
    let mut lines = Vec::new();
    let mut idents = Idents::default();
    // Each value's Rust name: `(layer, node)` → identifier.
    let mut values: HashMap<(String, usize), String> = HashMap::new();
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    let mut positions = HashMap::new();
    // The inputs first, in the model's order (the order of kiln's input struct).
    for (name, _) in &inputs {
        let Some(l) = layers.iter().find(|l| l.name == name) else {
            problems
                .0
                .push(format!("the input `{name}` has no layer in the config"));
            continue;
        };
        let value = idents.fresh(&ident(l.name));
        if let Some(shape) = input_shape(l, 0, problems) {
            lines.push(format!("input {value}: {};", dims(&shape)));
        }
        values.insert((l.name.to_string(), 0), value);
    }
    for (i, l) in layers.iter().enumerate() {
        if l.class == "InputLayer" {
            continue;
        }
        pos += 1;
        positions.insert(i, pos);
        if l.calls.len() > 1 {
            if let Some(call) = layer_call(l, pos, true, problems) {
                let binding = idents.fresh(&format!("{}_layer", ident(l.name)));
                lines.push(format!("let {binding} = {call};"));
                values.insert((l.name.to_string(), usize::MAX), binding);
            }
        }
        for n in 0..l.calls.len() {
            pending.push((i, n));
        }
    }
    // Calls in an order where each reads values made before it (a shared layer's calls can
    // read values made by layers listed after it); the outputs as late as they can be, in
    // Keras's order, which is the order of the fields of kiln's output struct.
    let is_output = |&(i, n): &(usize, usize)| {
        outputs
            .iter()
            .position(|(o, node)| o == layers[i].name && *node == n)
    };
    while !pending.is_empty() {
        let made = |p: &(usize, usize)| {
            layers[p.0].calls[p.1]
                .iter()
                .all(|r| values.contains_key(r))
        };
        let ready = pending
            .iter()
            .position(|p| made(p) && is_output(p).is_none())
            .or_else(|| {
                (0..pending.len())
                    .filter(|&k| made(&pending[k]))
                    .min_by_key(|&k| is_output(&pending[k]))
            });
        let Some(k) = ready else {
            problems
                .0
                .push("the model's calls read values no layer makes (a nested model?)".into());
            break;
        };
        let (i, n) = pending.remove(k);
        let l = &layers[i];
        let args: Vec<String> = l.calls[n].iter().map(|r| values[r].clone()).collect();
        let shared = l.calls.len() > 1;
        let value = idents.fresh(&if shared {
            format!("{}_call{n}", ident(l.name))
        } else {
            ident(l.name)
        });
        let applied = if shared {
            values
                .get(&(l.name.to_string(), usize::MAX))
                .map(|binding| format!("{binding}({})", args.join(", ")))
        } else {
            layer_call(l, positions[&i], true, problems)
                .map(|call| format!("{call}({})", args.join(", ")))
        };
        if let Some(applied) = applied {
            let kw = if is_output(&(i, n)).is_some() {
                "output"
            } else {
                "let"
            };
            lines.push(format!("{kw} {value} = {applied};"));
        }
        values.insert((l.name.to_string(), n), value);
    }
    if inputs.is_empty() || outputs.is_empty() {
        problems
            .0
            .push("the functional model lists no inputs or no outputs".into());
    }
    format!(" {{\n        {}\n    }}", lines.join("\n        "))
}

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
fn stem(class: &str) -> Option<&'static str> {
    Some(match class {
        "Dense" => "dense",
        "Conv2D" => "conv2d",
        "Conv1D" => "conv1d",
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
            "kernel_constraint",
            "bias_constraint",
            "recurrent_constraint",
        ] {
            if self.get(key).is_some() {
                self.bad(format!(
                    "`{key}` is set; kiln has no regularizers or constraints"
                ));
            }
        }
    }
}

/// kiln's call for layer `l` at `pos` (`Conv2D(32, 3, relu)`), its Keras name added when
/// `named`; `None` (with the problems reported) when kiln cannot build it.
fn layer_call(l: &Layer, pos: usize, named: bool, problems: &mut Problems) -> Option<String> {
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
            a.only(
                "dilation_rate",
                Value::from(vec![1; if l.class == "Conv1D" { 1 } else { 2 }]),
            );
            a.only("groups", Value::from(1));
            a.flag("use_bias", true);
            l.class
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
            a.bad("a nested model; `kiln import` does not import nested models yet".into());
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
