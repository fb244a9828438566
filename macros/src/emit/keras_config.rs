//! The model's Keras 3 `config.json` (`Model::KERAS_CONFIG`), written at compile time: what
//! `save_keras` puts in a `.keras` archive so that `keras.saving.load_model` rebuilds the model.
//! A Sequential model is Keras's `Sequential`; a functional one is Keras's `Functional`, its
//! layers in Keras's `model.layers` order (`graph::keras_order`), each with the nodes that
//! apply it (`inbound_nodes`) naming the values they read as Keras does: `[layer, node, 0]`.
//! A nested model's entry holds a mark (`kiln_core::NESTED_MARK`) where its config goes:
//! that is the nested model's own `KERAS_CONFIG`, which `save_keras` puts in at run time.

use crate::graph::keras_order::{order, Op};
use crate::graph::Graph;
use crate::shapes::Step;
use serde_json::{json, Map, Value};
use std::rc::Rc;

/// The model's config as JSON text, or why Keras cannot rebuild it (a nested model): the
/// layer's label and the reason.
pub fn config(
    graph: &Graph,
    steps: &[Step],
    functional: bool,
    name: &str,
) -> Result<String, String> {
    let batch = |d: &[usize]| {
        let mut s = vec![Value::Null];
        s.extend(d.iter().map(|&n| json!(n)));
        Value::Array(s)
    };
    let input_layer = |k: usize, name: &str| {
        json!({
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {
                "batch_shape": batch(&graph.inputs[k]),
                "dtype": "float32",
                "sparse": false,
                "name": name,
            },
            "registered_name": null,
        })
    };
    // One layer's entry: its class, its config (its own entries after Keras's common ones)
    // and the shape it is built for.
    let layer = |j: usize| -> Result<Value, String> {
        let l = &graph.nodes[j].layer;
        let own = l
            .kind
            .keras_config()
            .map_err(|why| format!("{}: {why}", l.label()))?;
        let mut config = Map::new();
        config.insert("name".into(), json!(l.name));
        config.insert("trainable".into(), json!(true));
        config.insert("dtype".into(), json!("float32"));
        config.extend(own);
        let class = match &l.nested {
            Some((_, keras_class)) => keras_class,
            None => l.class.as_str(),
        };
        let s = &steps[j];
        let input_shape = match s.inputs.len() {
            1 => batch(&s.inputs[0]),
            _ => Value::Array(s.inputs.iter().map(|i| batch(i)).collect()),
        };
        Ok(json!({
            "module": "keras.layers",
            "class_name": class,
            "config": config,
            "registered_name": null,
            "build_config": { "input_shape": input_shape },
        }))
    };
    let model = if !functional {
        let mut layers = vec![input_layer(0, "input_layer")];
        for j in 0..graph.nodes.len() {
            layers.push(layer(j)?);
        }
        json!({
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": name,
                "trainable": true,
                "dtype": "float32",
                "layers": layers,
                "build_input_shape": batch(graph.input()),
            },
            "registered_name": null,
            "build_config": { "input_shape": batch(graph.input()) },
        })
    } else {
        // How Keras names value `v`: the layer that made it, which of that layer's
        // applications, and the tensor (always its first).
        // In `output_layers` Keras counts a nested functional model's calls from 1 (its own
        // node is its 0th: `Functional.get_config`, `functional_from_config`'s `get_tensor`);
        // `inbound_nodes` count calls from 0 for every layer.
        let reference = |v: usize, ending: bool| match graph.producer(v) {
            None => json!([graph.value_names[v], 0, 0]),
            Some(j) => {
                let l = &graph.nodes[j].layer;
                let call = graph.nodes[..j]
                    .iter()
                    .filter(|n| Rc::ptr_eq(&n.layer, l))
                    .count();
                let own = matches!(&l.nested, Some((_, "Functional"))) && ending;
                json!([l.name, call + usize::from(own), 0])
            }
        };
        let history = |v: usize| reference(v, false);
        let tensor = |v: usize| {
            json!({
                "class_name": "__keras_tensor__",
                "config": {
                    "shape": batch(graph.shape(steps, v)),
                    "dtype": "float32",
                    "keras_history": history(v),
                },
            })
        };
        let mut layers = Vec::new();
        for op in order(graph, true) {
            let (mut entry, name, nodes) = match op {
                Op::Input(k) => {
                    let name = graph.value_names[k].clone();
                    (input_layer(k, &name), name, Vec::new())
                }
                Op::Layer(j) => {
                    let l = &graph.nodes[j].layer;
                    let nodes: Vec<Value> = graph
                        .nodes
                        .iter()
                        .filter(|n| Rc::ptr_eq(&n.layer, l))
                        .map(|n| {
                            let args: Vec<Value> = n.inputs.iter().map(|&v| tensor(v)).collect();
                            let args = match args.len() {
                                1 => args,
                                _ => vec![Value::Array(args)],
                            };
                            json!({ "args": args, "kwargs": {} })
                        })
                        .collect();
                    (layer(j)?, l.name.clone(), nodes)
                }
            };
            entry["name"] = json!(name);
            entry["inbound_nodes"] = Value::Array(nodes);
            layers.push(entry);
        }
        // One input or output is written alone, several as a list, as Keras writes them.
        let ends = |values: Vec<Value>| match values.len() {
            1 => values.into_iter().next().expect("one"),
            _ => Value::Array(values),
        };
        let inputs = ends((0..graph.n_inputs()).map(history).collect());
        let outputs = ends(graph.outputs.iter().map(|&v| reference(v, true)).collect());
        json!({
            "module": "keras.src.models.functional",
            "class_name": "Functional",
            "config": {
                "name": name,
                "trainable": true,
                "layers": layers,
                "input_layers": inputs,
                "output_layers": outputs,
            },
            "registered_name": "Functional",
            "build_config": { "input_shape": null },
        })
    };
    Ok(model.to_string())
}
