//! Binding a layer's arguments to its parameters, by position then keyword, with the errors
//! for arguments that bind to nothing, bind twice or are missing.

use crate::diagnostics::{shown, Errors};
use crate::graph::values;
use crate::layers::{Act, LayerInfo, Padding, Param, LINEAR};
use crate::suggest::did_you_mean;
use crate::syntax::{Arg, LayerCall};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::HashMap;
use syn::{Expr, Ident};

/// `key = value` as tokens, so an error can underline a whole keyword argument.
pub fn keyword_tokens(key: &Ident, value: &impl ToTokens) -> TokenStream {
    let mut tokens = key.to_token_stream();
    value.to_tokens(&mut tokens);
    tokens
}

/// An argument bound to a parameter, and whether it was given by position.
#[derive(Clone, Copy)]
pub struct Bound<'a> {
    pub value: &'a Expr,
    positional: bool,
}

/// A layer call's arguments, bound to its parameters: what a layer file's `build` reads.
pub struct Args<'a> {
    pub call: &'a LayerCall,
    /// The layer as messages name it.
    pub label: String,
    bound: HashMap<&'static str, Bound<'a>>,
}

impl<'a> Args<'a> {
    /// The value bound to parameter `name`, if given.
    pub fn get(&self, name: &str) -> Option<&'a Expr> {
        self.bound.get(name).map(|b| b.value)
    }

    /// `activation`, `linear` when not given. `strides_hint`: a number there was likely meant
    /// as the strides (Keras's third positional argument of `Conv2D`).
    pub fn activation(&self, errs: &mut Errors, strides_hint: bool) -> Act {
        self.get("activation")
            .map_or(Some(LINEAR), |e| {
                values::activation(e, strides_hint, &self.label, errs)
            })
            .unwrap_or(LINEAR)
    }

    /// `use_bias`, `true` when not given.
    pub fn use_bias(&self, errs: &mut Errors) -> bool {
        self.flag("use_bias", true, errs)
    }

    /// A `true`/`false` parameter, `default` when not given.
    pub fn flag(&self, name: &str, default: bool, errs: &mut Errors) -> bool {
        self.get(name)
            .map_or(Some(default), |e| {
                values::boolean(e, name, &self.label, errs)
            })
            .unwrap_or(default)
    }

    /// A `true`/`false` option kiln has at Keras's default `supported` only: the other value
    /// is an error saying so (`what` tells what it would mean, e.g. " (no `beta`)").
    pub fn fixed_flag(&self, name: &str, supported: bool, what: &str, errs: &mut Errors) {
        let Some(e) = self.get(name) else { return };
        if values::boolean(e, name, &self.label, errs) == Some(!supported) {
            errs.at(
                e,
                format!(
                    "{}: `{name} = {}`{what} is not supported yet; leave it `{supported}`, \
                     Keras's default",
                    self.label, !supported
                ),
            );
        }
    }

    /// `padding`, `valid` when not given; `causal` is accepted only when `causal`.
    pub fn padding(&self, causal: bool, errs: &mut Errors) -> Padding {
        self.get("padding")
            .map_or(Some(Padding::Valid), |e| {
                values::padding(e, causal, &self.label, errs)
            })
            .unwrap_or(Padding::Valid)
    }

    /// A 1-D size parameter (`3` or `(3,)`), `default` when not given.
    pub fn size1(&self, name: &str, default: usize, errs: &mut Errors) -> usize {
        self.get(name)
            .map_or(Some(default), |e| values::size1(e, name, &self.label, errs))
            .unwrap_or(default)
    }

    /// A `(height, width)` parameter (one number means both), `default` when not given.
    pub fn pair(&self, name: &str, default: (usize, usize), errs: &mut Errors) -> (usize, usize) {
        self.get(name)
            .map_or(Some(default), |e| values::size2(e, name, &self.label, errs))
            .unwrap_or(default)
    }

    /// A required `(height, width)` parameter; `None` when missing (reported by `bind`).
    pub fn size2(&self, name: &str, errs: &mut Errors) -> Option<(usize, usize)> {
        self.get(name)
            .and_then(|e| values::size2(e, name, &self.label, errs))
    }

    /// A positive count; `None` when missing (reported by `bind`) or wrong.
    pub fn count(&self, name: &str, errs: &mut Errors) -> Option<usize> {
        self.get(name)
            .and_then(|e| values::count(e, name, &self.label, errs))
    }
}

/// Binds arguments to the layer's parameters, by position then keyword, reporting each one
/// that binds to nothing or to a parameter already bound, and each required one missing.
pub fn bind<'a>(
    info: &LayerInfo,
    call: &'a LayerCall,
    label: String,
    errs: &mut Errors,
) -> Args<'a> {
    let label = label.as_str();
    let mut bound: HashMap<&'static str, Bound<'a>> = HashMap::new();
    let positional: Vec<&Param> = info.params.iter().filter(|p| p.positional).collect();
    let mut keyword_seen = false;
    let mut n_positional = 0;
    for arg in call.args.iter().flatten() {
        match arg {
            Arg::Positional(e) if keyword_seen => {
                positional_after_keyword(info, &positional, &bound, e, label, errs)
            }
            Arg::Positional(e) if info.variadic => {
                bound.entry("target_shape").or_insert(Bound {
                    value: e,
                    positional: true,
                });
            }
            Arg::Positional(e) => {
                match positional.get(n_positional) {
                    Some(p) => {
                        bound.insert(
                            p.name,
                            Bound {
                                value: e,
                                positional: true,
                            },
                        );
                    }
                    None => too_many_positional(info, &positional, e, label, errs),
                }
                n_positional += 1;
            }
            Arg::Keyword { key, value } => {
                keyword_seen = true;
                let k = key.to_string();
                match info.params.iter().find(|p| p.name == k) {
                    Some(p) => match bound.get(p.name) {
                        Some(first) => {
                            let how = if first.positional {
                                "by position and by keyword"
                            } else {
                                "twice by keyword"
                            };
                            errs.at(
                                keyword_tokens(key, value),
                                format!(
                                    "{label}: `{k}` is given {how} (first as `{}`); keep one",
                                    shown(first.value)
                                ),
                            );
                        }
                        None => {
                            bound.insert(
                                p.name,
                                Bound {
                                    value,
                                    positional: false,
                                },
                            );
                        }
                    },
                    None => {
                        let names = info.params.iter().map(|p| p.name);
                        errs.at(
                            key,
                            format!(
                                "{label} has no argument `{k}`{}\n  it takes: {}",
                                did_you_mean(&k, names.clone()),
                                names.collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
    for p in info
        .params
        .iter()
        .filter(|p| p.required && !bound.contains_key(p.name))
    {
        errs.at(
            &call.tokens,
            format!(
                "{label} needs its argument `{}`; usage: {}",
                p.name, info.usage
            ),
        );
    }
    Args {
        call,
        label: label.to_string(),
        bound,
    }
}

/// `Dense(units = 10, relu)`: says which keyword the stray value would be.
fn positional_after_keyword(
    info: &LayerInfo,
    positional: &[&Param],
    bound: &HashMap<&'static str, Bound>,
    e: &Expr,
    label: &str,
    errs: &mut Errors,
) {
    let fix = match positional.iter().find(|p| !bound.contains_key(p.name)) {
        Some(p) => format!(
            "write it by keyword, `{} = {}`, or move it before the keywords",
            p.name,
            shown(e)
        ),
        None => format!("usage: {}", info.usage),
    };
    errs.at(
        e,
        format!("{label}: a positional argument cannot follow a keyword argument; {fix}"),
    );
}

/// One positional argument more than the layer takes: says which go by keyword.
fn too_many_positional(
    info: &LayerInfo,
    positional: &[&Param],
    e: &Expr,
    label: &str,
    errs: &mut Errors,
) {
    let keywords = info
        .params
        .iter()
        .filter(|p| !p.positional)
        .map(|p| format!("`{} = …`", p.name))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = if positional.is_empty() {
        format!(
            "{label} takes no positional arguments; write it as `{}`",
            info.usage
        )
    } else {
        let list = positional
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{label} takes at most {} positional argument{} ({list}); give the others by keyword: {keywords}",
            positional.len(),
            if positional.len() == 1 { "" } else { "s" }
        )
    };
    errs.at(e, msg);
}
