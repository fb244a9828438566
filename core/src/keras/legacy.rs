//! The legacy Keras `.h5` model file (`model.save("x.h5")`, Keras 2's format, still written by
//! Keras 3): the model's config in the root attribute `model_config`, and each layer's weights
//! in `model_weights/<layer name>/`, listed in order by the group's `weight_names` attribute
//! (a dataset's path is the group's, then its weight name).

use super::config::{self, Names};
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
    let names: Vec<Names> = match h5.strings("/", "model_config")? {
        Some(json) => config::pair(layers, &config::layers(&json.concat())?)?,
        // A weights-only file (`save_weights("x.h5")` in Keras 2): layers by name.
        None => Names::own(layers),
    };
    let listed = h5.strings(root, "layer_names")?.unwrap_or_default();
    let taken: Vec<&String> = names.iter().map(|n| &n.name).collect();
    let mut found = Vec::new();
    for (l, n) in layers.iter().zip(&names) {
        let name = &n.name;
        let group = if root == "/" {
            name.clone()
        } else {
            format!("{root}/{name}")
        };
        if l.params.is_empty() && l.nested.is_none() {
            continue;
        }
        if !h5.is_group(&group) {
            return Err(format!(
                "the file has no weights group `{group}` for layer `{name}`"
            ));
        }
        let weight_names = h5.strings(&group, "weight_names")?.unwrap_or_default();
        let wanted = match l.nested {
            Some(_) => nested(l, n, &weight_names)?,
            None => {
                if weight_names.len() != l.params.len() {
                    return Err(format!(
                        "`{group}` lists {} weights {weight_names:?}, but kiln's layer `{}` ({}) \
                         has {}: {:?}",
                        weight_names.len(),
                        l.name,
                        l.class,
                        l.params.len(),
                        l.params
                    ));
                }
                weight_names
                    .iter()
                    .zip(l.params)
                    .map(|(w, p)| (format!("{}/{p}", l.name), w.clone()))
                    .collect()
            }
        };
        for (kiln, w) in wanted {
            found.push(super::tensor(h5, kiln, format!("{group}/{w}"), max)?);
        }
    }
    // Layers of the file with weights that no layer of kiln's took.
    for extra in listed.iter().filter(|n| !taken.contains(n)) {
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

/// For kiln's nested model `l` (the file's `n.name`), kiln's name and the file's weight name of
/// each of its parameters. The file lists all of them on the nested model's group, each as
/// `<its layer>/<weight>`, after the nested model's name for a Sequential one
/// (`block/dense_2/kernel`), and after the outer model's too when that is Sequential
/// (`outer/block/dense/kernel`); each of kiln's layers takes those of the layer paired with it,
/// in order.
fn nested(
    l: &LayerRecord<'_>,
    n: &Names,
    weight_names: &[String],
) -> Result<Vec<(String, String)>, String> {
    let inner = l.nested.expect("a nested model").layers;
    // The layer a weight name belongs to: the part after the nested model's own name, else the
    // first (a functional model's weights are named `<layer>/<weight>` alone).
    let owner = |w: &str| -> String {
        let parts: Vec<&str> = w.split('/').collect();
        let after = parts[..parts.len().saturating_sub(2)]
            .iter()
            .position(|p| *p == n.name)
            .map_or(0, |i| i + 1);
        parts.get(after).copied().unwrap_or_default().to_string()
    };
    let mut out = Vec::new();
    for (il, iname) in inner.iter().zip(&n.inner) {
        if il.nested.is_some() {
            return Err(format!(
                "`{}` nests a model in a nested model (`{}`); kiln reads only one level of nesting \
                 from legacy `.h5` files (Keras 3's `.keras` and `.weights.h5` have no such limit)",
                l.name, il.name
            ));
        }
        let own: Vec<&String> = weight_names
            .iter()
            .filter(|w| owner(w) == iname.name)
            .collect();
        if own.len() != il.params.len() {
            return Err(format!(
                "the file lists {} weights {own:?} for `{}` in the nested model `{}` (of all its \
                 weights {weight_names:?}), but kiln's layer `{}` ({}) has {}: {:?}",
                own.len(),
                iname.name,
                n.name,
                il.name,
                il.class,
                il.params.len(),
                il.params
            ));
        }
        for (w, p) in own.into_iter().zip(il.params) {
            out.push((format!("{}/{}/{p}", l.name, il.name), w.clone()));
        }
    }
    if out.len() != weight_names.len() {
        return Err(format!(
            "the nested model `{}` lists {} weights {weight_names:?}, but kiln's `{}` takes {}",
            n.name,
            weight_names.len(),
            l.name,
            out.len()
        ));
    }
    Ok(out)
}
