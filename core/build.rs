//! Enables the AVX-512 kernels (`cfg(kiln_avx512)`) when the compiler is Rust 1.89 or newer,
//! the first with stable AVX-512 intrinsics; the workspace still builds with 1.85.
//!
//! Enables the Cortex-M DSP instructions of the int8 kernels (`cfg(kiln_dsp)`) on `thumbv7em`
//! targets (Cortex-M4/M7, which always have them): stable Rust does not expose Arm target
//! features to `cfg`, so the target name is the reliable signal. Other cores with the DSP
//! extension (e.g. a Cortex-M33) can opt in with `RUSTFLAGS="--cfg kiln_dsp"`.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(kiln_avx512)");
    println!("cargo:rustc-check-cfg=cfg(kiln_dsp)");
    if env::var("TARGET").is_ok_and(|t| t.starts_with("thumbv7em")) {
        println!("cargo:rustc-cfg=kiln_dsp");
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok());
    // "rustc 1.89.0 (29483883e 2025-08-04)": the minor version after the first dot.
    let minor = version
        .as_deref()
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=kiln_avx512");
    }
}
