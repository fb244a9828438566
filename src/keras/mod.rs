//! Keras's own files: Keras 3's `.keras` archive and `.weights.h5`, and the legacy `.h5` model
//! file, read into kiln models; and Keras 3's `.weights.h5` and `.keras` written from them,
//! which Keras's `model.load_weights` and `keras.saving.load_model` read. [`load_weights`]
//! tells the formats (and kiln's safetensors) apart by their first bytes, [`save_weights`] by
//! the file's name; every generated model's `load_weights`, `save_weights` and `save_keras`
//! call them.
//!
//! Weights are matched to kiln's layers by the layer names the file records, checked against
//! the layer classes of the model config when the file has one (`.keras`, legacy `.h5`); a
//! Sequential model saved in another Keras session (whose automatic names count on) is matched
//! by position. A nested model's layers are matched the same way inside it (its config, or its
//! group `layers/sequential/layers/…`). Every tensor is read and checked before any is copied:
//! on `Err` the model is unchanged.

mod import;
mod reference;
mod save;

pub use import::{import, plot};
pub use kiln_core::keras::{Format, Found};
pub use reference::Reference;
pub use save::{save_keras, save_weights};

use crate::{Error, Model, Scalar};
use std::path::Path;

/// Reads `model`'s weights from `path`: a Keras `.keras` archive, a Keras 3 `.weights.h5`, a
/// legacy Keras `.h5` model file, or kiln's safetensors, told apart by their first bytes.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::MissingTensor`],
/// [`Error::ShapeMismatch`] or [`Error::DtypeMismatch`] naming the parameter and where the file
/// keeps it; [`Error::Corrupt`] for a file that is not what it claims or does not fit the
/// model (a layer of another class, a layer with weights kiln lacks, an entry larger than the
/// model can need). The model is unchanged on every error.
pub fn load_weights<M: Model>(model: &mut M, path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    let corrupt = |reason: String| Error::Corrupt {
        path: shown.clone(),
        reason,
    };
    if Format::of(&bytes) == Format::Safetensors {
        return model.load_weights(path);
    }
    // What a weights file can need: the model's values (f64 at most) and an optimizer's state
    // beside them (Adam keeps two more per value), plus HDF5's bookkeeping per layer.
    let limit = (M::PARAMS as u64) * 16 + (1 << 20) * (M::LAYERS.len() as u64 + 1);
    let found = kiln_core::keras::read(bytes, M::LAYERS, limit).map_err(corrupt)?;
    apply(model, found, &shown)
}

/// Checks that `found` holds every parameter of `model` in its shape, then copies them in.
fn apply<M: Model>(model: &mut M, found: Vec<Found>, shown: &str) -> Result<(), Error> {
    let mut error = None;
    model.visit_params(None, &mut |p| {
        if error.is_some() {
            return;
        }
        let name = p.name.to_string();
        match found.iter().find(|f| f.name == name) {
            None => {
                error = Some(Error::MissingTensor {
                    path: shown.to_string(),
                    name,
                    expected: p.shape.to_vec(),
                })
            }
            Some(f) if f.shape != p.shape => {
                error = Some(Error::ShapeMismatch {
                    path: format!("{shown} (`{}`)", f.at),
                    name,
                    expected: p.shape.to_vec(),
                    found: f.shape.clone(),
                })
            }
            Some(_) => {}
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    model.visit_params_mut(None, &mut |p| {
        let f = found
            .iter()
            .find(|f| f.name == p.name.to_string())
            .expect("checked above");
        for (d, &v) in p.data.iter_mut().zip(&f.data) {
            *d = M::Scalar::of(v);
        }
    });
    Ok(())
}
