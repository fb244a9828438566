//! Enables the AVX-512 kernels (`cfg(kiln_avx512)`) when the compiler is Rust 1.89 or newer,
//! the first with stable AVX-512 intrinsics; the workspace still builds with 1.85.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(kiln_avx512)");
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
