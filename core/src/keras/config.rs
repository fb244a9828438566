//! A Keras model's `config.json` (or a legacy `.h5` file's `model_config`): its layers' classes
//! and names in Keras's order, which is what ties the file's weights to kiln's layers.

use super::MAX_DEPTH;
use crate::model::LayerRecord;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// One layer of the file's model.
pub struct ConfigLayer {
    pub class: String,
    pub name: String,
    /// A nested model's own config (`Sequential`, `Functional`).
    pub inner: Option<Config>,
}

/// A model config's layers, its input layers left out, and whether it is a Sequential model.
pub struct Config {
    pub layers: Vec<ConfigLayer>,
    pub sequential: bool,
}

/// The file's name for one of kiln's layers and, for a nested model, its layers' names.
pub struct Names {
    pub name: String,
    pub inner: Vec<Names>,
}

impl Names {
    /// kiln's own names for `layers` (a file that records no model config).
    pub fn own(layers: &[LayerRecord<'_>]) -> Vec<Names> {
        layers
            .iter()
            .map(|l| Names {
                name: l.name.to_string(),
                inner: l.nested.map_or_else(Vec::new, |n| Names::own(n.layers)),
            })
            .collect()
    }
}

/// The layers of a model config, its input layers left out.
pub fn layers(json: &str) -> Result<Config, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("the model config is not JSON: {e}"))?;
    model(&v, 0)
}

/// A model's config (`{"class_name": …, "config": {"layers": …}}`), at nesting depth `depth`.
fn model(v: &serde_json::Value, depth: usize) -> Result<Config, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "the model config nests models more than {MAX_DEPTH} deep"
        ));
    }
    let sequential = v.get("class_name").and_then(|c| c.as_str()) == Some("Sequential");
    let list = v
        .pointer("/config/layers")
        .and_then(|l| l.as_array())
        .ok_or("the model config has no list of layers (`config.layers`)")?;
    let mut out = Vec::new();
    for (i, l) in list.iter().enumerate() {
        let class = l.get("class_name").and_then(|c| c.as_str());
        let name = l.pointer("/config/name").and_then(|c| c.as_str());
        let (Some(class), Some(name)) = (class, name) else {
            return Err(format!(
                "layer {i} of the model config has no class or name"
            ));
        };
        let inner = match l.pointer("/config/layers") {
            Some(_) => Some(model(l, depth + 1)?),
            None => None,
        };
        if class != "InputLayer" {
            out.push(ConfigLayer {
                class: class.to_string(),
                name: name.to_string(),
                inner,
            });
        }
    }
    Ok(Config {
        layers: out,
        sequential,
    })
}

/// For each of kiln's layers, the file's layer it takes its weights from: the one of the same
/// name, else, for a Sequential model (the same model built in another Keras session, whose
/// automatic names count on), the one at the same position when both list the same classes in
/// order. (A functional model's layers are listed in Keras's `model.layers` order, not the
/// order they were made in, so position says nothing there.) Every pairing must agree on the
/// class.
pub fn pair(kiln: &[LayerRecord<'_>], config: &Config) -> Result<Vec<Names>, String> {
    let file = &config.layers[..];
    let by_name: Option<Vec<&ConfigLayer>> = kiln
        .iter()
        .map(|k| file.iter().find(|f| f.name == k.name))
        .collect();
    let same_classes = config.sequential
        && kiln.len() == file.len()
        && kiln.iter().zip(file).all(|(k, f)| k.class == f.class);
    let paired = match by_name {
        Some(p) => p,
        None if same_classes => file.iter().collect(),
        None => {
            let k = kiln
                .iter()
                .find(|k| !file.iter().any(|f| f.name == k.name))
                .expect("some layer has no match");
            let names: Vec<&str> = file.iter().map(|f| f.name.as_str()).collect();
            return Err(format!(
                "the file's model has no layer `{}` ({}){}; it has {names:?}",
                k.name,
                k.class,
                if config.sequential {
                    ", and its layers are not kiln's in order"
                } else {
                    " (a functional model's layers pair by name: give kiln's the file's names)"
                }
            ));
        }
    };
    let mut names = Vec::new();
    for (i, (k, f)) in kiln.iter().zip(&paired).enumerate() {
        if k.class != f.class {
            return Err(format!(
                "layer {} `{}` is a {} in kiln but `{}` in the file is a {}",
                i + 1,
                k.name,
                k.class,
                f.name,
                f.class
            ));
        }
        let inner = match (k.nested, &f.inner) {
            (Some(n), Some(c)) => pair(n.layers, c)
                .map_err(|e| format!("in the nested model `{}` ({}): {e}", k.name, n.ty))?,
            (Some(n), None) => {
                return Err(format!(
                    "the file's `{}` has no config of its layers for kiln's nested `{}` ({})",
                    f.name, k.name, n.ty
                ))
            }
            (None, _) => Vec::new(),
        };
        names.push(Names {
            name: f.name.clone(),
            inner,
        });
    }
    Ok(names)
}
