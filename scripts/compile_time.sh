#!/usr/bin/env bash
# Compile time of a user's model, as a new user meets it: a crate depending on kiln by path,
# holding one model that it trains (fit), evaluates, predicts with and runs; the time of a
# release (and a debug) rebuild after touching main.rs, median of 3 after a warm build.
#   cnn22: a 22-layer Sequential CNN, 18 Conv2D with padding = same on [32, 32, 3]
#   res20: a 21-layer residual network in the functional form (4 blocks of 2 Conv2D + Add)
# Usage: scripts/compile_time.sh [cnn22|res20 ...]   (default: both)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${KILN_COMPILE_TIME_DIR:-$(mktemp -d)}
crates=("$@"); [ ${#crates[@]} -gt 0 ] || crates=(cnn22 res20)
# One target folder for both crates: kiln and its dependencies are built once per profile.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$work/target}

write() { # crate name, model type; the model's definition on stdin
    mkdir -p "$work/$1/src"
    printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nkiln = { path = "%s" }\n\n[workspace]\n' "$1" "$repo" > "$work/$1/Cargo.toml"
    { cat; sed "s/MODEL/$2/g" <<'RS'
use kiln::prelude::*;

fn main() {
    let mut net = MODEL::init(1);
    let x: Vec<[[[f32; 3]; 32]; 32]> = (0..64).map(|i| [[[i as f32 / 64.0; 3]; 32]; 32]).collect();
    let y: Vec<u8> = (0..64).map(|i| i % 10).collect();
    let mut trainer = net.compile(Adam::default(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]);
    trainer.fit(&x, &y, FitOptions { epochs: 1, batch_size: 32, verbose: 0, ..Default::default() }).unwrap();
    let [loss, acc] = trainer.evaluate::<_, 2>(&x, &y).unwrap();
    drop(trainer);
    let p = net.predict(&x[..4]);
    println!("{loss} {acc} {:?} {:?}", p[0][0], net.forward(&x[0])[0]);
}
RS
    } > "$work/$1/src/main.rs"
}

write cnn22 Cnn22 <<'RS'
kiln::model! {
    pub struct Cnn22: [32, 32, 3] => <
        Conv2D(16, 3, padding = same, activation = relu), Conv2D(16, 3, padding = same, activation = relu), Conv2D(16, 3, padding = same, activation = relu), Conv2D(16, 3, padding = same, activation = relu), Conv2D(16, 3, padding = same, activation = relu), Conv2D(16, 3, padding = same, activation = relu), MaxPool(2),
        Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), MaxPool(2),
        Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Conv2D(32, 3, padding = same, activation = relu), Flatten, Dense(10, softmax),
    >
}

RS
write res20 Res20 <<'RS'
kiln::model! {
    pub struct Res20 {
        input image: [32, 32, 3];
        let x = Conv2D(16, 3, padding = same, activation = relu)(image);
        let y = Conv2D(16, 3, padding = same, activation = relu)(x);
        let y = Conv2D(16, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let y = Conv2D(16, 3, padding = same, activation = relu)(x);
        let y = Conv2D(16, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let x = MaxPool(2)(x);
        let y = Conv2D(16, 3, padding = same, activation = relu)(x);
        let y = Conv2D(16, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let y = Conv2D(16, 3, padding = same, activation = relu)(x);
        let y = Conv2D(16, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        output class = Dense(10, softmax)(GlobalAvgPool(MaxPool(2)(x)));
    }
}

RS

median() { sort -n | sed -n 2p; }
for c in "${crates[@]}"; do
    cd "$work/$c"
    for profile in --release ""; do
        cargo build -q $profile
        for i in 1 2 3; do
            touch src/main.rs
            s=$(date +%s.%N); cargo build -q $profile; e=$(date +%s.%N)
            echo "$e - $s" | bc
        done | median | xargs printf "%s %s rebuild: %.2f s\n" "$c" "${profile:---debug}"
    done
done
