//! Weight files in safetensors format, named and laid out as Keras names and lays them out
//! (`conv2d/kernel` as `[kh, kw, in, out]`), so weights move between kiln and Keras.

use crate::error::Error;
use crate::model::Model;
use crate::scalar::Scalar;
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
    let file = SafeTensors::deserialize(&bytes).map_err(|e| Error::Corrupt {
        path: shown(path),
        reason: e.to_string(),
    })?;
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
