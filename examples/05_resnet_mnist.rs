//! A small residual network in the functional form, trained on MNIST: two residual blocks
//! (`Add` of a block's input and its two convolutions), pooling between them, one Dense head,
//! trained with Adam and a cosine-decayed learning rate.
//!
//! Run: `cargo run --release --example 05_resnet_mnist` (5 epochs; `--epochs N`,
//! `--batch-size N`, `--limit N` as in `03_mnist_cnn`).

mod common;

use kiln::datasets::images_to_f32;
use kiln::prelude::*;

kiln::model! {
    /// Conv → pool → residual block of 32 → conv → pool → residual block of 64 → Dense.
    pub struct ResNetMnist {
        input image: [28, 28, 1];
        let x = Conv2D(32, 3, activation = relu)(image);
        let x = MaxPool(2)(x);
        let y = Conv2D(32, 3, padding = same, activation = relu)(x);
        let y = Conv2D(32, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let x = MaxPool(2)(Conv2D(64, 3, activation = relu)(x));
        let y = Conv2D(64, 3, padding = same, activation = relu)(x);
        let y = Conv2D(64, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let x = Dropout(0.3)(Flatten(x));
        output class = Dense(10, softmax)(x);
    }
}

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(5);
    let ((x_train, y_train), (x_test, y_test)) = common::mnist(args.limit, images_to_f32)?;
    print!("{}", ResNetMnist::summary());

    let mut net = ResNetMnist::init(42);
    // Adam with its learning rate decayed along a half cosine to 0 over the whole run.
    let steps = (args.epochs * x_train.len().div_ceil(args.batch_size)) as u64;
    let mut trainer = net.compile(
        Adam::new(schedules::CosineDecay::new(2e-3, steps)),
        Loss::CategoricalCrossentropy,
        &[Metric::Accuracy],
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
    let [_loss, accuracy] = trainer.evaluate(&x_test, &y_test)?;
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}
