//! A model with two outputs, as Keras's multi-output functional models: one trunk of
//! convolutions, a softmax head naming the digit and a sigmoid head saying whether it is even,
//! each with its own loss and weight (`Losses::per_output`, Keras's `loss={…}, loss_weights=
//! {…}`) and its own metrics (`Metrics::per_output`, Keras's `metrics={…}`). Targets are a
//! tuple, one per output; the logs hold each output's loss and accuracy.
//!
//! Run: `cargo run --release --example 07_two_heads` (2 epochs; `--epochs N`,
//! `--batch-size N`, `--limit N` as in `03_mnist_cnn`).

mod common;

use kiln::datasets::images_to_f32;
use kiln::prelude::*;

kiln::model! {
    /// Two convolution blocks, then two heads on the same features.
    pub struct TwoHeads {
        input image: [28, 28, 1];
        let x = MaxPool(2)(Conv2D(16, 3, activation = relu)(image));
        let x = Flatten(MaxPool(2)(Conv2D(32, 3, activation = relu)(x)));
        output digit = Dense(10, softmax)(x);
        output even = Dense(1, sigmoid)(x);
    }
}

/// Each one-hot digit as the pair of targets: the digit, and 1 when it is even.
fn targets(one_hot: &[[f32; 10]]) -> Vec<([f32; 10], [f32; 1])> {
    one_hot
        .iter()
        .map(|d| {
            let digit = d.iter().position(|&p| p == 1.0).unwrap_or(0);
            (*d, [f32::from(digit % 2 == 0)])
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(2);
    let ((x_train, y_train), (x_test, y_test)) = common::mnist(args.limit, images_to_f32)?;
    let (y_train, y_test) = (targets(&y_train), targets(&y_test));
    print!("{}", TwoHeads::summary());

    let mut net = TwoHeads::init(42);
    let mut trainer = net.compile(
        Adam::new(1e-3),
        Losses::per_output([
            ("digit", Loss::CategoricalCrossentropy, 1.0),
            ("even", Loss::BinaryCrossentropy, 0.5),
        ]),
        Metrics::per_output([
            ("digit", &[Metric::Accuracy][..]),
            ("even", &[Metric::Accuracy][..]),
        ]),
    );
    let history = trainer.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: 42,
            verbose: 1,
            ..Default::default()
        },
    )?;
    common::save_history(&history)?;
    let logs = trainer.evaluate_logs(&x_test, &y_test)?;
    let get = |name: &str| logs.get(name).unwrap_or(f64::NAN);
    println!(
        "test loss {:.4} (digit {:.4}, even {:.4})",
        get("loss"),
        get("digit_loss"),
        get("even_loss")
    );
    println!("test even accuracy: {:.4}", get("even_accuracy"));
    println!("test accuracy: {:.4}", get("digit_accuracy"));
    Ok(())
}
