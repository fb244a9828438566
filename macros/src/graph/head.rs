//! What is known of a layer from its tokens alone: which layer or nested model its path names,
//! and its name, given by hand or made up as Keras does; unknown layers and clashing names are
//! reported here.

use crate::diagnostics::Errors;
use crate::graph::args::keyword_tokens;
use crate::graph::nested::{path_key, KnownModel};
use crate::layers::{self as catalog, LayerInfo};
use crate::suggest::did_you_mean;
use crate::syntax::{Arg, LayerCall};
use proc_macro2::TokenStream;
use std::collections::HashMap;
use syn::{Expr, ExprLit, Lit, Path};

/// What a layer is, as far as its path tells.
pub enum What {
    Layer(&'static LayerInfo),
    /// A nested model: the index of its shapes among the known models, once its callback answered.
    Nested(Option<usize>),
    /// Neither a layer nor a nested model: a mistake.
    Unknown,
}

/// What is known of a layer from its tokens alone, before its arguments are checked: enough
/// to name it in every message, and to give each layer the name Keras would.
pub struct Head<'a> {
    pub call: &'a LayerCall,
    /// 1-based position in the layer list.
    pub pos: usize,
    pub what: What,
    /// Given with `name = "…"`, else Keras's automatic one (empty for an unknown layer).
    pub name: String,
    /// The `name = "…"` argument, when the name was given.
    pub given: Option<TokenStream>,
}

impl Head<'_> {
    /// Keras's class name, or the nested model's type name.
    pub fn class(&self) -> Option<String> {
        match self.what {
            What::Layer(info) => Some(info.keras_class.to_string()),
            What::Nested(_) => Some(last_segment(&self.call.path)),
            What::Unknown => None,
        }
    }

    /// How messages refer to the layer: "layer 3 `max_pooling2d` (MaxPooling2D)", or "layer 3"
    /// when it is not a known layer.
    pub fn label(&self) -> String {
        match self.class() {
            Some(class) => format!("layer {} `{}` ({class})", self.pos, self.name),
            None => format!("layer {}", self.pos),
        }
    }
}

fn spelled(call: &LayerCall) -> String {
    path_key(&call.path)
}

pub fn last_segment(path: &Path) -> String {
    path.segments
        .last()
        .expect("a path has a segment")
        .ident
        .to_string()
}

/// The heads of all layers, named as Keras names them: a given `name = "…"`, else the class's
/// prefix counted among the layers not named by hand (`dense`, `dense_1`, …).
pub fn heads<'a>(calls: &'a [LayerCall], known: &[KnownModel]) -> Vec<Head<'a>> {
    let mut counters: HashMap<String, usize> = HashMap::new();
    let mut heads = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let what = match catalog::layer(&spelled(call)) {
            Some(info) => What::Layer(info),
            None if is_nested_ref(call) => {
                What::Nested(known.iter().position(|k| k.path == path_key(&call.path)))
            }
            None => What::Unknown,
        };
        let given = given_name(call);
        let name = match (&given, &what) {
            (Some((_, name)), _) => name.clone(),
            (None, What::Unknown) => String::new(),
            (None, What::Layer(info)) => auto_name(info.auto_name, &mut counters),
            (None, What::Nested(k)) => {
                // A broken model answers without a name: call it as Keras would its class.
                let prefix = k.filter(|&k| !known[k].broken).map_or_else(
                    || crate::naming::snake_case(&last_segment(&call.path)),
                    |k| known[k].name.clone(),
                );
                auto_name(&prefix, &mut counters)
            }
        };
        heads.push(Head {
            call,
            pos: i + 1,
            what,
            name,
            given: given.map(|(tokens, _)| tokens),
        });
    }
    heads
}

/// `prefix`, `prefix_1`, `prefix_2`, …: the next automatic name for `prefix`.
fn auto_name(prefix: &str, counters: &mut HashMap<String, usize>) -> String {
    let n = counters.entry(prefix.to_string()).or_insert(0);
    let name = if *n == 0 {
        prefix.to_string()
    } else {
        format!("{prefix}_{n}")
    };
    *n += 1;
    name
}

/// The first `name = "…"` argument (its tokens and the string), if any.
fn given_name(call: &LayerCall) -> Option<(TokenStream, String)> {
    call.args.iter().flatten().find_map(|a| match a {
        Arg::Keyword {
            key,
            value: Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }),
        } if key == "name" => Some((keyword_tokens(key, s), s.value())),
        _ => None,
    })
}

/// Reports a name the layer at `index` shares with another layer. The error goes to the name
/// given by hand: at the later one when both were, else at the one that took a name Keras
/// gives another layer automatically.
pub fn check_name(heads: &[Head], index: usize, errs: &mut Errors) {
    let me = &heads[index];
    let (Some(given), false) = (&me.given, matches!(me.what, What::Unknown)) else {
        return;
    };
    let others = heads
        .iter()
        .filter(|h| h.pos != me.pos && h.name == me.name && !matches!(h.what, What::Unknown));
    let clash = others
        .clone()
        .find(|h| h.pos < me.pos)
        .or_else(|| others.clone().find(|h| h.given.is_none()));
    let Some(other) = clash else { return };
    let (taken, fix) = if other.given.is_some() {
        (
            format!("already taken by {}", other.label()),
            "give one of them another name",
        )
    } else if other.pos < me.pos {
        (
            format!(
                "already taken by {}, which Keras names automatically",
                other.label()
            ),
            "choose another name",
        )
    } else {
        (
            format!("the one Keras gives {} automatically", other.label()),
            "choose another name, or name that layer by hand too",
        )
    };
    errs.at(
        given,
        format!(
            "{}: the name `{}` is {taken}; layer names must be unique (they name the model's fields \
             and the weights in files), so {fix}",
            me.label(),
            me.name
        ),
    );
}

/// Reports a path that is neither a layer nor a nested model, with the closest layer's name.
pub fn unknown(head: &Head, errs: &mut Errors) {
    let call = head.call;
    let spelled = spelled(call);
    let last = last_segment(&call.path);
    let known_list = catalog::LAYERS
        .iter()
        .map(|l| l.spellings[0])
        .collect::<Vec<_>>()
        .join(", ");
    let suggestion = did_you_mean(&last, catalog::layer_spellings());
    let note = if suggestion.is_empty() {
        "\n  (a model made with `kiln::model!` is nested by writing its name alone, without arguments)".to_string()
    } else if call.args.is_none() {
        format!("\n  (if `{spelled}` is a model made with `kiln::model!`, write its path to nest it: `self::{spelled}`)")
    } else {
        String::new()
    };
    errs.at(
        &call.path,
        format!(
            "{}: unknown layer `{spelled}`{suggestion}\n  known layers: {known_list}{note}",
            head.label()
        ),
    );
}

/// Whether a layer the catalogue does not know is meant as a nested model: written without
/// arguments, and not a likely misspelling of a layer (`Flaten`, `Dens`, `conv2d`). A model
/// whose name is that close to a layer's is nested by its path (`self::Dense1`).
fn is_nested_ref(call: &LayerCall) -> bool {
    let spelled = spelled(call);
    let typo = call.path.get_ident().is_some()
        && crate::suggest::closest(&spelled, catalog::layer_spellings()).is_some();
    call.args.is_none() && catalog::layer(&spelled).is_none() && !typo
}

/// The first nested model whose shapes the macro has not been told yet.
pub fn unresolved_nested(def: &crate::syntax::ModelDef) -> Option<&Path> {
    def.layers
        .iter()
        .filter(|c| is_nested_ref(c))
        .map(|c| &c.path)
        .find(|p| !def.known.iter().any(|k| k.path == path_key(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_count_automatic_names_past_broken_and_named_layers() {
        let def: crate::syntax::ModelDef = syn::parse_quote! {
            struct M: [4] => < Dense(0), Dense(2, name = "x"), Dens(3), Dense(4) >
        };
        let names: Vec<String> = heads(&def.layers, &[])
            .into_iter()
            .map(|h| h.label())
            .collect();
        assert_eq!(
            names,
            [
                "layer 1 `dense` (Dense)",
                "layer 2 `x` (Dense)",
                "layer 3",
                "layer 4 `dense_1` (Dense)"
            ]
        );
    }
}
