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
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
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

/// Infers `layer`'s output from `input`, which comes `from` somewhere ("the model's input",
/// "layer 2 `conv2d_1`").
pub fn infer(layer: &Layer, input: &[usize], from: &str, known: &[KnownModel]) -> Result<Step, String> {
    let label = layer.label();
    let need_image = |what: &str| {
        format!(
            "{label} needs an image input [height, width, channels], but receives {} from {from}; {}",
            describe(input),
            if what.is_empty() { to_image_hint(input) } else { what.to_string() }
        )
    };
    let step = |output: Vec<usize>, params: usize, pad: (usize, usize)| Step { input: input.to_vec(), output, params, pad };
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
                    "{label}: its {kh}x{kw} kernel is larger than its input {} from {from} with `padding = valid`; \
                     use a kernel of at most {h}x{w}, `padding = same`, or less downsampling before it",
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
                return Err(format!(
                    "{label}: a {ph}x{pw} pool over {} from {from} leaves an empty output with `padding = valid`; \
                     use a pool of at most {h}x{w}, `padding = same`, or less downsampling before it",
                    describe(input)
                ));
            };
            Ok(step(vec![oh, ow, c], 0, (pt, pl)))
        }
        Config::GlobalAvgPool => match input {
            &[_, _, c] => Ok(step(vec![c], 0, (0, 0))),
            _ => Err(need_image("it averages over height and width, so a vector or sequence has nothing to pool")),
        },
        Config::Flatten => Ok(step(vec![input.iter().product()], 0, (0, 0))),
        Config::Reshape { dims } => {
            let total: usize = input.iter().product();
            let fixed: usize = dims.iter().filter(|d| **d > 0).map(|d| *d as usize).product();
            let shown = format!("[{}]", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
            let out: Vec<usize> = if dims.contains(&-1) {
                if total % fixed != 0 {
                    return Err(format!(
                        "{label}: cannot reshape {} ({total} elements) from {from} into {shown}: \
                         {total} is not a multiple of {fixed}, so no size fits the -1",
                        fmt_shape(input)
                    ));
                }
                dims.iter().map(|&d| if d == -1 { total / fixed } else { d as usize }).collect()
            } else {
                dims.iter().map(|&d| d as usize).collect()
            };
            let count: usize = out.iter().product();
            if count != total {
                return Err(format!(
                    "{label}: cannot reshape {} ({total} elements) from {from} into {shown} ({count} elements); \
                     the element counts must match (write -1 for one dimension to have it inferred)",
                    fmt_shape(input)
                ));
            }
            Ok(step(out, 0, (0, 0)))
        }
        Config::Dropout | Config::Activation { .. } => Ok(step(input.to_vec(), 0, (0, 0))),
        Config::Nested { known: Some(i), .. } => {
            let k = &known[*i];
            if k.input != input {
                return Err(format!(
                    "{label}: the nested model `{}` takes {} but receives {} from {from}; \
                     the models' shapes must meet",
                    layer.class,
                    describe(&k.input),
                    describe(input)
                ));
            }
            Ok(step(k.output.clone(), k.params, (0, 0)))
        }
        Config::Nested { known: None, .. } => unreachable!("nested models are resolved before inference"),
    }
}
