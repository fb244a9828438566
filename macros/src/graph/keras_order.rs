//! The order of a model's layers in Keras's `model.layers`, which numbers the groups of Keras 3's
//! weight files (`layers/dense`, `layers/dense_1`, … in that order, per class). A Sequential
//! model's is its list. A functional model's is Keras's `map_graph` (keras/src/ops/function.py):
//! a depth-first walk from the outputs numbers each operation when first met; each node's depth
//! is the longest path from it to an output; operations go by decreasing depth, ties by that
//! number. The inputs are operations too (`InputLayer`); a nested model's hidden picks are not.

use super::Graph;
use crate::layers::pick::CLASS as PICK;
use std::collections::HashMap;
use std::rc::Rc;

/// An operation of Keras's graph: input `k`, or the layer first applied at node `j`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Input(usize),
    Layer(usize),
}

/// Kiln's graph as Keras sees it: the node (or input) that makes a value, skipping picks.
fn maker(graph: &Graph, mut v: usize) -> Op {
    loop {
        match graph.producer(v) {
            None => return Op::Input(v),
            Some(j) if graph.nodes[j].layer.class == PICK => v = graph.nodes[j].inputs[0],
            Some(j) => return Op::Layer(j),
        }
    }
}

/// The operation of a node: the first node applying the same layer.
fn operation(graph: &Graph, at: Op) -> Op {
    match at {
        Op::Input(k) => Op::Input(k),
        Op::Layer(j) => Op::Layer(
            graph
                .nodes
                .iter()
                .position(|n| Rc::ptr_eq(&n.layer, &graph.nodes[j].layer))
                .expect("the node itself"),
        ),
    }
}

/// The values a node reads, as Keras nodes.
fn parents(graph: &Graph, at: Op) -> Vec<Op> {
    match at {
        Op::Input(_) => Vec::new(),
        Op::Layer(j) => graph.nodes[j]
            .inputs
            .iter()
            .map(|&v| maker(graph, v))
            .collect(),
    }
}

/// Every operation in `model.layers` order (a chain's inputs left out, as Sequential does).
pub fn order(graph: &Graph, functional: bool) -> Vec<Op> {
    if !functional {
        return (0..graph.nodes.len()).map(Op::Layer).collect();
    }
    // Depth-first from each output: first-met numbers, and nodes in post-order.
    let (mut index, mut post): (Vec<Op>, Vec<Op>) = (Vec::new(), Vec::new());
    fn visit(graph: &Graph, at: Op, index: &mut Vec<Op>, post: &mut Vec<Op>) {
        if post.contains(&at) {
            return;
        }
        let op = operation(graph, at);
        if !index.contains(&op) {
            index.push(op);
        }
        for p in parents(graph, at) {
            visit(graph, p, index, post);
        }
        post.push(at);
    }
    for &v in &graph.outputs {
        visit(graph, maker(graph, v), &mut index, &mut post);
    }
    // Depths, from the outputs back.
    let mut node_depth: Vec<(Op, usize)> = Vec::new();
    let mut op_depth: Vec<(Op, usize)> = Vec::new();
    let get = |list: &Vec<(Op, usize)>, at: Op| list.iter().find(|(o, _)| *o == at).map(|e| e.1);
    let set = |list: &mut Vec<(Op, usize)>, at: Op, d: usize| match list
        .iter_mut()
        .find(|(o, _)| *o == at)
    {
        Some(e) => e.1 = d,
        None => list.push((at, d)),
    };
    for &at in post.iter().rev() {
        let op = operation(graph, at);
        let depth = get(&node_depth, at)
            .unwrap_or(0)
            .max(get(&op_depth, op).unwrap_or(0));
        set(&mut op_depth, op, depth);
        set(&mut node_depth, at, depth);
        for p in parents(graph, at) {
            let d = get(&node_depth, p).unwrap_or(0).max(depth + 1);
            set(&mut node_depth, p, d);
        }
    }
    // (An input no output reads would come first at depth 0; `model!` refuses one.)
    let mut ops: Vec<(Op, usize)> = op_depth;
    let first = |op: Op| index.iter().position(|&o| o == op);
    ops.sort_by_key(|&(op, d)| (std::cmp::Reverse(d), first(op)));
    ops.into_iter().map(|(op, _)| op).collect()
}

/// Each layer's group in Keras 3's weight files (`layers/dense_1`), by the node that first
/// applies it: its class's stem, numbered in [`order`] among the model's layers of that stem
/// (the inputs count as `input_layer`s). A nested model has none.
pub fn paths(graph: &Graph, functional: bool) -> HashMap<usize, String> {
    let mut paths = HashMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for op in order(graph, functional) {
        let (stem, j) = match op {
            Op::Input(_) => ("input_layer", None),
            Op::Layer(j) => match graph.nodes[j].layer.auto {
                Some(stem) => (stem, Some(j)),
                None => continue,
            },
        };
        let k = seen.entry(stem).or_insert(0);
        let path = match *k {
            0 => format!("layers/{stem}"),
            n => format!("layers/{stem}_{n}"),
        };
        *k += 1;
        if let Some(j) = j {
            paths.insert(j, path);
        }
    }
    paths
}

/// Each layer once as Keras's files know it (what `Model::LAYERS` holds): name, class, stored
/// parameters, a nested model's path (its records and config are its type's own), its group in
/// Keras 3's weight files.
pub struct Record {
    pub name: String,
    /// Keras's class: `Dense`, or `Sequential`/`Functional` for a nested model.
    pub class: String,
    pub params: Vec<&'static str>,
    /// A nested model's path.
    pub nested: Option<syn::Path>,
    pub keras_path: String,
}

/// The records of `graph`'s layers, hidden picks left out.
pub fn records(graph: &Graph, steps: &[crate::shapes::Step], functional: bool) -> Vec<Record> {
    let paths = paths(graph, functional);
    graph
        .owners(steps)
        .filter(|(l, _)| l.class != PICK)
        .map(|(l, s)| {
            let first = graph
                .nodes
                .iter()
                .position(|n| std::ptr::eq(&*n.layer, l))
                .expect("an owner is applied");
            Record {
                name: l.name.clone(),
                class: match &l.nested {
                    Some((_, keras_class)) => keras_class.to_string(),
                    None => l.class.clone(),
                },
                params: l
                    .kind
                    .weights(s)
                    .into_iter()
                    .filter(|w| w.stored)
                    .map(|w| w.name)
                    .collect(),
                nested: l.nested.as_ref().map(|(path, _)| path.clone()),
                keras_path: paths.get(&first).cloned().unwrap_or_default(),
            }
        })
        .collect()
}
