//! From a layer as written to a typed layer: arguments bound to parameters by position or
//! keyword, each value checked for its type and range, names given or made up as Keras does.

use crate::catalog::{self, Kind, LayerInfo, Param, ACTIVATIONS};
use crate::diagnostics::{literal_note, shown, Errors};
use crate::nested::{path_key, KnownModel};
use crate::suggest::did_you_mean;
use crate::syntax::{Arg, LayerCall};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::HashMap;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, Path, UnOp};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Padding {
    Valid,
    Same,
}

/// An activation: its Keras name and the `kiln_core::activations` type that computes it.
#[derive(Clone, Copy, Debug)]
pub struct Act {
    pub name: &'static str,
    pub ty: &'static str,
}

pub const LINEAR: Act = Act {
    name: "linear",
    ty: "Linear",
};

/// A layer's configuration, every value checked.
pub enum Config {
    Dense {
        units: usize,
        act: Act,
        bias: bool,
    },
    Conv2D {
        filters: usize,
        kernel: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
        act: Act,
        bias: bool,
    },
    Pool {
        max: bool,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    },
    GlobalAvgPool,
    Flatten,
    Reshape {
        dims: Vec<i64>,
    },
    /// The identity at inference; its rate is checked here and used by training.
    Dropout {
        rate: f64,
    },
    Activation {
        act: Act,
    },
    /// A nested model: its path and the index of its shapes among the known models.
    Nested {
        path: Path,
        known: usize,
    },
}

/// One layer, ready for shape inference.
pub struct Layer {
    pub config: Config,
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
    fn class(&self) -> Option<String> {
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

fn last_segment(path: &Path) -> String {
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

/// `key = value` as tokens, so an error can underline a whole keyword argument.
fn keyword_tokens(key: &Ident, value: &impl ToTokens) -> TokenStream {
    let mut tokens = key.to_token_stream();
    value.to_tokens(&mut tokens);
    tokens
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
                config: Config::Nested {
                    path: head.call.path.clone(),
                    known: found,
                },
                class: head.class().expect("a nested model has a class"),
                name: head.name.clone(),
                tokens: head.call.tokens.clone(),
                pos: head.pos,
            });
        }
    };
    let call = head.call;
    let label = &head.label();
    let before = errs.len();
    let args = bind(info, call, label, errs);
    let get = |name: &str| args.get(name).map(|b| b.value);
    let act = |errs: &mut Errors| {
        get("activation").map_or(Some(LINEAR), |e| activation(e, info, label, errs))
    };
    let bias = |errs: &mut Errors| {
        get("use_bias").map_or(Some(true), |e| boolean(e, "use_bias", label, errs))
    };
    let padding = |errs: &mut Errors| {
        get("padding").map_or(Some(Padding::Valid), |e| padding(e, label, errs))
    };
    let pair = |name: &str, default: (usize, usize), errs: &mut Errors| {
        get(name).map_or(Some(default), |e| size2(e, name, label, errs))
    };
    let count = |name: &str, errs: &mut Errors| get(name).and_then(|e| count(e, name, label, errs));

    let config = match info.kind {
        Kind::Dense => Config::Dense {
            units: count("units", errs).unwrap_or(1),
            act: act(errs).unwrap_or(LINEAR),
            bias: bias(errs).unwrap_or(true),
        },
        Kind::Conv2D => Config::Conv2D {
            filters: count("filters", errs).unwrap_or(1),
            kernel: get("kernel_size")
                .and_then(|e| size2(e, "kernel_size", label, errs))
                .unwrap_or((1, 1)),
            strides: pair("strides", (1, 1), errs).unwrap_or((1, 1)),
            padding: padding(errs).unwrap_or(Padding::Valid),
            act: act(errs).unwrap_or(LINEAR),
            bias: bias(errs).unwrap_or(true),
        },
        Kind::MaxPool | Kind::AvgPool => {
            let pool = pair("pool_size", (2, 2), errs).unwrap_or((2, 2));
            Config::Pool {
                max: info.kind == Kind::MaxPool,
                pool,
                strides: pair("strides", pool, errs).unwrap_or(pool),
                padding: padding(errs).unwrap_or(Padding::Valid),
            }
        }
        Kind::GlobalAvgPool => Config::GlobalAvgPool,
        Kind::Flatten => Config::Flatten,
        Kind::Reshape => Config::Reshape {
            dims: reshape_dims(call, label, errs).unwrap_or_default(),
        },
        Kind::Dropout => {
            if let Some(e) = get("seed") {
                nonneg(e, "seed", label, errs);
            }
            let rate = get("rate").and_then(|e| rate(e, label, errs));
            Config::Dropout {
                rate: rate.unwrap_or(0.0),
            }
        }
        Kind::Activation => Config::Activation {
            act: act(errs).unwrap_or(LINEAR),
        },
    };
    if let Some(e) = get("name") {
        layer_name(e, label, errs);
    }
    if errs.len() > before {
        return None;
    }
    Some(Layer {
        config,
        class: info.keras_class.to_string(),
        name: head.name.clone(),
        tokens: call.tokens.clone(),
        pos: head.pos,
    })
}

/// Reports a path that is neither a layer nor a nested model, with the closest layer's name.
fn unknown(head: &Head, errs: &mut Errors) {
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

/// An argument bound to a parameter, and whether it was given by position.
#[derive(Clone, Copy)]
struct Bound<'a> {
    value: &'a Expr,
    positional: bool,
}

/// Binds arguments to the layer's parameters, by position then keyword, reporting each one
/// that binds to nothing or to a parameter already bound, and each required one missing.
fn bind<'a>(
    info: &LayerInfo,
    call: &'a LayerCall,
    label: &str,
    errs: &mut Errors,
) -> HashMap<&'static str, Bound<'a>> {
    let mut bound: HashMap<&'static str, Bound<'a>> = HashMap::new();
    let positional: Vec<&Param> = info.params.iter().filter(|p| p.positional).collect();
    let mut keyword_seen = false;
    let mut n_positional = 0;
    for arg in call.args.iter().flatten() {
        match arg {
            Arg::Positional(e) if keyword_seen => {
                positional_after_keyword(info, &positional, &bound, e, label, errs)
            }
            Arg::Positional(e) if info.kind == Kind::Reshape => {
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
    bound
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

fn int_of(e: &Expr) -> Option<i64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => int_of(expr).map(|v| -v),
        Expr::Paren(p) => int_of(&p.expr),
        Expr::Group(g) => int_of(&g.expr),
        _ => None,
    }
}

/// A number literal, integer or float, possibly negated.
fn number_of(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => number_of(expr).map(|v| -v),
        Expr::Paren(p) => number_of(&p.expr),
        Expr::Group(g) => number_of(&g.expr),
        _ => int_of(e).map(|v| v as f64),
    }
}

/// A bare name (`relu`) or a quoted one (`"relu"`).
fn word_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Group(g) => word_of(&g.expr),
        _ => None,
    }
}

/// What a size parameter means, and a typical value, for messages.
fn about(param: &str) -> (&'static str, &'static str) {
    match param {
        "units" => ("the number of outputs", "10"),
        "filters" => ("the number of output channels", "32"),
        "kernel_size" => ("the window's height and width", "3"),
        "pool_size" => ("the window's height and width", "2"),
        "strides" => ("the step between windows", "2"),
        _ => ("a size", "1"),
    }
}

fn count(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<usize> {
    let (meaning, example) = about(what);
    match int_of(e) {
        Some(v) if v >= 1 => Some(v as usize),
        Some(v) => {
            errs.at(
                e,
                format!("{label}: `{what}` ({meaning}) must be at least 1, got {v}"),
            );
            None
        }
        None => {
            errs.at(
                e,
                format!(
                    "{label}: `{what}` ({meaning}) must be a positive integer literal, e.g. `{what} = {example}`, \
                     got `{}`{}",
                    shown(e),
                    literal_note(e)
                ),
            );
            None
        }
    }
}

fn nonneg(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<u64> {
    match int_of(e) {
        Some(v) if v >= 0 => Some(v as u64),
        _ => {
            errs.at(
                e,
                format!(
                    "{label}: `{what}` must be a non-negative integer literal, got `{}`",
                    shown(e)
                ),
            );
            None
        }
    }
}

/// An integer or a pair `(h, w)`.
fn size2(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<(usize, usize)> {
    let (meaning, example) = about(what);
    if let Expr::Tuple(t) = e {
        let items: Vec<&Expr> = t.elems.iter().collect();
        if items.len() != 2 {
            let why = match what {
                "kernel_size" => {
                    "; the kernel's depth is always the input's channel count, so it is not written"
                }
                "pool_size" => {
                    "; pooling works on each channel alone, so there is no depth to give"
                }
                _ => "",
            };
            errs.at(
                e,
                format!(
                    "{label}: `{what}` ({meaning}) is an integer or a pair `(height, width)`, got {} values{why}",
                    items.len()
                ),
            );
            return None;
        }
        let h = count(items[0], what, label, errs);
        let w = count(items[1], what, label, errs);
        return Some((h?, w?));
    }
    if int_of(e).is_none() {
        errs.at(
            e,
            format!(
                "{label}: `{what}` ({meaning}) must be an integer literal or a pair `(height, width)`, e.g. `{what} = {example}`, \
                 got `{}`{}",
                shown(e),
                literal_note(e)
            ),
        );
        return None;
    }
    count(e, what, label, errs).map(|v| (v, v))
}

fn activation(e: &Expr, info: &LayerInfo, label: &str, errs: &mut Errors) -> Option<Act> {
    let names = ACTIVATIONS.iter().map(|a| a.0);
    let list = names.clone().collect::<Vec<_>>().join(", ");
    let Some(w) = word_of(e) else {
        // `Conv2D(32, 3, 2)`: Keras's third positional argument is the strides, kiln's the activation.
        let strides = if info.kind == Kind::Conv2D && int_of(e).is_some() {
            format!("; to set the strides, write `strides = {}`", shown(e))
        } else {
            String::new()
        };
        errs.at(
            e,
            format!(
                "{label}: an activation is a name such as `relu` or `\"relu\"`, got `{}`{strides}\n  known activations: {list}",
                shown(e)
            ),
        );
        return None;
    };
    match ACTIVATIONS.iter().find(|a| a.0 == w) {
        Some(&(name, ty)) => Some(Act { name, ty }),
        None => {
            errs.at(
                e,
                format!(
                    "{label}: unknown activation `{w}`{}\n  known activations: {list}",
                    did_you_mean(&w, names)
                ),
            );
            None
        }
    }
}

fn padding(e: &Expr, label: &str, errs: &mut Errors) -> Option<Padding> {
    const KINDS: &str = "padding is `valid` (none: the output shrinks by the window's size) \
                         or `same` (zeros around the input: with strides 1 the output keeps its size)";
    match word_of(e).as_deref() {
        Some("valid") => Some(Padding::Valid),
        Some("same") => Some(Padding::Same),
        Some(w) => {
            errs.at(
                e,
                format!(
                    "{label}: unknown padding `{w}`{}\n  {KINDS}",
                    did_you_mean(w, ["valid", "same"])
                ),
            );
            None
        }
        None => {
            errs.at(e, format!("{label}: {KINDS}; got `{}`", shown(e)));
            None
        }
    }
}

fn boolean(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<bool> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => {
            errs.at(
                e,
                format!("{label}: `{what}` is `true` or `false`, got `{}`", shown(e)),
            );
            None
        }
    }
}

fn rate(e: &Expr, label: &str, errs: &mut Errors) -> Option<f64> {
    const WHAT: &str = "the fraction of inputs dropped during training";
    match number_of(e) {
        Some(r) if (0.0..1.0).contains(&r) => Some(r),
        Some(_) => {
            errs.at(
                e,
                format!("{label}: the rate ({WHAT}) must be at least 0 and below 1, got `{}`; e.g. `Dropout(0.5)`", shown(e)),
            );
            None
        }
        None => {
            errs.at(
                e,
                format!(
                    "{label}: the rate ({WHAT}) must be a number literal at least 0 and below 1, e.g. `Dropout(0.5)`, \
                     got `{}`",
                    shown(e)
                ),
            );
            None
        }
    }
}

/// Checks a `name = "…"` value: a string that is a Rust identifier, since it names a field.
fn layer_name(e: &Expr, label: &str, errs: &mut Errors) {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(s), ..
    }) = e
    else {
        errs.at(
            e,
            format!(
                "{label}: a layer name is a string, e.g. `name = \"features\"`, got `{}`",
                shown(e)
            ),
        );
        return;
    };
    let v = s.value();
    if !is_ident(&v) {
        errs.at(
            e,
            format!(
                "{label}: the layer name `{v}` must be a Rust identifier (letters, digits and `_`, not a keyword) \
                 because it becomes the model's field; e.g. `name = \"{}\"`",
                as_ident(&v)
            ),
        );
    }
}

fn is_ident(s: &str) -> bool {
    syn::parse_str::<Ident>(s).is_ok() && !s.starts_with("r#")
}

/// The closest identifier to `s`, for suggestions: `my layer` → `my_layer`, `type` → `type_`.
fn as_ident(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if !is_ident(&out) {
        out.push('_');
    }
    out
}

/// `Reshape(3, 6)`, `Reshape((3, 6))` or `Reshape(target_shape = (3, 6))`; one `-1` may stand
/// for the size that makes the counts match.
fn reshape_dims(call: &LayerCall, label: &str, errs: &mut Errors) -> Option<Vec<i64>> {
    let mut exprs: Vec<&Expr> = Vec::new();
    for arg in call.args.iter().flatten() {
        match arg {
            Arg::Positional(Expr::Tuple(t)) => exprs.extend(t.elems.iter()),
            Arg::Positional(e) => exprs.push(e),
            Arg::Keyword { key, value } if key == "target_shape" => match value {
                Expr::Tuple(t) => exprs.extend(t.elems.iter()),
                e => exprs.push(e),
            },
            Arg::Keyword { .. } => {}
        }
    }
    let mut dims = Vec::new();
    let mut ok = true;
    for e in &exprs {
        match int_of(e) {
            Some(v) if v >= 1 || v == -1 => dims.push(v),
            _ => {
                errs.at(
                    *e,
                    format!(
                        "{label}: each dimension is a positive integer literal, or -1 (once) for the size \
                         that makes the element counts match; got `{}`",
                        shown(e)
                    ),
                );
                ok = false;
            }
        }
    }
    if exprs.iter().filter(|e| int_of(e) == Some(-1)).count() > 1 {
        errs.at(
            &call.tokens,
            format!("{label}: only one dimension can be -1, the one the macro infers"),
        );
        ok = false;
    }
    if ok && !(1..=3).contains(&dims.len()) && !exprs.is_empty() {
        errs.at(
            &call.tokens,
            format!(
                "{label}: kiln tensors have 1 to 3 dimensions (a vector, a sequence, an image), got {}",
                dims.len()
            ),
        );
        ok = false;
    }
    ok.then_some(dims)
}

impl ToTokens for Layer {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_ident_suggests_a_usable_field_name() {
        assert_eq!(as_ident("my layer"), "my_layer");
        assert_eq!(as_ident("type"), "type_");
        assert_eq!(as_ident("2nd"), "_2nd");
    }

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
