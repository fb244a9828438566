//! As `keras`, into the model of tests/fixtures/keras/lstm.* (two LSTMs: Keras 3 keeps their
//! variables under `cell/vars`, the legacy format under `lstm_cell`), to reach the recurrent
//! layers' paths of the Keras readers.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

kiln::model! {
    struct Lstm: [6, 3] => <
        LSTM(4, return_sequences = true),
        LSTM(3, go_backwards = true, return_sequences = true),
        Flatten,
        Dense(2),
    >
}

fuzz_target!(|data: &[u8]| {
    let path = common::write_input("keras_lstm", data);
    let mut model = Lstm::init(1);
    let _ = kiln::keras::load_weights(&mut *model, path);
});
