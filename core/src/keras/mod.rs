//! Keras's own files, read: Keras 3's `.keras` archive and `.weights.h5`, and the legacy `.h5`
//! model file, each parameter found under kiln's name (`dense/kernel`) for a model described by
//! its [`LayerRecord`]s. The run-time `load_weights` of `kiln::keras` and the compile-time
//! `weights = "model.keras"` of `model!` both read through [`read`]. (Feature `keras`: it needs
//! Rust 1.89, for `hdf5-pure`; the rest of kiln-core keeps 1.85.)

mod archive;
mod config;
pub mod hdf5;
mod legacy;
mod v3;

pub use archive::read_config;

use crate::model::LayerRecord;
use alloc::string::String;
use alloc::vec::Vec;

/// How deep models may nest in a Keras file kiln reads or writes (models in models): a bound
/// against hostile files (a cycle of group links, a config nested without end), far above
/// what real models use.
pub const MAX_DEPTH: usize = 16;

/// One tensor read from a Keras file: kiln's name for it, where it is in the file, its shape
/// and its values (widened to `f64`, which holds Keras's `float32` exactly).
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// `<layer>/<param>`, as kiln names it.
    pub name: String,
    /// Where the file keeps it (`layers/dense/vars/0`).
    pub at: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f64>,
}

/// Where a wrapper's parameter sits in Keras 3's weights files: `Bidirectional`'s
/// `forward_lstm/kernel` is the variable `kernel` of the copy `forward_lstm`, kept under the
/// wrapper's group in `forward_layer` (`backward_layer` for `backward_…`), whose `vars` is named
/// after the copy. `None` for a parameter of the layer's own (`kernel`).
pub fn wrapped(param: &str) -> Option<(&'static str, &str, &str)> {
    let (copy, var) = param.split_once('/')?;
    let sub = if copy.starts_with("forward_") {
        "forward_layer"
    } else if copy.starts_with("backward_") {
        "backward_layer"
    } else {
        return None;
    };
    Some((sub, copy, var))
}

/// The formats kiln reads weights from, by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HDF5: Keras 3's `.weights.h5` or a legacy `.h5` model file.
    Hdf5,
    /// A zip archive: Keras 3's `.keras`.
    Keras,
    /// Anything else is read as safetensors, kiln's own format.
    Safetensors,
}

impl Format {
    /// The format of a file that starts with `bytes`.
    pub fn of(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
            Format::Hdf5
        } else if bytes.starts_with(b"PK\x03\x04") {
            Format::Keras
        } else {
            Format::Safetensors
        }
    }
}

/// The parameters of the model `layers` describes, from the bytes of a Keras file (`.keras`,
/// `.weights.h5`, legacy `.h5`). A `.keras` entry larger than `limit` bytes is refused before it
/// is inflated, and a dataset of more than `limit / 4` values before it is read. Every pairing of kiln's layers with the file's is checked (class, variable
/// count); the shapes are the caller's to check against its parameters.
///
/// # Errors
/// The problem in words; a panic of the HDF5 reader on malformed bytes is reported as one.
pub fn read(bytes: Vec<u8>, layers: &[LayerRecord<'_>], limit: u64) -> Result<Vec<Found>, String> {
    let format = Format::of(&bytes);
    let max = usize::try_from(limit / 4).unwrap_or(usize::MAX);
    // The HDF5 reader is given untrusted bytes: should it panic on a malformed file, that is
    // reported as a corrupt file rather than taking the program down.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || match format {
        Format::Keras => {
            let a = archive::read(&bytes, limit)?;
            let file = config::layers(&a.config)?;
            let names = config::pair(layers, &file)?;
            let h5 = hdf5::H5::parse(a.weights)
                .map_err(|e| alloc::format!("`model.weights.h5` is not readable HDF5: {e}"))?;
            v3::tensors(&h5, layers, &names, max)
        }
        Format::Hdf5 => {
            let h5 =
                hdf5::H5::parse(bytes).map_err(|e| alloc::format!("not readable HDF5: {e}"))?;
            if legacy::is_legacy(&h5) {
                legacy::tensors(&h5, layers, max)
            } else {
                v3::tensors(&h5, layers, &config::Names::own(layers), max)
            }
        }
        Format::Safetensors => Err("not a Keras file (neither HDF5 nor zip)".into()),
    }));
    read.unwrap_or_else(|_| Err("the HDF5 reader failed on a malformed file".into()))
}

/// Layer `l`'s parameters from the datasets at `paths`, one per parameter in order, each of at
/// most `max` values.
fn layer_tensors(
    h5: &hdf5::H5,
    l: &LayerRecord<'_>,
    paths: impl IntoIterator<Item = String>,
    max: usize,
) -> Result<Vec<Found>, String> {
    paths
        .into_iter()
        .zip(l.params)
        .map(|(at, p)| tensor(h5, alloc::format!("{}/{p}", l.name), at, max))
        .collect()
}

/// The dataset at `at`, of at most `max` values, as kiln's parameter `name`.
fn tensor(h5: &hdf5::H5, name: String, at: String, max: usize) -> Result<Found, String> {
    let t = h5
        .floats(&at, max)
        .map_err(|e| alloc::format!("dataset `{at}` {e}"))?;
    Ok(Found {
        name,
        at,
        shape: t.shape,
        data: t.data,
    })
}
