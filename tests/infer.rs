//! Arena inference (`infer`, `ARENA_BYTES`) and weights embedded at compile time
//! (`weights = "…"`, `WEIGHTS`).

use kiln::core::bytemuck;
use kiln::core::params::Params;
use kiln::core::train::Flat;
use kiln::prelude::*;
use kiln::Arena;

model! {
    struct Small: [6, 6, 2] => <
        Conv2D(3, 3, relu, padding = same), MaxPool(2), Activation(tanh), Flatten, Dropout(0.5),
        Dense(4, relu), Dense(3, softmax),
    >
}

model! {
    struct Embedded: [6, 6, 2] => <
        Conv2D(3, 3, relu, padding = same), MaxPool(2), Activation(tanh), Flatten, Dropout(0.5),
        Dense(4, relu), Dense(3, softmax),
    >,
    weights = "tests/fixtures/embed_small.safetensors",
}

model! {
    struct Cnn: [28, 28, 1] => <
        Conv2D(32, 3, relu), Conv2D(64, 3, relu), MaxPool(2), Dropout(0.25),
        Flatten, Dense(128, relu), Dropout(0.5), Dense(10, softmax),
    >
}

model! {
    struct Normalized: [5, 4, 2] => <
        Conv2D(3, 2, tanh), UpSampling2D((2, 1)), LayerNormalization, Flatten, Dense(9, relu),
        LayerNormalization(epsilon = 1e-5), Dense(3),
    >
}

model! {
    struct Recurrent: [6, 3] => < LSTM(5, return_sequences = true), GRU(4), Dense(2) >
}

model! { struct Inner: [12] => < Dense(5, relu) > }
model! { struct Outer: [4, 3] => < Flatten, Inner, Dense(2) > }

fn sample<const N: usize>(seed: usize) -> [f32; N] {
    core::array::from_fn(|i| (((i + seed) * 37 % 23) as f32 - 11.0) / 7.0)
}

/// Fills an arena with NaN bytes, so a kernel that reads before it writes shows up.
fn dirty<M: kiln::core::Planned>(a: &mut Arena<M>) {
    a.bytes_mut().fill(0xff);
}

#[test]
fn arena_plan_is_the_largest_input_output_pair() {
    // Tensors: input 6·6·2·4 = 288 B, conv 6·6·3·4 = 432, pool 3·3·3·4 = 108 → 112, dense 16,
    // dense 12 → 16. The largest pair is the convolution's.
    assert_eq!(Small::ARENA_BYTES, 288 + 432);
    assert_eq!(
        <Small as kiln::core::Planned>::ARENA_BYTES,
        Small::ARENA_BYTES
    );
    assert_eq!(core::mem::size_of::<Arena<Small>>(), Small::ARENA_BYTES);
    assert_eq!(
        Small::FLASH_BYTES,
        (3 * 3 * 2 * 3 + 3 + 27 * 4 + 4 + 4 * 3 + 3) * 4
    );
    // The seed CNN: conv2d_1 runs in bands of 2 rows, each max-pooled at once, so its
    // 26·26·32 input, a 2·24·64 band and the 12·12·64 pooled output are live together; its
    // 24·24·64 output is never stored.
    assert_eq!(
        Cnn::ARENA_BYTES,
        (26 * 26 * 32 + 2 * 24 * 64 + 12 * 12 * 64) * 4
    );
}

#[test]
fn infer_equals_forward_with_a_dirty_arena() {
    let net = Small::init(5);
    let mut arena = Arena::<Small>::new();
    for seed in 0..3 {
        let x: [[[f32; 2]; 6]; 6] = bytemuck::cast(sample::<72>(seed));
        dirty(&mut arena);
        assert_eq!(*net.infer(&mut arena, &x), net.forward(&x));
    }
    let cnn = Cnn::init(1);
    let mut arena = Box::new(Arena::<Cnn>::new());
    dirty(&mut arena);
    let x: [[[f32; 1]; 28]; 28] = bytemuck::cast(sample::<784>(4));
    assert_eq!(*cnn.infer(&mut arena, &x), cnn.forward(&x));
    let mut normalized = Normalized::init(3);
    // gamma and beta away from their initial ones and zeros.
    for (i, v) in normalized.flat_mut().iter_mut().enumerate() {
        *v += ((i * 7 % 11) as f32 - 5.0) / 20.0;
    }
    let mut arena = Arena::<Normalized>::new();
    dirty(&mut arena);
    let x: [[[f32; 2]; 4]; 5] = bytemuck::cast(sample::<40>(6));
    assert_eq!(*normalized.infer(&mut arena, &x), normalized.forward(&x));
    let recurrent = Recurrent::init(4);
    let mut arena = Arena::<Recurrent>::new();
    dirty(&mut arena);
    let x: [[f32; 3]; 6] = bytemuck::cast(sample::<18>(2));
    assert_eq!(*recurrent.infer(&mut arena, &x), recurrent.forward(&x));
    let outer = Outer::init(2);
    let mut arena = Arena::<Outer>::new();
    dirty(&mut arena);
    let x: [[f32; 3]; 4] = bytemuck::cast(sample::<12>(9));
    assert_eq!(*outer.infer(&mut arena, &x), outer.forward(&x));
}

#[test]
fn embedded_weights_are_the_files_weights() {
    let mut loaded = Small::init(99);
    loaded
        .load_weights("tests/fixtures/embed_small.safetensors")
        .unwrap();
    let embedded = Embedded::weights();
    let mut a = Vec::new();
    embedded.visit_params(None, &mut |p| a.push((p.name.to_string(), p.data.to_vec())));
    let mut b = Vec::new();
    loaded.visit_params(None, &mut |p| b.push((p.name.to_string(), p.data.to_vec())));
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "every parameter bit-identical");
    static NET: Embedded = Embedded::WEIGHTS;
    let x: [[[f32; 2]; 6]; 6] = bytemuck::cast(sample::<72>(1));
    let mut arena = Arena::<Embedded>::new();
    assert_eq!(*NET.infer(&mut arena, &x), loaded.forward(&x));
}
