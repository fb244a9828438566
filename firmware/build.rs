//! Prepares what the firmware embeds, in OUT_DIR:
//!
//! - `inputs.bin`, `labels.u8`: the first `N` MNIST test digits as the model's input (`input()`
//!   in src/model.rs: int8 quantized with the model's input scale, or f32 `x / 255`) and
//!   their labels, from the gzipped IDX files in `$KILN_DATA_DIR/mnist` or else
//!   `../../shared/data/mnist`, checked against the folder's SHA256SUMS when it has one;
//! - `expected.u8`: the host's predictions for them, from the same model (`src/model.rs`, which
//!   main.rs includes too) run by kiln on the build machine, which the firmware must match;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::{env, fs};

include!("src/model.rs");

/// How many test digits the firmware runs (the peer firmware's 200).
const N: usize = 200;
const IMAGES: &str = "t10k-images-idx3-ubyte.gz";
const LABELS: &str = "t10k-labels-idx1-ubyte.gz";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/model.rs");
    println!("cargo:rerun-if-changed=models");
    println!("cargo:rerun-if-env-changed=KILN_DATA_DIR");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    if let Err(e) = run(&manifest, &out) {
        // A build error that says what is missing and where it was looked for.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(manifest: &Path, out: &Path) -> Result<(), String> {
    let dir = mnist_dir(manifest)?;
    let (digits, labels) = read_mnist(&dir)?;
    fs::write(out.join("labels.u8"), &labels).map_err(|e| e.to_string())?;

    // The host reference runs kiln's portable loops, as the Cortex-M4 does: no AVX, so f32
    // sums are rounded in the same order on both and the predictions can be compared exactly.
    env::set_var("KILN_ISA", "scalar");
    // The same weights as the firmware: `model!` embeds them in both builds.
    let net = Net::weights();
    let mut arena = Box::new(kiln::Arena::<Net>::new());
    let inputs: Vec<_> = digits
        .chunks_exact(PIXELS)
        .map(|px| input(px.try_into().unwrap()))
        .collect();
    let expected: Vec<u8> = inputs
        .iter()
        .map(|x| class(net.infer(&mut arena, x)))
        .collect();
    // The firmware embeds the digits as the model's input, ready to run.
    let bytes: Vec<u8> = inputs
        .iter()
        .flat_map(|x| kiln::core::bytemuck::bytes_of(x).to_vec())
        .collect();
    fs::write(out.join("inputs.bin"), bytes).map_err(|e| e.to_string())?;
    let correct = expected.iter().zip(&labels).filter(|(p, l)| p == l).count();
    println!(
        "cargo:warning=host reference ({KIND}): {correct}/{N} of the first {N} test digits correct"
    );
    fs::write(out.join("expected.u8"), &expected).map_err(|e| e.to_string())?;

    Ok(())
}

/// `$KILN_DATA_DIR/mnist`, else `../../shared/data/mnist` from the firmware's folder.
fn mnist_dir(manifest: &Path) -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    if let Some(d) = env::var_os("KILN_DATA_DIR") {
        tried.push(PathBuf::from(d).join("mnist"));
    }
    tried.push(manifest.join("../../shared/data/mnist"));
    for d in &tried {
        if d.join(IMAGES).is_file() && d.join(LABELS).is_file() {
            println!("cargo:rerun-if-changed={}", d.join(IMAGES).display());
            println!("cargo:rerun-if-changed={}", d.join(LABELS).display());
            return Ok(d.clone());
        }
    }
    let tried: Vec<String> = tried.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "the firmware embeds MNIST test digits but found no {IMAGES} and {LABELS} in {}; \
         set KILN_DATA_DIR to a folder holding mnist/ with them",
        tried.join(" or ")
    ))
}

/// The first `N` test digits and labels, each file checked against SHA256SUMS when present.
fn read_mnist(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).ok();
    let images = gunzip(dir, IMAGES, sums.as_deref())?;
    let labels = gunzip(dir, LABELS, sums.as_deref())?;
    let images = idx(&images, IMAGES, 0x0803, &[28, 28])?;
    let labels = idx(&labels, LABELS, 0x0801, &[])?;
    Ok((images[..N * PIXELS].to_vec(), labels[..N].to_vec()))
}

fn gunzip(dir: &Path, name: &str, sums: Option<&str>) -> Result<Vec<u8>, String> {
    let path = dir.join(name);
    let gz = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(sums) = sums {
        // `sha256sum` lines: the hash, spaces, the file name (`*name` in binary mode).
        let want = sums.lines().find_map(|l| {
            let (hash, file) = l.split_once(' ')?;
            (file.trim_start().trim_start_matches('*') == name).then_some(hash)
        });
        if let Some(want) = want {
            let got: String = Sha256::digest(&gz)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if got != want {
                return Err(format!(
                    "{}: SHA-256 {got}, SHA256SUMS says {want}",
                    path.display()
                ));
            }
        }
    }
    let mut raw = Vec::new();
    GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(raw)
}

/// The items of an IDX file of unsigned bytes: checks its magic number, its inner dimensions and
/// that it has at least `N` items.
fn idx<'a>(raw: &'a [u8], name: &str, magic: u32, inner: &[u32]) -> Result<&'a [u8], String> {
    let word = |i: usize| {
        raw.get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
    };
    let header = 1 + 1 + inner.len();
    let dims: Option<Vec<u32>> = (0..header).map(word).collect();
    let bad = || format!("{name}: not an IDX file of {N}+ items of shape {inner:?}");
    let dims = dims.ok_or_else(bad)?;
    if dims[0] != magic || dims[2..] != *inner || (dims[1] as usize) < N {
        return Err(bad());
    }
    let item: usize = inner.iter().map(|&d| d as usize).product();
    raw.get(4 * header..4 * header + dims[1] as usize * item)
        .ok_or_else(bad)
}
