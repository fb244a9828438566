//! MNIST, the handwritten digits: Keras's `keras.datasets.mnist.load_data()` for Rust.
//!
//! ```no_run
//! use kiln::datasets::mnist;
//!
//! let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
//! assert_eq!((x_train.len(), y_train.len()), (60_000, 60_000));
//! assert_eq!((x_test.len(), y_test.len()), (10_000, 10_000));
//! assert_eq!(y_train[0], 5);
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! # Shapes
//! - `x_train`: 60 000 images `[[u8; 28]; 28]` (row by row, 0 = background, 255 = ink).
//! - `y_train`: 60 000 labels `u8` in `0..=9`.
//! - `x_test`, `y_test`: the same for the 10 000 test digits.

extern crate std;

use std::boxed::Box;
use std::env;
use std::fmt;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use kiln_core::Error;

use super::download::{self, DatasetFile};
use super::idx;
use super::locations::Locations;
use super::npz::Npz;

/// One MNIST digit: 28 rows of 28 grey levels, 0 (background) to 255 (ink).
pub type Image = [[u8; 28]; 28];

/// Images and their labels, in the same order: one of Keras's `(x, y)` pairs.
pub type Split = (Vec<Image>, Vec<u8>);

/// Where MNIST is downloaded from when it is nowhere on disk: the Google Cloud mirror of the
/// original IDX files that TensorFlow's tutorials download (`<base>train-images-idx3-ubyte.gz`
/// and so on). `KILN_MNIST_URL` replaces it, e.g. with `https://ossci-datasets.s3.amazonaws.com/mnist/`
/// (PyTorch's mirror) or a folder on a local server. Keras's own
/// `https://storage.googleapis.com/tensorflow/tf-keras-datasets/` is no substitute: there, the
/// IDX names hold Fashion-MNIST (MNIST itself is only its `mnist.npz`).
pub const DEFAULT_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// The environment variable that replaces [`DEFAULT_URL`].
pub const URL_VAR: &str = "KILN_MNIST_URL";

/// MNIST's four IDX files, in the order train images, train labels, test images, test labels,
/// with the SHA-256 of their uncompressed bytes, the same from every mirror. Downloads are
/// checked against these before they are kept.
pub const FILES: [DatasetFile; 4] = [
    DatasetFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    DatasetFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    DatasetFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    DatasetFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// MNIST's classes: the digits 0 to 9.
pub const CLASSES: usize = 10;

/// The whole of MNIST, by name; [`Mnist::into_tuples`] gives Keras's tuple form.
///
/// Its `Debug` shows the sizes, not 55 MB of pixels.
#[derive(Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training images.
    pub x_train: Vec<Image>,
    /// The digit each training image shows, `0..=9`.
    pub y_train: Vec<u8>,
    /// The test images.
    pub x_test: Vec<Image>,
    /// The digit each test image shows, `0..=9`.
    pub y_test: Vec<u8>,
}

impl fmt::Debug for Mnist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Mnist {{ x_train: {} images, y_train: {} labels, x_test: {} images, y_test: {} \
             labels }}",
            self.x_train.len(),
            self.y_train.len(),
            self.x_test.len(),
            self.y_test.len()
        )
    }
}

/// Loads MNIST as Keras's `load_data()` does: `((x_train, y_train), (x_test, y_test))`.
///
/// Where it looks, and the errors, are those of [`load`].
pub fn load_data() -> Result<(Split, Split), Error> {
    load().map(Mnist::into_tuples)
}

/// Loads MNIST from the first of these places that has it, downloading it if none does:
///
/// 1. `$KILN_DATA_DIR/mnist`: the four IDX files of [`FILES`], each plain or gzipped (`.gz`).
/// 2. `~/.kiln/datasets/mnist`: the same; kiln's cache, where downloads go.
/// 3. `~/.keras/datasets/mnist.npz` (under `$KERAS_HOME` if set): the file Keras downloads.
/// 4. A download of the four `<name>.gz` files from `$KILN_MNIST_URL` (default
///    [`DEFAULT_URL`]) into `~/.kiln/datasets/mnist`, each checked against its SHA-256 in
///    [`FILES`] before it is kept. A progress bar shows on a terminal.
///
/// A folder missing one of the files is passed over; a file that is present but damaged is an
/// error, not passed over. Files found on disk are checked in structure (headers, sizes, labels
/// `0..=9`, as many labels as images) but not hashed.
///
/// # Errors
/// [`Error::Corrupt`], [`Error::InvalidLabel`] or [`Error::Io`] naming a file found but not
/// readable; [`Error::DatasetUnavailable`] listing every place searched, with why the download
/// failed: [`Error::Download`] (no connection, an HTTP status) or [`Error::HashMismatch`].
pub fn load() -> Result<Mnist, Error> {
    let url = env::var(URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    load_with(&Locations::from_env(), &url, &FILES)
}

/// [`load`] with the folders, the download's base URL and the files' hashes given.
pub(crate) fn load_with(
    places: &Locations,
    base_url: &str,
    files: &[DatasetFile; 4],
) -> Result<Mnist, Error> {
    let mut searched = Vec::new();
    match &places.data_dir {
        Some(data) => {
            if let Some(found) = from_dir_if_complete(&data.join("mnist"), &mut searched)? {
                return Ok(found);
            }
        }
        None => searched.push(format!(
            "$KILN_DATA_DIR/mnist: {} is not set",
            super::DATA_DIR_VAR
        )),
    }
    let cache = places.kiln_cache().map(|c| c.join("mnist"));
    match &cache {
        Some(dir) => {
            if let Some(found) = from_dir_if_complete(dir, &mut searched)? {
                return Ok(found);
            }
        }
        None => searched.push("~/.kiln/datasets/mnist: no home folder (HOME is not set)".into()),
    }
    match places.keras_cache().map(|k| k.join("mnist.npz")) {
        Some(npz) if npz.is_file() => return Mnist::from_npz(&npz),
        Some(npz) => searched.push(format!("{}: no such file", npz.display())),
        None => searched.push("~/.keras/datasets/mnist.npz: no home folder".into()),
    }
    let unavailable = |download: Error| Error::DatasetUnavailable {
        name: "mnist".into(),
        searched: searched.clone(),
        download: Box::new(download),
        hint: format!(
            "to fix, set {} to a folder whose mnist/ holds the four IDX files, or {URL_VAR} to a \
             reachable mirror of them",
            super::DATA_DIR_VAR
        ),
    };
    let Some(dir) = cache else {
        return Err(unavailable(Error::Download {
            url: base_url.to_string(),
            reason: "nowhere to save it: HOME is not set".into(),
        }));
    };
    download::download_missing(base_url, files, &dir).map_err(unavailable)?;
    Mnist::from_dir(&dir)
}

/// MNIST from `dir` if it holds all four files; `None`, with why noted in `searched`, if not.
fn from_dir_if_complete(dir: &Path, searched: &mut Vec<String>) -> Result<Option<Mnist>, Error> {
    if !dir.is_dir() {
        searched.push(format!("{}: no such folder", dir.display()));
        return Ok(None);
    }
    let missing: Vec<&str> = FILES
        .iter()
        .filter(|f| idx::find(dir, f.name).is_none())
        .map(|f| f.name)
        .collect();
    if !missing.is_empty() {
        searched.push(format!(
            "{}: no {} (nor .gz)",
            dir.display(),
            missing.join(", ")
        ));
        return Ok(None);
    }
    Mnist::from_dir(dir).map(Some)
}

impl Mnist {
    /// Reads the four IDX files of [`FILES`] from `dir`, each plain or gzipped (`.gz`).
    ///
    /// # Errors
    /// [`Error::Io`] for a file missing or unreadable; [`Error::Corrupt`] for one truncated,
    /// with a wrong magic number or image size, or with a label count other than its images';
    /// [`Error::InvalidLabel`] for a label not in `0..=9`. Each error names its file.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let [train_images, train_labels, test_images, test_labels] = FILES.map(|f| {
            idx::find(dir, f.name).ok_or_else(|| Error::Io {
                path: dir.join(f.name).display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file, with or without .gz",
                ),
            })
        });
        let (train_images, train_labels) = (train_images?, train_labels?);
        let (test_images, test_labels) = (test_images?, test_labels?);
        // The training images are 80% of the work: decode them beside the rest.
        let (x_train, rest) = std::thread::scope(|s| {
            let x_train = s.spawn(|| idx::read_images::<28, 28>(&train_images));
            let rest = (|| {
                Ok::<_, Error>((
                    idx::read_labels(&train_labels, CLASSES)?,
                    idx::read_images::<28, 28>(&test_images)?,
                    idx::read_labels(&test_labels, CLASSES)?,
                ))
            })();
            (x_train.join(), rest)
        });
        let x_train = x_train.unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        let (y_train, x_test, y_test) = rest?;
        same_count(&train_images, x_train.len(), &train_labels, y_train.len())?;
        same_count(&test_images, x_test.len(), &test_labels, y_test.len())?;
        Ok(Mnist {
            x_train,
            y_train,
            x_test,
            y_test,
        })
    }

    /// Reads Keras's `mnist.npz`: a zip of the `uint8` arrays `x_train` `[60000, 28, 28]`,
    /// `y_train` `[60000]`, `x_test` and `y_test`, as `np.savez` or `np.savez_compressed` write.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; [`Error::Corrupt`] naming the array for one missing, of
    /// another dtype or shape, or truncated; [`Error::InvalidLabel`] for a label not in `0..=9`.
    pub fn from_npz(path: impl AsRef<Path>) -> Result<Self, Error> {
        let mut npz = Npz::open(path.as_ref())?;
        let x_train = npz.read_images::<28, 28>("x_train")?;
        let y_train = npz.read_vector("y_train")?;
        let x_test = npz.read_images::<28, 28>("x_test")?;
        let y_test = npz.read_vector("y_test")?;
        for (x, y, xs, ys) in [
            ("x_train", "y_train", x_train.len(), &y_train),
            ("x_test", "y_test", x_test.len(), &y_test),
        ] {
            idx::check_labels(ys, CLASSES, &format!("{} (array {y})", npz.path()))?;
            if xs != ys.len() {
                return Err(Error::Corrupt {
                    path: npz.path().to_string(),
                    reason: format!("{x} holds {xs} images but {y} {} labels", ys.len()),
                });
            }
        }
        Ok(Mnist {
            x_train,
            y_train,
            x_test,
            y_test,
        })
    }

    /// Downloads whichever of MNIST's four files `dir` lacks from `base_url` (e.g.
    /// [`DEFAULT_URL`]), each checked against its SHA-256 in [`FILES`] before it is kept, then
    /// reads them as [`Mnist::from_dir`]. For a download into a folder of one's choice;
    /// [`load`] downloads into `~/.kiln/datasets/mnist` by itself.
    ///
    /// # Errors
    /// [`Error::Download`] naming the URL (no connection, an HTTP status such as 404),
    /// [`Error::HashMismatch`] naming the file and both hashes (nothing is then kept under its
    /// name), and those of [`Mnist::from_dir`].
    pub fn download(dir: impl AsRef<Path>, base_url: &str) -> Result<Self, Error> {
        download::download_missing(base_url, &FILES, dir.as_ref())?;
        Self::from_dir(dir)
    }

    /// Keras's tuple form: `((x_train, y_train), (x_test, y_test))`.
    pub fn into_tuples(self) -> (Split, Split) {
        ((self.x_train, self.y_train), (self.x_test, self.y_test))
    }
}

/// `Err` unless the label file holds as many labels as the image file holds images.
fn same_count(images: &Path, n_images: usize, labels: &Path, n_labels: usize) -> Result<(), Error> {
    if n_images == n_labels {
        return Ok(());
    }
    Err(Error::Corrupt {
        path: labels.display().to_string(),
        reason: format!(
            "{n_labels} labels for the {n_images} images of {}",
            images.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_server::TestServer;
    use super::*;
    use sha2::{Digest, Sha256};
    use std::fs;
    use std::path::PathBuf;
    use std::vec;

    /// A tiny MNIST-format set whose every label is `digit` and every pixel `digit * 10`:
    /// `(file name, uncompressed bytes)` in the order of [`FILES`].
    fn tiny_set(digit: u8, train: u32, test: u32) -> [(&'static str, Vec<u8>); 4] {
        let images = |n: u32| {
            let mut b = idx::IMAGES_MAGIC.to_be_bytes().to_vec();
            for d in [n, 28, 28] {
                b.extend_from_slice(&d.to_be_bytes());
            }
            b.extend(std::iter::repeat_n(digit * 10, n as usize * 784));
            b
        };
        let labels = |n: u32| {
            let mut b = idx::LABELS_MAGIC.to_be_bytes().to_vec();
            b.extend_from_slice(&n.to_be_bytes());
            b.extend(std::iter::repeat_n(digit, n as usize));
            b
        };
        [
            (FILES[0].name, images(train)),
            (FILES[1].name, labels(train)),
            (FILES[2].name, images(test)),
            (FILES[3].name, labels(test)),
        ]
    }

    fn write_set(dir: &Path, set: &[(&str, Vec<u8>)]) {
        fs::create_dir_all(dir).unwrap();
        for (name, bytes) in set {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// The hash table of `set`, as [`FILES`] is of MNIST.
    fn hashes_of(set: &[(&'static str, Vec<u8>); 4]) -> [DatasetFile; 4] {
        set.clone().map(|(name, bytes)| DatasetFile {
            name,
            sha256: std::boxed::Box::leak(
                Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into_boxed_str(),
            ),
        })
    }

    /// Writes a Keras-style `mnist.npz` of `set` (every array stored, as `np.savez` does).
    fn write_npz(path: &Path, set: &[(&str, Vec<u8>); 4]) {
        use std::io::Write;
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
        for ((_, idx_bytes), name) in set.iter().zip(["x_train", "y_train", "x_test", "y_test"]) {
            let (header_len, shape) = if name.starts_with('x') {
                (16, format!("({}, 28, 28)", (idx_bytes.len() - 16) / 784))
            } else {
                (8, format!("({},)", idx_bytes.len() - 8))
            };
            let dict = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}\n");
            let mut npy = b"\x93NUMPY\x01\x00".to_vec();
            npy.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            npy.extend_from_slice(dict.as_bytes());
            npy.extend_from_slice(&idx_bytes[header_len..]);
            zip.start_file(
                format!("{name}.npy"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            zip.write_all(&npy).unwrap();
        }
        zip.finish().unwrap();
    }

    fn first_label(m: &Mnist) -> u8 {
        m.y_train[0]
    }

    /// Every place of the lookup filled with a set of its own digit; each is then removed in
    /// turn to show the next one is used, down to the download.
    #[test]
    fn places_are_searched_in_order_then_downloaded() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let home = tmp.path().join("home");
        let places = Locations {
            data_dir: Some(data.clone()),
            home: Some(home.clone()),
            keras_home: None,
        };
        let kiln_cache = home.join(".kiln/datasets/mnist");
        let keras_npz = home.join(".keras/datasets/mnist.npz");
        write_set(&data.join("mnist"), &tiny_set(1, 2, 1));
        write_set(&kiln_cache, &tiny_set(2, 2, 1));
        write_npz(&keras_npz, &tiny_set(3, 2, 1));
        let served = tiny_set(4, 3, 2);
        let server = TestServer::start(
            served
                .iter()
                .map(|(name, bytes)| (format!("/{name}.gz"), gzip(bytes)))
                .collect(),
        );
        let files = hashes_of(&served);
        let load = || load_with(&places, &server.url, &files).unwrap();

        assert_eq!(first_label(&load()), 1, "$KILN_DATA_DIR/mnist first");
        fs::remove_file(data.join("mnist").join(FILES[3].name)).unwrap();
        assert_eq!(
            first_label(&load()),
            2,
            "an incomplete folder is passed over"
        );
        fs::remove_dir_all(&kiln_cache).unwrap();
        assert_eq!(first_label(&load()), 3, "then Keras's mnist.npz");
        fs::remove_file(&keras_npz).unwrap();
        assert_eq!(server.requests(), 0);
        let downloaded = load();
        assert_eq!(server.requests(), 4);
        assert_eq!((downloaded.x_train.len(), downloaded.x_test.len()), (3, 2));
        assert_eq!(first_label(&downloaded), 4);
        assert_eq!(downloaded.x_test[1][27][27], 40);
        let mut kept: Vec<String> = fs::read_dir(&kiln_cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        kept.sort();
        let mut want: Vec<String> = FILES.iter().map(|f| format!("{}.gz", f.name)).collect();
        want.sort();
        assert_eq!(kept, want);
        assert_eq!(
            load(),
            downloaded,
            "the download is found in the cache next time"
        );
        assert_eq!(server.requests(), 4);
    }

    #[test]
    fn debug_shows_sizes_not_pixels() {
        let m = Mnist {
            x_train: vec![[[0; 28]; 28]; 3],
            y_train: vec![0; 3],
            x_test: vec![],
            y_test: vec![],
        };
        assert_eq!(
            format!("{m:?}"),
            "Mnist { x_train: 3 images, y_train: 3 labels, x_test: 0 images, y_test: 0 labels }"
        );
    }

    #[test]
    fn keras_home_replaces_the_keras_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let keras_home = tmp.path().join("k");
        write_npz(&keras_home.join("datasets/mnist.npz"), &tiny_set(7, 1, 1));
        let places = Locations {
            data_dir: None,
            home: Some(tmp.path().join("home")),
            keras_home: Some(keras_home),
        };
        let m = load_with(&places, "http://127.0.0.1:9/", &FILES).unwrap();
        assert_eq!(m.y_test, [7]);
    }

    #[test]
    fn a_damaged_file_found_is_an_error_not_passed_over() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let mut set = tiny_set(1, 2, 1);
        set[1].1.pop(); // one train label short
        write_set(&data.join("mnist"), &set);
        write_set(
            &tmp.path().join("home/.kiln/datasets/mnist"),
            &tiny_set(2, 2, 1),
        );
        let places = Locations {
            data_dir: Some(data.clone()),
            home: Some(tmp.path().join("home")),
            keras_home: None,
        };
        let e = load_with(&places, "http://127.0.0.1:9/", &FILES).unwrap_err();
        let labels = data.join("mnist").join(FILES[1].name);
        assert!(
            matches!(&e, Error::Corrupt { path, reason } if *path == labels.display().to_string()
                && reason.starts_with("truncated")),
            "{e:?}"
        );
    }

    #[test]
    fn a_label_count_other_than_the_image_count_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let mut set = tiny_set(1, 2, 1);
        set[3] = tiny_set(1, 2, 2)[3].clone(); // two test labels for one test image
        write_set(tmp.path(), &set);
        let e = Mnist::from_dir(tmp.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: corrupt file: 2 labels for the 1 images of {}",
                tmp.path().join(FILES[3].name).display(),
                tmp.path().join(FILES[2].name).display()
            )
        );
    }

    #[test]
    fn a_failed_download_lists_every_place_searched() {
        let tmp = tempfile::tempdir().unwrap();
        let server = TestServer::start(vec![]);
        let places = Locations {
            data_dir: None,
            home: Some(tmp.path().to_path_buf()),
            keras_home: None,
        };
        let e = load_with(&places, &server.url, &FILES).unwrap_err();
        let Error::DatasetUnavailable {
            name,
            searched,
            download,
            hint,
        } = &e
        else {
            panic!("expected DatasetUnavailable, got {e:?}");
        };
        assert_eq!(name, "mnist");
        assert!(
            hint.contains("KILN_DATA_DIR") && hint.contains("KILN_MNIST_URL"),
            "{hint}"
        );
        let home = tmp.path().display();
        assert_eq!(
            searched,
            &[
                "$KILN_DATA_DIR/mnist: KILN_DATA_DIR is not set".to_string(),
                format!("{home}/.kiln/datasets/mnist: no such folder"),
                format!("{home}/.keras/datasets/mnist.npz: no such file"),
            ]
        );
        assert!(
            matches!(&**download, Error::Download { url, reason }
                if *url == format!("{}train-images-idx3-ubyte.gz", server.url)
                && reason == "HTTP 404 Not Found"),
            "{download:?}"
        );
        let cache: PathBuf = tmp.path().join(".kiln/datasets/mnist");
        assert_eq!(
            fs::read_dir(cache).unwrap().count(),
            0,
            "no file left behind"
        );
    }

    #[test]
    fn a_corrupted_download_is_a_hash_mismatch_through_load() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tiny_set(4, 1, 1);
        let files = hashes_of(&good);
        let mut served = good.clone();
        served[0].1[20] ^= 1; // one pixel of the training images
        let server = TestServer::start(
            served
                .iter()
                .map(|(name, bytes)| (format!("/{name}.gz"), gzip(bytes)))
                .collect(),
        );
        let places = Locations {
            data_dir: None,
            home: Some(tmp.path().to_path_buf()),
            keras_home: None,
        };
        let e = load_with(&places, &server.url, &files).unwrap_err();
        let Error::DatasetUnavailable { download, .. } = &e else {
            panic!("expected DatasetUnavailable, got {e:?}");
        };
        assert!(
            matches!(&**download, Error::HashMismatch { file, expected, .. }
                if file == FILES[0].name && expected == files[0].sha256),
            "{download:?}"
        );
        let cache = tmp.path().join(".kiln/datasets/mnist");
        assert!(!cache.join("train-images-idx3-ubyte.gz").exists());
        assert_eq!(fs::read_dir(cache).unwrap().count(), 0);
    }

    #[test]
    fn npz_errors_name_the_array() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("mnist.npz");
        let mut set = tiny_set(3, 2, 1);
        set[1].1[9] = 12; // the second train label
        write_npz(&path, &set);
        let e = Mnist::from_npz(&path).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidLabel { path: p, index: 1, label: 12, classes: 10 }
                if *p == format!("{} (array y_train)", path.display())),
            "{e:?}"
        );
        fs::write(&path, b"not a zip").unwrap();
        let e = Mnist::from_npz(&path).unwrap_err();
        assert!(
            e.to_string().contains("not a readable .npz (zip) archive"),
            "{e}"
        );
    }
}
