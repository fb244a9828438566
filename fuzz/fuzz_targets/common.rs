//! Shared by the fuzz targets: the input is written to a file (kiln's readers take a path) and
//! every panic aborts, even one that kiln catches.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A file of this process for the inputs of target `name`: under /dev/shm when it exists (no
/// disk writes), else the system's temporary folder; the process id keeps parallel jobs apart.
pub fn input_file(name: &str) -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        install_abort_on_panic();
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("kiln-fuzz-{name}-{}", std::process::id()))
    })
}

/// Writes `data` to this process's input file for target `name` and returns its path.
pub fn write_input(name: &str, data: &[u8]) -> &'static Path {
    let path = input_file(name);
    std::fs::write(path, data).expect("writing the fuzz input to a temporary file");
    path
}

/// Every panic prints its message and a backtrace, then aborts the process, so that libFuzzer
/// records a crash. This matters for `kiln::keras::load_weights`, which runs the HDF5 reader
/// inside `std::panic::catch_unwind` and would otherwise turn a panic into `Err`.
/// (libfuzzer-sys installs a similar hook; this one does not depend on it.)
fn install_abort_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "panic (fuzz target aborts on every panic, caught or not): {info}\n{}",
            std::backtrace::Backtrace::force_capture()
        );
        std::process::abort();
    }));
}
