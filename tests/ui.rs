//! The compile errors `model!` reports, one case per mistake: each `tests/ui/NN-*.rs` is a model
//! written wrong and its `.stderr` is exactly what the user sees. Regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test --test ui` and read every one of them before committing.

#[test]
fn ui() {
    // trybuild compiles each case in a scratch crate under target/; `weights = "…"` paths are
    // resolved against this override instead (the idiom trybuild's author recommends).
    std::env::set_var(
        "CARGO_MANIFEST_DIR_OVERRIDE",
        std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"),
    );
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
