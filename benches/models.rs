//! The seed models end to end: one image through `forward` (batch 1), `predict` on 1000 images
//! (in blocks, with 1 thread and with every thread), and one training step (`Trainer::train_on_batch`, Adam, categorical cross-entropy) on 128
//! images with 1 thread and with every thread.
//!
//! Throughput is `Throughput::Elements(images)`: criterion's "elem/s" are images per second.
//! To turn them into FLOP/s (2 per multiply-add), one image costs, nominally:
//! - CNN forward: 23,984,896 FLOPs (conv 1→32 0.39 M, conv 32→64 21.23 M, dense 9216→128
//!   2.36 M, dense 128→10 0.003 M); a training step ~71.6 M per image (the forward, twice
//!   it for every layer's backward but the first conv's, which computes no `dx`).
//! - MLP forward: 813,056 FLOPs (dense 784→512 0.80 M, dense 512→10 0.01 M); a training step
//!   ~1.64 M per image.
//!
//! The images are MNIST's from `$KILN_DATA_DIR/mnist` (which `.cargo/config.toml` sets) when
//! they are there, as kernels skip work on zero pixels; otherwise synthetic digits of the same
//! sparsity (printed on stderr). Training steps cycle through 10 batches of 128.
//!
//! Run: `cargo bench --bench models`.

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use kiln::datasets::mnist::{Image, Mnist};
use kiln::datasets::{images_to_f32, images_to_flat_f32, to_categorical};
use kiln::prelude::*;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

kiln::model! {
    /// The seed CNN of the Keras MNIST example (as examples/03_mnist_cnn.rs).
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

kiln::model! {
    /// The seed MLP of the Keras MNIST example (as examples/02_mnist_mlp.rs).
    pub struct MnistMlp: [784] => < Dense(512, relu), Dense(10, softmax) >
}

const BATCH: usize = 128;
const BATCHES: usize = 10;
const PREDICT: usize = 1000;

/// `BATCH · BATCHES` training images and labels, then `PREDICT` images to predict.
struct Data {
    train: Vec<Image>,
    labels: Vec<u8>,
    test: Vec<Image>,
}

/// MNIST from `$KILN_DATA_DIR/mnist`, else synthetic rings of ink (~21% of pixels; MNIST has
/// ~19%) with arbitrary labels.
fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(load)
}

fn load() -> Data {
    let n = BATCH * BATCHES;
    let mnist = std::env::var_os("KILN_DATA_DIR")
        .map(|dir| Mnist::from_dir(std::path::Path::new(&dir).join("mnist")));
    match mnist {
        Some(Ok(m)) => {
            eprintln!("models: MNIST images");
            Data {
                train: m.x_train[..n].to_vec(),
                labels: m.y_train[..n].to_vec(),
                test: m.x_test[..PREDICT].to_vec(),
            }
        }
        other => {
            if let Some(Err(e)) = other {
                eprintln!("models: synthetic images (no MNIST: {e})");
            } else {
                eprintln!("models: synthetic images (KILN_DATA_DIR is not set)");
            }
            let image = |i: usize| -> Image {
                let mut img = [[0u8; 28]; 28];
                for (r, row) in img.iter_mut().enumerate() {
                    for (c, px) in row.iter_mut().enumerate() {
                        let (y, x) = (r as f32 - 13.5, c as f32 - 13.5 + (i % 5) as f32 - 2.0);
                        let d = (x * x + y * y).sqrt();
                        if (5.5..9.0).contains(&d) {
                            *px = 128 + ((r * 31 + c * 17 + i * 7) % 128) as u8;
                        }
                    }
                }
                img
            };
            Data {
                train: (0..n).map(image).collect(),
                labels: (0..n).map(|i| (i % 10) as u8).collect(),
                test: (0..PREDICT).map(image).collect(),
            }
        }
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn config_group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut group = c.benchmark_group(name);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group
}

/// Settings for a case of ~1 s per call: 10 calls of one iteration each (flat sampling) in about
/// `secs` seconds. Sized for the scalar kernels; faster ones run more iterations in that time.
fn slow(group: &mut Group<'_>, secs: u64) {
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(secs));
}

/// The thread counts to train with, 1 and every thread, each with its name in the report.
fn thread_counts() -> Vec<(usize, String)> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![(1, "1thread".to_string())];
    if all > 1 {
        counts.push((all, format!("{all}threads")));
    }
    counts
}

fn cnn(c: &mut Criterion) {
    let data = data();
    let x_train = images_to_f32(&data.train);
    let y_train = to_categorical::<10>(&data.labels).expect("labels are digits");
    let x_test = images_to_f32(&data.test);
    let mut group = config_group(c, "cnn");

    let mut net = MnistCnn::init(42);
    group.throughput(Throughput::Elements(1));
    group.sample_size(50);
    group.bench_function("forward_b1", |b| {
        b.iter(|| black_box(&*net).forward(black_box(&x_test[0])))
    });
    group.throughput(Throughput::Elements(PREDICT as u64));
    slow(&mut group, 11);
    for (threads, name) in thread_counts() {
        group.bench_function(format!("predict_b{PREDICT}/{name}"), |b| {
            b.iter(|| black_box(&*net).predict_with_threads(black_box(&x_test), threads))
        });
    }

    for (threads, name) in thread_counts() {
        let mut trainer = net
            .compile(Adam::default(), Loss::CategoricalCrossentropy, &[])
            .with_threads(threads);
        group.throughput(Throughput::Elements(BATCH as u64));
        slow(&mut group, 6);
        let mut step = 0;
        group.bench_function(format!("train_step_b{BATCH}/{name}"), |b| {
            b.iter(|| {
                let batch = (step % BATCHES) * BATCH..(step % BATCHES + 1) * BATCH;
                step += 1;
                trainer
                    .train_on_batch(black_box(&x_train[batch.clone()]), &y_train[batch])
                    .expect("a finite loss")
            })
        });
    }
    group.finish();
}

fn mlp(c: &mut Criterion) {
    let data = data();
    let x_train: Vec<[f32; 784]> = images_to_flat_f32(&data.train);
    let y_train = to_categorical::<10>(&data.labels).expect("labels are digits");
    let x_test: Vec<[f32; 784]> = images_to_flat_f32(&data.test);
    let mut group = config_group(c, "mlp");

    let mut net = MnistMlp::init(42);
    group.throughput(Throughput::Elements(1));
    group.sample_size(50);
    group.bench_function("forward_b1", |b| {
        b.iter(|| black_box(&*net).forward(black_box(&x_test[0])))
    });
    group.throughput(Throughput::Elements(PREDICT as u64));
    group.sample_size(20);
    for (threads, name) in thread_counts() {
        group.bench_function(format!("predict_b{PREDICT}/{name}"), |b| {
            b.iter(|| black_box(&*net).predict_with_threads(black_box(&x_test), threads))
        });
    }

    for (threads, name) in thread_counts() {
        let mut trainer = net
            .compile(Adam::default(), Loss::CategoricalCrossentropy, &[])
            .with_threads(threads);
        group.throughput(Throughput::Elements(BATCH as u64));
        group.sample_size(20);
        let mut step = 0;
        group.bench_function(format!("train_step_b{BATCH}/{name}"), |b| {
            b.iter(|| {
                let batch = (step % BATCHES) * BATCH..(step % BATCHES + 1) * BATCH;
                step += 1;
                trainer
                    .train_on_batch(black_box(&x_train[batch.clone()]), &y_train[batch])
                    .expect("a finite loss")
            })
        });
    }
    group.finish();
}

criterion_group!(models, cnn, mlp);
criterion_main!(models);
