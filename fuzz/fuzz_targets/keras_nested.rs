//! Keras's files through `kiln::keras::load_weights` into a model with a nested one, the model
//! of tests/fixtures/keras/special/nested.*: reaches the readers' recursion into a nested
//! model's config (`config.rs`), its weight groups (`v3.rs`, bounded in depth against cycles
//! of group links) and its legacy `weight_names` (`legacy.rs`). May return `Ok` or `Err`; may
//! not panic, hang or allocate unboundedly.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

kiln::model! {
    struct Block: [6] => < Dense(4, relu), Dense(5) >
}

kiln::model! {
    struct Nested {
        input v: [6];
        let x = Dense(6, tanh)(v);
        output y = Dense(3, softmax)(Block(x));
    }
}

fuzz_target!(|data: &[u8]| {
    let path = common::write_input("keras_nested", data);
    let mut model = Nested::init(1);
    let _ = kiln::keras::load_weights(&mut *model, path);
});
