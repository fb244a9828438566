// The network the firmware runs, shared by the firmware (`src/main.rs`) and the host reference
// (`build.rs`), which both `include!` this file, so the two cannot drift apart. It is the MCU
// comparison CNN of shared/peers/mcu (the one microflow runs): 12,810 parameters.
//
// This file is included, not a module: it has no `//!` doc and no `use` of its own beyond what
// both includers have (`kiln`).

#[cfg(not(feature = "f32"))]
kiln::model! {
    /// The MNIST CNN, int8: weights quantized by `kiln::quantize` (examples/05_quantize.rs).
    pub struct McuCnn<i8>: [28, 28, 1] => <
        Conv2D(16, 3, relu), AvgPool(2), Conv2D(32, 3, relu), AvgPool(2), Flatten, Dense(10, softmax),
    >,
    weights = "models/mcu_cnn.int8.safetensors",
}

#[cfg(feature = "f32")]
kiln::model! {
    /// The MNIST CNN, f32: the weights `kiln::quantize` started from, compiled in from Keras's
    /// `.keras` archive (which Keras's `load_model` reads too).
    pub struct McuCnnF32: [28, 28, 1] => <
        Conv2D(16, 3, relu), AvgPool(2), Conv2D(32, 3, relu), AvgPool(2), Flatten, Dense(10, softmax),
    >,
    weights = "models/mcu_cnn.keras",
}

/// The model this build runs.
#[cfg(not(feature = "f32"))]
pub type Net = McuCnn;
/// The model this build runs.
#[cfg(feature = "f32")]
pub type Net = McuCnnF32;

/// `int8` or `f32`, for the report.
pub const KIND: &str = if cfg!(feature = "f32") { "f32" } else { "int8" };

/// Pixels of one MNIST digit, row-major, 0..=255.
pub const PIXELS: usize = 28 * 28;

/// One digit as the float model's input: `x / 255`, as kiln's `images_to_f32` and Keras scale it.
pub fn pixels_f32(px: &[u8; PIXELS]) -> [[[f32; 1]; 28]; 28] {
    let mut x = [[[0f32; 1]; 28]; 28];
    for (r, row) in x.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate() {
            cell[0] = px[r * 28 + c] as f32 / 255.0;
        }
    }
    x
}

/// One digit as the model's input (quantized with the model's input scale for int8).
#[cfg(feature = "f32")]
pub fn input(px: &[u8; PIXELS]) -> <Net as kiln::Infer>::Input {
    pixels_f32(px)
}

/// One digit as the model's input (quantized with the model's input scale for int8).
#[cfg(not(feature = "f32"))]
pub fn input(px: &[u8; PIXELS]) -> <Net as kiln::Infer>::Input {
    Net::quantize_input(&pixels_f32(px))
}

/// The predicted class: the first index of the largest score (as NumPy's `argmax`).
pub fn class(out: &<Net as kiln::Infer>::Output) -> u8 {
    let mut best = 0;
    for k in 1..out.len() {
        if out[k] > out[best] {
            best = k;
        }
    }
    best as u8
}
