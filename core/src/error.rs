//! The one error type of kiln's fallible run-time operations (files, dynamic boundaries).

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
