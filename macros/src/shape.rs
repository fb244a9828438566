//! Shape inference: each layer's output shape from its input shape, Keras's rules, and the
//! error a user reads when a shape cannot work.

use crate::layer::{Config, Layer, Padding};
use crate::nested::KnownModel;

/// What inference found out about one layer.
pub struct Step {
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    pub params: usize,
    /// Top and left zero padding (Conv2D and pooling).
    pub pad: (usize, usize),
}

pub fn fmt_shape(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// "a vector [784]", "a sequence [10, 4]", "an image [28, 28, 1]".
pub fn describe(s: &[usize]) -> String {
    let kind = match s.len() {
        1 => "a vector",
        2 => "a sequence",
        _ => "an image",
    };
    format!("{kind} {}", fmt_shape(s))
}

/// The `Reshape` that would turn `s` into an image, for messages.
fn to_image_hint(s: &[usize]) -> String {
    match s {
        [n] => {
            let r = (*n as f64).sqrt().round() as usize;
            if r * r == *n {
                format!("add `Reshape({r}, {r}, 1)` before it")
            } else {
                "add `Reshape(height, width, channels)` before it".to_string()
            }
        }
        [t, f] => format!("add `Reshape({t}, {f}, 1)` before it"),
        _ => String::new(),
    }
}

/// Output size and leading padding along one axis, as Keras computes them; `None` when a
/// `valid` window does not fit.
fn window(size: usize, k: usize, stride: usize, padding: Padding) -> Option<(usize, usize)> {
    match padding {
        Padding::Valid => (size >= k).then(|| ((size - k) / stride + 1, 0)),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + k).saturating_sub(size);
            Some((out, total / 2))
        }
    }
}

/// Where a layer's input comes from, for messages: "the model's input" or "layer 2 `conv2d_1`".
fn source(prev: Option<&Layer>) -> String {
    prev.map_or_else(
        || "the model's input".to_string(),
        |p| format!("layer {} `{}`", p.pos, p.name),
    )
}

/// The divisors of `n` when there are few enough to list, for Reshape's `-1` messages.
fn divisors(n: usize) -> Option<String> {
    let ds: Vec<String> = (1..=n)
        .filter(|d| n % d == 0)
        .map(|d| d.to_string())
        .collect();
    (ds.len() <= 12).then(|| ds.join(", "))
}

/// A layer's output when its input is unknown (after an earlier mistake), if it does not
/// depend on the input: so later layers are still checked.
pub fn output_alone(layer: &Layer, known: &[KnownModel]) -> Option<Vec<usize>> {
    match &layer.config {
        Config::Reshape { dims } if !dims.contains(&-1) => {
            Some(dims.iter().map(|&d| d as usize).collect())
        }
        Config::Nested { known: i, .. } if !known[*i].broken => Some(known[*i].output.clone()),
        _ => None,
    }
}

/// Whether the layer is a nested model with errors of its own, whose shapes are unknown.
pub fn is_broken(layer: &Layer, known: &[KnownModel]) -> bool {
    matches!(&layer.config, Config::Nested { known: i, .. } if known[*i].broken)
}

/// Infers `layer`'s output from `input`, the output of `prev` (or of the model's input).
pub fn infer(
    layer: &Layer,
    input: &[usize],
    prev: Option<&Layer>,
    known: &[KnownModel],
    scalar: &str,
) -> Result<Step, String> {
    let label = layer.label();
    let from = source(prev);
    // Only after a layer can "downsample less before it" be a fix.
    let or_less = if prev.is_some() {
        ", or downsample less before it"
    } else {
        ""
    };
    let need_image = |what: &str| {
        format!(
            "{label} needs an image input [height, width, channels], but receives {} from {from}; {}",
            describe(input),
            if what.is_empty() { to_image_hint(input) } else { what.to_string() }
        )
    };
    let step = |output: Vec<usize>, params: usize, pad: (usize, usize)| Step {
        input: input.to_vec(),
        output,
        params,
        pad,
    };
    match &layer.config {
        Config::Dense { units, bias, .. } => {
            let last = *input.last().expect("shapes have rank >= 1");
            let mut out = input.to_vec();
            *out.last_mut().expect("rank >= 1") = *units;
            Ok(step(out, last * units + if *bias { *units } else { 0 }, (0, 0)))
        }
        Config::Conv2D { filters, kernel, strides, padding, bias, .. } => {
            let &[h, w, c] = input else { return Err(need_image("")) };
            let (kh, kw) = *kernel;
            let rows = window(h, kh, strides.0, *padding);
            let cols = window(w, kw, strides.1, *padding);
            let (Some((oh, pt)), Some((ow, pl))) = (rows, cols) else {
                return Err(format!(
                    "{label}: its {kh}x{kw} kernel does not fit in the {h}x{w} image {} it receives from {from} \
                     with `padding = valid`; use a kernel of at most {h}x{w}, or `padding = same`{or_less}",
                    fmt_shape(input)
                ));
            };
            let params = kh * kw * c * filters + if *bias { *filters } else { 0 };
            Ok(step(vec![oh, ow, *filters], params, (pt, pl)))
        }
        Config::Pool { pool, strides, padding, .. } => {
            let &[h, w, c] = input else {
                return Err(need_image(""));
            };
            let (ph, pw) = *pool;
            let rows = window(h, ph, strides.0, *padding);
            let cols = window(w, pw, strides.1, *padding);
            let (Some((oh, pt)), Some((ow, pl))) = (rows, cols) else {
                let smaller = if h * w > 1 { format!("use a pool of at most {h}x{w}") } else { "remove it".to_string() };
                return Err(format!(
                    "{label}: its {ph}x{pw} pool does not fit in the {h}x{w} image {} it receives from {from} \
                     with `padding = valid`, so its output would be empty; {smaller}, use `padding = same`{or_less}",
                    fmt_shape(input)
                ));
            };
            Ok(step(vec![oh, ow, c], 0, (pt, pl)))
        }
        Config::GlobalAvgPool => match input {
            &[_, _, c] => Ok(step(vec![c], 0, (0, 0))),
            _ => Err(need_image(
                "it averages each channel over height and width, so use it on an image (before any `Flatten`), or remove it",
            )),
        },
        Config::Flatten => Ok(step(vec![input.iter().product()], 0, (0, 0))),
        Config::Reshape { dims } => reshape(dims, input, &label, &from).map(|out| step(out, 0, (0, 0))),
        Config::Dropout { .. } | Config::Activation { .. } => Ok(step(input.to_vec(), 0, (0, 0))),
        Config::Nested { known: i, .. } => {
            let k = &known[*i];
            if k.input != input {
                return Err(nested_mismatch(layer, k, input, prev));
            }
            if k.scalar != scalar {
                return Err(format!(
                    "{}: the nested model `{}` computes in `{}` but this model in `{scalar}`; \
                     declare both with the same element type (`struct Name<{scalar}>: …`)",
                    layer.label(),
                    layer.class,
                    k.scalar
                ));
            }
            Ok(step(k.output.clone(), k.params, (0, 0)))
        }
    }
}

/// Reshape's output, with `-1` resolved, when the element counts can match.
fn reshape(dims: &[i64], input: &[usize], label: &str, from: &str) -> Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let fixed: usize = dims
        .iter()
        .filter(|d| **d > 0)
        .map(|d| *d as usize)
        .product();
    let shown = format!(
        "[{}]",
        dims.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if dims.contains(&-1) && total % fixed != 0 {
        let fit = divisors(total).map_or(String::new(), |ds| format!(" ({ds})"));
        return Err(format!(
            "{label}: cannot reshape {} ({total} elements) from {from} into {shown}: {total} is not a multiple of {fixed}, \
             so no size fits the -1; the other dimensions must multiply to a divisor of {total}{fit}",
            fmt_shape(input)
        ));
    }
    let out: Vec<usize> = dims
        .iter()
        .map(|&d| if d == -1 { total / fixed } else { d as usize })
        .collect();
    let count: usize = out.iter().product();
    if count != total {
        return Err(format!(
            "{label}: cannot reshape {} ({total} elements) from {from} into {shown} ({count} elements); \
             the element counts must match: give dimensions whose product is {total}, or -1 for one of them to have it inferred",
            fmt_shape(input)
        ));
    }
    Ok(out)
}

/// A nested model that receives another shape than it takes, with the likeliest fix.
fn nested_mismatch(layer: &Layer, k: &KnownModel, input: &[usize], prev: Option<&Layer>) -> String {
    let want = fmt_shape(&k.input);
    let fix = if input.iter().product::<usize>() == k.input.iter().product::<usize>() {
        let dims = k
            .input
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        format!("add `Reshape({dims})` before it")
    } else if prev.is_none() {
        format!(
            "give this model the input shape {want}, or add layers before it that produce {want}"
        )
    } else {
        format!("change the layers before it so they produce {want}")
    };
    format!(
        "{}: the nested model `{}` takes {} but receives {} from {}; {fix}",
        layer.label(),
        layer.class,
        describe(&k.input),
        describe(input),
        source(prev)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn divisors_are_listed_only_when_few() {
        assert_eq!(super::divisors(10).as_deref(), Some("1, 2, 5, 10"));
        assert_eq!(super::divisors(720720), None);
    }
}
