//! The Keras workflow end to end: fit learns, runs are reproducible, bad data and NaN losses
//! are errors in words, batches and weights behave as Keras's do.

use kiln::datasets::{images_to_f32, mnist, to_categorical};
use kiln::prelude::*;
use kiln::training::History;

kiln::model! {
    /// Small enough to train on a slice of MNIST in a couple of seconds.
    struct SmallCnn: [28, 28, 1] => <
        Conv2D(8, 3, relu), MaxPool(2), Dropout(0.25), Flatten, Dense(10, softmax),
    >
}

kiln::model! {
    struct Tiny: [4] => < Dense(8, tanh), Dropout(0.5), Dense(3, softmax) >
}

/// A separable three-class problem: the class is the largest of the first three inputs.
fn toy(n: usize) -> (Vec<[f32; 4]>, Vec<u8>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let v = |k: usize| (((i * 7 + k * 13) * 2654435761usize) % 1000) as f32 / 1000.0;
        let s = [v(0), v(1), v(2), v(3)];
        let c = (0..3)
            .max_by(|&a, &b| s[a].partial_cmp(&s[b]).unwrap())
            .unwrap();
        x.push(s);
        y.push(c as u8);
    }
    (x, y)
}

#[test]
fn a_small_cnn_learns_mnist_digits() {
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data().expect("MNIST (KILN_DATA_DIR)");
    let (x, y) = (
        images_to_f32(&x_train[..3000]),
        to_categorical::<10>(&y_train[..3000]).unwrap(),
    );
    let (xt, yt) = (
        images_to_f32(&x_test[..1000]),
        to_categorical::<10>(&y_test[..1000]).unwrap(),
    );
    let mut net = SmallCnn::init(7);
    let mut trainer = net.compile(
        Adam::default(),
        Loss::CategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let history = trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                batch_size: 32,
                verbose: 0,
                seed: 1,
                ..Default::default()
            },
        )
        .unwrap();
    let [loss, accuracy] = trainer.evaluate(&xt, &yt).unwrap();
    assert!(accuracy > 0.85, "test accuracy {accuracy} (chance is 0.1)");
    assert!(loss < 0.6, "test loss {loss}");
    let losses = history.get("loss").unwrap();
    assert!(losses[1] < losses[0], "training loss falls: {losses:?}");
}

fn train_tiny(seed: u64, threads: usize) -> (Box<Tiny>, History) {
    let (x, y) = toy(200);
    let mut net = Tiny::init(3);
    let history = net
        .compile(
            Adam::default(),
            Loss::SparseCategoricalCrossentropy,
            &[Metric::Accuracy],
        )
        .with_threads(threads)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 3,
                batch_size: 16,
                verbose: 0,
                seed,
                ..Default::default()
            },
        )
        .unwrap();
    (net, history)
}

#[test]
fn two_runs_with_one_seed_give_identical_weights() {
    for threads in [1, 2, 3] {
        let (a, ha) = train_tiny(11, threads);
        let (b, hb) = train_tiny(11, threads);
        assert_eq!(a.dense.kernel, b.dense.kernel, "{threads} threads");
        assert_eq!(a.dense_1.kernel, b.dense_1.kernel, "{threads} threads");
        assert_eq!(ha, hb);
    }
    let (c, _) = train_tiny(12, 2);
    let (a, _) = train_tiny(11, 2);
    assert_ne!(
        a.dense.kernel, c.dense.kernel,
        "another seed shuffles and drops differently"
    );
}

#[test]
fn dropout_masks_do_not_depend_on_the_thread_count() {
    // Gradients are summed in a different order, so weights differ in the last bits only.
    let (a, _) = train_tiny(5, 1);
    let (b, _) = train_tiny(5, 2);
    for (x, y) in a
        .dense
        .kernel
        .as_flattened()
        .iter()
        .zip(b.dense.kernel.as_flattened())
    {
        assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn a_nan_loss_stops_training_naming_the_epoch_and_batch() {
    let (mut x, y) = toy(100);
    x[70][2] = f32::NAN; // in the third batch of 32 when not shuffled
    let mut net = Tiny::init(0);
    let before = net.dense.kernel;
    let err = net
        .compile(SGD::default(), Loss::SparseCategoricalCrossentropy, &[])
        .with_threads(1)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                batch_size: 32,
                shuffle: false,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            kiln::Error::NonFiniteLoss {
                epoch: 1,
                batch: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("epoch 1, batch 3"), "{err}");
    assert_ne!(
        net.dense.kernel, before,
        "the first two batches were trained"
    );
    assert!(
        net.dense
            .kernel
            .as_flattened()
            .iter()
            .all(|v| v.is_finite()),
        "the bad batch was not applied"
    );
}

#[test]
fn the_last_partial_batch_is_trained() {
    let (x, y) = toy(10);
    let mut net = Tiny::init(0);
    let mut trainer = net.compile(SGD::default(), Loss::SparseCategoricalCrossentropy, &[]);
    trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                batch_size: 4,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        trainer.optimizer().iterations(),
        6,
        "10 samples in batches of 4: 3 steps an epoch"
    );
}

#[test]
fn a_sample_weight_of_two_is_a_learning_rate_twice_as_large() {
    let (x, y) = toy(32);
    let step = |lr: f64, weight: Option<&[f64]>| {
        let mut net = Tiny::init(9);
        net.compile(SGD::new(lr), Loss::SparseCategoricalCrossentropy, &[])
            .with_threads(1)
            .fit(
                &x,
                &y,
                FitOptions {
                    epochs: 1,
                    batch_size: 32,
                    shuffle: false,
                    sample_weight: weight,
                    verbose: 0,
                    ..Default::default()
                },
            )
            .unwrap();
        net
    };
    let twos = vec![2.0; 32];
    let (a, b) = (step(0.02, None), step(0.01, Some(&twos)));
    assert_eq!(a.dense.kernel, b.dense.kernel);
    let class = |w: Vec<f64>| {
        let mut net = Tiny::init(9);
        net.compile(SGD::new(0.01), Loss::SparseCategoricalCrossentropy, &[])
            .with_threads(1)
            .fit(
                &x,
                &y,
                FitOptions {
                    epochs: 1,
                    batch_size: 32,
                    shuffle: false,
                    class_weight: Some(w),
                    verbose: 0,
                    ..Default::default()
                },
            )
            .unwrap();
        net
    };
    assert_eq!(
        class(vec![2.0; 3]).dense.kernel,
        a.dense.kernel,
        "class_weight 2 everywhere is the same"
    );
    assert_ne!(class(vec![2.0, 1.0, 1.0]).dense.kernel, a.dense.kernel);
}

#[test]
fn validation_split_holds_out_the_end_of_the_data_as_keras_does() {
    let (x, y) = toy(100);
    let mut net = Tiny::init(0);
    let mut trainer = net.compile(
        Adam::default(),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let history = trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                batch_size: 10,
                validation_split: 0.2,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        trainer.optimizer().iterations(),
        16,
        "80 training samples, 8 steps an epoch"
    );
    let [val_loss, val_acc] = trainer.evaluate(&x[80..], &y[80..]).unwrap();
    assert_eq!(history.last("val_loss"), Some(val_loss));
    assert_eq!(history.last("val_accuracy"), Some(val_acc));
    let names: Vec<&str> = history.history.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["loss", "accuracy", "val_loss", "val_accuracy"]);
}

#[test]
fn mistakes_in_the_data_are_errors_in_words() {
    let (x, y) = toy(10);
    let mut net = Tiny::init(0);
    let mut trainer = net.compile(
        Adam::default(),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let e = trainer
        .fit(
            &x,
            &y[..9],
            FitOptions {
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "targets (y) for the training inputs (x): expected 10, got 9"
    );
    let e = trainer.evaluate::<u8, 3>(&x, &y).unwrap_err();
    assert!(
        e.to_string()
            .contains("evaluate returns 2 values (loss, accuracy) but 3 were asked for"),
        "{e}"
    );
    let bad_label = vec![7u8; 10];
    let e = trainer
        .fit(
            &x,
            &bad_label,
            FitOptions {
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, kiln::Error::InvalidTarget { .. }), "{e:?}");
    let e = trainer
        .fit(
            &x,
            &y,
            FitOptions {
                batch_size: 0,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("batch_size"), "{e}");
}
