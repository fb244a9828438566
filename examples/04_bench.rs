//! Measures the seed CNN or MLP the way `scripts/bench_peers.sh` measures Keras, PyTorch, candle
//! and tract: one epoch of MNIST (Adam at 1e-3, batch 128) timed step by step, the test accuracy
//! after it, the latency of one image through `forward`, the throughput of `predict` on 1000
//! images, and the process's peak memory. Prints the figures as JSON lines.
//!
//! Run: `cargo run --release --example 04_bench -- cnn` (or `mlp`), with `--threads N` (default
//! 2), and for a quick check `--limit N` (train on the first N images) and `--latency-runs N`
//! (default 1000 single-image calls).

use kiln::core::train::Train;
use kiln::datasets::mnist::{self, Image};
use kiln::datasets::{images_to_f32, images_to_flat_f32, to_categorical};
use kiln::prelude::*;
use kiln::training::callbacks::Context;
use kiln::training::Logs;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

kiln::model! {
    /// The seed CNN of the Keras MNIST example.
    pub struct MnistCnn: [28, 28, 1] => <
        Conv2D(32, 3, relu),
        Conv2D(64, 3, relu),
        MaxPool(2),
        Dropout(0.25),
        Flatten,
        Dense(128, relu),
        Dropout(0.5),
        Dense(10, softmax),
    >
}

kiln::model! {
    /// The seed MLP.
    pub struct MnistMlp: [784] => < Dense(512, relu), Dense(10, softmax) >
}

const BATCH_SIZE: usize = 128;
/// Training steps left out of the steady rate, as the peers do: the first steps pay for page
/// faults and warming caches.
const WARMUP_STEPS: usize = 20;
/// The batch whose `predict` throughput is measured, and how many times it is timed.
const PREDICT_BATCH: usize = 1000;
const PREDICT_RUNS: usize = 10;

/// The command line.
struct Options {
    model: String,
    threads: usize,
    limit: Option<usize>,
    latency_runs: usize,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            model: String::new(),
            threads: 2,
            limit: None,
            latency_runs: 1000,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || -> Result<usize, String> {
                let value = args.next().ok_or(format!("{arg} needs a number"))?;
                value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{arg} takes a positive integer, got `{value}`"))
            };
            match arg.as_str() {
                "--threads" => options.threads = number()?,
                "--limit" => options.limit = Some(number()?),
                "--latency-runs" => options.latency_runs = number()?,
                "cnn" | "mlp" => options.model = arg,
                _ => return Err(format!("unknown argument `{arg}`")),
            }
        }
        if options.model.is_empty() {
            return Err("which model: `cnn` or `mlp`?".into());
        }
        Ok(options)
    }
}

fn main() -> ExitCode {
    let result = match Options::parse() {
        Ok(options) if options.model == "cnn" => bench::<MnistCnn>(&options, images_to_f32),
        Ok(options) => bench::<MnistMlp>(&options, images_to_flat_f32),
        Err(usage) => {
            eprintln!("error: {usage}");
            eprintln!("usage: 04_bench cnn|mlp [--threads N] [--limit N] [--latency-runs N]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Trains `M` for one epoch, then times its inference; `to_input` turns MNIST images into `M`'s
/// inputs.
fn bench<M>(options: &Options, to_input: fn(&[Image]) -> Vec<M::Input>) -> Result<(), kiln::Error>
where
    M: Train<Scalar = f32, Output = [f32; 10]>,
{
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
    let n = options.limit.unwrap_or(x_train.len()).min(x_train.len());
    let (x_train, y_train) = (
        to_input(&x_train[..n]),
        to_categorical::<10>(&y_train[..n])?,
    );
    let (x_test, y_test) = (to_input(&x_test), to_categorical::<10>(&y_test)?);
    let threads = options.threads;

    // Training: one epoch, each step's end noted by a callback.
    let mut net = M::init(42);
    let mut timer = StepTimer::default();
    let mut trainer = net
        .compile(
            Adam::new(1e-3),
            Loss::CategoricalCrossentropy,
            &[Metric::Accuracy],
        )
        .with_threads(threads);
    let started = Instant::now();
    trainer.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs: 1,
            batch_size: BATCH_SIZE,
            seed: 42,
            verbose: 0,
            callbacks: vec![Box::new(&mut timer)],
            ..Default::default()
        },
    )?;
    let wall = started.elapsed();
    let [test_loss, test_acc] = trainer.evaluate(&x_test, &y_test)?;
    drop(trainer);
    println!(
        r#"{{"framework": "kiln", "model": "{}", "threads": {threads}, "images": {n}, "steps": {}, "wall_s": {:.3}, "first_step_s": {:.4}, "steady_img_s": {}, "test_acc": {test_acc:.4}, "test_loss": {test_loss:.4}}}"#,
        options.model,
        timer.steps(),
        wall.as_secs_f64(),
        timer.step(0).as_secs_f64(),
        json(timer.steady_rate(n)),
    );

    // Inference: one image at a time on this thread, then batches of 1000.
    let latency = median(options.latency_runs, 50, |i| {
        black_box(net.forward(black_box(&x_test[i % x_test.len()])));
    });
    let batch = &x_test[..PREDICT_BATCH];
    let one_thread = median(PREDICT_RUNS, 1, |_| {
        black_box(net.predict_with_threads(batch, 1));
    });
    let all_threads = median(PREDICT_RUNS, 1, |_| {
        black_box(net.predict_with_threads(batch, threads));
    });
    let rate = |d: Duration| PREDICT_BATCH as f64 / d.as_secs_f64();
    println!(
        r#"{{"b1_median_us": {:.1}, "b1000_img_s": {:.0}, "b1000_img_s_1thread": {:.0}, "latency_runs": {}}}"#,
        latency.as_secs_f64() * 1e6,
        rate(all_threads),
        rate(one_thread),
        options.latency_runs,
    );
    println!(r#"{{"peak_rss_mib": {}}}"#, json(peak_rss_mib()));
    Ok(())
}

/// Notes the time when the epoch begins and when each training step ends, as the peers' step
/// timers do (Keras's `on_train_batch_end`).
#[derive(Default)]
struct StepTimer {
    times: Vec<Instant>,
}

impl<M: Train> Callback<M> for StepTimer {
    fn on_epoch_begin(&mut self, _: usize, _: &mut Context<'_, M>) -> Result<(), kiln::Error> {
        self.times = vec![Instant::now()];
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        _: usize,
        _: &Logs,
        _: &mut Context<'_, M>,
    ) -> Result<(), kiln::Error> {
        self.times.push(Instant::now());
        Ok(())
    }
}

impl StepTimer {
    fn steps(&self) -> usize {
        self.times.len() - 1
    }

    /// How long step `i` (0-based) took.
    fn step(&self, i: usize) -> Duration {
        self.times[i + 1] - self.times[i]
    }

    /// Training images per second after the warm-up steps, over `images` in the epoch.
    fn steady_rate(&self, images: usize) -> Option<f64> {
        let after_warmup = self.times.get(WARMUP_STEPS)?;
        let seconds = (*self.times.last()? - *after_warmup).as_secs_f64();
        let images = images.checked_sub(WARMUP_STEPS * BATCH_SIZE)?;
        (images > 0).then(|| images as f64 / seconds)
    }
}

/// The median time of `runs` calls of `f` (given the call's index), after `warmup` untimed ones.
fn median(runs: usize, warmup: usize, mut f: impl FnMut(usize)) -> Duration {
    (0..warmup).for_each(&mut f);
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let started = Instant::now();
            f(i);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The process's peak resident memory (`VmHWM` in `/proc/self/status`), on Linux.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A figure for JSON: the number, or `null` when there is none.
fn json(value: Option<f64>) -> String {
    value.map_or("null".into(), |v| format!("{v:.1}"))
}
