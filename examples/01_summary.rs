//! Prints the summary of the seed MNIST CNN, computed by the macro at compile time.
//!
//! Run: `cargo run --example 01_summary`
//!
//! Keras 3.15.1 prints for the same model (`model.summary()`, TensorFlow 2.21 backend):
//!
//! ```text
//! Model: "sequential"
//! ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
//! ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
//! ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
//! │ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ conv2d_1 (Conv2D)               │ (None, 24, 24, 64)     │        18,496 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ max_pooling2d (MaxPooling2D)    │ (None, 12, 12, 64)     │             0 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ dropout (Dropout)               │ (None, 12, 12, 64)     │             0 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ flatten (Flatten)               │ (None, 9216)           │             0 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ dense (Dense)                   │ (None, 128)            │     1,179,776 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ dropout_1 (Dropout)             │ (None, 128)            │             0 │
//! ├─────────────────────────────────┼────────────────────────┼───────────────┤
//! │ dense_1 (Dense)                 │ (None, 10)             │         1,290 │
//! └─────────────────────────────────┴────────────────────────┴───────────────┘
//!  Total params: 1,199,882 (4.58 MB)
//!  Trainable params: 1,199,882 (4.58 MB)
//!  Non-trainable params: 0 (0.00 B)
//! ```
//! kiln prints the same table (its model is named after the struct, `mnist_cnn`); the test
//! `summary_matches_keras` in `tests/model.rs` checks it line by line.

use kiln::prelude::*;

kiln::model! {
    /// The seed CNN of the Keras MNIST example.
    pub struct MnistCnn: [28, 28, 1] => <
        Conv2D(32, 3, relu),
        Conv2D(64, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2),
        Dropout(0.25),
        Flatten,
        Dense(128, relu),
        Dropout(0.5),
        Dense(10, softmax),
    >
}

fn main() {
    print!("{}", MnistCnn::summary());
    println!(
        "input {:?} -> output {:?}",
        MnistCnn::INPUT_SHAPE,
        MnistCnn::OUTPUT_SHAPE
    );
    assert_eq!(
        <MnistCnn as Model>::PARAMS,
        1_199_882,
        "Keras counts 1,199,882 parameters"
    );
}
