//! Keras's own files: Keras 3's `.keras` archive and `.weights.h5`, and the legacy `.h5` model
//! file, read into kiln models; and Keras 3's `.weights.h5` written from them, which Keras's
//! `model.load_weights` reads. [`load_weights`] tells the formats (and kiln's safetensors) apart
//! by their first bytes, [`save_weights`] by the file's name; every generated model's
//! `load_weights` and `save_weights` call them.
//!
//! Weights are matched to kiln's layers by the layer names the file records, checked against
//! the layer classes of the model config when the file has one (`.keras`, legacy `.h5`); a
//! Sequential model saved in another Keras session (whose automatic names count on) is matched
//! by position. Every tensor is read and checked before any is copied: on `Err` the model is
//! unchanged. Nested models are not read from Keras files yet.

mod import;
mod reference;

pub use import::{import, plot};
pub use kiln_core::keras::{Format, Found};
pub use reference::Reference;

use crate::{Error, Model, Scalar};
use kiln_core::keras::hdf5;
use kiln_core::num_traits::ToPrimitive;
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

/// Writes `model`'s weights to `path`: Keras 3's weights file when the name ends in
/// `.weights.h5` (each layer's variables under `layers/<path>/vars/<i>`, a recurrent layer's
/// under `cell/vars`, as Keras's `model.save_weights` writes them, so Keras's
/// `model.load_weights` reads them into the same model), else kiln's safetensors. Always
/// float32, as Keras stores them; written through a temporary file.
///
/// # Errors
/// [`Error::InvalidArgument`] for a plain `.h5` name (Keras would read it as the legacy format)
/// or a model with a nested model; [`Error::Io`] if the file cannot be written.
pub fn save_weights<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.ends_with(".h5") {
        return model.save_weights(path);
    }
    if !name.ends_with(".weights.h5") {
        return Err(Error::InvalidArgument(format!(
            "{}: kiln writes Keras 3's weights file, whose name ends in `.weights.h5` (Keras reads \
             a plain `.h5` as its legacy format)",
            path.display()
        )));
    }
    if let Some(l) = M::LAYERS.iter().find(|l| l.nested) {
        return Err(Error::InvalidArgument(format!(
            "{}: layer `{}` is a nested model; kiln does not write nested models to Keras files \
             yet",
            path.display(),
            l.name
        )));
    }
    let mut values: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    model.visit_params(None, &mut |p| {
        let data = p
            .data
            .iter()
            .map(|v| v.to_f32().unwrap_or(f32::NAN))
            .collect();
        values.push((p.name.to_string(), p.shape.to_vec(), data));
    });
    let mut root = hdf5::Tree::default();
    root.at("vars").name = Some(M::NAME.to_string());
    root.at("layers");
    for l in M::LAYERS {
        let vars = if RECURRENT.contains(&l.class) {
            root.at(l.keras_path).at("vars").name = Some(l.name.to_string());
            format!("{}/cell/vars", l.keras_path)
        } else {
            format!("{}/vars", l.keras_path)
        };
        let group = root.at(&vars);
        group.name = Some(l.name.to_string());
        for (i, p) in l.params.iter().enumerate() {
            let full = format!("{}/{p}", l.name);
            let (_, shape, data) = values
                .iter()
                .find(|(n, _, _)| *n == full)
                .expect("every parameter is visited");
            group
                .datasets
                .push((i.to_string(), shape.clone(), data.clone()));
        }
    }
    let bytes = hdf5::write(&root).map_err(|reason| Error::Corrupt {
        path: path.display().to_string(),
        reason,
    })?;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("h5.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The classes whose variables Keras keeps in their cell (`layers/lstm/cell/vars`).
const RECURRENT: [&str; 3] = ["LSTM", "GRU", "SimpleRNN"];
