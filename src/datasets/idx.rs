//! IDX files, the format of MNIST and its relatives (Fashion-MNIST, EMNIST), gzip-compressed or
//! not.
//!
//! An IDX file is a big-endian `u32` magic number `0x0000_08NN` (`08`: unsigned bytes, `NN`: the
//! number of dimensions), one big-endian `u32` per dimension, then the bytes in row-major order.
//! Whether a file is gzip-compressed is told by its first two bytes (`1f 8b`), not its name.

extern crate std;

use std::boxed::Box;
use std::fs::File;
use std::io::{self, BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use flate2::bufread::MultiGzDecoder;
use kiln_core::Error;

/// The magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads an IDX image file (magic `0x00000803`, dimensions `N x H x W`), gzip-compressed or not,
/// into one `[[u8; W]; H]` per image.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened or read; [`Error::Corrupt`], naming the file and
/// what is wrong, if it is truncated, has bytes past its last image, has another magic number,
/// or holds images of another size than `H x W`.
pub fn read_images<const H: usize, const W: usize>(
    path: impl AsRef<Path>,
) -> Result<Vec<[[u8; W]; H]>, Error> {
    let mut src = Source::open(path.as_ref())?;
    src.expect_magic(IMAGES_MAGIC, "images")?;
    let [n, h, w] = [src.read_u32()?, src.read_u32()?, src.read_u32()?];
    if (h as usize, w as usize) != (H, W) {
        return Err(src.corrupt(format!("images are {h} x {w}, expected {H} x {W}")));
    }
    src.read_items(n as usize, [[0u8; W]; H], "images", |images| {
        images.as_flattened_mut().as_flattened_mut()
    })
}

/// Reads an IDX label file (magic `0x00000801`, one dimension `N`), gzip-compressed or not;
/// every label must be below `classes`.
///
/// # Errors
/// As [`read_images`], and [`Error::InvalidLabel`] naming the first label that is not below
/// `classes` and its index.
pub fn read_labels(path: impl AsRef<Path>, classes: usize) -> Result<Vec<u8>, Error> {
    let mut src = Source::open(path.as_ref())?;
    src.expect_magic(LABELS_MAGIC, "labels")?;
    let n = src.read_u32()?;
    let labels = src.read_items(n as usize, 0u8, "labels", |bytes| bytes)?;
    check_labels(&labels, classes, &src.path)?;
    Ok(labels)
}

/// `Err` naming the first label of `labels` that is not below `classes`, and where it is.
pub(crate) fn check_labels(labels: &[u8], classes: usize, path: &str) -> Result<(), Error> {
    match labels.iter().position(|&l| l as usize >= classes) {
        Some(index) => Err(Error::InvalidLabel {
            path: path.to_string(),
            index,
            label: labels[index],
            classes,
        }),
        None => Ok(()),
    }
}

/// The file `name` or `name.gz` in `dir`, whichever exists (the plain one first).
pub(crate) fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// An open file's bytes, decompressed if it is gzip, with its name for error messages.
pub(crate) struct Source {
    reader: Box<dyn Read>,
    gzip: bool,
    /// The file, as errors name it.
    pub(crate) path: String,
}

impl Source {
    /// Opens `path`, looking at its first bytes to tell whether it is gzip-compressed.
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let shown = path.display().to_string();
        let io_err = |source| Error::Io {
            path: shown.clone(),
            source,
        };
        let mut file = BufReader::new(File::open(path).map_err(io_err)?);
        let gzip = file.fill_buf().map_err(io_err)?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        Ok(Source {
            reader,
            gzip,
            path: shown,
        })
    }

    /// Whether the file is gzip-compressed.
    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// An [`Error::Corrupt`] for this file.
    pub(crate) fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    /// Fills `buf` as far as the data goes; returns how many bytes were read (less than
    /// `buf.len()` only at the end of the data).
    pub(crate) fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(k) => filled += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }

    /// A failed read: damaged compressed data is a corrupt file, anything else an I/O error.
    fn read_error(&self, e: io::Error) -> Error {
        let damaged = matches!(
            e.kind(),
            ErrorKind::InvalidInput | ErrorKind::InvalidData | ErrorKind::UnexpectedEof
        );
        if self.gzip && damaged {
            self.corrupt(format!("damaged gzip data: {e}"))
        } else {
            Error::Io {
                path: self.path.clone(),
                source: e,
            }
        }
    }

    /// One big-endian `u32` of the header.
    fn read_u32(&mut self) -> Result<u32, Error> {
        let mut b = [0u8; 4];
        if self.read_full(&mut b)? < 4 {
            return Err(self.corrupt("truncated: the file ends inside its IDX header".into()));
        }
        Ok(u32::from_be_bytes(b))
    }

    /// Reads the magic number and checks it is `expected`; `what` names the expected content.
    fn expect_magic(&mut self, expected: u32, what: &str) -> Result<(), Error> {
        let magic = self.read_u32()?;
        if magic == expected {
            return Ok(());
        }
        let hint = match magic {
            IMAGES_MAGIC => " (that of an IDX image file)",
            LABELS_MAGIC => " (that of an IDX label file)",
            _ => "",
        };
        Err(self.corrupt(format!(
            "magic number 0x{magic:08x}{hint}, expected 0x{expected:08x} (IDX {what})"
        )))
    }

    /// Reads `n` items of `zero`'s type, viewed as bytes by `bytes`, then checks the data ends
    /// there. The vector grows as data arrives, so a header claiming billions of items cannot
    /// allocate more than the file holds.
    fn read_items<T: Copy>(
        &mut self,
        n: usize,
        zero: T,
        what: &str,
        bytes: impl Fn(&mut [T]) -> &mut [u8],
    ) -> Result<Vec<T>, Error> {
        const CHUNK_BYTES: usize = 1 << 20;
        let item = size_of::<T>().max(1);
        let per_chunk = (CHUNK_BYTES / item).max(1);
        let mut items = Vec::new();
        while items.len() < n {
            let start = items.len();
            items.resize(start + per_chunk.min(n - start), zero);
            let buf = bytes(&mut items[start..]);
            let got = self.read_full(buf)?;
            if got < buf.len() {
                let need = n as u64 * item as u64;
                let have = (start * item + got) as u64;
                return Err(self.corrupt(format!(
                    "truncated: the header declares {n} {what} ({need} bytes of data) but the \
                     data ends after {have} bytes"
                )));
            }
        }
        let mut probe = vec![0u8; 1];
        if self.read_full(&mut probe)? > 0 {
            return Err(self.corrupt(format!(
                "the data goes on past the {n} {what} its header declares"
            )));
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    /// An IDX file of unsigned bytes with `dims`, and `data` after the header.
    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn corrupt_reason(e: Error) -> String {
        match e {
            Error::Corrupt { reason, .. } => reason,
            other => panic!("expected Error::Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn reads_images_plain_and_gzipped_alike() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 3 * 2).collect();
        let raw = idx(IMAGES_MAGIC, &[2, 3, 2], &pixels);
        for (name, bytes) in [("a", raw.clone()), ("a.gz", gzip(&raw))] {
            let images = read_images::<3, 2>(write(dir.path(), name, &bytes)).unwrap();
            assert_eq!(
                images,
                [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]
            );
        }
    }

    #[test]
    fn an_empty_set_of_images_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "e", &idx(IMAGES_MAGIC, &[0, 28, 28], &[]));
        assert!(read_images::<28, 28>(p).unwrap().is_empty());
    }

    #[test]
    fn wrong_image_size_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "i", &idx(IMAGES_MAGIC, &[1, 2, 2], &[0; 4]));
        let reason = corrupt_reason(read_images::<28, 28>(p).unwrap_err());
        assert_eq!(reason, "images are 2 x 2, expected 28 x 28");
    }

    #[test]
    fn a_label_file_read_as_images_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "l", &idx(LABELS_MAGIC, &[1], &[3]));
        let e = read_images::<2, 2>(&p).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(&p.display().to_string()), "{msg}");
        assert!(
            msg.contains(
                "magic number 0x00000801 (that of an IDX label file), expected 0x00000803"
            ),
            "{msg}"
        );
    }

    #[test]
    fn truncated_data_and_header_are_corrupt_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let short = idx(IMAGES_MAGIC, &[3, 2, 2], &[0; 10]);
        for (name, bytes) in [("s", short.clone()), ("s.gz", gzip(&short))] {
            let reason =
                corrupt_reason(read_images::<2, 2>(write(dir.path(), name, &bytes)).unwrap_err());
            assert_eq!(
                reason,
                "truncated: the header declares 3 images (12 bytes of data) but the data ends \
                 after 10 bytes"
            );
        }
        let header_only = write(dir.path(), "h", &IMAGES_MAGIC.to_be_bytes()[..3]);
        let reason = corrupt_reason(read_images::<2, 2>(header_only).unwrap_err());
        assert!(reason.contains("ends inside its IDX header"), "{reason}");
    }

    #[test]
    fn a_huge_declared_count_fails_without_allocating_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "big",
            &idx(IMAGES_MAGIC, &[u32::MAX, 28, 28], &[1; 784]),
        );
        let reason = corrupt_reason(read_images::<28, 28>(p).unwrap_err());
        assert!(reason.contains("ends after 784 bytes"), "{reason}");
    }

    #[test]
    fn trailing_bytes_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "t", &idx(LABELS_MAGIC, &[2], &[1, 2, 3]));
        let reason = corrupt_reason(read_labels(p, 10).unwrap_err());
        assert_eq!(
            reason,
            "the data goes on past the 2 labels its header declares"
        );
    }

    #[test]
    fn damaged_gzip_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = gzip(&idx(LABELS_MAGIC, &[4], &[1, 2, 3, 4]));
        let len = gz.len();
        gz[len - 6] ^= 0xff; // inside the CRC-32 trailer
        let reason = corrupt_reason(read_labels(write(dir.path(), "d.gz", &gz), 10).unwrap_err());
        assert!(reason.starts_with("damaged gzip data"), "{reason}");
    }

    #[test]
    fn a_label_out_of_range_is_named_with_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "l.gz",
            &gzip(&idx(LABELS_MAGIC, &[3], &[9, 0, 10])),
        );
        match read_labels(&p, 10).unwrap_err() {
            Error::InvalidLabel {
                path,
                index,
                label,
                classes,
            } => {
                assert_eq!(
                    (path, index, label, classes),
                    (p.display().to_string(), 2, 10, 10)
                );
            }
            other => panic!("expected InvalidLabel, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let e = read_labels("/no/such/dir/labels", 10).unwrap_err();
        assert!(matches!(e, Error::Io { ref path, .. } if path == "/no/such/dir/labels"));
    }

    #[test]
    fn find_prefers_the_plain_file_then_the_gzipped_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find(dir.path(), "x"), None);
        let gz = write(dir.path(), "x.gz", b"");
        assert_eq!(find(dir.path(), "x"), Some(gz));
        let plain = write(dir.path(), "x", b"");
        assert_eq!(find(dir.path(), "x"), Some(plain));
    }
}
