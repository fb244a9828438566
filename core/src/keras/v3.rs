//! Keras 3's weights layout (`.weights.h5`, and `model.weights.h5` inside a `.keras` archive):
//! each layer's variables are datasets `layers/<path>/vars/0`, `vars/1`, … (a recurrent
//! layer's under `layers/<path>/cell/vars`), trainable first; `<path>` is Keras's automatic
//! name for the class, numbered within the model, and `vars` carries the layer's own name.

use super::hdf5::H5;
use super::Found;
use crate::model::LayerRecord;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The `vars` group holding a layer's variables, under its group `g`: its own, or its cell's.
fn vars_group(h5: &H5, g: &str) -> Result<String, String> {
    let own = format!("{g}/vars");
    let cell = format!("{g}/cell/vars");
    if h5.is_group(&cell) && h5.datasets(&own).map_or(true, |d| d.is_empty()) {
        return Ok(cell);
    }
    if h5.is_group(&own) {
        return Ok(own);
    }
    Err(format!("`{g}` has no `vars` group"))
}

/// Each layer group of the file with the layer name its `vars` records.
fn index(h5: &H5) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for g in h5.groups("layers")? {
        let path = format!("layers/{g}");
        let name = h5
            .strings(&format!("{path}/vars"), "name")?
            .and_then(|n| n.into_iter().next())
            .unwrap_or_else(|| g.clone());
        out.push((path, name));
    }
    Ok(out)
}

/// The tensors of kiln's `layers` from a Keras 3 weights file, each layer found by its name
/// (`names[i]`: the name the file's model gives kiln's layer `i`), or failing that by the path
/// Keras itself would give it (a Sequential model's layers in order). Every variable of the file
/// must go to a parameter.
pub fn tensors(
    h5: &H5,
    layers: &[LayerRecord<'_>],
    names: &[&str],
    max: usize,
) -> Result<Vec<Found>, String> {
    if !h5.is_group("layers") {
        return Err("an HDF5 file without a `layers` group is not a Keras 3 weights file".into());
    }
    let groups = index(h5)?;
    let mut used = Vec::new();
    let mut found = Vec::new();
    for (l, &name) in layers.iter().zip(names) {
        // The path Keras itself reads from (its layers' class order), if the layer there is
        // this one or no group is named for it; else the group named for it.
        let named = groups
            .iter()
            .find(|(_, n)| n == name)
            .map(|(g, _)| g.clone());
        let at_path = groups
            .iter()
            .find(|(g, _)| g == l.keras_path)
            .filter(|(_, n)| n == name || named.is_none())
            .map(|(g, _)| g.clone());
        let group = at_path.or(named);
        let Some(group) = group else {
            if l.params.is_empty() {
                continue;
            }
            return Err(format!(
                "no layer `{name}` in the file (looked for a group whose `vars` is named so, and \
                 for `{}`)",
                l.keras_path
            ));
        };
        if l.nested
            && h5
                .groups(&group)
                .is_ok_and(|g| g.iter().any(|c| c == "layers"))
        {
            return Err(format!(
                "layer `{}` is a nested model; kiln does not read nested models from Keras files yet",
                l.name
            ));
        }
        if used.contains(&group) {
            return Err(format!(
                "two of kiln's layers would read `{group}`; the second is `{}` ({})",
                l.name, l.class
            ));
        }
        let vars = vars_group(h5, &group)?;
        let count = h5.datasets(&vars)?.len();
        if count != l.params.len() {
            return Err(format!(
                "`{vars}` holds {count} variables, but kiln's layer `{}` ({}) has {}: {:?}",
                l.name,
                l.class,
                l.params.len(),
                l.params
            ));
        }
        let paths = (0..l.params.len()).map(|i| format!("{vars}/{i}"));
        found.extend(super::layer_tensors(h5, l, paths, max)?);
        used.push(group);
    }
    for (g, name) in &groups {
        if used.contains(g) {
            continue;
        }
        let vars = vars_group(h5, g).unwrap_or_default();
        if !vars.is_empty() && !h5.datasets(&vars)?.is_empty() {
            return Err(format!(
                "the file's layer `{name}` (`{g}`) has weights, but kiln's model has no such layer"
            ));
        }
    }
    Ok(found)
}
