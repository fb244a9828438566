//! Phase 2: from the syntax to a graph of values. Each layer call is named (`head`), its
//! arguments are bound (`args`) and checked (`values`), and the layer file's `build` makes the
//! typed layer. A Sequential model becomes a chain: value 0 is the model's input and node `i`
//! reads value `i` and writes value `i + 1`. Emitters take the names of a node's values from
//! [`Node::inputs`] and [`Node::output`], never from positions.

pub mod args;
pub mod head;
pub mod nested;
pub mod values;

use crate::diagnostics::Errors;
use crate::layers::nested::Nested;
use crate::layers::LayerKind;
use head::{unknown, Head, What};
use proc_macro2::TokenStream;
use quote::ToTokens;
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

/// One application of a layer: the values it reads and the value it writes.
pub struct Node {
    pub layer: Layer,
    pub inputs: Vec<usize>,
    pub output: usize,
}

/// The model as a graph of values, its nodes in an order where each reads only values made
/// before it. Value 0 is the model's input.
pub struct Graph {
    pub input: Vec<usize>,
    pub nodes: Vec<Node>,
}

impl Graph {
    /// A Sequential model: each layer reads the value the one before it wrote.
    pub fn chain(input: Vec<usize>, layers: Vec<Layer>) -> Graph {
        let nodes = layers
            .into_iter()
            .enumerate()
            .map(|(i, layer)| Node {
                layer,
                inputs: vec![i],
                output: i + 1,
            })
            .collect();
        Graph { input, nodes }
    }

    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.nodes.iter().map(|n| &n.layer)
    }
}

/// Builds a layer from its head, reporting every mistake in its arguments; `None` when there
/// was one.
pub fn build(head: &Head, errs: &mut Errors) -> Option<Layer> {
    let info = match head.what {
        What::Layer(info) => info,
        What::Unknown => {
            unknown(head, errs);
            return None;
        }
        What::Nested(found) => {
            let found = found.expect("nested models are resolved before building");
            return Some(Layer {
                kind: Box::new(Nested {
                    path: head.call.path.clone(),
                    known: found,
                }),
                class: head.class().expect("a nested model has a class"),
                name: head.name.clone(),
                tokens: head.call.tokens.clone(),
                pos: head.pos,
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
    })
}
