//! The int8 reference: a plain, slow interpreter of a [`Quantized`] model, written for
//! obviously-correct integer arithmetic (TFLite's reference kernels) rather than speed.
//! It measures a quantized model's accuracy on the host and is what faster int8 code (the
//! code `model!` generates, the firmware's kernels) is checked against, bit for bit.
//!
//! The file does not record layer geometry (strides, padding, pool sizes), so a run takes the
//! layer list as [`Op`]s; each op's output size is checked as it goes.

use super::quantized::{Quantized, QuantizedLayer, Weighted};
use crate::core::quant::requantize;
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
}

/// Runs one int8 sample `x` (row-major in `q.input_shape`) through `ops` and returns the
/// int8 output (logits for a model that ended in softmax).
///
/// # Errors
/// [`Error::InvalidArgument`] if an op names no layer of `q` or of the wrong kind, or if a
/// shape does not fit (wrong input length, a kernel for other channels, an empty output).
pub fn forward(q: &Quantized, ops: &[Op], x: &[i8]) -> Result<Vec<i8>, Error> {
    let mut shape = q.input_shape.clone();
    let want: usize = shape.iter().product();
    if x.len() != want {
        return Err(invalid(format!(
            "the input has {} values; the model's input {shape:?} needs {want}",
            x.len()
        )));
    }
    let mut x = x.to_vec();
    for op in ops {
        (x, shape) = match op {
            Op::Conv2D {
                name,
                strides,
                padding,
            } => {
                let l = layer(q, name, Weighted::Conv2D)?;
                conv2d(l, &x, &shape, *strides, *padding)?
            }
            Op::Dense { name } => {
                let l = layer(q, name, Weighted::Dense)?;
                dense(l, &x, &shape)?
            }
            Op::Pool {
                max,
                pool,
                strides,
                padding,
            } => pool2d(*max, &x, &shape, *pool, *strides, *padding)?,
            Op::Reshape(dims) => {
                let dims = if dims.is_empty() {
                    vec![x.len()]
                } else {
                    dims.clone()
                };
                if dims.iter().product::<usize>() != x.len() {
                    return Err(invalid(format!("cannot reshape {shape:?} to {dims:?}")));
                }
                (x, dims)
            }
        };
    }
    Ok(x)
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
