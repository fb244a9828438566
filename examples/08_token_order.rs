//! A sequence task the example makes itself: are the brackets of a sequence balanced? Each
//! sequence is 24 tokens: `(` (id 1), `)` (id 2) and filler (ids 3 to 9). Half are balanced
//! (every `)` closes an earlier `(`, and all are closed); the other half are the same kind of
//! sequence with its brackets reordered until some `)` closes nothing, so both halves hold as
//! many `(` as `)` at the same places and counting cannot tell them apart: the model must keep
//! a running depth. `Embedding(10, 16)` into a `GRU(32)` and a sigmoid; Adam, binary
//! cross-entropy, batch 128; prints its test accuracy last.
//!
//! Run: `cargo run --release --example 08_token_order` (`--epochs N`, default 10;
//! `--batch-size N`; `--limit N` training sequences, default all 20,000).

// The MNIST helpers of `common` are not used here.
#[allow(dead_code)]
mod common;

use kiln::prelude::*;

/// Steps per sequence.
const STEPS: usize = 24;

kiln::model! {
    /// Token ids in, the probability that the brackets balance out.
    pub struct TokenOrder: [24] => <
        Embedding(10, 16),
        GRU(32),
        Dense(1, sigmoid),
    >
}

/// Whether every `)` closes an earlier `(` and every `(` is closed.
fn balanced(x: &[f32; STEPS]) -> bool {
    let mut depth = 0i32;
    for &t in x {
        depth += match t as u32 {
            1 => 1,
            2 => -1,
            _ => 0,
        };
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// `n` labelled sequences from a fixed seed (a 64-bit LCG: the data is the same everywhere).
fn sequences(n: usize, seed: u64) -> (Vec<[f32; STEPS]>, Vec<[f32; 1]>) {
    let mut state = seed;
    let mut next = |below: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % below
    };
    let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    while xs.len() < n {
        // A balanced sequence: each step opens, closes (when something is open, and always
        // when the steps left are just enough to close the rest) or is filler.
        let mut x = [0.0f32; STEPS];
        let mut depth = 0;
        for (s, t) in x.iter_mut().enumerate() {
            let left = STEPS - s;
            *t = if depth == left {
                depth -= 1;
                2.0
            } else {
                match next(3) {
                    0 if depth + 1 < left => {
                        depth += 1;
                        1.0
                    }
                    1 if depth > 0 => {
                        depth -= 1;
                        2.0
                    }
                    _ => (3 + next(7)) as f32,
                }
            };
        }
        let positive = xs.len() % 2 == 0;
        if !positive {
            // The same brackets at the same places, shuffled until unbalanced; a sequence
            // with no bracket cannot be, so it is drawn again.
            let at: Vec<usize> = (0..STEPS).filter(|&s| x[s] < 3.0).collect();
            if at.is_empty() {
                continue;
            }
            while balanced(&x) {
                for k in (1..at.len()).rev() {
                    x.swap(at[k], at[next(k + 1)]);
                }
            }
        }
        xs.push(x);
        ys.push([if positive { 1.0 } else { 0.0 }]);
    }
    (xs, ys)
}

fn main() -> std::process::ExitCode {
    common::run(train)
}

fn train() -> Result<(), kiln::Error> {
    let args = common::Args::parse(10);
    let (x_train, y_train) = sequences(args.limit.unwrap_or(20_000), 1);
    let (x_test, y_test) = sequences(2_000, 2);
    println!(
        "{} training sequences, {} test sequences",
        x_train.len(),
        x_test.len()
    );
    print!("{}", TokenOrder::summary());

    let mut net = TokenOrder::init(7);
    let mut trainer = net.compile(
        Adam::default(),
        Loss::BinaryCrossentropy,
        &[Metric::Accuracy],
    );
    trainer.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            validation_data: Some((&x_test, &y_test)),
            seed: 7,
            verbose: 1,
            ..Default::default()
        },
    )?;
    let [_loss, accuracy] = trainer.evaluate(&x_test, &y_test)?;
    println!("test accuracy: {accuracy:.4}");
    Ok(())
}
