//! MNIST read row by row: each image is a sequence of 28 steps of 28 pixels, fed to an
//! `LSTM(128)` and a softmax, as in the Keras guides' recurrent MNIST example. Adam at batch
//! 128; prints its test accuracy last.
//!
//! Run: `cargo run --release --example 04_mnist_lstm` (8 epochs, about a minute on 2 cores,
//! for about 98.3%; `--epochs N`, `--batch-size N`, `--limit N` to train on the first N images
//! only).

mod common;

use kiln::datasets::mnist::Image;
use kiln::prelude::*;

kiln::model! {
    /// 28 steps of 28 features, the last step's 128 units classified.
    pub struct MnistLstm: [28, 28] => <
        LSTM(128),
        Dense(10, softmax),
    >
}

/// Each image as 28 rows of 28 pixels in [0, 1].
fn rows(images: &[Image]) -> Vec<[[f32; 28]; 28]> {
    images
        .iter()
        .map(|im| im.map(|row| row.map(|p| f32::from(p) / 255.0)))
        .collect()
}

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(8);
    let ((x_train, y_train), (x_test, y_test)) = common::mnist(args.limit, rows)?;
    print!("{}", MnistLstm::summary());

    let mut net = MnistLstm::init(42);
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
