//! Keras 3's `.keras` archive: a zip of `metadata.json`, `config.json` (the model) and
//! `model.weights.h5` (its weights, Keras 3's layout). Entries are inflated only up to what the
//! model can need, so a zip bomb is refused before it is inflated.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::io::{Cursor, Read};
use zip::ZipArchive;

/// The config and the weights of a `.keras` archive.
pub struct Archive {
    pub config: String,
    pub weights: Vec<u8>,
}

/// Entry `name` of `zip`, refused if it inflates to more than `limit` bytes (checked against
/// both the size the archive declares and the bytes actually inflated).
fn entry(zip: &mut ZipArchive<Cursor<&[u8]>>, name: &str, limit: u64) -> Result<Vec<u8>, String> {
    let file = zip
        .by_name(name)
        .map_err(|e| format!("the archive has no `{name}` ({e}); is it a `.keras` file?"))?;
    let too_big = |n: u64| {
        format!("`{name}` inflates to {n} bytes, more than this model can need ({limit}); refused")
    };
    if file.size() > limit {
        return Err(too_big(file.size()));
    }
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("`{name}` cannot be inflated: {e}"))?;
    if out.len() as u64 > limit {
        return Err(too_big(out.len() as u64));
    }
    Ok(out)
}

/// The `config.json` of a `.keras` archive: the model, without its weights.
pub fn read_config(bytes: &[u8]) -> Result<String, String> {
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip archive: {e}"))?;
    let config = entry(&mut zip, "config.json", 16 << 20)?;
    String::from_utf8(config).map_err(|_| "`config.json` is not UTF-8 text".to_string())
}

/// Reads a `.keras` archive whose weights take at most `weights_limit` bytes.
pub fn read(bytes: &[u8], weights_limit: u64) -> Result<Archive, String> {
    let config = read_config(bytes)?;
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip archive: {e}"))?;
    let weights = entry(&mut zip, "model.weights.h5", weights_limit)?;
    Ok(Archive { config, weights })
}
