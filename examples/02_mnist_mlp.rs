//! Trains the seed MLP (Dense(512, relu), Dense(10, softmax)) with Adam at batch 128 and prints
//! its test accuracy.
//!
//! Run: `cargo run --release --example 02_mnist_mlp` (5 epochs; `--epochs N`, `--batch-size N`,
//! `--limit N` to train on the first N images only).

mod common;

use kiln::datasets::images_to_flat_f32;
use kiln::prelude::*;

kiln::model! {
    /// The seed MLP of the Keras MNIST example.
    pub struct MnistMlp: [784] => < Dense(512, relu), Dense(10, softmax) >
}

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(5);
    let ((x_train, y_train), (x_test, y_test)) = common::mnist(args.limit, images_to_flat_f32)?;
    print!("{}", MnistMlp::summary());

    let mut net = MnistMlp::init(42);
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
