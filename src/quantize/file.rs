//! The `kiln-int8` weights file: safetensors (written with the `safetensors` crate, which
//! orders tensors by alignment so each starts aligned to its type).
//!
//! Tensors, with `N` each Conv2D / Dense layer's name:
//!
//! | name | dtype | shape |
//! | --- | --- | --- |
//! | `input/scale`, `input/zero_point` | F32, I32 | `[1]` |
//! | `N/kernel` | I8 | the f32 kernel's Keras shape |
//! | `N/bias` | I32 | `[out]` (zeros without a bias) |
//! | `N/kernel_scale` | F32 | `[out]` |
//! | `N/multiplier`, `N/shift` | I32 | `[out]` |
//! | `N/output_scale`, `N/output_zero_point` | F32, I32 | `[1]` |
//! | `N/activation_min`, `N/activation_max` | I32 | `[1]` |
//!
//! and, with `M` each merge's name and `k` its number of inputs, `A` each `Activation` layer's:
//!
//! | name | dtype | shape |
//! | --- | --- | --- |
//! | `M/input_multiplier`, `M/input_shift` | I32 | `[k]` |
//! | `M/output_multiplier`, `M/output_shift` | I32 | `[1]` |
//! | `M/output_scale`, `M/output_zero_point` | F32, I32 | `[1]` |
//! | `A/activation_min`, `A/activation_max` | I32 | `[1]` |
//!
//! with metadata `{"format": "kiln-int8/1"}` (one key: safetensors writes metadata from a
//! `HashMap`, so a second key would make the bytes differ from run to run).

use super::quantized::Quantized;
use crate::Error;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// The `format` metadata value that marks a kiln int8 file: the format and its layout version.
pub const FORMAT: &str = "kiln-int8/1";

/// One tensor to write.
struct Tensor {
    name: String,
    dtype: &'static str,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Tensor {
    fn f32(name: String, shape: Vec<usize>, data: &[f32]) -> Tensor {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor {
            name,
            dtype: "F32",
            shape,
            bytes,
        }
    }

    fn i32(name: String, shape: Vec<usize>, data: &[i32]) -> Tensor {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor {
            name,
            dtype: "I32",
            shape,
            bytes,
        }
    }

    fn i8(name: String, shape: Vec<usize>, data: &[i8]) -> Tensor {
        let bytes = data.iter().map(|v| v.to_le_bytes()[0]).collect();
        Tensor {
            name,
            dtype: "I8",
            shape,
            bytes,
        }
    }
}

/// Every tensor of `q`, 4-byte types first, so each tensor starts aligned to its type.
fn tensors(q: &Quantized) -> Vec<Tensor> {
    let mut wide = vec![
        Tensor::f32("input/scale".into(), vec![1], &[q.input.scale]),
        Tensor::i32("input/zero_point".into(), vec![1], &[q.input.zero_point]),
    ];
    let mut narrow = Vec::new();
    for l in &q.layers {
        let n = &l.name;
        let out = vec![l.channels()];
        narrow.push(Tensor::i8(
            format!("{n}/kernel"),
            l.kernel_shape.clone(),
            &l.kernel,
        ));
        wide.extend([
            Tensor::i32(format!("{n}/bias"), out.clone(), &l.bias),
            Tensor::f32(format!("{n}/kernel_scale"), out.clone(), &l.kernel_scale),
            Tensor::i32(format!("{n}/multiplier"), out.clone(), &l.multiplier),
            Tensor::i32(format!("{n}/shift"), out, &l.shift),
            Tensor::f32(format!("{n}/output_scale"), vec![1], &[l.output.scale]),
            Tensor::i32(
                format!("{n}/output_zero_point"),
                vec![1],
                &[l.output.zero_point],
            ),
            Tensor::i32(format!("{n}/activation_min"), vec![1], &[l.activation_min]),
            Tensor::i32(format!("{n}/activation_max"), vec![1], &[l.activation_max]),
        ]);
    }
    for m in &q.merges {
        let (n, k) = (&m.name, vec![m.inputs.len()]);
        wide.extend([
            Tensor::i32(
                format!("{n}/input_multiplier"),
                k.clone(),
                &m.input_multiplier,
            ),
            Tensor::i32(format!("{n}/input_shift"), k, &m.input_shift),
            Tensor::i32(
                format!("{n}/output_multiplier"),
                vec![1],
                &[m.output_multiplier],
            ),
            Tensor::i32(format!("{n}/output_shift"), vec![1], &[m.output_shift]),
            Tensor::f32(format!("{n}/output_scale"), vec![1], &[m.output.scale]),
            Tensor::i32(
                format!("{n}/output_zero_point"),
                vec![1],
                &[m.output.zero_point],
            ),
        ]);
    }
    for a in &q.activations {
        let n = &a.name;
        wide.extend([
            Tensor::i32(format!("{n}/activation_min"), vec![1], &[a.activation_min]),
            Tensor::i32(format!("{n}/activation_max"), vec![1], &[a.activation_max]),
        ]);
    }
    wide.extend(narrow);
    wide
}

/// The safetensors bytes of `q`.
pub(crate) fn to_bytes(q: &Quantized) -> Vec<u8> {
    let tensors = tensors(q);
    let views = tensors.iter().map(|t| {
        let dtype = match t.dtype {
            "F32" => Dtype::F32,
            "I32" => Dtype::I32,
            _ => Dtype::I8,
        };
        let view = TensorView::new(dtype, t.shape.clone(), &t.bytes)
            .expect("a tensor's byte length always matches its shape");
        (t.name.as_str(), view)
    });
    let metadata = HashMap::from([("format".to_string(), FORMAT.to_string())]);
    safetensors::serialize(views, Some(metadata)).expect("in-memory tensors always serialize")
}

/// Writes `q` to `path` through a temporary file, so a failed write never leaves a half-written
/// file under the final name.
pub(crate) fn save(q: &Quantized, path: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, to_bytes(q)).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
