//! Writing Keras's files: Keras 3's `.weights.h5` ([`save_weights`]) and its `.keras` archive
//! ([`save_keras`]: the model's config, which the macro wrote as `Model::KERAS_CONFIG`, and the
//! same weights file), which `model.load_weights` and `keras.saving.load_model` read.

use crate::{Error, Model};
use kiln_core::keras::{hdf5, MAX_DEPTH};
use kiln_core::num_traits::ToPrimitive;
use kiln_core::{LayerRecord, NESTED_MARK};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The Keras version whose files kiln writes (and checks against, `scripts/check_kiln_weights.py`).
const KERAS_VERSION: &str = "3.15.1";

/// Writes `model`'s weights to `path`: Keras 3's weights file when the name ends in
/// `.weights.h5` (each layer's variables under `layers/<path>/vars/<i>`, a recurrent layer's
/// under `cell/vars`, as Keras's `model.save_weights` writes them, so Keras's
/// `model.load_weights` reads them into the same model), else kiln's safetensors. Always
/// float32, as Keras stores them; written through a temporary file.
///
/// # Errors
/// [`Error::InvalidArgument`] for a plain `.h5` name (Keras would read it as the legacy format);
/// [`Error::Io`] if the file cannot be written.
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
    let bytes = weights_h5(model, path)?;
    write(path, &bytes)
}

/// Writes `model` as Keras 3's `.keras` archive: `metadata.json`, `config.json` (the model's
/// architecture, [`Model::KERAS_CONFIG`]) and `model.weights.h5` (as [`save_weights`] writes
/// it), so `keras.saving.load_model(path)` rebuilds the model with kiln's weights and gives
/// kiln's predictions. No optimizer state or compile settings are written: Keras loads the
/// model uncompiled. Written through a temporary file.
///
/// # Errors
/// [`Error::InvalidArgument`] if the name does not end in `.keras` (Keras refuses to load it)
/// or the model has a layer Keras's config cannot hold (a nested model with several outputs);
/// [`Error::Io`] if the file cannot be written.
pub fn save_keras<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    if path.extension().and_then(|e| e.to_str()) != Some("keras") {
        return Err(Error::InvalidArgument(format!(
            "{}: a Keras model archive's name ends in `.keras` (Keras's `load_model` refuses \
             any other)",
            path.display()
        )));
    }
    let config = M::KERAS_CONFIG
        .map_err(str::to_string)
        .and_then(|c| full_config(c, M::LAYERS, 0))
        .map_err(|why| {
            Error::InvalidArgument(format!(
                "{}: Keras's config cannot describe {why}; `save_weights` to a `.weights.h5` \
                 name still writes the weights, for the same model built in Keras",
                path.display()
            ))
        })?
        .to_string();
    let weights = weights_h5(model, path)?;
    let metadata = format!(
        "{{\"keras_version\": \"{KERAS_VERSION}\", \"date_saved\": \"{}\", \"saved_by\": \"kiln {}\"}}",
        date_saved(std::time::SystemTime::now()),
        env!("CARGO_PKG_VERSION")
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Stored, not deflated, as Keras itself writes its archives.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(weights.len() >= u32::MAX as usize);
    let entries: [(&str, &[u8]); 3] = [
        ("metadata.json", metadata.as_bytes()),
        ("config.json", config.as_bytes()),
        ("model.weights.h5", &weights),
    ];
    let corrupt = |e: &dyn std::fmt::Display| Error::Corrupt {
        path: path.display().to_string(),
        reason: format!("writing the archive: {e}"),
    };
    for (name, bytes) in entries {
        zip.start_file(name, options).map_err(|e| corrupt(&e))?;
        zip.write_all(bytes).map_err(|e| corrupt(&e))?;
    }
    let bytes = zip.finish().map_err(|e| corrupt(&e))?.into_inner();
    write(path, &bytes)
}

/// The bytes of Keras 3's weights file for `model` (`path` is for errors).
fn weights_h5<M: Model>(model: &M, path: &Path) -> Result<Vec<u8>, Error> {
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
    add_layers(&mut root, M::LAYERS, "", &values);
    hdf5::write(&root).map_err(|reason| Error::Corrupt {
        path: path.display().to_string(),
        reason,
    })
}

/// `layers`' variables in `group` as Keras 3 keeps them: each layer's under
/// `layers/<path>/vars` (a recurrent layer's under its `cell`), a nested model's layers under
/// its own `layers/<path>/layers`. `prefix` is the nested model's part of kiln's names.
fn add_layers(
    group: &mut hdf5::Tree,
    layers: &[LayerRecord<'_>],
    prefix: &str,
    values: &[(String, Vec<usize>, Vec<f32>)],
) {
    for l in layers {
        if let Some(n) = l.nested {
            let own = group.at(l.keras_path);
            own.at("vars").name = Some(l.name.to_string());
            add_layers(own, n.layers, &format!("{prefix}{}/", l.name), values);
            continue;
        }
        let vars = if RECURRENT.contains(&l.class) {
            group.at(l.keras_path).at("vars").name = Some(l.name.to_string());
            format!("{}/cell/vars", l.keras_path)
        } else {
            format!("{}/vars", l.keras_path)
        };
        group.at(&vars).name = Some(l.name.to_string());
        for p in l.params {
            let full = format!("{prefix}{}/{p}", l.name);
            let (_, shape, data) = values
                .iter()
                .find(|(n, _, _)| *n == full)
                .expect("every parameter is visited");
            // A wrapper's copy (`Bidirectional`'s `forward_lstm/kernel`) keeps its variables
            // in its cell, in `forward_layer/cell/vars` (named `lstm_cell`, as Keras's).
            let (vars, name) = match kiln_core::keras::wrapped(p) {
                Some((sub, copy, _)) => {
                    let own = format!("{}/{sub}", l.keras_path);
                    group.at(&format!("{own}/vars")).name = Some(copy.to_string());
                    let cell = copy.split_once('_').map_or(copy, |(_, c)| c);
                    (format!("{own}/cell/vars"), format!("{cell}_cell"))
                }
                None => (vars.clone(), l.name.to_string()),
            };
            let vars = group.at(&vars);
            vars.name = Some(name);
            let i = vars.datasets.len();
            vars.datasets
                .push((i.to_string(), shape.clone(), data.clone()));
        }
    }
}

/// The model's Keras config with every nested model's own config in place of its mark
/// ([`kiln_core::NESTED_MARK`]), or why Keras's config cannot describe it.
fn full_config(config: &str, layers: &[LayerRecord<'_>], depth: usize) -> Result<Value, String> {
    let mut v: Value = serde_json::from_str(config).map_err(|e| format!("its config: {e}"))?;
    let Some(entries) = v
        .pointer_mut("/config/layers")
        .and_then(Value::as_array_mut)
    else {
        return Ok(v);
    };
    for entry in entries {
        if entry.pointer(&format!("/config/{NESTED_MARK}")).is_none() {
            continue;
        }
        let name = entry["config"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let n = layers
            .iter()
            .find(|l| l.name == name)
            .and_then(|l| l.nested)
            .ok_or_else(|| format!("nested layer `{name}`: kiln lost its record"))?;
        let inside = |why: String| format!("{why}, inside the nested model `{name}` ({})", n.ty);
        // A model nests only models defined before it, so this ends; the bound is a guard.
        if depth >= MAX_DEPTH {
            return Err(inside(format!("models nested more than {MAX_DEPTH} deep")));
        }
        let mut inner = n
            .keras_config
            .map_err(str::to_string)
            .and_then(|inner| full_config(inner, n.layers, depth + 1))
            .map_err(inside)?;
        inner["config"]["name"] = Value::from(name);
        for key in ["module", "class_name", "config", "registered_name"] {
            entry[key] = inner[key].take();
        }
    }
    Ok(v)
}

/// Writes `bytes` to `path` through a temporary file beside it, so a failed write leaves any
/// earlier file whole.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// `time` as Keras writes `date_saved` (`2026-12-08@03:04:05`), in UTC.
fn date_saved(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The classes whose variables Keras keeps in their cell (`layers/lstm/cell/vars`).
const RECURRENT: [&str; 3] = ["LSTM", "GRU", "SimpleRNN"];

#[cfg(test)]
mod tests {
    use super::date_saved;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_as_keras_writes_them() {
        let at = |s: u64| date_saved(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01@00:00:00");
        // 2000-02-29 23:59:59 (a leap day in a century year divisible by 400).
        assert_eq!(at(951_868_799), "2000-02-29@23:59:59");
        // 2026-12-08 03:04:05.
        assert_eq!(at(1_796_699_045), "2026-12-08@03:04:05");
        // 2100-03-01 00:00:00 (2100 is not a leap year).
        assert_eq!(at(4_107_542_400), "2100-03-01@00:00:00");
    }
}
