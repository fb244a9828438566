//! From a layer as written to a typed layer: arguments bound to parameters by position or
//! keyword, each value checked for its type and range, names given or made up as Keras does.

use crate::catalog::{self, Kind, LayerInfo, Param, ACTIVATIONS};
use crate::diagnostics::Errors;
use crate::nested::{path_key, KnownModel};
use crate::suggest::did_you_mean;
use crate::syntax::{Arg, LayerCall};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::HashMap;
use syn::{Expr, ExprLit, ExprUnary, Lit, Path, UnOp};

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

pub const LINEAR: Act = Act { name: "linear", ty: "Linear" };

/// A layer's configuration, every value checked.
pub enum Config {
    Dense { units: usize, act: Act, bias: bool },
    Conv2D { filters: usize, kernel: (usize, usize), strides: (usize, usize), padding: Padding, act: Act, bias: bool },
    Pool { max: bool, pool: (usize, usize), strides: (usize, usize), padding: Padding },
    GlobalAvgPool,
    Flatten,
    Reshape { dims: Vec<i64> },
    /// The identity at inference; its rate is checked here and used by training.
    Dropout,
    Activation { act: Act },
    Nested { path: Path, known: Option<usize> },
}

/// One layer, ready for shape inference.
pub struct Layer {
    pub config: Config,
    /// Keras's class name (`Conv2D`) or the nested model's type name.
    pub class: String,
    /// The layer's name: given with `name = "…"`, else Keras's automatic one.
    pub name: String,
    /// Whether the name was given (for error messages).
    pub named: bool,
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

fn spelled(call: &LayerCall) -> String {
    path_key(&call.path)
}

/// Builds every layer, reporting every mistake found; `None` for layers too broken to use.
pub fn build_all(calls: &[LayerCall], known: &[KnownModel], errs: &mut Errors) -> Vec<Option<Layer>> {
    let mut layers: Vec<Option<Layer>> =
        calls.iter().enumerate().map(|(i, c)| build(c, i + 1, known, errs)).collect();
    name_layers(&mut layers, errs);
    layers
}

/// Keras's automatic names (`dense`, `dense_1`, …, counted per prefix among unnamed layers),
/// then a check that all names are distinct and usable as field names.
fn name_layers(layers: &mut [Option<Layer>], errs: &mut Errors) {
    let mut counters: HashMap<String, usize> = HashMap::new();
    for l in layers.iter_mut().flatten().filter(|l| !l.named) {
        let n = counters.entry(l.name.clone()).or_insert(0);
        if *n > 0 {
            l.name = format!("{}_{}", l.name, n);
        }
        *n += 1;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for l in layers.iter().flatten() {
        if let Some(first) = seen.get(&l.name) {
            errs.at(
                &l.tokens,
                format!(
                    "{}: the name `{}` is already taken by layer {first}; layer names must be unique \
                     (they name the weights in files), so give this layer another `name = \"…\"`",
                    l.label(),
                    l.name
                ),
            );
        } else {
            seen.insert(l.name.clone(), l.pos);
        }
    }
}

fn build(call: &LayerCall, pos: usize, known: &[KnownModel], errs: &mut Errors) -> Option<Layer> {
    let spelled = spelled(call);
    let Some(info) = catalog::layer(&spelled) else {
        return unknown_or_nested(call, pos, &spelled, known, errs);
    };
    let args = bind(info, call, &spelled, errs)?;
    let before = errs.len();
    let get = |name: &str| args.get(name).copied();
    let act = |errs: &mut Errors| get("activation").and_then(|e| activation(e, errs));
    let bias = |errs: &mut Errors| get("use_bias").map_or(Some(true), |e| boolean(e, errs));
    let padding = |errs: &mut Errors| get("padding").map_or(Some(Padding::Valid), |e| padding(e, errs));
    let size2 = |name: &str, errs: &mut Errors| get(name).and_then(|e| size2(e, name, &spelled, errs));
    let count = |name: &str, errs: &mut Errors| get(name).and_then(|e| count(e, name, &spelled, errs));

    let config = match info.kind {
        Kind::Dense => Config::Dense {
            units: count("units", errs).unwrap_or(1),
            act: if get("activation").is_some() { act(errs).unwrap_or(LINEAR) } else { LINEAR },
            bias: bias(errs).unwrap_or(true),
        },
        Kind::Conv2D => Config::Conv2D {
            filters: count("filters", errs).unwrap_or(1),
            kernel: size2("kernel_size", errs).unwrap_or((1, 1)),
            strides: if get("strides").is_some() { size2("strides", errs).unwrap_or((1, 1)) } else { (1, 1) },
            padding: padding(errs).unwrap_or(Padding::Valid),
            act: if get("activation").is_some() { act(errs).unwrap_or(LINEAR) } else { LINEAR },
            bias: bias(errs).unwrap_or(true),
        },
        Kind::MaxPool | Kind::AvgPool => {
            let pool = if get("pool_size").is_some() { size2("pool_size", errs).unwrap_or((2, 2)) } else { (2, 2) };
            Config::Pool {
                max: info.kind == Kind::MaxPool,
                pool,
                strides: if get("strides").is_some() { size2("strides", errs).unwrap_or(pool) } else { pool },
                padding: padding(errs).unwrap_or(Padding::Valid),
            }
        }
        Kind::GlobalAvgPool => Config::GlobalAvgPool,
        Kind::Flatten => Config::Flatten,
        Kind::Reshape => Config::Reshape { dims: reshape_dims(call, &args, errs).unwrap_or_default() },
        Kind::Dropout => {
            if let Some(e) = get("seed") {
                nonneg(e, "seed", &spelled, errs);
            }
            if let Some(e) = get("rate") {
                rate(e, errs);
            }
            Config::Dropout
        }
        Kind::Activation => Config::Activation { act: act(errs).unwrap_or(LINEAR) },
    };
    let name = get("name").and_then(|e| layer_name(e, errs));
    if errs.len() > before {
        return None;
    }
    Some(Layer {
        config,
        class: info.keras_class.to_string(),
        named: name.is_some(),
        name: name.unwrap_or_else(|| info.auto_name.to_string()),
        tokens: call.tokens.clone(),
        pos,
    })
}

/// A path the catalogue does not know: a nested model if written bare, else a mistake.
fn unknown_or_nested(
    call: &LayerCall,
    pos: usize,
    spelled: &str,
    known: &[KnownModel],
    errs: &mut Errors,
) -> Option<Layer> {
    if !is_nested_ref(call) {
        let known_list = catalog::LAYERS.iter().map(|l| l.spellings[0]).collect::<Vec<_>>().join(", ");
        errs.at(
            &call.path,
            format!(
                "layer {pos}: unknown layer `{spelled}`{}\n  known layers: {known_list}\n  \
                 (a model made with `kiln::model!` can be nested by writing its name alone, without arguments)",
                did_you_mean(spelled, catalog::layer_spellings()),
            ),
        );
        return None;
    }
    let key = path_key(&call.path);
    let found = known.iter().position(|k| k.path == key);
    let last = call.path.segments.last().expect("a path has a segment").ident.to_string();
    Some(Layer {
        config: Config::Nested { path: call.path.clone(), known: found },
        class: last.clone(),
        name: found.map_or_else(|| crate::naming::snake_case(&last), |i| known[i].name.clone()),
        named: false,
        tokens: call.tokens.clone(),
        pos,
    })
}

/// Whether a layer the catalogue does not know is meant as a nested model: written bare, and
/// not a likely misspelling of a layer (`Flaten`, `flatten`, `Conv2d`).
fn is_nested_ref(call: &LayerCall) -> bool {
    let spelled = spelled(call);
    let no_args = ["Flatten", "GlobalAvgPool", "GlobalAvgPool2D", "GlobalAveragePooling2D"];
    let typo = crate::suggest::closest(&spelled, no_args).is_some()
        || catalog::layer_spellings().any(|s| s.eq_ignore_ascii_case(&spelled));
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

/// Binds arguments to the layer's parameters, by position then keyword.
fn bind<'a>(info: &LayerInfo, call: &'a LayerCall, spelled: &str, errs: &mut Errors) -> Option<HashMap<&'static str, &'a Expr>> {
    let before = errs.len();
    let mut bound: HashMap<&'static str, &'a Expr> = HashMap::new();
    let positional: Vec<&Param> = info.params.iter().filter(|p| p.positional).collect();
    let names = info.params.iter().map(|p| p.name).collect::<Vec<_>>();
    let mut keyword_seen = false;
    let mut n_positional = 0;
    for arg in call.args.iter().flatten() {
        match arg {
            Arg::Positional(e) if keyword_seen => errs.at(
                e,
                format!("`{spelled}`: a positional argument cannot follow a keyword argument; usage: {}", info.usage),
            ),
            Arg::Positional(e) if info.kind == Kind::Reshape => {
                bound.entry("target_shape").or_insert(e);
            }
            Arg::Positional(e) => {
                match positional.get(n_positional) {
                    Some(p) => {
                        bound.insert(p.name, e);
                    }
                    None => {
                        let list = positional.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
                        let msg = if positional.is_empty() {
                            format!("`{spelled}` takes no positional arguments; usage: {}", info.usage)
                        } else {
                            format!(
                                "`{spelled}` takes at most {} positional argument{} ({list}); give the others by keyword, e.g. `strides = 2`",
                                positional.len(),
                                if positional.len() == 1 { "" } else { "s" }
                            )
                        };
                        errs.at(e, msg);
                    }
                }
                n_positional += 1;
            }
            Arg::Keyword { key, value } => {
                keyword_seen = true;
                let k = key.to_string();
                match info.params.iter().find(|p| p.name == k) {
                    Some(p) if bound.contains_key(p.name) => errs.at(
                        key,
                        format!("`{spelled}`: `{k}` is given twice; keep one"),
                    ),
                    Some(p) => {
                        bound.insert(p.name, value);
                    }
                    None => errs.at(
                        key,
                        format!(
                            "`{spelled}` has no argument `{k}`{}; it takes: {}",
                            did_you_mean(&k, names.iter().copied()),
                            names.join(", ")
                        ),
                    ),
                }
            }
        }
    }
    for p in info.params.iter().filter(|p| p.required && !bound.contains_key(p.name)) {
        let what = if call.args.is_none() { "needs arguments" } else { "is missing its argument" };
        errs.at(&call.tokens, format!("`{spelled}` {what} `{}`; usage: {}", p.name, info.usage));
    }
    (errs.len() == before).then_some(bound)
}

fn int_of(e: &Expr) -> Option<i64> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse().ok(),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => int_of(expr).map(|v| -v),
        Expr::Paren(p) => int_of(&p.expr),
        Expr::Group(g) => int_of(&g.expr),
        _ => None,
    }
}

/// A bare name (`relu`) or a quoted one (`"relu"`).
fn word_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
        Expr::Group(g) => word_of(&g.expr),
        _ => None,
    }
}

fn count(e: &Expr, what: &str, spelled: &str, errs: &mut Errors) -> Option<usize> {
    match int_of(e) {
        Some(v) if v >= 1 => Some(v as usize),
        Some(v) => {
            errs.at(e, format!("`{spelled}`: `{what}` must be at least 1, got {v}"));
            None
        }
        None => {
            errs.at(e, format!("`{spelled}`: `{what}` must be a positive integer literal, e.g. `{what} = 32`"));
            None
        }
    }
}

fn nonneg(e: &Expr, what: &str, spelled: &str, errs: &mut Errors) -> Option<u64> {
    match int_of(e) {
        Some(v) if v >= 0 => Some(v as u64),
        _ => {
            errs.at(e, format!("`{spelled}`: `{what}` must be a non-negative integer literal"));
            None
        }
    }
}

/// An integer or a pair `(h, w)`.
fn size2(e: &Expr, what: &str, spelled: &str, errs: &mut Errors) -> Option<(usize, usize)> {
    if let Expr::Tuple(t) = e {
        let items: Vec<&Expr> = t.elems.iter().collect();
        if items.len() != 2 {
            errs.at(e, format!("`{spelled}`: `{what}` must be an integer or a pair `(height, width)`, got {} values", items.len()));
            return None;
        }
        let h = count(items[0], what, spelled, errs);
        let w = count(items[1], what, spelled, errs);
        return Some((h?, w?));
    }
    if int_of(e).is_none() {
        errs.at(e, format!("`{spelled}`: `{what}` must be an integer or a pair `(height, width)`, e.g. `{what} = (3, 3)`"));
        return None;
    }
    count(e, what, spelled, errs).map(|v| (v, v))
}

fn activation(e: &Expr, errs: &mut Errors) -> Option<Act> {
    let names = ACTIVATIONS.iter().map(|a| a.0);
    match word_of(e) {
        Some(w) => match ACTIVATIONS.iter().find(|a| a.0 == w) {
            Some(&(name, ty)) => Some(Act { name, ty }),
            None => {
                let list = names.clone().collect::<Vec<_>>().join(", ");
                errs.at(e, format!("unknown activation `{w}`{}\n  known activations: {list}", did_you_mean(&w, names)));
                None
            }
        },
        None => {
            errs.at(e, "an activation is a name such as `relu` or `\"relu\"`");
            None
        }
    }
}

fn padding(e: &Expr, errs: &mut Errors) -> Option<Padding> {
    match word_of(e).as_deref() {
        Some("valid") => Some(Padding::Valid),
        Some("same") => Some(Padding::Same),
        Some(w) => {
            errs.at(e, format!("unknown padding `{w}`{}; padding is `valid` or `same`", did_you_mean(w, ["valid", "same"])));
            None
        }
        None => {
            errs.at(e, "padding is `valid` or `same`");
            None
        }
    }
}

fn boolean(e: &Expr, errs: &mut Errors) -> Option<bool> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Some(b.value),
        _ => {
            errs.at(e, "expected `true` or `false`");
            None
        }
    }
}

fn rate(e: &Expr, errs: &mut Errors) -> Option<f64> {
    let v = match e {
        Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => f.base10_parse::<f64>().ok(),
        _ => int_of(e).map(|v| v as f64),
    };
    match v {
        Some(r) if (0.0..1.0).contains(&r) => Some(r),
        Some(r) => {
            errs.at(e, format!("`Dropout`: rate must be in [0, 1), got {r} (it is the fraction of inputs dropped)"));
            None
        }
        None => {
            errs.at(e, "`Dropout`: rate must be a number literal in [0, 1), e.g. `Dropout(0.5)`");
            None
        }
    }
}

fn layer_name(e: &Expr, errs: &mut Errors) -> Option<String> {
    let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = e else {
        errs.at(e, "a layer name is a string, e.g. `name = \"features\"`");
        return None;
    };
    let v = s.value();
    if syn::parse_str::<syn::Ident>(&v).is_err() || v.starts_with("r#") {
        errs.at(e, format!("layer name `{v}` must be a Rust identifier (letters, digits, `_`; not a keyword): it becomes the model's field"));
        return None;
    }
    Some(v)
}

/// `Reshape(3, 6)`, `Reshape((3, 6))` or `Reshape(target_shape = (3, 6))`; one `-1` may stand
/// for the size that makes the counts match.
fn reshape_dims(call: &LayerCall, args: &HashMap<&'static str, &Expr>, errs: &mut Errors) -> Option<Vec<i64>> {
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
    let _ = args;
    let mut dims = Vec::new();
    let mut ok = true;
    for e in &exprs {
        match int_of(e) {
            Some(v) if v >= 1 || v == -1 => dims.push(v),
            _ => {
                errs.at(*e, "`Reshape`: each dimension must be a positive integer literal, or -1 once");
                ok = false;
            }
        }
    }
    if dims.iter().filter(|d| **d == -1).count() > 1 {
        errs.at(&call.tokens, "`Reshape`: only one dimension can be -1");
        ok = false;
    }
    if ok && !(1..=3).contains(&dims.len()) {
        errs.at(&call.tokens, format!("`Reshape`: kiln tensors have 1 to 3 dimensions (vector, sequence, image), got {}", dims.len()));
        ok = false;
    }
    ok.then_some(dims)
}

impl ToTokens for Layer {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}
