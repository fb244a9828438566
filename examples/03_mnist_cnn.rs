//! The main job: trains the seed MNIST CNN with Adam at batch 128 and prints its test accuracy.
//!
//! Run: `cargo run --release --example 03_mnist_cnn` (3 epochs; `--epochs 12` for the full run,
//! `--batch-size N`, `--limit N` to train on the first N images only).
//! The MNIST files come from `$KILN_DATA_DIR/mnist` (set to `../shared/data` in
//! `.cargo/config.toml`), `~/.kiln/datasets/mnist`, Keras's cache, or a download.

mod common;

use kiln::datasets::images_to_f32;
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

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(3);
    let ((x_train, y_train), (x_test, y_test)) = common::mnist(args.limit, images_to_f32)?;
    print!("{}", MnistCnn::summary());

    let mut net = MnistCnn::init(42);
    let mut trainer = net.compile(
        Adam::default(),
        Loss::CategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let history = trainer.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            validation_data: Some((&x_test, &y_test)),
            seed: 42,
            verbose: 1,
            ..Default::default()
        },
    )?;
    common::save_history(&history)?;
    let [_loss, accuracy] = trainer.evaluate(&x_test, &y_test)?;
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}
