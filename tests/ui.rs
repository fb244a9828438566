//! The compile errors `model!` reports, one case per mistake: each `tests/ui/NN-*.rs` is a model
//! written wrong and its `.stderr` is exactly what the user sees. Regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test --test ui` and read every one of them before committing.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
