//! Downloads checked against published SHA-256 hashes: each file is fetched to a temporary name
//! beside its destination and renamed only once the hash of its (decompressed) bytes matches, so
//! a file under its final name has always been verified.

extern crate std;

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::time::Duration;
use std::{format, vec};

use indicatif::{ProgressBar, ProgressStyle};
use kiln_core::Error;
use sha2::{Digest, Sha256};

use super::idx::{self, Source};

/// One file of a dataset and the SHA-256 that identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetFile {
    /// The file's name, uncompressed (e.g. `train-images-idx3-ubyte`); servers and local folders
    /// may hold it gzip-compressed as `<name>.gz`.
    pub name: &'static str,
    /// The SHA-256 of its uncompressed bytes, lowercase hex. Hashing the uncompressed bytes makes
    /// the check independent of how a mirror compressed the file.
    pub sha256: &'static str,
}

/// The most a single download may be: the largest MNIST file, uncompressed, is 47 MB.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

/// Downloads `<base_url><name>.gz` for each of `files` that `dir` does not already hold (as
/// `<name>` or `<name>.gz`), verifying each against its SHA-256.
pub(crate) fn download_missing(
    base_url: &str,
    files: &[DatasetFile],
    dir: &Path,
) -> Result<(), Error> {
    let agent = agent();
    for file in files {
        if idx::find(dir, file.name).is_none() {
            fetch(&agent, base_url, file, dir)?;
        }
    }
    Ok(())
}

/// An HTTP client that reports error statuses as responses, and gives up on a silent server.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_call(Some(Duration::from_secs(30 * 60)))
        .build()
        .into()
}

/// `base_url` and `name` joined by exactly one `/`.
pub(crate) fn url_of(base_url: &str, name: &str) -> String {
    format!("{}/{name}", base_url.trim_end_matches('/'))
}

/// Downloads `<base_url><file.name>.gz` into `dir`, verifies it, and returns where it now is:
/// `<name>.gz`, or `<name>` if the server sent it uncompressed.
fn fetch(
    agent: &ureq::Agent,
    base_url: &str,
    file: &DatasetFile,
    dir: &Path,
) -> Result<PathBuf, Error> {
    let url = url_of(base_url, &format!("{}.gz", file.name));
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let part = dir.join(format!(".{}.{}.part", file.name, std::process::id()));
    let verified = receive(agent, &url, &part).and_then(|()| verify(&url, file, &part));
    let gzip = match verified {
        Ok(gzip) => gzip,
        Err(e) => {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
    };
    let dest = if gzip {
        dir.join(format!("{}.gz", file.name))
    } else {
        dir.join(file.name)
    };
    fs::rename(&part, &dest).map_err(io_err(&dest))?;
    Ok(dest)
}

/// Streams `url` into the file `to`, with a progress bar on a terminal.
fn receive(agent: &ureq::Agent, url: &str, to: &Path) -> Result<(), Error> {
    let failed = |reason: String| Error::Download {
        url: url.to_string(),
        reason,
    };
    let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let words = status.canonical_reason().unwrap_or("");
        return Err(failed(format!("HTTP {} {words}", status.as_u16())));
    }
    let body = response.body_mut();
    let len = body.content_length();
    if let Some(l) = len.filter(|&l| l > MAX_DOWNLOAD_BYTES) {
        return Err(failed(format!(
            "the server announces {l} bytes, more than the {MAX_DOWNLOAD_BYTES} a dataset file \
             may be"
        )));
    }
    let bar = progress_bar(url, len);
    let write_err = |source| Error::Io {
        path: to.display().to_string(),
        source,
    };
    let mut out = BufWriter::new(File::create(to).map_err(write_err)?);
    let mut reader = body.as_reader().take(MAX_DOWNLOAD_BYTES + 1);
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let k = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(format!("after {total} bytes: {e}"))),
        };
        total += k as u64;
        if total > MAX_DOWNLOAD_BYTES {
            return Err(failed(format!(
                "more than {MAX_DOWNLOAD_BYTES} bytes, more than a dataset file may be"
            )));
        }
        out.write_all(&buf[..k]).map_err(write_err)?;
        bar.inc(k as u64);
    }
    out.into_inner()
        .map_err(|e| write_err(e.into_error()))?
        .sync_all()
        .map_err(write_err)?;
    bar.finish_and_clear();
    Ok(())
}

/// A progress bar for `url` on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress_bar(url: &str, len: Option<u64>) -> ProgressBar {
    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.with_message(format!("downloading {name}"))
}

/// Checks the SHA-256 of the downloaded file `part`'s decompressed bytes against `file.sha256`;
/// returns whether the file is gzip-compressed.
fn verify(url: &str, file: &DatasetFile, part: &Path) -> Result<bool, Error> {
    let mut src = Source::open(part)?;
    let gzip = src.is_gzip();
    let actual = sha256_hex(&mut src).map_err(|e| match e {
        Error::Corrupt { reason, .. } => Error::Download {
            url: url.to_string(),
            reason: format!("the file arrived damaged: {reason}"),
        },
        other => other,
    })?;
    if actual != file.sha256.to_ascii_lowercase() {
        return Err(Error::HashMismatch {
            url: url.to_string(),
            file: file.name.to_string(),
            expected: file.sha256.to_string(),
            actual,
        });
    }
    Ok(gzip)
}

/// The SHA-256 of everything `src` yields, lowercase hex.
pub(crate) fn sha256_hex(src: &mut Source) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let k = src.read_full(&mut buf)?;
        hasher.update(&buf[..k]);
        if k < buf.len() {
            break;
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::test_server::TestServer;
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::vec::Vec;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn sha256_of(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Leaks a string, for a `DatasetFile` made at run time.
    fn leak(s: String) -> &'static str {
        std::boxed::Box::leak(s.into_boxed_str())
    }

    fn only_file(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn url_of_joins_with_one_slash() {
        assert_eq!(url_of("http://h/a/", "f.gz"), "http://h/a/f.gz");
        assert_eq!(url_of("http://h/a", "f.gz"), "http://h/a/f.gz");
    }

    #[test]
    fn a_good_file_is_kept_under_its_name_and_not_downloaded_again() {
        let content = b"some IDX bytes".to_vec();
        let server = TestServer::start(vec![("/good.gz".into(), gzip(&content))]);
        let dir = tempfile::tempdir().unwrap();
        let file = DatasetFile {
            name: "good",
            sha256: leak(sha256_of(&content)),
        };
        download_missing(&server.url, &[file], dir.path()).unwrap();
        assert_eq!(only_file(dir.path()), ["good.gz"]);
        let mut src = Source::open(&dir.path().join("good.gz")).unwrap();
        assert_eq!(sha256_hex(&mut src).unwrap(), file.sha256);
        download_missing(&server.url, &[file], dir.path()).unwrap();
        assert_eq!(server.requests(), 1, "a present file is not fetched again");
    }

    #[test]
    fn a_file_sent_uncompressed_is_kept_without_gz() {
        let content = b"plain bytes".to_vec();
        let server = TestServer::start(vec![("/plain.gz".into(), content.clone())]);
        let dir = tempfile::tempdir().unwrap();
        let file = DatasetFile {
            name: "plain",
            sha256: leak(sha256_of(&content)),
        };
        download_missing(&server.url, &[file], dir.path()).unwrap();
        assert_eq!(only_file(dir.path()), ["plain"]);
    }

    #[test]
    fn a_corrupted_file_is_a_hash_error_and_leaves_no_file() {
        let server = TestServer::start(vec![("/bad.gz".into(), gzip(b"other bytes"))]);
        let dir = tempfile::tempdir().unwrap();
        let expected = sha256_of(b"the published bytes");
        let file = DatasetFile {
            name: "bad",
            sha256: leak(expected.clone()),
        };
        let e = download_missing(&server.url, &[file], dir.path()).unwrap_err();
        match &e {
            Error::HashMismatch {
                url,
                file,
                expected: exp,
                actual,
            } => {
                assert_eq!(url, &format!("{}bad.gz", server.url));
                assert_eq!(file, "bad");
                assert_eq!(exp, &expected);
                assert_eq!(actual, &sha256_of(b"other bytes"));
            }
            other => panic!("expected HashMismatch, got {other:?}"),
        }
        assert!(
            only_file(dir.path()).is_empty(),
            "nothing kept: {:?}",
            only_file(dir.path())
        );
    }

    #[test]
    fn damaged_gzip_is_a_download_error_and_leaves_no_file() {
        let mut gz = gzip(b"bytes");
        gz.truncate(gz.len() - 5);
        let server = TestServer::start(vec![("/cut.gz".into(), gz)]);
        let dir = tempfile::tempdir().unwrap();
        let file = DatasetFile {
            name: "cut",
            sha256: leak(sha256_of(b"bytes")),
        };
        let e = download_missing(&server.url, &[file], dir.path()).unwrap_err();
        assert!(
            matches!(&e, Error::Download { reason, .. } if reason.starts_with("the file arrived damaged")),
            "{e:?}"
        );
        assert!(only_file(dir.path()).is_empty());
    }

    #[test]
    fn http_404_is_a_download_error_naming_the_url() {
        let server = TestServer::start(vec![]);
        let dir = tempfile::tempdir().unwrap();
        let file = DatasetFile {
            name: "missing",
            sha256: "00",
        };
        let e = download_missing(&server.url, &[file], dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}missing.gz: download failed: HTTP 404 Not Found",
                server.url
            )
        );
        assert!(only_file(dir.path()).is_empty());
    }
}
