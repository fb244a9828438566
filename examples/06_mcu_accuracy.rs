//! The firmware's models on the host: the int8 and f32 MCU CNNs exactly as `firmware/` embeds
//! them (`weights = "…"`), run with `infer` on the whole MNIST test set. The int8 arithmetic is
//! the firmware's, bit for bit (the DSP instructions are emulated), so this is the firmware's
//! accuracy on all 10,000 digits.
//!
//! Run: `cargo run --release --example 06_mcu_accuracy`.

use kiln::datasets::{images_to_f32, mnist};
use kiln::Arena;
use std::process::ExitCode;
use std::time::Instant;

kiln::model! {
    /// The firmware's f32 model (firmware/src/model.rs).
    pub struct McuCnnF32: [28, 28, 1] => <
        Conv2D(16, 3, relu), AvgPool(2), Conv2D(32, 3, relu), AvgPool(2), Flatten, Dense(10, softmax),
    >,
    weights = "firmware/models/mcu_cnn.safetensors",
}

kiln::model! {
    /// The firmware's int8 model.
    pub struct McuCnn<i8>: [28, 28, 1] => <
        Conv2D(16, 3, relu), AvgPool(2), Conv2D(32, 3, relu), AvgPool(2), Flatten, Dense(10, softmax),
    >,
    weights = "firmware/models/mcu_cnn.int8.safetensors",
}

fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b })
}

fn main() -> ExitCode {
    let (_, (x_test, y_test)) = match mnist::load_data() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let x = images_to_f32(&x_test);
    let (f32_net, q_net) = (McuCnnF32::weights(), McuCnn::weights());
    let mut arena_f32 = Box::new(Arena::<McuCnnF32>::new());
    let mut arena_q = Arena::<McuCnn>::new();
    let (mut right_f32, mut right_q, mut same) = (0, 0, 0);
    let start = Instant::now();
    for (img, &label) in x.iter().zip(&y_test) {
        let a = argmax(f32_net.infer(&mut arena_f32, img));
        let b = argmax(q_net.infer(&mut arena_q, &McuCnn::quantize_input(img)));
        right_f32 += usize::from(a == label as usize);
        right_q += usize::from(b == label as usize);
        same += usize::from(a == b);
    }
    let n = x.len();
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    println!(
        "MCU CNN on the {n} MNIST test digits: f32 {:.2}%, int8 {:.2}% ({:+.2} pp), same class on {same}",
        pct(right_f32),
        pct(right_q),
        pct(right_q) - pct(right_f32)
    );
    println!(
        "arena: f32 {} bytes, int8 {} bytes; constants: f32 {} bytes, int8 {} bytes",
        McuCnnF32::ARENA_BYTES,
        McuCnn::ARENA_BYTES,
        McuCnnF32::FLASH_BYTES,
        McuCnn::FLASH_BYTES
    );
    println!(
        "host time for both models: {:.1} µs per digit",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    ExitCode::SUCCESS
}
