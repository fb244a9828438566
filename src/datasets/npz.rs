//! NumPy `.npz` archives (a zip of `.npy` arrays), as Keras caches its datasets, e.g.
//! `~/.keras/datasets/mnist.npz`. Only what datasets need: C-order arrays of unsigned bytes.
//!
//! A `.npy` array is the magic `\x93NUMPY`, a version (1, 2 or 3), the length of a header (`u16`
//! for version 1, `u32` after), the header — a Python dict literal such as
//! `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }` — then the data.

extern crate std;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use kiln_core::Error;
use zip::ZipArchive;

/// The first six bytes of every `.npy` array.
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An open `.npz` archive.
pub(crate) struct Npz {
    archive: ZipArchive<BufReader<File>>,
    path: String,
}

impl Npz {
    /// Opens the archive at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let archive = ZipArchive::new(BufReader::new(file)).map_err(|e| Error::Corrupt {
            path: shown.clone(),
            reason: format!("not a readable .npz (zip) archive: {e}"),
        })?;
        Ok(Npz {
            archive,
            path: shown,
        })
    }

    /// The archive, as errors name it.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    /// Reads the array `name` (`x_train` reads `x_train.npy`), which must be of `uint8`, in C
    /// order, of shape `[n, H, W]`: one `[[u8; W]; H]` per item.
    pub(crate) fn read_images<const H: usize, const W: usize>(
        &mut self,
        name: &str,
    ) -> Result<Vec<[[u8; W]; H]>, Error> {
        self.read_array(name, &[H, W], [[0u8; W]; H], |items| {
            items.as_flattened_mut().as_flattened_mut()
        })
    }

    /// Reads the array `name`, which must be of `uint8` and one-dimensional.
    pub(crate) fn read_vector(&mut self, name: &str) -> Result<Vec<u8>, Error> {
        self.read_array(name, &[], 0u8, |bytes| bytes)
    }

    /// Checks the header of array `name`: `uint8`, C order, shape `[n, inner...]`; then reads
    /// its data as `n` items of `zero`'s type, viewed as bytes by `bytes`.
    fn read_array<T: Copy>(
        &mut self,
        name: &str,
        inner: &[usize],
        zero: T,
        bytes: impl Fn(&mut [T]) -> &mut [u8],
    ) -> Result<Vec<T>, Error> {
        let entry_name = format!("{name}.npy");
        let Some(index) = self.archive.index_for_name(&entry_name) else {
            let names: Vec<&str> = self.archive.file_names().collect();
            return Err(self.corrupt(format!(
                "no array `{name}` (no entry `{entry_name}`); it holds: {}",
                names.join(", ")
            )));
        };
        let path = &self.path;
        let mut entry = self.archive.by_index(index).map_err(|e| Error::Corrupt {
            path: path.clone(),
            reason: format!("cannot read `{entry_name}`: {e}"),
        })?;
        let size = entry.size();
        let header = read_header(&mut entry);
        let corrupt = |reason: String| Error::Corrupt {
            path: path.clone(),
            reason: format!("array `{name}`: {reason}"),
        };
        let (header, header_len) = header.map_err(corrupt)?;
        let header = parse_header(&header).map_err(corrupt)?;
        if !matches!(header.descr.as_str(), "|u1" | "<u1" | ">u1" | "u1" | "=u1") {
            return Err(corrupt(format!(
                "dtype `{}`, expected uint8 (`|u1`)",
                header.descr
            )));
        }
        if header.fortran_order {
            return Err(corrupt("in Fortran order, expected C order".into()));
        }
        let shape_ok = header.shape.len() == 1 + inner.len() && header.shape[1..] == *inner;
        if !shape_ok {
            let mut expected = String::from("[n");
            for d in inner {
                expected.push_str(&format!(", {d}"));
            }
            return Err(corrupt(format!(
                "shape {:?}, expected {expected}]",
                header.shape
            )));
        }
        let n = header.shape[0];
        let need = inner
            .iter()
            .try_fold(n, |acc, &d| acc.checked_mul(d))
            .filter(|&b| b as u64 <= size.saturating_sub(header_len))
            .ok_or_else(|| {
                corrupt(format!(
                    "truncated: shape {:?} needs more than the {} bytes of data the entry holds",
                    header.shape,
                    size.saturating_sub(header_len)
                ))
            })?;
        let mut items = vec![zero; n];
        let buf = bytes(&mut items);
        debug_assert_eq!(buf.len(), need);
        entry.read_exact(buf).map_err(|e| {
            corrupt(format!(
                "truncated or damaged: reading its {need} bytes of data: {e}"
            ))
        })?;
        let mut probe = [0u8; 1];
        match entry.read(&mut probe) {
            Ok(0) => Ok(items),
            Ok(_) => Err(corrupt(format!(
                "the data goes on past the {need} bytes its shape {:?} holds",
                header.shape
            ))),
            Err(e) => Err(corrupt(format!("damaged data: {e}"))),
        }
    }
}

/// The parsed header of a `.npy` array.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads the magic, version and header text of a `.npy` stream; returns the text and how many
/// bytes the preamble took.
fn read_header(r: &mut impl Read) -> Result<(String, u64), String> {
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre)
        .map_err(|e| format!("not a .npy array: {e}"))?;
    if pre[..6] != *NPY_MAGIC {
        return Err("not a .npy array (no `\\x93NUMPY` magic)".into());
    }
    let (major, minor) = (pre[6], pre[7]);
    let (len, width) = match major {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(|e| e.to_string())?;
            (u16::from_le_bytes(b) as usize, 2)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(|e| e.to_string())?;
            (u32::from_le_bytes(b) as usize, 4)
        }
        _ => {
            return Err(format!(
                ".npy format version {major}.{minor}, expected 1.0 to 3.0"
            ))
        }
    };
    if len > 1 << 20 {
        return Err(format!(
            "a {len}-byte .npy header, which is implausibly long"
        ));
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text)
        .map_err(|e| format!("truncated .npy header: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| "a .npy header that is not text")?;
    Ok((text, (8 + width + len) as u64))
}

/// Parses the dict literal of a `.npy` header.
fn parse_header(text: &str) -> Result<Header, String> {
    let bad = |key: &str| {
        format!(
            "cannot read `{key}` in the .npy header {:?}",
            text.trim_end()
        )
    };
    let descr = field(text, "descr")
        .and_then(|v| {
            let quote = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let rest = &v[1..];
            Some(rest[..rest.find(quote)?].to_string())
        })
        .ok_or_else(|| bad("descr"))?;
    let fortran_order = match field(text, "fortran_order") {
        Some(v) if v.starts_with("False") => false,
        Some(v) if v.starts_with("True") => true,
        _ => return Err(bad("fortran_order")),
    };
    let shape = field(text, "shape")
        .and_then(|v| {
            let inside = v.strip_prefix('(')?;
            let inside = &inside[..inside.find(')')?];
            inside
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| d.trim_end_matches('L').parse().ok())
                .collect::<Option<Vec<usize>>>()
        })
        .ok_or_else(|| bad("shape"))?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// The text after `'key':` (or `"key":`) in a dict literal, leading spaces skipped.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    [format!("'{key}':"), format!("\"{key}\":")]
        .iter()
        .find_map(|pat| {
            text.find(pat.as_str())
                .map(|i| text[i + pat.len()..].trim_start())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpys_header_for_images_and_vectors() {
        let h = parse_header(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }          \n",
        )
        .unwrap();
        assert_eq!(
            h,
            Header {
                descr: "|u1".into(),
                fortran_order: false,
                shape: vec![60000, 28, 28]
            }
        );
        let h = parse_header("{'descr': '<i8', 'fortran_order': True, 'shape': (5,), }").unwrap();
        assert_eq!(
            (h.descr.as_str(), h.fortran_order, h.shape),
            ("<i8", true, vec![5])
        );
        let h = parse_header("{'descr': '|u1', 'fortran_order': False, 'shape': (), }").unwrap();
        assert!(h.shape.is_empty());
    }

    #[test]
    fn an_unreadable_header_names_the_key() {
        let e = parse_header("{'descr': '|u1', 'fortran_order': False, 'shape': [3], }");
        assert!(e.unwrap_err().starts_with("cannot read `shape`"));
    }

    #[test]
    fn reads_version_1_and_2_preambles() {
        let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n";
        let mut v1 = b"\x93NUMPY\x01\x00".to_vec();
        v1.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        v1.extend_from_slice(dict.as_bytes());
        assert_eq!(
            read_header(&mut &v1[..]).unwrap(),
            (dict.into(), 10 + dict.len() as u64)
        );
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        v2.extend_from_slice(dict.as_bytes());
        assert_eq!(
            read_header(&mut &v2[..]).unwrap(),
            (dict.into(), 12 + dict.len() as u64)
        );
        assert!(read_header(&mut &b"PK\x03\x04...."[..]).is_err());
    }
}
