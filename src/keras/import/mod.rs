//! `kiln import`: a Keras model file (`.keras`, legacy `.h5`) to the Rust source of the same
//! model in `kiln::model!`, Sequential or functional, with Keras's layer names kept so the
//! file's own weights load into it. A nested model becomes a `model!` of its own, written
//! before the model that uses it. Every layer or option kiln lacks is reported, all at once,
//! with its class, name and position; nothing is dropped silently.

mod layers;

use crate::Error;
use kiln_core::keras::{hdf5, read_config, Format, MAX_DEPTH};
use kiln_core::naming::snake_case;
use layers::{layer_call, stem};
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

/// The nested models met so far: each one's `kiln::model!` source, written before the model
/// that uses it, and the Rust type names taken.
#[derive(Default)]
struct Nested {
    models: Vec<String>,
    types: Vec<String>,
}

/// The classes of Keras's models, which kiln imports as models of their own, nested.
const MODELS: &[&str] = &["Sequential", "Functional", "Model"];

/// Whether `l` is a model nested in the file's model (a model class with its own layers).
fn is_model(l: &Layer) -> bool {
    MODELS.contains(&l.class) && l.config.contains_key("layers")
}

/// The body of `model!` for a model config (`: [28, 28, 1] => < … >` or `{ … }`), its nested
/// models' sources added to `nested`.
fn body(
    class: &str,
    config: &Map<String, Value>,
    problems: &mut Problems,
    nested: &mut Nested,
    depth: usize,
) -> String {
    let layers = layers_of(config);
    match class {
        "Sequential" => sequential(&layers, problems, nested, depth),
        "Functional" | "Model" => functional(config, &layers, problems, nested, depth),
        other => {
            problems.0.push(format!(
                "the file's model is a {other}; kiln imports Sequential and functional models"
            ));
            String::new()
        }
    }
}

/// A nested model `l` (at `pos` of its model): its own `model!`, added to `nested`, and the
/// type name that calls it; `None` (with the problems reported) if kiln cannot build it. In a
/// functional model it is paired with the file's by name, which kiln derives from the type
/// (`Block` is `block`), so the name must survive that.
fn nested_model(
    l: &Layer,
    pos: usize,
    functional: bool,
    problems: &mut Problems,
    nested: &mut Nested,
    depth: usize,
) -> Option<String> {
    let ty = type_name(l.name);
    if functional && snake_case(&ty) != l.name {
        problems.at(
            pos,
            l,
            format!(
                "a nested model is named after its Rust type (`{ty}` is `{}`), and a functional \
                 model's layers pair with the file's by name; rename it in Keras, e.g. `{}`",
                snake_case(&ty),
                snake_case(&ty)
            ),
        );
        return None;
    }
    if nested.types.contains(&ty) {
        problems.at(
            pos,
            l,
            format!("a second model would be the Rust type `{ty}`; rename one in Keras"),
        );
        return None;
    }
    if l.calls.len() > 1 {
        problems.at(
            pos,
            l,
            "a nested model applied more than once; kiln shares layers, not nested models".into(),
        );
        return None;
    }
    if l.config
        .get("output_layers")
        .and_then(Value::as_array)
        .is_some_and(|o| o.len() > 1 && o.iter().all(Value::is_array))
    {
        problems.at(
            pos,
            l,
            "a nested model with several outputs; `kiln import` does not write \
             `let (a, b) = Model(x);` yet"
                .into(),
        );
        return None;
    }
    if depth >= MAX_DEPTH {
        problems.at(pos, l, format!("models nest more than {MAX_DEPTH} deep"));
        return None;
    }
    nested.types.push(ty.clone());
    let before = problems.0.len();
    let mut inner = Problems::default();
    let body = body(l.class, l.config, &mut inner, nested, depth + 1);
    for p in inner.0 {
        problems
            .0
            .push(format!("in the nested model `{}`: {p}", l.name));
    }
    if problems.0.len() > before {
        return None;
    }
    // `Sequential_1`: the underscore keeps Keras's name, which Rust's naming lint dislikes.
    let allow = if ty.contains('_') {
        "\n    #[allow(non_camel_case_types)]"
    } else {
        ""
    };
    nested.models.push(format!(
        "kiln::model! {{\n    /// Keras's `{}` ({}), nested below.{allow}\n    pub struct {ty}{body}\n}}",
        l.name, l.class
    ));
    Some(ty)
}

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
    let mut problems = Problems::default();
    let mut nested = Nested {
        types: vec![name.clone()],
        ..Nested::default()
    };
    let body = body(class, config, &mut problems, &mut nested, 0);
    if embed && !nested.models.is_empty() {
        problems.0.push(
            "`--embed`: kiln does not compile a nested model's weights in yet; import without it \
             and load the file with `load_weights`"
                .into(),
        );
    }
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
         use kiln::prelude::*;\n"
    );
    for model in &nested.models {
        let _ = writeln!(out, "{model}\n");
    }
    let _ = writeln!(
        out,
        "kiln::model! {{\n    /// Keras's `{keras_name}` ({class}), from `{file}`.\n    pub struct {name}{body}{weights}\n}}"
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

/// A nested model's Rust type, from which kiln names its layer (`snake_case`): `Block` for
/// `block`, and for a name UpperCamelCase would lose (`sequential_1` → `Sequential1` →
/// `sequential1`), the words capitalized with an underscore kept before a number
/// (`Sequential_1`).
fn type_name(name: &str) -> String {
    let ty = camel(name);
    if snake_case(&ty) == name {
        return ty;
    }
    let mut out = String::new();
    for w in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut c = w.chars();
        let first = c.next().expect("not empty");
        if first.is_ascii_digit() && !out.is_empty() {
            out.push('_');
        }
        out.push(first.to_ascii_uppercase());
        out.push_str(c.as_str());
    }
    if snake_case(&out) == name {
        out
    } else {
        ty
    }
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

fn sequential(
    layers: &[Layer],
    problems: &mut Problems,
    nested: &mut Nested,
    depth: usize,
) -> String {
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
        if is_model(l) {
            if let Some(ty) = nested_model(l, pos, false, problems, nested, depth) {
                calls.push(ty);
            }
            continue;
        }
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

fn functional(
    config: &Map<String, Value>,
    layers: &[Layer],
    problems: &mut Problems,
    nested: &mut Nested,
    depth: usize,
) -> String {
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
                let name = r[0].as_str()?;
                let mut node = r[1].as_u64().unwrap_or(0) as usize;
                // Keras counts a nested functional model's calls from 1 here (its own node is
                // its 0th), and from 0 in `inbound_nodes`.
                if layers
                    .iter()
                    .any(|l| l.name == name && l.class != "Sequential" && is_model(l))
                {
                    node = node.saturating_sub(1);
                }
                Some((name.to_string(), node))
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
    // The nested models' Rust types, by layer.
    let mut types: HashMap<usize, String> = HashMap::new();
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
        if is_model(l) {
            match nested_model(l, pos, true, problems, nested, depth) {
                Some(ty) => {
                    types.insert(i, ty);
                }
                None => {
                    // Reported; its values stand in so the layers reading them are checked.
                    for n in 0..l.calls.len() {
                        values.insert((l.name.to_string(), n), "_".into());
                    }
                    continue;
                }
            }
        } else if l.calls.len() > 1 {
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
        } else if let Some(ty) = types.get(&i) {
            Some(format!("{ty}({})", args.join(", ")))
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
