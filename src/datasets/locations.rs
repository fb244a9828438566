//! Where datasets are looked for and cached, read once from the environment so the lookup
//! itself takes explicit folders (and tests need not change process-wide variables).

extern crate std;

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable naming a folder of datasets, searched first: `$KILN_DATA_DIR/mnist`.
pub const DATA_DIR_VAR: &str = "KILN_DATA_DIR";

/// The folders a dataset may be in, in the order they are searched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Locations {
    /// `$KILN_DATA_DIR`, if set and not empty.
    pub(crate) data_dir: Option<PathBuf>,
    /// The home folder (`$HOME`, or `%USERPROFILE%` on Windows), for `~/.kiln` and `~/.keras`.
    pub(crate) home: Option<PathBuf>,
    /// `$KERAS_HOME`, which replaces `~/.keras` for Keras, and so here too.
    pub(crate) keras_home: Option<PathBuf>,
}

impl Locations {
    /// The folders named by this process's environment.
    pub(crate) fn from_env() -> Self {
        Self::from_vars(|name| env::var_os(name))
    }

    /// The folders named by `var`, a lookup of environment variables; empty values count as
    /// unset.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let dir = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Locations {
            data_dir: dir(DATA_DIR_VAR),
            home: dir("HOME").or_else(|| dir("USERPROFILE")),
            keras_home: dir("KERAS_HOME"),
        }
    }

    /// kiln's own cache, `~/.kiln/datasets`, where downloads go.
    pub(crate) fn kiln_cache(&self) -> Option<PathBuf> {
        Some(self.home.as_ref()?.join(".kiln").join("datasets"))
    }

    /// Keras's cache of datasets, `$KERAS_HOME/datasets` or `~/.keras/datasets`.
    pub(crate) fn keras_cache(&self) -> Option<PathBuf> {
        let keras = match &self.keras_home {
            Some(k) => k.clone(),
            None => self.home.as_ref()?.join(".keras"),
        };
        Some(keras.join("datasets"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn reads_the_three_variables_and_ignores_empty_ones() {
        let l = Locations::from_vars(vars(&[("KILN_DATA_DIR", "/d"), ("HOME", "/h")]));
        assert_eq!(l.data_dir, Some("/d".into()));
        assert_eq!(l.kiln_cache(), Some("/h/.kiln/datasets".into()));
        assert_eq!(l.keras_cache(), Some("/h/.keras/datasets".into()));
        let l = Locations::from_vars(vars(&[
            ("KILN_DATA_DIR", ""),
            ("HOME", "/h"),
            ("KERAS_HOME", "/k"),
        ]));
        assert_eq!(l.data_dir, None);
        assert_eq!(l.keras_cache(), Some("/k/datasets".into()));
    }

    #[test]
    fn userprofile_stands_in_for_home() {
        let l = Locations::from_vars(vars(&[("USERPROFILE", "/u")]));
        assert_eq!(l.home, Some("/u".into()));
        assert_eq!(Locations::from_vars(vars(&[])).kiln_cache(), None);
    }
}
