//! Weight files in safetensors format, named and laid out as Keras names and lays them out
//! (`conv2d/kernel` as `[kh, kw, in, out]`), so weights move between kiln and Keras.

use crate::error::Error;
use crate::model::Model;
use crate::scalar::Scalar;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::path::Path;

fn dtype<T: Scalar>() -> Dtype {
    match T::DTYPE {
        "F64" => Dtype::F64,
        _ => Dtype::F32,
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Writes every parameter of `model` to `path` (through a temporary file, so a failed write
/// never leaves a half-written file under the final name).
pub fn save<M: Model>(model: &M, path: &Path) -> Result<(), Error> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.visit_params(None, &mut |p| {
        let bytes = bytemuck::cast_slice::<M::Scalar, u8>(p.data).to_vec();
        tensors.push((p.name.to_string(), p.shape.to_vec(), bytes));
    });
    let views = tensors.iter().map(|(name, shape, bytes)| {
        let view = TensorView::new(dtype::<M::Scalar>(), shape.clone(), bytes)
            .expect("a parameter's byte length always matches its shape");
        (name.as_str(), view)
    });
    let bytes = safetensors::serialize(views, None).map_err(|e| Error::Corrupt {
        path: shown(path),
        reason: e.to_string(),
    })?;
    let tmp = path.with_extension("safetensors.tmp");
    let io = |source| Error::Io {
        path: shown(path),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads every parameter of `model` from `path`. Each tensor's presence, dtype and shape is
/// checked first, and tensors the model lacks are refused, so on `Err` nothing was loaded.
/// Tensors whose names start with `__` are metadata (e.g. test fixtures) and are skipped.
pub fn load<M: Model>(model: &mut M, path: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: shown(path),
        source,
    })?;
    let corrupt = |reason: String| Error::Corrupt {
        path: shown(path),
        reason,
    };
    check_header(&bytes).map_err(corrupt)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let want = dtype::<M::Scalar>();

    let mut first_error: Option<Error> = None;
    let mut expected_names: Vec<String> = Vec::new();
    model.visit_params(None, &mut |p| {
        let name = p.name.to_string();
        if first_error.is_none() {
            first_error = check(&file, path, &name, p.shape, want).err();
        }
        expected_names.push(name);
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    if let Some((name, view)) = file
        .iter()
        .find(|(n, _)| !n.starts_with("__") && !expected_names.iter().any(|e| e == n))
    {
        return Err(Error::UnexpectedTensor {
            path: shown(path),
            name: name.to_string(),
            found: view.shape().to_vec(),
        });
    }

    model.visit_params_mut(None, &mut |p| {
        let view = file.tensor(&p.name.to_string()).expect("checked above");
        let size = core::mem::size_of::<M::Scalar>();
        for (dst, src) in p.data.iter_mut().zip(view.data().chunks_exact(size)) {
            *dst = bytemuck::pod_read_unaligned(src);
        }
    });
    Ok(())
}

fn check(
    file: &SafeTensors<'_>,
    path: &Path,
    name: &str,
    shape: &[usize],
    want: Dtype,
) -> Result<(), Error> {
    let view = file.tensor(name).map_err(|_| Error::MissingTensor {
        path: shown(path),
        name: name.to_string(),
        expected: shape.to_vec(),
    })?;
    if view.dtype() != want {
        return Err(Error::DtypeMismatch {
            path: shown(path),
            name: name.to_string(),
            expected: if want == Dtype::F64 { "F64" } else { "F32" },
            found: view.dtype().to_string(),
        });
    }
    if view.shape() != shape {
        return Err(Error::ShapeMismatch {
            path: shown(path),
            name: name.to_string(),
            expected: shape.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    Ok(())
}

/// What a file that is not safetensors is, by its first bytes, for the error.
fn other_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        Some("an HDF5 file (Keras's `.weights.h5` or `.h5`)")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("a zip archive (Keras's `.keras`)")
    } else {
        None
    }
}

/// Checks a safetensors header the way the format defines it, naming the tensor at fault:
/// an 8-byte length, a JSON object of tensors whose dtype is known, whose byte range fits its
/// shape and lies in the data, the ranges covering the data in order with no gap or overlap.
/// (The `safetensors` crate checks the same, but its errors do not say which tensor.)
pub fn check_header(bytes: &[u8]) -> Result<(), String> {
    if let Some(what) = other_format(bytes) {
        return Err(format!(
            "this is {what}, not safetensors: read it with the model's own `load_weights`, \
             which reads Keras's files (`kiln::keras`)"
        ));
    }
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(format!(
            "truncated: {} bytes, but a safetensors file starts with an 8-byte header length",
            bytes.len()
        ));
    };
    let len = u64::from_le_bytes(*len);
    if len > rest.len() as u64 {
        return Err(format!(
            "its header claims {len} bytes, but only {} follow (truncated, or not safetensors)",
            rest.len()
        ));
    }
    let (header, data) = rest.split_at(len as usize);
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header)
        .map_err(|e| format!("its header is not a JSON object of tensors: {e}"))?;
    let mut ranges = Vec::new();
    for (name, t) in header.iter().filter(|(n, _)| *n != "__metadata__") {
        let bad = |what: String| Err(format!("tensor `{name}`: {what}"));
        let dtype = t.get("dtype").and_then(|d| d.as_str()).unwrap_or("");
        let Some(bits) = dtype_bits(dtype) else {
            return bad(format!("unknown dtype `{dtype}`"));
        };
        let ints = |key: &str| -> Option<Vec<u64>> {
            t.get(key)?.as_array()?.iter().map(|v| v.as_u64()).collect()
        };
        let (Some(shape), Some(offsets)) = (ints("shape"), ints("data_offsets")) else {
            return bad("`shape` and `data_offsets` must be lists of whole numbers".into());
        };
        let [start, end] = offsets[..] else {
            return bad(format!(
                "`data_offsets` has {} numbers, not 2",
                offsets.len()
            ));
        };
        let need = shape
            .iter()
            .try_fold(bits, |n, &d| n.checked_mul(d))
            .filter(|b| b % 8 == 0)
            .ok_or_else(|| {
                format!(
                    "tensor `{name}`: shape {shape:?} of {dtype} is not a whole number of bytes"
                )
            })?
            / 8;
        if start > end || end > data.len() as u64 {
            return bad(format!(
                "its bytes {start}..{end} are not inside the {} bytes of data",
                data.len()
            ));
        }
        if end - start != need {
            return bad(format!(
                "shape {shape:?} of {dtype} needs {need} bytes, but its offsets {start}..{end} \
                 hold {}",
                end - start
            ));
        }
        ranges.push((start, end, name.as_str()));
    }
    ranges.sort_unstable();
    let mut at = 0;
    for (start, end, name) in ranges {
        if start != at {
            return Err(format!(
                "tensor `{name}` starts at byte {start} of the data, where the tensor before it \
                 ends at {at} (a gap or an overlap)"
            ));
        }
        at = end;
    }
    if at != data.len() as u64 {
        return Err(format!(
            "the tensors end at byte {at} of the data, but it holds {}",
            data.len()
        ));
    }
    Ok(())
}

/// Bits per element of a safetensors dtype (every one the format defines).
fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ"
        | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}
