//! Phase 2: from the syntax to a graph of values. Each layer call is named (`head`), its
//! arguments are bound (`args`) and checked (`values`), and the layer file's `build` makes the
//! typed layer. A Sequential model becomes a chain: value 0 is the model's input and node `i`
//! reads value `i` and writes value `i + 1`. Emitters take the names of a node's values from
//! [`Node::inputs`] and [`Node::output`], never from positions.

pub mod args;
pub mod functional;
pub mod head;
pub mod keras_order;
pub mod nested;
pub mod values;

use crate::diagnostics::Errors;
use crate::layers::nested::Nested;
use crate::layers::LayerKind;
use head::{unknown, Head, What};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::rc::Rc;
use values::layer_name;

/// One layer, ready for shape inference.
pub struct Layer {
    pub kind: Box<dyn LayerKind>,
    /// Keras's class name (`Conv2D`) or the nested model's type name.
    pub class: String,
    /// The layer's name: given with `name = "…"`, else Keras's automatic one.
    pub name: String,
    /// The layer's tokens, for errors.
    pub tokens: TokenStream,
    /// 1-based position in the layer list.
    pub pos: usize,
    /// A model made with `model!`, used as a layer: its path and Keras's class for it
    /// (`Sequential` or `Functional`).
    pub nested: Option<(syn::Path, &'static str)>,
    /// Keras's automatic name for its class (`dense`; `sequential` or `functional` for a nested
    /// model), the stem of its group in Keras 3's weight files; `None` for hidden nodes.
    pub auto: Option<&'static str>,
}

impl Layer {
    /// How messages refer to the layer: "layer 3 `max_pooling2d` (MaxPooling2D)".
    pub fn label(&self) -> String {
        format!("layer {} `{}` ({})", self.pos, self.name, self.class)
    }
}

impl ToTokens for Layer {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}

/// One application of a layer: the values it reads and the value it writes. A layer applied
/// twice (shared) is one `Layer` in two nodes.
pub struct Node {
    pub layer: Rc<Layer>,
    pub inputs: Vec<usize>,
    pub output: usize,
}

/// The model as a graph of values, its nodes in an order where each reads only values made
/// before it. Values `0..inputs.len()` are the inputs; `outputs` names the values the model
/// returns (a chain's: the last node's).
pub struct Graph {
    /// Every input's shape: values `0..inputs.len()` are the inputs, and node `j` writes value
    /// `inputs.len() + j`.
    pub inputs: Vec<Vec<usize>>,
    pub nodes: Vec<Node>,
    /// The model's outputs, in the order they are declared: made by nodes, never inputs, each
    /// value at most once. The last node's value is among them.
    pub outputs: Vec<usize>,
    /// Each value's name: an input's, or the layer that made it.
    pub value_names: Vec<String>,
    /// Each output's name, as declared (`output class = …`), for the output struct's fields.
    pub output_names: Vec<String>,
    /// How Keras's summary refers to each value: `image[0][0]`, `conv2d[0][0]`, and
    /// `dense[1][0]` for a shared layer's second application.
    pub refs: Vec<String>,
}

impl Graph {
    /// A Sequential model: each layer reads the value the one before it wrote.
    pub fn chain(input: Vec<usize>, layers: Vec<Layer>) -> Graph {
        let nodes = layers
            .into_iter()
            .enumerate()
            .map(|(i, layer)| Node {
                layer: Rc::new(layer),
                inputs: vec![i],
                output: i + 1,
            })
            .collect::<Vec<_>>();
        let value_names: Vec<String> = std::iter::once("input".to_string())
            .chain(nodes.iter().map(|n| n.layer.name.clone()))
            .collect();
        let refs = value_names.iter().map(|n| format!("{n}[0][0]")).collect();
        Graph {
            inputs: vec![input],
            outputs: vec![nodes.len()],
            output_names: vec!["output".to_string()],
            nodes,
            value_names,
            refs,
        }
    }

    /// The first input's shape (a Sequential model's only one).
    pub fn input(&self) -> &[usize] {
        &self.inputs[0]
    }

    /// How many inputs the model has; values below it are inputs.
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The shape of value `v`.
    pub fn shape<'a>(&'a self, steps: &'a [crate::shapes::Step], v: usize) -> &'a [usize] {
        match v.checked_sub(self.n_inputs()) {
            Some(j) => &steps[j].output,
            None => &self.inputs[v],
        }
    }

    /// The node that makes value `v`, `None` for an input.
    pub fn producer(&self, v: usize) -> Option<usize> {
        v.checked_sub(self.n_inputs())
    }

    /// How many values there are: the inputs, then one per node.
    pub fn n_values(&self) -> usize {
        self.n_inputs() + self.nodes.len()
    }

    /// The model's single output value (a model with one output, as every chain is).
    pub fn output(&self) -> usize {
        debug_assert_eq!(self.outputs.len(), 1, "a model with one output");
        self.outputs[0]
    }

    /// Which output value `v` is, if it is one.
    pub fn output_index(&self, v: usize) -> Option<usize> {
        self.outputs.iter().position(|&o| o == v)
    }

    /// An output's name: the value's (`output class = …` names it `class`).
    pub fn output_name(&self, k: usize) -> &str {
        &self.output_names[k]
    }

    /// Whether every node reads the value the one before it wrote (a Sequential model, or a
    /// functional one that is a chain): the plans of `infer`, `predict` and int8 assume it.
    pub fn is_chain(&self) -> bool {
        self.nodes
            .iter()
            .enumerate()
            .all(|(i, n)| n.inputs == [i] && n.output == i + 1)
            && self.n_inputs() == 1
            && self.outputs.len() == 1
            && self.owners(&self.nodes).count() == self.nodes.len()
    }

    /// Each layer once, with the step of its first application: the layers that own fields.
    pub fn owners<'a, S>(&'a self, steps: &'a [S]) -> impl Iterator<Item = (&'a Layer, &'a S)> {
        self.nodes
            .iter()
            .zip(steps)
            .enumerate()
            .filter(|(i, (n, _))| {
                !self.nodes[..*i]
                    .iter()
                    .any(|m| Rc::ptr_eq(&m.layer, &n.layer))
            })
            .map(|(_, (n, s))| (&*n.layer, s))
    }

    /// The nodes that read value `v`, with the input slot each reads it in.
    pub fn consumers(&self, v: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for (k, &x) in n.inputs.iter().enumerate() {
                if x == v {
                    out.push((i, k));
                }
            }
        }
        out
    }
}

/// Builds a layer from its head, reporting every mistake in its arguments; `None` when there
/// was one.
pub fn build(head: &Head, known: &[nested::KnownModel], errs: &mut Errors) -> Option<Layer> {
    let info = match head.what {
        What::Layer(info) => info,
        What::Unknown => {
            unknown(head, errs);
            return None;
        }
        What::Nested(found) => {
            let found = found.expect("nested models are resolved before building");
            let (keras_class, stem) = match known[found].keras_class.as_str() {
                "Functional" => ("Functional", "functional"),
                _ => ("Sequential", "sequential"),
            };
            return Some(Layer {
                kind: Box::new(Nested {
                    path: head.call.path.clone(),
                    known: found,
                    inputs: known[found].inputs.iter().map(|(n, _)| n.clone()).collect(),
                    packed: !known[found].outputs.is_empty(),
                }),
                class: head.class().expect("a nested model has a class"),
                name: head.name.clone(),
                tokens: head.call.tokens.clone(),
                pos: head.pos,
                nested: Some((head.call.path.clone(), keras_class)),
                auto: Some(stem),
            });
        }
    };
    let call = head.call;
    let before = errs.len();
    let args = args::bind(info, call, head.label(), errs);
    let kind = (info.build)(&args, errs);
    if let Some(e) = args.get("name") {
        layer_name(e, &args.label, errs);
    }
    if errs.len() > before {
        return None;
    }
    Some(Layer {
        kind,
        class: info.keras_class.to_string(),
        name: head.name.clone(),
        tokens: call.tokens.clone(),
        pos: head.pos,
        nested: None,
        auto: Some(info.auto_name),
    })
}
