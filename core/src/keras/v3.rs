//! Keras 3's weights layout (`.weights.h5`, and `model.weights.h5` inside a `.keras` archive):
//! each layer's variables are datasets `layers/<path>/vars/0`, `vars/1`, … (a recurrent
//! layer's under `layers/<path>/cell/vars`, a `Bidirectional`'s copies' under
//! `layers/<path>/forward_layer/cell/vars` and `backward_layer/…`), trainable first; `<path>` is Keras's automatic
//! name for the class, numbered within the model, and `vars` carries the layer's own name. A
//! nested model's group holds its own `layers/…` the same way (`layers/sequential/layers/dense`).

use super::config::Names;
use super::hdf5::H5;
use super::{Found, MAX_DEPTH};
use crate::model::LayerRecord;
use alloc::format;
use alloc::string::{String, ToString};
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

/// The datasets of `l`'s parameters under its group `group`, in order: its own `vars`, or for
/// a wrapper's (`forward_lstm/kernel`, [`super::wrapped`]) its copy's, in `forward_layer` or
/// `backward_layer`. Each `vars` group must hold exactly the parameters kiln reads from it.
fn param_paths(h5: &H5, group: &str, l: &LayerRecord<'_>) -> Result<Vec<String>, String> {
    let sub = |p: &str| super::wrapped(p).map(|(s, _, _)| s);
    let mut out = Vec::new();
    // A layer without parameters still has an empty `vars`.
    let mut own = l.params.is_empty();
    if own {
        let vars = vars_group(h5, group)?;
        let count = h5.datasets(&vars)?.len();
        if count != 0 {
            return Err(format!(
                "`{vars}` holds {count} variables, but kiln's layer `{}` ({}) has none",
                l.name, l.class
            ));
        }
    }
    let mut i = 0;
    while i < l.params.len() {
        let at = l.params.get(i).and_then(|p| sub(p));
        let run = l.params[i..].iter().take_while(|p| sub(p) == at).count();
        own |= at.is_none();
        let g = match at {
            Some(s) => format!("{group}/{s}"),
            None => group.to_string(),
        };
        let vars = vars_group(h5, &g)?;
        let count = h5.datasets(&vars)?.len();
        if count != run {
            let params: Vec<&&str> = l.params[i..i + run].iter().collect();
            return Err(format!(
                "`{vars}` holds {count} variables, but kiln's layer `{}` ({}) has {run} there: \
                 {params:?}",
                l.name, l.class,
            ));
        }
        out.extend((0..run).map(|k| format!("{vars}/{k}")));
        i += run;
    }
    if !own {
        // A wrapper's own `vars` holds nothing.
        let vars = format!("{group}/vars");
        if h5.is_group(&vars) && !h5.datasets(&vars)?.is_empty() {
            return Err(format!(
                "`{vars}` holds variables, but kiln's layer `{}` ({}) has none of its own",
                l.name, l.class
            ));
        }
    }
    Ok(out)
}

/// Each layer group under `base` (`""` for the model, a nested model's group otherwise) with
/// the layer name its `vars` records.
fn index(h5: &H5, base: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for g in h5.groups(&under(base, "layers"))? {
        let path = under(base, &format!("layers/{g}"));
        let name = h5
            .strings(&format!("{path}/vars"), "name")?
            .and_then(|n| n.into_iter().next())
            .unwrap_or_else(|| g.clone());
        out.push((path, name));
    }
    Ok(out)
}

/// `path` under the group `base` (the file's root when empty).
fn under(base: &str, path: &str) -> String {
    if base.is_empty() {
        path.to_string()
    } else {
        format!("{base}/{path}")
    }
}

/// Whether a layer has parameters, its own or (a nested model) its layers'.
fn has_params(l: &LayerRecord<'_>) -> bool {
    !l.params.is_empty() || l.nested.is_some_and(|n| n.layers.iter().any(has_params))
}

/// The tensors of kiln's `layers` from a Keras 3 weights file, each layer found by its name
/// (`names[i]`: the name the file's model gives kiln's layer `i`), or failing that by the path
/// Keras itself would give it (a Sequential model's layers in order); a nested model's layers
/// the same way inside its group. Every variable of the file must go to a parameter.
pub fn tensors(
    h5: &H5,
    layers: &[LayerRecord<'_>],
    names: &[Names],
    max: usize,
) -> Result<Vec<Found>, String> {
    if !h5.is_group("layers") {
        return Err("an HDF5 file without a `layers` group is not a Keras 3 weights file".into());
    }
    in_group(h5, "", layers, names, max, 0)
}

/// [`tensors`] for the model whose layers are under `base`.
fn in_group(
    h5: &H5,
    base: &str,
    layers: &[LayerRecord<'_>],
    names: &[Names],
    max: usize,
    depth: usize,
) -> Result<Vec<Found>, String> {
    if depth > MAX_DEPTH {
        return Err(format!("`{base}` nests models more than {MAX_DEPTH} deep"));
    }
    let groups = index(h5, base)?;
    let mut used = Vec::new();
    let mut found = Vec::new();
    for (l, names) in layers.iter().zip(names) {
        let name = names.name.as_str();
        let keras_path = under(base, l.keras_path);
        // The path Keras itself reads from (its layers' class order), if the layer there is
        // this one or no group is named for it; else the group named for it.
        let named = groups
            .iter()
            .find(|(_, n)| n == name)
            .map(|(g, _)| g.clone());
        let at_path = groups
            .iter()
            .find(|(g, _)| *g == keras_path)
            .filter(|(_, n)| n == name || named.is_none())
            .map(|(g, _)| g.clone());
        let group = at_path.or(named);
        let Some(group) = group else {
            if !has_params(l) {
                continue;
            }
            return Err(format!(
                "no layer `{name}` in the file (looked for a group whose `vars` is named so, and \
                 for `{keras_path}`)"
            ));
        };
        if used.contains(&group) {
            return Err(format!(
                "two of kiln's layers would read `{group}`; the second is `{}` ({})",
                l.name, l.class
            ));
        }
        used.push(group.clone());
        if let Some(n) = l.nested {
            if !h5.is_group(&format!("{group}/layers")) {
                return Err(format!(
                    "`{group}` is not a model's group (it has no `layers`), but kiln's `{}` is a \
                     nested model ({})",
                    l.name, n.ty
                ));
            }
            let inner = in_group(h5, &group, n.layers, &names.inner, max, depth + 1)?;
            found.extend(inner.into_iter().map(|f| Found {
                name: format!("{}/{}", l.name, f.name),
                ..f
            }));
            continue;
        }
        let paths = param_paths(h5, &group, l)?;
        found.extend(super::layer_tensors(h5, l, paths, max)?);
    }
    for (g, name) in &groups {
        if used.contains(g) {
            continue;
        }
        let mut visits = VISITS;
        if has_weights(h5, g, depth + 1, &mut visits)? {
            return Err(format!(
                "the file's layer `{name}` (`{g}`) has weights, but kiln's model has no such layer"
            ));
        }
    }
    Ok(found)
}

/// How many groups [`has_weights`] looks into for one layer kiln does not have: with the depth
/// bound, this keeps a file whose groups link to each other many times over (each a few bytes)
/// from costing time exponential in its depth.
const VISITS: usize = 10_000;

/// Whether the file's layer group `g` holds any variable: its own, or (a nested model) its
/// layers', at most [`MAX_DEPTH`] models deep and `visits` groups in all.
fn has_weights(h5: &H5, g: &str, depth: usize, visits: &mut usize) -> Result<bool, String> {
    if depth > MAX_DEPTH {
        return Err(format!("`{g}` nests models more than {MAX_DEPTH} deep"));
    }
    *visits = visits
        .checked_sub(1)
        .ok_or_else(|| format!("`{g}`: the file's groups nest past what any model holds"))?;
    for g in [
        g.to_string(),
        format!("{g}/forward_layer"),
        format!("{g}/backward_layer"),
    ] {
        let vars = vars_group(h5, &g).unwrap_or_default();
        if !vars.is_empty() && !h5.datasets(&vars)?.is_empty() {
            return Ok(true);
        }
    }
    if !h5.is_group(&format!("{g}/layers")) {
        return Ok(false);
    }
    for (inner, _) in index(h5, g)? {
        if has_weights(h5, &inner, depth + 1, visits)? {
            return Ok(true);
        }
    }
    Ok(false)
}
