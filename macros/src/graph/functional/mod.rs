//! The functional form, from statements to a graph of values: each name bound, each layer
//! applied, every mistake in the wiring reported at its tokens (an undefined or unused value,
//! a missing output, a layer given the wrong number of values, a shared layer given two
//! shapes), then shapes inferred node by node, in the order the values are made (`shape.rs`);
//! `apart.rs` takes the several outputs of a nested model apart.

mod apart;
mod shape;

use crate::diagnostics::Errors;
use crate::graph::head::Head;
use crate::graph::{Graph, Layer, Node};
use crate::layers as catalog;
use crate::shapes::Step;
use crate::suggest::did_you_mean;
use crate::syntax::functional::{Applied, Functional, Stmt, Value};
use crate::syntax::ModelDef;
use apart::take_apart;
use proc_macro2::TokenStream;
use shape::shape_of;
use std::collections::HashMap;
use std::rc::Rc;
use syn::Ident;

/// One value of the graph while it is wired.
struct Val {
    /// How messages name it: "input `image`", "`x` (layer 1 `conv2d`)".
    label: String,
    /// How Keras's summary refers to it: `conv2d[0][0]`.
    reference: String,
    /// Its name, for the value names of the graph.
    name: String,
    /// The `let` or `input` name that bound it, for "never used".
    bound: Option<Ident>,
    used: bool,
}

/// One application while it is wired: layer `layer` (an index into the model's layers) reads
/// `inputs` and makes value `output`.
struct Wire {
    layer: usize,
    inputs: Vec<usize>,
    tokens: TokenStream,
}

struct Wiring<'a> {
    heads: &'a [Head<'a>],
    values: Vec<Val>,
    wires: Vec<Wire>,
    /// The value each name is bound to now.
    env: HashMap<String, usize>,
    /// Layers bound with `let`, to be shared: name → layer index.
    shared: HashMap<String, usize>,
    /// How many times each layer has been applied.
    applied: Vec<usize>,
    /// Values `0..inputs` are the model's inputs.
    inputs: usize,
    /// Names whose binding failed with an error already reported: reading them reports
    /// nothing more.
    poisoned: std::collections::HashSet<String>,
    /// Whether such a name was read: what leads to the output is then unknown, so "never
    /// used" is not reported.
    broken: bool,
}

impl Wiring<'_> {
    fn value(&mut self, v: &Value, errs: &mut Errors) -> Option<usize> {
        match v {
            Value::Name(name) => self.name(name, errs),
            Value::Layer { tokens, .. } => {
                errs.at(
                    tokens,
                    format!(
                        "`{}` is a layer, not a value: apply it to a value, e.g. `{}(x)`, or bind it \
                         with `let` to apply it later (and share its weights)",
                        crate::diagnostics::shown(tokens),
                        crate::diagnostics::shown(tokens)
                    ),
                );
                None
            }
            Value::Apply {
                layer,
                inputs,
                tokens,
            } => {
                let index = match layer {
                    Applied::Inline(i) => *i,
                    Applied::Shared(name) => self.shared[&name.to_string()],
                };
                // Every input is read, so that all their mistakes are reported.
                let ins: Vec<Option<usize>> = inputs.iter().map(|i| self.value(i, errs)).collect();
                if inputs.is_empty() {
                    errs.at(
                        tokens,
                        format!(
                            "{} is applied to no value; give it its input, e.g. `…(x)`",
                            self.heads[index].label()
                        ),
                    );
                    return None;
                }
                let ins: Vec<usize> = ins.into_iter().collect::<Option<_>>()?;
                let head = &self.heads[index];
                let k = self.applied[index];
                self.applied[index] += 1;
                self.wires.push(Wire {
                    layer: index,
                    inputs: ins,
                    tokens: tokens.clone(),
                });
                self.values.push(Val {
                    label: format!("layer {} `{}`", head.pos, head.name),
                    reference: format!("{}[{k}][0]", head.name),
                    name: head.name.clone(),
                    bound: None,
                    used: false,
                });
                Some(self.values.len() - 1)
            }
        }
    }

    fn name(&mut self, name: &Ident, errs: &mut Errors) -> Option<usize> {
        let key = name.to_string();
        if let Some(&v) = self.env.get(&key) {
            self.values[v].used = true;
            return Some(v);
        }
        if self.poisoned.contains(&key) {
            self.broken = true;
            return None;
        }
        let msg = if self.shared.contains_key(&key) {
            format!("`{key}` is a layer, not a value: apply it, as `{key}(x)`")
        } else if catalog::layer(&key).is_some() {
            format!("`{key}` is a layer, not a value: apply it to a value, as `{key}(x)`")
        } else {
            let known: Vec<&str> = self.env.keys().map(String::as_str).collect();
            let list = if known.is_empty() {
                "none yet".to_string()
            } else {
                let mut k = known.clone();
                k.sort_unstable();
                k.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "no value named `{key}` is defined before this{}\n  defined so far: {list}",
                did_you_mean(&key, known.iter().copied())
            )
        };
        errs.at(name, msg);
        None
    }
}

/// What the functional form's statements make: the graph and each node's shapes, or `None`
/// when something was reported. `layers` are the built layers, in the order of `def.layers`.
pub fn wire(
    def: &ModelDef,
    f: &Functional,
    heads: &[Head],
    mut layers: Vec<Option<Layer>>,
    input_shapes: Vec<Option<Vec<usize>>>,
    errs: &mut Errors,
) -> Option<(Graph, Vec<Step>)> {
    let name = &def.name;
    let mut w = Wiring {
        heads,
        values: Vec::new(),
        wires: Vec::new(),
        env: HashMap::new(),
        shared: HashMap::new(),
        applied: vec![0; heads.len()],
        inputs: f.inputs.len(),
        poisoned: Default::default(),
        broken: false,
    };
    if f.inputs.is_empty() {
        errs.at(
            &f.braces,
            format!("`{name}` has no input: declare one first, e.g. `input image: [28, 28, 1];`"),
        );
    }
    for (k, i) in f.inputs.iter().enumerate() {
        if f.inputs[..k].iter().any(|j| j.name == i.name) {
            errs.at(
                &i.name,
                format!(
                    "the input `{}` is declared twice; give each input its own name (a `let` may \
                     rebind a name, an input may not)",
                    i.name
                ),
            );
        }
    }
    for i in &f.inputs {
        if let Some(h) = heads.iter().find(|h| i.name == h.name) {
            errs.at(
                &i.name,
                format!(
                    "the input `{}` has the name of {}; Keras names inputs and layers from one set \
                     (they name the summary's rows and the weights), so rename the input",
                    i.name,
                    h.label()
                ),
            );
        }
        w.env.insert(i.name.to_string(), w.values.len());
        w.values.push(Val {
            label: format!("input `{}`", i.name),
            reference: format!("{}[0][0]", i.name),
            name: i.name.to_string(),
            bound: Some(i.name.clone()),
            used: false,
        });
    }
    let mut outputs: Vec<(Ident, usize)> = Vec::new();
    let mut shared_at: Vec<(Ident, usize)> = Vec::new();
    // The values of nested models with several outputs, taken apart by `let (a, b) = …`.
    let mut packed: Vec<usize> = Vec::new();
    for stmt in &f.stmts {
        match stmt {
            Stmt::LetMany {
                names,
                value,
                tokens,
            } => {
                let v = take_apart(def, &mut w, &mut layers, names, value, tokens, errs);
                if let Some(v) = v {
                    packed.push(v);
                }
            }
            Stmt::Let {
                name,
                value: Value::Layer { index, .. },
            } => {
                w.shared.insert(name.to_string(), *index);
                shared_at.push((name.clone(), *index));
            }
            Stmt::Let { name, value } => {
                w.shared.remove(&name.to_string());
                if let Some(v) = w.value(value, errs) {
                    bind(&mut w, name, v);
                } else {
                    // Reported already: later reads of the name report nothing more.
                    w.env.remove(&name.to_string());
                    w.poisoned.insert(name.to_string());
                }
            }
            Stmt::Output { name, value } => {
                let v = match value {
                    Some(value) => w.value(value, errs),
                    None => w.name(name, errs),
                };
                if let Some(v) = v {
                    if value.is_some() {
                        bind(&mut w, name, v);
                    }
                    w.values[v].used = true;
                    outputs.push((name.clone(), v));
                }
            }
        }
    }
    let has_output = f.stmts.iter().any(|s| matches!(s, Stmt::Output { .. }));
    if !has_output {
        errs.at(
            &f.braces,
            format!("`{name}` has no output: end it with `output name = …;`, e.g. `output class = Dense(10, softmax)(x);`"),
        );
    }
    for (j, (name_j, v)) in outputs.iter().enumerate() {
        let text = name_j.to_string();
        if outputs[..j].iter().any(|(n, _)| n == name_j) {
            errs.at(
                name_j,
                format!(
                    "the output `{name_j}` is declared twice; give each output its own name (it names the \
                     output's field in `{name}Output` and its figures in `fit`'s logs)"
                ),
            );
        } else if outputs.len() > 1 && (text == "val" || text.starts_with("val_")) {
            errs.at(
                name_j,
                format!(
                    "the output `{name_j}` would be logged as `{name_j}_loss`, which reads as a validation figure: \
                     `fit` logs each output's loss as `<output>_loss` and validation figures with a `val_` prefix \
                     (rename the output, e.g. `{}`)",
                    if text == "val" { "value".to_string() } else { format!("{}_val", &text[4..]) }
                ),
            );
        } else if let Some((first, _)) = outputs[..j].iter().find(|(_, u)| u == v) {
            errs.at(
                name_j,
                format!(
                    "the output `{name_j}` is the same value as the output `{first}`; each output is its own value \
                     (return it once, or make the second with its own layer)"
                ),
            );
        } else if *v < w.inputs {
            errs.at(
                name_j,
                format!(
                    "the output `{name_j}` is the model's input `{}`; an output must be made by a layer",
                    w.values[*v].name
                ),
            );
        }
    }
    if outputs.len() > 64 {
        errs.at(
            &outputs[64].0,
            format!(
                "`{name}` has {} outputs; kiln takes at most 64",
                outputs.len()
            ),
        );
    }
    for (n, index) in &shared_at {
        if w.applied[*index] == 0 {
            errs.at(
                n,
                format!(
                    "the layer `{n}` ({}) is never applied; apply it to a value, as `{n}(x)`, or remove it",
                    heads[*index].label()
                ),
            );
        }
    }
    for (i, v) in w.values.iter().enumerate().filter(|_| !w.broken) {
        if let (false, Some(b)) = (v.used, &v.bound) {
            // An input declared twice was reported above; its shadowed first copy is not news.
            let twice = |n: &&crate::syntax::functional::InputDecl| *b == n.name;
            if i < w.inputs && f.inputs.iter().filter(twice).count() > 1 {
                continue;
            }
            let what = if i < w.inputs {
                "the input"
            } else {
                "the value"
            };
            errs.at(
                b,
                format!(
                    "{what} `{b}` is never used: every value must lead to the output (use it, or remove \
                     the statement that makes it{})",
                    if what == "the input" { "" } else { "; a later `let` with the same name replaces it" }
                ),
            );
        }
    }

    // Shapes, node by node.
    let scalar = def.scalar_name();
    let mut shapes: Vec<Option<Vec<usize>>> = input_shapes.clone();
    let mut steps: Vec<Step> = Vec::new();
    let mut first_input: HashMap<usize, (Vec<usize>, String)> = HashMap::new();
    let mut incomplete = false;
    for wire in &w.wires {
        let out = shape_of(
            def,
            &w,
            wire,
            packed.contains(&shapes.len()),
            heads,
            &layers,
            &shapes,
            &scalar,
            &mut first_input,
            &mut incomplete,
            errs,
        );
        if let Some(step) = out {
            shapes.push(Some(step.output.clone()));
            steps.push(step);
        } else {
            shapes.push(None);
        }
    }
    let inputs: Vec<Vec<usize>> = input_shapes.into_iter().collect::<Option<_>>()?;
    let k = inputs.len();
    if errs.len() > 0 || incomplete || outputs.is_empty() || k == 0 || w.wires.is_empty() {
        return None;
    }
    let owned: Vec<Option<Rc<Layer>>> = layers.into_iter().map(|l| l.map(Rc::new)).collect();
    let nodes = w
        .wires
        .iter()
        .enumerate()
        .map(|(j, wire)| Node {
            layer: owned[wire.layer].clone().expect("no errors"),
            inputs: wire.inputs.clone(),
            output: k + j,
        })
        .collect();
    let graph = Graph {
        inputs,
        nodes,
        outputs: outputs.iter().map(|(_, v)| *v).collect(),
        output_names: outputs.iter().map(|(n, _)| n.to_string()).collect(),
        value_names: w.values.iter().map(|v| v.name.clone()).collect(),
        refs: w.values.iter().map(|v| v.reference.clone()).collect(),
    };
    Some((graph, steps))
}

/// `let name = v`: the value takes the name, in messages too.
fn bind(w: &mut Wiring, name: &Ident, v: usize) {
    let val = &mut w.values[v];
    if val.bound.is_none() {
        val.label = format!("`{name}` ({})", val.label);
        val.bound = Some(name.clone());
    }
    w.env.insert(name.to_string(), v);
    w.poisoned.remove(&name.to_string());
}
