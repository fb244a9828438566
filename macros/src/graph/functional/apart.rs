//! `let (a, b) = Model(x);`: the outputs of a nested model with several, taken apart.

use super::{bind, Val, Wire, Wiring};
use crate::diagnostics::Errors;
use crate::graph::head::What;
use crate::graph::Layer;
use crate::layers::pick::Pick;
use crate::shapes::fmt_named;
use crate::syntax::functional::{Applied, Value};
use crate::syntax::ModelDef;
use proc_macro2::TokenStream;
use syn::Ident;

/// `let (a, b) = Model(x);`: the nested model's node makes its outputs packed in one value,
/// and a hidden `Pick` per output reads each; the names are bound to those. Returns the
/// packed value (also after a wrong count of names, which is reported here).
pub(super) fn take_apart(
    def: &ModelDef,
    w: &mut Wiring,
    layers: &mut Vec<Option<Layer>>,
    names: &[Ident],
    value: &Value,
    tokens: &TokenStream,
    errs: &mut Errors,
) -> Option<usize> {
    let index = match value {
        Value::Apply { layer, .. } => Some(match layer {
            Applied::Inline(i) => *i,
            Applied::Shared(name) => w.shared[&name.to_string()],
        }),
        _ => None,
    };
    let outs = index.and_then(|i| match w.heads[i].what {
        What::Nested(Some(k)) => Some(def.known[k].outputs.clone()),
        _ => None,
    });
    let v = w.value(value, errs);
    let fail = |w: &mut Wiring| {
        for n in names {
            w.env.remove(&n.to_string());
            w.poisoned.insert(n.to_string());
        }
        None
    };
    let (Some(index), Some(outs)) = (index, outs.filter(|o| !o.is_empty())) else {
        errs.at(
            tokens,
            "`let (…) = …` takes apart the outputs of a nested model with several outputs; this \
             value is one tensor: bind it with `let name = …;`",
        );
        return fail(w);
    };
    let head = &w.heads[index];
    if outs.len() != names.len() {
        let want: Vec<&str> = outs.iter().map(|(n, _)| n.as_str()).collect();
        errs.at(
            tokens,
            format!(
                "{} has {} outputs ({}), but {} names are given; bind one name per output, as \
                 `let ({}) = …;`",
                head.label(),
                outs.len(),
                fmt_named(&outs),
                names.len(),
                want.join(", ")
            ),
        );
        // Still its value is meant to be taken apart: no second message about that.
        let _: Option<usize> = fail(w);
        return v;
    }
    let Some(v) = v else {
        return fail(w);
    };
    w.values[v].used = true;
    let app = w.applied[index] - 1;
    let (label, owner, pos) = (head.label(), head.name.clone(), head.pos);
    let mut offset = 0;
    for (k, (name, (out, shape))) in names.iter().zip(&outs).enumerate() {
        layers.push(Some(Layer {
            kind: Box::new(Pick {
                offset,
                shape: shape.clone(),
            }),
            class: crate::layers::pick::CLASS.to_string(),
            name: format!("{owner}__{out}"),
            tokens: tokens.clone(),
            pos,
            nested: None,
            auto: None,
        }));
        w.wires.push(Wire {
            layer: layers.len() - 1,
            inputs: vec![v],
            tokens: tokens.clone(),
        });
        w.values.push(Val {
            label: format!("output `{out}` of {label}"),
            reference: format!("{owner}[{app}][{k}]"),
            name: format!("{owner}__{out}"),
            bound: None,
            used: false,
        });
        let made = w.values.len() - 1;
        bind(w, name, made);
        offset += shape.iter().product::<usize>();
    }
    Some(v)
}
