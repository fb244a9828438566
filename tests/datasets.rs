//! `kiln::datasets` through its public API: the real MNIST found through `KILN_DATA_DIR` (which
//! `.cargo/config.toml` points at `../shared/data`), checked against values computed by NumPy;
//! downloads from a server on 127.0.0.1 started by the test; Keras's npz written by NumPy; IDX
//! files damaged in the ways that matter; and the preprocessing helpers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use kiln::datasets::mnist::{self, Mnist, FILES};
use kiln::datasets::{batches, idx, images_to_f32, images_to_flat_f32, to_categorical, BatchOrder};
use kiln::Error;
use sha2::{Digest, Sha256};

/// The folder of the real MNIST files: `$KILN_DATA_DIR/mnist`.
fn mnist_dir() -> PathBuf {
    let data = std::env::var_os("KILN_DATA_DIR").expect(
        "KILN_DATA_DIR is unset: run the tests through cargo, whose .cargo/config.toml sets it",
    );
    Path::new(&data).join("mnist")
}

/// The real MNIST, read once through `load()` for every test here that needs it.
fn real() -> &'static Mnist {
    static REAL: OnceLock<Mnist> = OnceLock::new();
    REAL.get_or_init(|| {
        assert!(
            mnist_dir().is_dir(),
            "no MNIST at {}",
            mnist_dir().display()
        );
        mnist::load().unwrap()
    })
}

#[test]
fn load_data_finds_real_mnist_through_kiln_data_dir() {
    let m = real();
    assert_eq!((m.x_train.len(), m.y_train.len()), (60_000, 60_000));
    assert_eq!((m.x_test.len(), m.y_test.len()), (10_000, 10_000));
    assert_eq!(m.y_train[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(m.y_test[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let ((x_train, y_train), (x_test, y_test)) = m.clone().into_tuples();
    assert_eq!(
        (&x_train, &y_train, &x_test, &y_test),
        (&m.x_train, &m.y_train, &m.x_test, &m.y_test)
    );
}

/// Values NumPy computes from the same files (`np.frombuffer(gzip.open(f).read(), np.uint8,
/// offset=16).reshape(-1, 28, 28)`), so the reader is checked by an independent one.
#[test]
fn real_mnist_pixels_and_labels_match_numpy() {
    let m = real();
    let sum = |x: &[[u8; 28]; 28]| x.as_flattened().iter().map(|&v| v as u64).sum::<u64>();
    assert_eq!(
        [
            sum(&m.x_train[0]),
            sum(&m.x_test[0]),
            sum(&m.x_train[59_999]),
            sum(&m.x_test[9_999])
        ],
        [27_525, 18_454, 20_920, 41_833]
    );
    let row_14 = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 81, 240, 253, 253, 119, 25, 0, 0, 0, 0, 0, 0, 0, 0,
        0,
    ];
    assert_eq!(m.x_train[0][14], row_14);
    assert_eq!(m.x_train[0][5][21], 255);
    let total = |xs: &[[[u8; 28]; 28]]| xs.iter().map(sum).sum::<u64>();
    assert_eq!(
        (total(&m.x_train), total(&m.x_test)),
        (1_567_298_545, 264_923_200)
    );
    let histogram = |ys: &[u8]| {
        let mut h = [0usize; 10];
        ys.iter().for_each(|&y| h[y as usize] += 1);
        h
    };
    assert_eq!(
        histogram(&m.y_train),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        histogram(&m.y_test),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// `FILES` is the table of `shared/data/mnist/README.md`, and the files there hash to it.
#[test]
fn real_mnist_files_hash_to_the_published_table() {
    let readme = std::fs::read_to_string(mnist_dir().join("README.md")).unwrap();
    let mut published: Vec<(String, String)> = readme
        .lines()
        .filter_map(|l| {
            let (hash, name) = l.split_once("  ")?;
            (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (name.trim().to_string(), hash.to_string()))
        })
        .collect();
    published.sort();
    let mut ours: Vec<(String, String)> = FILES
        .iter()
        .map(|f| (f.name.to_string(), f.sha256.to_string()))
        .collect();
    ours.sort();
    assert_eq!(ours, published);
    for f in FILES {
        let bytes = gunzip(&mnist_dir().join(format!("{}.gz", f.name)));
        assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.name);
    }
}

/// A server on 127.0.0.1 answering `GET /<name>` with fixed bytes, 404 for anything else. It
/// stops by itself after `max_requests` requests or 30 seconds.
fn serve(routes: Vec<(String, Vec<u8>)>, max_requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    let _ = answer(stream, &routes);
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    url
}

fn answer(mut stream: TcpStream, routes: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 << 10 {
        match stream.read(&mut buf)? {
            0 => break,
            k => request.extend_from_slice(&buf[..k]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match routes.iter().find(|(p, _)| p == path) {
        Some((_, body)) => ("200 OK", &body[..]),
        None => ("404 Not Found", &[][..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)
}

/// The real `.gz` files, served under their own names.
fn real_routes() -> Vec<(String, Vec<u8>)> {
    FILES
        .iter()
        .map(|f| {
            let name = format!("{}.gz", f.name);
            let bytes = std::fs::read(mnist_dir().join(&name)).unwrap();
            (format!("/{name}"), bytes)
        })
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn download_from_a_mirror_checks_and_keeps_the_files() {
    let url = serve(real_routes(), 8);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnist");
    let m = Mnist::download(&target, &url).unwrap();
    assert_eq!(&m, real());
    let mut want: Vec<String> = FILES.iter().map(|f| format!("{}.gz", f.name)).collect();
    want.sort();
    assert_eq!(names_in(&target), want);
}

#[test]
fn a_mirror_serving_other_bytes_fails_the_hash_check_and_keeps_nothing() {
    // Fashion-MNIST's trap in miniature: the right name, other contents.
    let test_images = std::fs::read(mnist_dir().join("t10k-images-idx3-ubyte.gz")).unwrap();
    let url = serve(vec![("/train-images-idx3-ubyte.gz".into(), test_images)], 4);
    let dir = tempfile::tempdir().unwrap();
    let e = Mnist::download(dir.path(), &url).unwrap_err();
    match &e {
        Error::HashMismatch {
            url: from,
            file,
            expected,
            actual,
        } => {
            assert_eq!(from, &format!("{url}train-images-idx3-ubyte.gz"));
            assert_eq!(file, "train-images-idx3-ubyte");
            assert_eq!(expected, FILES[0].sha256);
            assert_eq!(actual, FILES[2].sha256);
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(FILES[0].sha256) && msg.contains(FILES[2].sha256),
        "{msg}"
    );
    assert!(
        names_in(dir.path()).is_empty(),
        "kept: {:?}",
        names_in(dir.path())
    );
}

#[test]
fn a_file_missing_on_the_mirror_is_an_http_404_error_naming_the_url() {
    let url = serve(vec![], 4);
    let dir = tempfile::tempdir().unwrap();
    let e = Mnist::download(dir.path(), &url).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{url}train-images-idx3-ubyte.gz: download failed: HTTP 404 Not Found")
    );
    assert!(names_in(dir.path()).is_empty());
}

/// `tests/fixtures/mnist_tiny.npz` was written by NumPy 2.4.6 (as Keras caches `mnist.npz`, but
/// compressed, and five images), from the repository's root:
///
/// ```text
/// /work/venv-keras/bin/python -c '
/// import numpy as np
/// i, r, c = np.ogrid[:5, :28, :28]
/// x = ((i * 31 + r * 7 + c * 3) % 256).astype(np.uint8)
/// np.savez_compressed("tests/fixtures/mnist_tiny.npz", x_train=x[:3],
///     y_train=np.array([5, 0, 4], np.uint8), x_test=x[3:], y_test=np.array([7, 2], np.uint8))'
/// ```
#[test]
fn keras_style_npz_written_by_numpy_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mnist_tiny.npz");
    let m = Mnist::from_npz(path).unwrap();
    assert_eq!((m.y_train, m.y_test), (vec![5, 0, 4], vec![7, 2]));
    for (i, image) in m.x_train.iter().chain(&m.x_test).enumerate() {
        for (r, row) in image.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(
                    v as usize,
                    (i * 31 + r * 7 + c * 3) % 256,
                    "image {i} ({r}, {c})"
                );
            }
        }
    }
}

/// An IDX file of unsigned bytes: magic, dimensions, data.
fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    dims.iter()
        .for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a two-image MNIST-format folder (train and test alike), gzipped or not, after letting
/// `damage` change the four files' bytes (in the order of `FILES`).
fn write_tiny(dir: &Path, gz: bool, damage: impl FnOnce(&mut [Vec<u8>; 4])) {
    let images = idx_bytes(0x803, &[2, 28, 28], &[7; 2 * 784]);
    let labels = idx_bytes(0x801, &[2], &[3, 9]);
    let mut files = [images.clone(), labels.clone(), images, labels];
    damage(&mut files);
    for (f, bytes) in FILES.iter().zip(files) {
        let (name, bytes) = if gz {
            (format!("{}.gz", f.name), gzip(&bytes))
        } else {
            (f.name.to_string(), bytes)
        };
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn a_well_formed_folder_loads_gzipped_or_not() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), gz, |_| {});
        let m = Mnist::from_dir(dir.path()).unwrap();
        assert_eq!(
            (m.y_train, m.x_test[1][27][27]),
            (vec![3, 9], 7),
            "gz: {gz}"
        );
    }
}

/// The error `Mnist::from_dir` gives for a folder damaged by `damage`, gzipped or not; both must
/// agree.
fn from_dir_error(damage: impl Fn(&mut [Vec<u8>; 4])) -> (String, String) {
    let mut messages = Vec::new();
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), gz, &damage);
        let e = Mnist::from_dir(dir.path()).unwrap_err();
        let shown = e.to_string();
        let prefix = format!("{}/", dir.path().display());
        messages.push(shown.replacen(&prefix, "", 1).replace(".gz:", ":"));
    }
    (messages[0].clone(), messages[1].clone())
}

#[test]
fn truncated_files_are_named_errors_gzipped_or_not() {
    let (plain, gz) = from_dir_error(|f| f[2].truncate(16 + 784 + 100));
    assert_eq!(plain, gz);
    assert_eq!(
        plain,
        "t10k-images-idx3-ubyte: corrupt file: truncated: the header declares 2 images (1568 \
         bytes of data) but the data ends after 884 bytes"
    );
}

#[test]
fn a_wrong_magic_number_is_a_named_error_gzipped_or_not() {
    let (plain, gz) = from_dir_error(|f| f[1][3] = 0x03);
    assert_eq!(plain, gz);
    assert_eq!(
        plain,
        "train-labels-idx1-ubyte: corrupt file: magic number 0x00000803 (that of an IDX image \
         file), expected 0x00000801 (IDX labels)"
    );
}

#[test]
fn a_label_outside_0_to_9_is_a_named_error_gzipped_or_not() {
    let (plain, gz) = from_dir_error(|f| f[3][9] = 10);
    assert_eq!(plain, gz);
    assert_eq!(
        plain,
        "t10k-labels-idx1-ubyte: label 10 at index 1 is out of range: labels must be below 10, \
         the number of classes"
    );
}

#[test]
fn images_of_another_size_are_a_named_error() {
    let (plain, _) = from_dir_error(|f| f[0] = idx_bytes(0x803, &[2, 32, 32], &[0; 2 * 1024]));
    assert_eq!(
        plain,
        "train-images-idx3-ubyte: corrupt file: images are 32 x 32, expected 28 x 28"
    );
}

#[test]
fn idx_files_of_other_sizes_read_through_the_generic_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.gz");
    std::fs::write(
        &path,
        gzip(&idx_bytes(0x803, &[1, 2, 3], &[1, 2, 3, 4, 5, 6])),
    )
    .unwrap();
    assert_eq!(
        idx::read_images::<2, 3>(&path).unwrap(),
        [[[1, 2, 3], [4, 5, 6]]]
    );
    let labels = dir.path().join("labels");
    std::fs::write(&labels, idx_bytes(0x801, &[3], &[0, 25, 26])).unwrap();
    assert_eq!(idx::read_labels(&labels, 27).unwrap(), [0, 25, 26]);
}

#[test]
fn real_mnist_prepared_for_a_cnn_and_an_mlp() {
    let m = real();
    let y = to_categorical::<10>(&m.y_train).unwrap();
    assert_eq!(y.len(), 60_000);
    assert_eq!(y[0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let x = images_to_f32(&m.x_train[..100]);
    assert_eq!(x[0][14][14], [240.0 / 255.0]);
    assert_eq!(x[0][5][21], [1.0]);
    let flat: Vec<[f32; 784]> = images_to_flat_f32(&m.x_test[..10]);
    assert_eq!(flat[0][..], x_test_0_scaled(m)[..]);
    for (f, image) in flat.iter().zip(&m.x_test) {
        assert!(f.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(f[28 * 27 + 27], image[27][27] as f32 / 255.0);
    }
}

fn x_test_0_scaled(m: &Mnist) -> Vec<f32> {
    m.x_test[0]
        .as_flattened()
        .iter()
        .map(|&v| v as f32 / 255.0)
        .collect()
}

#[test]
fn an_epoch_of_shuffled_batches_visits_every_sample_once() {
    let m = real();
    let order = BatchOrder::shuffled(m.x_train.len(), 42);
    let sizes: Vec<usize> = order.batches(128).map(<[usize]>::len).collect();
    assert_eq!(sizes.len(), 469);
    assert_eq!(*sizes.last().unwrap(), 60_000 % 128);
    let mut seen = vec![false; 60_000];
    for &i in order.indices() {
        assert!(!std::mem::replace(&mut seen[i], true));
    }
    assert_eq!(order, BatchOrder::shuffled(60_000, 42));
    let in_order: usize = batches(&m.x_train, 1000).map(<[_]>::len).sum();
    assert_eq!(in_order, 60_000);
}
