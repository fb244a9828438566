//! The one error type of kiln's fallible run-time operations (files, dynamic boundaries).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What went wrong, with the names and shapes needed to fix it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[cfg(feature = "std")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file is not what it claims to be (truncated, bad header, wrong magic number).
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The model has a parameter the weights file lacks.
    MissingTensor {
        /// The file.
        path: String,
        /// The parameter, `<layer>/<param>`.
        name: String,
        /// The shape the model expects.
        expected: Vec<usize>,
    },
    /// The weights file has a tensor the model does not.
    UnexpectedTensor {
        /// The file.
        path: String,
        /// The tensor's name in the file.
        name: String,
        /// Its shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has the wrong shape.
    ShapeMismatch {
        /// Where the tensor came from (a file, or an API boundary).
        path: String,
        /// The tensor, `<layer>/<param>`.
        name: String,
        /// The shape the model expects.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A tensor has the wrong element type.
    DtypeMismatch {
        /// The file.
        path: String,
        /// The tensor, `<layer>/<param>`.
        name: String,
        /// The dtype the model expects, e.g. `F32`.
        expected: &'static str,
        /// The dtype found.
        found: String,
    },
    /// A class label is not below the number of classes (a dataset file, or one-hot encoding).
    InvalidLabel {
        /// The file, or the function that was given the label (e.g. `to_categorical`).
        path: String,
        /// The label's position, counting from 0.
        index: usize,
        /// The label.
        label: u8,
        /// The number of classes; labels run `0..classes`.
        classes: usize,
    },
    /// A download did not complete: no connection, an HTTP error status, or a failed write.
    Download {
        /// What was being downloaded.
        url: String,
        /// Why it failed, e.g. `HTTP 404 Not Found`.
        reason: String,
    },
    /// A downloaded file's SHA-256 is not the one published for it; the file was not kept.
    HashMismatch {
        /// Where the file came from.
        url: String,
        /// The file's name; the hash is of its bytes after gzip decompression.
        file: String,
        /// The published SHA-256, lowercase hex.
        expected: String,
        /// The SHA-256 of what was downloaded.
        actual: String,
    },
    /// A dataset is in none of the places searched, and downloading it failed.
    DatasetUnavailable {
        /// The dataset, e.g. `mnist`.
        name: String,
        /// Each place looked in, in order, and why it did not serve.
        searched: Vec<String>,
        /// Why the download failed.
        download: Box<Error>,
        /// How to make the dataset available, e.g. which environment variables to set.
        hint: String,
    },
    /// Training stopped because the loss became NaN or infinite.
    NonFiniteLoss {
        /// The epoch, from 1.
        epoch: usize,
        /// The batch within the epoch, from 1.
        batch: usize,
        /// The loss value of the first sample that went non-finite.
        value: f64,
    },
    /// Two collections that must be the same length are not (inputs and targets, weights).
    LengthMismatch {
        /// What was compared, e.g. "targets (y) for the training inputs (x)".
        what: String,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A target does not fit the loss (a class label out of range, a one-hot target for a
    /// sparse loss, …).
    InvalidTarget {
        /// The sample's index.
        index: usize,
        /// What is wrong, from the loss.
        reason: String,
    },
    /// An argument is out of its range (a batch size of 0, a validation split of 1.5, …).
    InvalidArgument(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "std")]
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Corrupt { path, reason } => write!(f, "{path}: corrupt file: {reason}"),
            Error::MissingTensor {
                path,
                name,
                expected,
            } => write!(
                f,
                "{path}: no tensor `{name}` (the model expects one of shape {expected:?})"
            ),
            Error::UnexpectedTensor { path, name, found } => write!(
                f,
                "{path}: tensor `{name}` (shape {found:?}) belongs to no parameter of this model; \
                 is the file for another model?"
            ),
            Error::ShapeMismatch {
                path,
                name,
                expected,
                found,
            } => write!(
                f,
                "{path}: tensor `{name}` has shape {found:?} but the model expects {expected:?}"
            ),
            Error::DtypeMismatch {
                path,
                name,
                expected,
                found,
            } => write!(
                f,
                "{path}: tensor `{name}` has dtype {found} but the model expects {expected}"
            ),
            Error::InvalidLabel {
                path,
                index,
                label,
                classes,
            } => write!(
                f,
                "{path}: label {label} at index {index} is out of range: labels must be below \
                 {classes}, the number of classes"
            ),
            Error::NonFiniteLoss {
                epoch,
                batch,
                value,
            } => write!(
                f,
                "the loss became {value} in epoch {epoch}, batch {batch}: training stopped \
                 (try a lower learning rate, gradient clipping, or check the data for NaN)"
            ),
            Error::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected}, got {found}"),
            Error::InvalidTarget { index, reason } => {
                write!(f, "target of sample {index}: {reason}")
            }
            Error::InvalidArgument(msg) => f.write_str(msg),
            Error::Download { url, reason } => write!(f, "{url}: download failed: {reason}"),
            Error::HashMismatch {
                url,
                file,
                expected,
                actual,
            } => write!(
                f,
                "{url}: `{file}` has SHA-256 {actual} but {expected} was expected; it was not \
                 kept (a damaged download, or a mirror serving other files)"
            ),
            Error::DatasetUnavailable {
                name,
                searched,
                download,
                hint,
            } => write!(
                f,
                "dataset `{name}` was not found ({}) and could not be downloaded: {download}; \
                 {hint}",
                searched.join("; ")
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
