//! Each node's shapes, in the order the values are made.

use super::{Wire, Wiring};
use crate::diagnostics::Errors;
use crate::graph::head::{Head, What};
use crate::graph::Layer;
use crate::layers::Arity;
use crate::shapes::{fmt_shape, ShapeCx, Step};
use crate::syntax::ModelDef;
use std::collections::HashMap;

/// One node's shapes, checked: the number of values it reads, a shared layer's shape, and
/// the layer's own rule.
#[allow(clippy::too_many_arguments)]
pub(super) fn shape_of(
    def: &ModelDef,
    w: &Wiring,
    wire: &Wire,
    packed: bool,
    heads: &[Head],
    layers: &[Option<Layer>],
    shapes: &[Option<Vec<usize>>],
    scalar: &str,
    first_input: &mut HashMap<usize, (Vec<usize>, String)>,
    incomplete: &mut bool,
    errs: &mut Errors,
) -> Option<Step> {
    let layer = layers[wire.layer].as_ref()?;
    let n = wire.inputs.len();
    if let Some(What::Layer(info)) = heads.get(wire.layer).map(|h| &h.what) {
        let wrong = match info.arity {
            Arity::One if n != 1 => Some(format!(
                "{} reads one value, but is given {n}; merge them first (e.g. `Add(x, y)` or `Concatenate(x, y)`)",
                layer.label()
            )),
            Arity::Merge { .. } if n < 2 => Some(format!(
                "{} merges two values or more, but is given one; give it the others, as `{}(x, y)`",
                layer.label(),
                info.spellings[0]
            )),
            Arity::Merge { max: Some(m) } if n > m => Some(format!(
                "{} takes exactly {m} values, but is given {n}",
                layer.label()
            )),
            _ => None,
        };
        if let Some(msg) = wrong {
            errs.at(&wire.tokens, msg);
            return None;
        }
    }
    // A nested model checks its own count: it reads one value per input it has.
    let from = |v: usize| w.values[v].label.clone();
    let ins: Vec<Vec<usize>> = wire
        .inputs
        .iter()
        .map(|&v| shapes[v].clone())
        .collect::<Option<_>>()?;
    let mut cx = ShapeCx::new(layer, None, &def.known, scalar);
    cx.packed = packed;
    cx.from = from(wire.inputs[0]);
    cx.first = wire.inputs[0] < w.inputs;
    cx.others = wire.inputs[1..]
        .iter()
        .zip(&ins[1..])
        .map(|(&v, s)| (s.clone(), from(v)))
        .collect();
    if layer.kind.is_broken(&cx) {
        *incomplete = true;
        return None;
    }
    match first_input.get(&wire.layer) {
        Some((shape, first_from)) if *shape != ins[0] => {
            errs.at(
                &wire.tokens,
                format!(
                    "{} is shared, so it must read one shape each time, but it was applied to {} from {first_from} \
                     and here to {} from {}; a shared layer has one set of weights for one input shape",
                    layer.label(),
                    fmt_shape(shape),
                    fmt_shape(&ins[0]),
                    cx.from
                ),
            );
            return None;
        }
        Some(_) => {}
        None => {
            first_input.insert(wire.layer, (ins[0].clone(), cx.from.clone()));
        }
    }
    match layer.kind.infer(&ins[0], &cx) {
        Ok(step) => Some(step),
        Err(msg) => {
            errs.at(&wire.tokens, msg);
            None
        }
    }
}
