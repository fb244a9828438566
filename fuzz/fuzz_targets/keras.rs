//! Keras's files through `kiln::keras::load_weights`: `.keras` (zip + JSON config + HDF5),
//! Keras 3 `.weights.h5` and legacy `.h5` (HDF5, hdf5-pure), anything else as safetensors;
//! into the model of tests/fixtures/keras/small_cnn.*. May return `Ok` or `Err`; may not
//! panic (even a panic that `load_weights` catches aborts here), hang or allocate unboundedly.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

kiln::model! {
    struct SmallCnn: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >
}

fuzz_target!(|data: &[u8]| {
    let path = common::write_input("keras", data);
    let mut model = SmallCnn::init(1);
    let _ = kiln::keras::load_weights(&mut *model, path);
});
