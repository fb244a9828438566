//! IDX (MNIST) files, raw or gzip-compressed: `kiln::datasets::idx::read_images::<28, 28>` and
//! `kiln::datasets::idx::read_labels(_, 10)` on the same bytes. Either may return `Ok` or `Err`;
//! neither may panic, hang or allocate more than the data holds.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let path = common::write_input("idx", data);
    let _ = kiln::datasets::idx::read_images::<28, 28>(path);
    let _ = kiln::datasets::idx::read_labels(path, 10);
});
