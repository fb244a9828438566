//! The int8 reference: a plain, slow interpreter of a [`Quantized`] model, written for
//! obviously-correct integer arithmetic (TFLite's reference kernels) rather than speed.
//! It measures a quantized model's accuracy on the host and is what faster int8 code (the
//! code `model!` generates, the firmware's kernels) is checked against, bit for bit.
//!
//! The file does not record layer geometry (strides, padding, pool sizes), so a run takes the
//! layer list as [`Op`]s ([`forward`]), or a graph as [`Node`]s ([`forward_graph`]); each op's
//! output size is checked as it goes.

use super::quantized::{Quantized, QuantizedLayer, QuantizedMerge, Weighted};
use crate::core::quant::{requantize, requantize_saturating, LEFT_SHIFT};
use crate::Error;

/// Keras's padding rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: windows stay inside the input.
    Valid,
    /// `ceil(size / stride)` outputs; the `total / 2` padded rows / columns go first, the rest
    /// last.
    Same,
}

/// One layer of the model to run, in order. Dropout is the identity at inference: leave it out.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A quantized Conv2D layer, by name.
    Conv2D {
        /// The layer's name in the [`Quantized`] model.
        name: &'static str,
        /// `(rows, columns)`.
        strides: (usize, usize),
        /// `valid` or `same`.
        padding: Padding,
    },
    /// A quantized Dense layer, by name (it acts on the last axis, as Keras's does).
    Dense {
        /// The layer's name in the [`Quantized`] model.
        name: &'static str,
    },
    /// Max or average pooling; the output keeps the input's quantization.
    Pool {
        /// Max pooling if true, average pooling otherwise.
        max: bool,
        /// `(rows, columns)`.
        pool: (usize, usize),
        /// `(rows, columns)`.
        strides: (usize, usize),
        /// `valid` or `same` (average pooling then divides by the real cells only).
        padding: Padding,
    },
    /// Flatten, or Reshape to these dimensions (no data moves: tensors are row-major).
    Reshape(Vec<usize>),
    /// A global pool over every pixel (or step), per channel (the last axis).
    GlobalPool {
        /// Max pooling if true, the mean otherwise.
        max: bool,
    },
    /// A separate `Activation` layer, by name: its clamp.
    Activation {
        /// The layer's name in the [`Quantized`] model.
        name: &'static str,
    },
    /// An elementwise merge (`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`),
    /// by name; its inputs are the node's.
    Merge {
        /// The layer's name in the [`Quantized`] model.
        name: &'static str,
    },
    /// `Concatenate` along `axis` of a sample (Keras's numbering: -1 is the last).
    Concatenate {
        /// The layer's name in the [`Quantized`] model.
        name: &'static str,
        /// The axis, counted over a sample's dimensions (negative from the end).
        axis: isize,
    },
}

/// One node of a graph: an op and the values it reads. Value 0 is the model's input and node
/// `j` writes value `j + 1`; the last node's value is the output.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node does.
    pub op: Op,
    /// The values it reads, in order.
    pub inputs: Vec<usize>,
}

impl Op {
    /// `Conv2D` with strides 1 and `valid` padding.
    pub fn conv2d(name: &'static str) -> Op {
        Op::Conv2D {
            name,
            strides: (1, 1),
            padding: Padding::Valid,
        }
    }

    /// `Dense`.
    pub fn dense(name: &'static str) -> Op {
        Op::Dense { name }
    }

    /// `MaxPooling2D(pool)`: strides = pool, `valid`.
    pub fn max_pool(pool: usize) -> Op {
        Op::Pool {
            max: true,
            pool: (pool, pool),
            strides: (pool, pool),
            padding: Padding::Valid,
        }
    }

    /// `AveragePooling2D(pool)`: strides = pool, `valid`.
    pub fn avg_pool(pool: usize) -> Op {
        Op::Pool {
            max: false,
            pool: (pool, pool),
            strides: (pool, pool),
            padding: Padding::Valid,
        }
    }

    /// `Flatten`.
    pub fn flatten() -> Op {
        Op::Reshape(Vec::new())
    }

    /// This op as a graph node reading `inputs`.
    pub fn on(self, inputs: &[usize]) -> Node {
        Node {
            op: self,
            inputs: inputs.to_vec(),
        }
    }
}

/// Runs one int8 sample `x` (row-major in `q.input_shape`) through `ops` and returns the
/// int8 output (logits for a model that ended in softmax).
///
/// # Errors
/// [`Error::InvalidArgument`] if an op names no layer of `q` or of the wrong kind, or if a
/// shape does not fit (wrong input length, a kernel for other channels, an empty output).
pub fn forward(q: &Quantized, ops: &[Op], x: &[i8]) -> Result<Vec<i8>, Error> {
    let nodes: Vec<Node> = ops
        .iter()
        .enumerate()
        .map(|(j, op)| op.clone().on(&[j]))
        .collect();
    forward_graph(q, &nodes, x)
}

/// Runs one int8 sample `x` through a graph of `nodes` (see [`Node`]) and returns the last
/// node's value.
///
/// # Errors
/// As [`forward`]; also if a node reads a value not made before it, or a merge's inputs do not
/// fit together.
pub fn forward_graph(q: &Quantized, nodes: &[Node], x: &[i8]) -> Result<Vec<i8>, Error> {
    let shape = q.input_shape.clone();
    let want: usize = shape.iter().product();
    if x.len() != want {
        return Err(invalid(format!(
            "the input has {} values; the model's input {shape:?} needs {want}",
            x.len()
        )));
    }
    let mut values: Vec<(Vec<i8>, Vec<usize>)> = vec![(x.to_vec(), shape)];
    for (j, node) in nodes.iter().enumerate() {
        let ins = node
            .inputs
            .iter()
            .map(|&v| {
                values.get(v).ok_or_else(|| {
                    invalid(format!(
                        "node {j} reads value {v}, which is not made before it"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some((x, shape)) = ins.first().copied() else {
            return Err(invalid(format!("node {j} reads no value")));
        };
        let made = match &node.op {
            Op::Conv2D {
                name,
                strides,
                padding,
            } => {
                let l = layer(q, name, Weighted::Conv2D)?;
                conv2d(l, x, shape, *strides, *padding)?
            }
            Op::Dense { name } => {
                let l = layer(q, name, Weighted::Dense)?;
                dense(l, x, shape)?
            }
            Op::Pool {
                max,
                pool,
                strides,
                padding,
            } => pool2d(*max, x, shape, *pool, *strides, *padding)?,
            Op::Reshape(dims) => {
                let dims = if dims.is_empty() {
                    vec![x.len()]
                } else {
                    dims.clone()
                };
                if dims.iter().product::<usize>() != x.len() {
                    return Err(invalid(format!("cannot reshape {shape:?} to {dims:?}")));
                }
                (x.clone(), dims)
            }
            Op::GlobalPool { max } => global_pool(*max, x, shape)?,
            Op::Activation { name } => {
                let a = q.activation(name).ok_or_else(|| {
                    invalid(format!("the model has no activation layer `{name}`"))
                })?;
                let y = x
                    .iter()
                    .map(|&v| i32::from(v).clamp(a.activation_min, a.activation_max) as i8)
                    .collect();
                (y, shape.clone())
            }
            Op::Merge { name } => {
                let m = merge(q, name, ins.len())?;
                if ins.iter().any(|(_, s)| s != shape) {
                    return Err(invalid(format!(
                        "`{name}` merges values of different shapes"
                    )));
                }
                let xs: Vec<&[i8]> = ins.iter().map(|(v, _)| &v[..]).collect();
                (elementwise(m, &xs)?, shape.clone())
            }
            Op::Concatenate { name, axis } => {
                let m = merge(q, name, ins.len())?;
                concatenate(m, &ins, *axis)?
            }
        };
        values.push(made);
    }
    Ok(values.pop().expect("the input at least").0)
}

/// [`forward`] from and to real values: quantizes `x` with the model's input quantization and
/// dequantizes the output.
pub fn forward_f32(q: &Quantized, ops: &[Op], x: &[f32]) -> Result<Vec<f32>, Error> {
    Ok(q.dequantize_output(&forward(q, ops, &q.quantize_input(x))?))
}

/// The index of the largest value, the first on ties (the predicted class).
pub fn argmax<T: PartialOrd + Copy>(xs: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in xs.iter().enumerate() {
        if v > xs[best] {
            best = i;
        }
    }
    best
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(format!("int8 reference: {msg}"))
}

fn layer<'q>(q: &'q Quantized, name: &str, kind: Weighted) -> Result<&'q QuantizedLayer, Error> {
    match q.layer(name) {
        Some(l) if l.kind == kind => Ok(l),
        Some(l) => Err(invalid(format!(
            "layer `{name}` is a {}, not a {}",
            l.kind.class(),
            kind.class()
        ))),
        None => Err(invalid(format!("the model has no layer `{name}`"))),
    }
}

/// The output size along one axis and the padding before the input.
fn geometry(
    size: usize,
    window: usize,
    stride: usize,
    padding: Padding,
) -> Result<(usize, usize), Error> {
    match padding {
        Padding::Valid if size >= window => Ok(((size - window) / stride + 1, 0)),
        Padding::Valid => Err(invalid(format!(
            "a window of {window} does not fit in {size} with `valid` padding"
        ))),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + window).saturating_sub(size);
            Ok((out, total / 2))
        }
    }
}

fn image(shape: &[usize]) -> Result<(usize, usize, usize), Error> {
    match *shape {
        [h, w, c] => Ok((h, w, c)),
        _ => Err(invalid(format!(
            "a 2-D layer needs an [h, w, c] input, got {shape:?}"
        ))),
    }
}

/// The input cell `(oy·s + k − pad)` if it is inside `0..size`.
fn tap(o: usize, stride: usize, k: usize, pad: usize, size: usize) -> Option<usize> {
    (o * stride + k).checked_sub(pad).filter(|&i| i < size)
}

/// The accumulator in int8: requantized, shifted to the output zero point, clamped.
fn to_i8(l: &QuantizedLayer, acc: i32, c: usize) -> i8 {
    let v = requantize(acc, l.multiplier[c], l.shift[c]) + l.output.zero_point;
    v.clamp(l.activation_min, l.activation_max) as i8
}

fn conv2d(
    l: &QuantizedLayer,
    x: &[i8],
    shape: &[usize],
    (sh, sw): (usize, usize),
    padding: Padding,
) -> Result<(Vec<i8>, Vec<usize>), Error> {
    let (h, w, ci) = image(shape)?;
    let [kh, kw, kci, co] = l.kernel_shape[..] else {
        return Err(invalid(format!("`{}` has a kernel of rank != 4", l.name)));
    };
    if kci != ci {
        return Err(invalid(format!(
            "`{}` expects {kci} input channels, got {shape:?}",
            l.name
        )));
    }
    let (oh, pt) = geometry(h, kh, sh, padding)?;
    let (ow, pl) = geometry(w, kw, sw, padding)?;
    let zp = l.input.zero_point;
    let mut y = vec![0i8; oh * ow * co];
    for oy in 0..oh {
        for ox in 0..ow {
            for c in 0..co {
                let mut acc = l.bias[c];
                for ky in 0..kh {
                    let Some(iy) = tap(oy, sh, ky, pt, h) else {
                        continue;
                    };
                    for kx in 0..kw {
                        // Padded cells hold real 0, which is `zp`: they add nothing.
                        let Some(ix) = tap(ox, sw, kx, pl, w) else {
                            continue;
                        };
                        for i in 0..ci {
                            let xv = i32::from(x[(iy * w + ix) * ci + i]) - zp;
                            let wv = i32::from(l.kernel[((ky * kw + kx) * ci + i) * co + c]);
                            acc += xv * wv;
                        }
                    }
                }
                y[(oy * ow + ox) * co + c] = to_i8(l, acc, c);
            }
        }
    }
    Ok((y, vec![oh, ow, co]))
}

fn dense(l: &QuantizedLayer, x: &[i8], shape: &[usize]) -> Result<(Vec<i8>, Vec<usize>), Error> {
    let [n_in, n_out] = l.kernel_shape[..] else {
        return Err(invalid(format!("`{}` has a kernel of rank != 2", l.name)));
    };
    if shape.last() != Some(&n_in) {
        return Err(invalid(format!(
            "`{}` expects a last axis of {n_in}, got {shape:?}",
            l.name
        )));
    }
    let zp = l.input.zero_point;
    let mut y = Vec::with_capacity(x.len() / n_in * n_out);
    for row in x.chunks_exact(n_in) {
        for c in 0..n_out {
            let mut acc = l.bias[c];
            for (i, &xv) in row.iter().enumerate() {
                acc += (i32::from(xv) - zp) * i32::from(l.kernel[i * n_out + c]);
            }
            y.push(to_i8(l, acc, c));
        }
    }
    let mut out_shape = shape.to_vec();
    *out_shape.last_mut().expect("checked above") = n_out;
    Ok((y, out_shape))
}

/// TFLite's int8 pooling: the max, or the mean of the real cells rounded half away from zero,
/// on the raw int8 values (the scale and zero point pass through).
fn pool2d(
    max: bool,
    x: &[i8],
    shape: &[usize],
    (ph, pw): (usize, usize),
    (sh, sw): (usize, usize),
    padding: Padding,
) -> Result<(Vec<i8>, Vec<usize>), Error> {
    let (h, w, c) = image(shape)?;
    let (oh, pt) = geometry(h, ph, sh, padding)?;
    let (ow, pl) = geometry(w, pw, sw, padding)?;
    let mut y = vec![0i8; oh * ow * c];
    for oy in 0..oh {
        for ox in 0..ow {
            for ch in 0..c {
                let cells = (0..ph)
                    .filter_map(|ky| tap(oy, sh, ky, pt, h))
                    .flat_map(|iy| {
                        (0..pw)
                            .filter_map(move |kx| tap(ox, sw, kx, pl, w))
                            .map(move |ix| i32::from(x[(iy * w + ix) * c + ch]))
                    });
                let v = if max {
                    cells.max().expect("windows reach the input")
                } else {
                    let (sum, n) = cells.fold((0i32, 0i32), |(s, n), v| (s + v, n + 1));
                    if sum > 0 {
                        (sum + n / 2) / n
                    } else {
                        (sum - n / 2) / n
                    }
                };
                y[(oy * ow + ox) * c + ch] = v.clamp(-128, 127) as i8;
            }
        }
    }
    Ok((y, vec![oh, ow, c]))
}

fn merge<'q>(q: &'q Quantized, name: &str, inputs: usize) -> Result<&'q QuantizedMerge, Error> {
    let m = q
        .merge(name)
        .ok_or_else(|| invalid(format!("the model has no merge `{name}`")))?;
    if m.inputs.len() != inputs {
        return Err(invalid(format!(
            "`{name}` was quantized with {} inputs, the node gives {inputs}",
            m.inputs.len()
        )));
    }
    Ok(m)
}

/// Input `k`'s value `q` rescaled: `(q − zp_k) · 2^left` times input `k`'s multiplier.
fn rescale(m: &QuantizedMerge, k: usize, q: i8, left: u32) -> i32 {
    let v = (i32::from(q) - m.inputs[k].zero_point) * (1 << left);
    requantize_saturating(v, m.input_multiplier[k], m.input_shift[k])
}

/// The accumulator requantized by the output's multiplier, offset and saturated.
fn merged(m: &QuantizedMerge, acc: i32) -> i8 {
    let v = requantize_saturating(acc, m.output_multiplier, m.output_shift)
        .saturating_add(m.output.zero_point);
    v.clamp(-128, 127) as i8
}

/// TFLite's int8 ADD (inputs shifted left by 20 and rescaled, summed, requantized), MUL (the
/// product requantized), and max / min of the inputs rescaled to the output's scale.
fn elementwise(m: &QuantizedMerge, xs: &[&[i8]]) -> Result<Vec<i8>, Error> {
    let class = m.class.as_str();
    let y = (0..xs[0].len())
        .map(|e| {
            let acc = match class {
                "Add" | "Average" => (0..xs.len())
                    .map(|k| rescale(m, k, xs[k][e], LEFT_SHIFT))
                    .sum(),
                "Subtract" => {
                    rescale(m, 0, xs[0][e], LEFT_SHIFT) - rescale(m, 1, xs[1][e], LEFT_SHIFT)
                }
                "Multiply" => (0..xs.len())
                    .map(|k| i32::from(xs[k][e]) - m.inputs[k].zero_point)
                    .product(),
                "Maximum" => (0..xs.len())
                    .map(|k| rescale(m, k, xs[k][e], 0))
                    .max()
                    .expect("inputs"),
                _ => (0..xs.len())
                    .map(|k| rescale(m, k, xs[k][e], 0))
                    .min()
                    .expect("inputs"),
            };
            merged(m, acc)
        })
        .collect();
    match class {
        "Add" | "Average" | "Subtract" | "Multiply" | "Maximum" | "Minimum" => Ok(y),
        other => Err(invalid(format!(
            "`{}` is a {other}, not an elementwise merge",
            m.name
        ))),
    }
}

/// Concatenation along `axis`, each input rescaled to the output's scale.
fn concatenate(
    m: &QuantizedMerge,
    ins: &[&(Vec<i8>, Vec<usize>)],
    axis: isize,
) -> Result<(Vec<i8>, Vec<usize>), Error> {
    let rank = ins[0].1.len();
    let a = if axis < 0 {
        rank as isize + axis
    } else {
        axis - 1
    };
    let a = usize::try_from(a)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| invalid(format!("`{}`: axis {axis} of a rank-{rank} value", m.name)))?;
    let mut out_shape = ins[0].1.clone();
    out_shape[a] = 0;
    for (_, s) in ins {
        let same = s.len() == rank && (0..rank).all(|d| d == a || s[d] == ins[0].1[d]);
        if !same {
            return Err(invalid(format!(
                "`{}` concatenates values of other shapes",
                m.name
            )));
        }
        out_shape[a] += s[a];
    }
    let chunks: Vec<usize> = ins.iter().map(|(_, s)| s[a..].iter().product()).collect();
    let rows: usize = ins[0].1[..a].iter().product();
    let mut y = Vec::with_capacity(out_shape.iter().product());
    for r in 0..rows {
        for (k, ((x, _), &c)) in ins.iter().copied().zip(&chunks).enumerate() {
            y.extend(
                x[r * c..(r + 1) * c]
                    .iter()
                    .map(|&q| merged(m, rescale(m, k, q, 0))),
            );
        }
    }
    Ok((y, out_shape))
}

/// The mean (rounded half away from zero) or the largest value of each channel over the rest.
fn global_pool(max: bool, x: &[i8], shape: &[usize]) -> Result<(Vec<i8>, Vec<usize>), Error> {
    let c = *shape.last().filter(|_| shape.len() >= 2).ok_or_else(|| {
        invalid(format!(
            "a global pool needs a rank-2 or -3 input, got {shape:?}"
        ))
    })?;
    let n = (x.len() / c) as i32;
    let y = (0..c)
        .map(|ch| {
            let cells = x.iter().skip(ch).step_by(c).map(|&v| i32::from(v));
            if max {
                cells.max().unwrap_or(-128) as i8
            } else {
                let sum: i32 = cells.sum();
                let avg = if sum > 0 {
                    (sum + n / 2) / n
                } else {
                    (sum - n / 2) / n
                };
                avg as i8
            }
        })
        .collect();
    Ok((y, vec![c]))
}
