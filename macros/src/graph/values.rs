//! Reading and checking one argument's value: counts, `(h, w)` pairs, activations, padding,
//! booleans, rates, layer names and `Reshape`'s dimensions, each with its own message.

use crate::diagnostics::{literal_note, shown, Errors};
use crate::layers::{Act, Padding, ACTIVATIONS};
use crate::suggest::did_you_mean;
use crate::syntax::{Arg, LayerCall};
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, UnOp};

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

/// A bare word or a string literal (`relu`, `"nearest"`), as Keras's string options are written.
pub fn word(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Group(g) => word(&g.expr),
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
        "depth_multiplier" => ("the number of filters per input channel", "2"),
        _ => ("a size", "1"),
    }
}

pub fn count(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<usize> {
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

pub fn nonneg(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<u64> {
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

/// An axis, as Keras counts them: negative from the end, 0 the batch (refused by the layer).
pub fn axis(e: &Expr, label: &str, errs: &mut Errors) -> Option<i64> {
    let v = int_of(e);
    if v.is_none() {
        errs.at(
            e,
            format!(
                "{label}: `axis` must be an integer literal, e.g. `axis = -1` (the last), got `{}`{}",
                shown(e),
                literal_note(e)
            ),
        );
    }
    v
}

/// An integer or a pair `(h, w)`.
pub fn size2(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<(usize, usize)> {
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

/// `ZeroPadding2D`'s `padding` or `Cropping2D`'s `cropping`, in Keras's three forms: `n` (every
/// side), `(rows, columns)` (each on both sides), or `((top, bottom), (left, right))`.
pub fn sides(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<[(usize, usize); 2]> {
    let side = |e: &Expr, errs: &mut Errors| nonneg(e, what, label, errs).map(|v| v as usize);
    let (rows, cols) = both(e, what, label, errs, |e, errs| {
        both(e, what, label, errs, side)
    })?;
    Some([rows, cols])
}

/// Either level of [`sides`]: a pair `(a, b)` of what `one` reads, or one value for both.
fn both<T>(
    e: &Expr,
    what: &str,
    label: &str,
    errs: &mut Errors,
    one: impl Fn(&Expr, &mut Errors) -> Option<T>,
) -> Option<(T, T)>
where
    T: Copy,
{
    match e {
        Expr::Tuple(t) if t.elems.len() == 2 => {
            let (a, b) = (one(&t.elems[0], errs), one(&t.elems[1], errs));
            Some((a?, b?))
        }
        Expr::Tuple(_) => {
            errs.at(
                e,
                format!(
                    "{label}: `{what}` is an integer, `(rows, columns)` or `((top, bottom), (left, right))`, got `{}`",
                    shown(e)
                ),
            );
            None
        }
        _ => one(e, errs).map(|v| (v, v)),
    }
}

pub fn activation(e: &Expr, strides_hint: bool, label: &str, errs: &mut Errors) -> Option<Act> {
    let names = ACTIVATIONS.iter().map(|a| a.0);
    let list = names.clone().collect::<Vec<_>>().join(", ");
    let Some(w) = word(e) else {
        // `Conv2D(32, 3, 2)`: Keras's third positional argument is the strides, kiln's the activation.
        let strides = if strides_hint && int_of(e).is_some() {
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

/// `padding`: `valid` or `same`, and `causal` too when `causal` (Conv1D).
pub fn padding(e: &Expr, causal: bool, label: &str, errs: &mut Errors) -> Option<Padding> {
    const KINDS: &str = "padding is `valid` (none: the output shrinks by the window's size) \
                         or `same` (zeros around the input: with strides 1 the output keeps its size)";
    const CAUSAL: &str =
        ", or `causal` (zeros before the sequence only, so a step sees no later one)";
    let kinds = if causal {
        format!("{KINDS}{CAUSAL}")
    } else {
        KINDS.to_string()
    };
    match word(e).as_deref() {
        Some("valid") => Some(Padding::Valid),
        Some("same") => Some(Padding::Same),
        Some("causal") if causal => Some(Padding::Causal),
        Some("causal") => {
            errs.at(
                e,
                format!("{label}: `causal` padding is for sequences (Conv1D) only\n  {kinds}"),
            );
            None
        }
        Some(w) => {
            let known: &[&str] = if causal {
                &["valid", "same", "causal"]
            } else {
                &["valid", "same"]
            };
            errs.at(
                e,
                format!(
                    "{label}: unknown padding `{w}`{}\n  {kinds}",
                    did_you_mean(w, known.iter().copied())
                ),
            );
            None
        }
        None => {
            errs.at(e, format!("{label}: {kinds}; got `{}`", shown(e)));
            None
        }
    }
}

/// A 1-D size (`kernel_size`, `pool_size`, `strides`, `dilation_rate` of Conv1D and the 1-D
/// pools): an integer
/// or Keras's one-element tuple, `3` or `(3,)`.
pub fn size1(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<usize> {
    let meaning = match what {
        "strides" => "the step between windows",
        "dilation_rate" => "the steps between the kernel's taps",
        _ => "the window's length in steps",
    };
    let one = match e {
        Expr::Tuple(t) if t.elems.len() == 1 => &t.elems[0],
        Expr::Tuple(t) => {
            errs.at(
                e,
                format!(
                    "{label}: `{what}` ({meaning}) is one integer on a sequence, got {} values; \
                     a window spans all of a step's features",
                    t.elems.len()
                ),
            );
            return None;
        }
        _ => e,
    };
    match int_of(one) {
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
                    "{label}: `{what}` ({meaning}) must be a positive integer literal, e.g. `{what} = 3`, got `{}`{}",
                    shown(e),
                    literal_note(e)
                ),
            );
            None
        }
    }
}

pub fn boolean(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<bool> {
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

/// A number literal above zero (an `epsilon`).
pub fn positive(e: &Expr, what: &str, label: &str, errs: &mut Errors) -> Option<f64> {
    match number_of(e) {
        Some(v) if v > 0.0 && v.is_finite() => Some(v),
        _ => {
            errs.at(
                e,
                format!(
                    "{label}: `{what}` must be a number literal above 0, e.g. `{what} = 1e-3`, got `{}`",
                    shown(e)
                ),
            );
            None
        }
    }
}

pub fn rate(e: &Expr, label: &str, errs: &mut Errors) -> Option<f64> {
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
pub fn layer_name(e: &Expr, label: &str, errs: &mut Errors) {
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
pub fn reshape_dims(call: &LayerCall, label: &str, errs: &mut Errors) -> Option<Vec<i64>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_ident_suggests_a_usable_field_name() {
        assert_eq!(as_ident("my layer"), "my_layer");
        assert_eq!(as_ident("type"), "type_");
        assert_eq!(as_ident("2nd"), "_2nd");
    }
}
