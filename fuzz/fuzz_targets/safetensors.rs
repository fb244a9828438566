//! kiln's safetensors weights (kiln-core's `weights::load`, through `Model::load_weights`) into
//! a small Dense model. May return `Ok` or `Err`; may not panic, hang or allocate unboundedly.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

kiln::model! {
    struct Tiny: [4] => < Dense(3, relu), Dense(2) >
}

fuzz_target!(|data: &[u8]| {
    let path = common::write_input("safetensors", data);
    let mut model = Tiny::init(1);
    let _ = <Tiny as kiln::Model>::load_weights(&mut *model, path);
});
