//! The legacy Keras `.h5` model file (`model.save("x.h5")`, Keras 2's format, still written by
//! Keras 3): the model's config in the root attribute `model_config`, and each layer's weights
//! in `model_weights/<layer name>/`, listed in order by the group's `weight_names` attribute
//! (a dataset's path is the group's, then its weight name).

use super::config;
use super::hdf5::H5;
use super::Found;
use crate::model::LayerRecord;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Whether `h5` is a legacy model file (or a legacy weights file, which has no config).
pub fn is_legacy(h5: &H5) -> bool {
    h5.is_group("model_weights") || h5.strings("/", "layer_names").is_ok_and(|n| n.is_some())
}

/// The tensors of kiln's `layers` from a legacy file, each layer paired with the file's by the
/// model config (by name, or by position and class).
pub fn tensors(h5: &H5, layers: &[LayerRecord<'_>], max: usize) -> Result<Vec<Found>, String> {
    let root = if h5.is_group("model_weights") {
        "model_weights"
    } else {
        "/"
    };
    let names: Vec<String> = match h5.strings("/", "model_config")? {
        Some(json) => {
            let file = config::layers(&json.concat())?;
            config::pair(layers, &file)?
                .into_iter()
                .map(|c| c.name.clone())
                .collect()
        }
        // A weights-only file (`save_weights("x.h5")` in Keras 2): layers by name.
        None => layers.iter().map(|l| l.name.to_string()).collect(),
    };
    let listed = h5.strings(root, "layer_names")?.unwrap_or_default();
    let mut found = Vec::new();
    for (l, name) in layers.iter().zip(&names) {
        let group = if root == "/" {
            name.clone()
        } else {
            format!("{root}/{name}")
        };
        if l.params.is_empty() {
            continue;
        }
        if l.nested {
            return Err(format!(
                "layer `{}` is a nested model; kiln does not read nested models from Keras files yet",
                l.name
            ));
        }
        if !h5.is_group(&group) {
            return Err(format!(
                "the file has no weights group `{group}` for layer `{name}`"
            ));
        }
        let weight_names = h5.strings(&group, "weight_names")?.unwrap_or_default();
        if weight_names.len() != l.params.len() {
            return Err(format!(
                "`{group}` lists {} weights {weight_names:?}, but kiln's layer `{}` ({}) has {}: \
                 {:?}",
                weight_names.len(),
                l.name,
                l.class,
                l.params.len(),
                l.params
            ));
        }
        let paths = weight_names.iter().map(|w| format!("{group}/{w}"));
        found.extend(super::layer_tensors(h5, l, paths, max)?);
    }
    // Layers of the file with weights that no layer of kiln's took.
    for extra in listed.iter().filter(|n| !names.contains(n)) {
        let group = format!("{root}/{extra}");
        let group = group.trim_start_matches('/');
        if h5
            .strings(group, "weight_names")?
            .is_some_and(|w| !w.is_empty())
        {
            return Err(format!(
                "the file's layer `{extra}` has weights, but kiln's model has no such layer"
            ));
        }
    }
    Ok(found)
}
