//! Streaming each epoch's figures to a CSV file.

use super::{python_float, Callback, Context, Logs};
use crate::Error;
use kiln_core::train::Train;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

/// Writes one CSV row per epoch, flushed as each epoch ends: Keras's
/// `keras.callbacks.CSVLogger`, with its defaults (`separator=","`, `append=False`) and its file
/// format, byte for byte:
///
/// - the columns are `epoch` (counted from 0, as Keras writes it), then the names logged in the
///   first epoch, sorted; when none of them is a `val_` figure, the `val_` names are added too
///   (left `NA`), as Keras does; a figure missing in an epoch is written `NA`;
/// - values are written as Python's `repr` writes them (`0.30000000000000004`, `1e-05`);
/// - fields holding the separator or a quote are quoted, and lines end in `\r\n`, as Python's
///   `csv` module writes them;
/// - with `append(true)` rows go after an existing file's, and the header is written only if the
///   file was missing or its first line empty; otherwise the file is truncated when `fit`
///   starts.
#[derive(Debug)]
pub struct CSVLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<File>,
    /// The columns after `epoch`, fixed by the first epoch.
    keys: Option<Vec<String>>,
    write_header: bool,
}

impl CSVLogger {
    /// Logs to the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CSVLogger {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            keys: None,
            write_header: true,
        }
    }

    /// The character between fields. Default `,`.
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }

    /// Appends to the file if it exists (to continue a run) instead of overwriting it. Default
    /// `false`.
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// One CSV line of `fields`, quoted as Python's `csv.QUOTE_MINIMAL` does.
fn csv_line<'a>(separator: char, fields: impl Iterator<Item = &'a str>) -> String {
    let mut line = String::new();
    for (i, field) in fields.enumerate() {
        if i > 0 {
            line.push(separator);
        }
        if field.contains([separator, '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push_str("\r\n");
    line
}

impl<M: Train> Callback<M> for CSVLogger {
    /// Opens the file: truncated, or for appending (then reading whether it needs a header).
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        self.file = None;
        self.keys = None;
        self.write_header = true;
        let file = if self.append {
            if self.path.exists() {
                let existing = File::open(&self.path).map_err(|e| self.io_error(e))?;
                let mut first = String::new();
                BufReader::new(existing)
                    .read_line(&mut first)
                    .map_err(|e| self.io_error(e))?;
                self.write_header = first.is_empty();
            }
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.path)
        } else {
            File::create(&self.path)
        };
        self.file = Some(file.map_err(|e| self.io_error(e))?);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &Logs,
        _ctx: &mut Context<'_, M>,
    ) -> Result<(), Error> {
        let mut text = String::new();
        if self.keys.is_none() {
            let mut keys: Vec<String> = logs.iter().map(|(n, _)| n.to_string()).collect();
            keys.sort();
            if !keys.is_empty() && !keys.iter().any(|k| k.starts_with("val_")) {
                let val: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(val);
            }
            if self.write_header {
                let header = ["epoch"].into_iter().chain(keys.iter().map(String::as_str));
                text.push_str(&csv_line(self.separator, header));
            }
            self.keys = Some(keys);
        }
        let keys = self.keys.as_deref().unwrap_or_default();
        let mut row = vec![epoch.to_string()];
        row.extend(
            keys.iter()
                .map(|k| logs.get(k).map_or_else(|| "NA".to_string(), python_float)),
        );
        text.push_str(&csv_line(self.separator, row.iter().map(String::as_str)));
        let Some(file) = self.file.as_mut() else {
            return Err(Error::InvalidArgument(
                "CSVLogger::on_epoch_end was called before on_train_begin opened the file".into(),
            ));
        };
        // One write per epoch on an unbuffered file: each row reaches the file as it is logged.
        let written = file.write_all(text.as_bytes()).and_then(|()| file.flush());
        written.map_err(|e| self.io_error(e))
    }

    /// Closes the file.
    fn on_train_end(&mut self, _ctx: &mut Context<'_, M>) -> Result<(), Error> {
        self.file = None;
        Ok(())
    }
}
