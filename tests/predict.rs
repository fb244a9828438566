//! `predict` runs the generated batched forward pass (`ForwardBatch`) in blocks, split across
//! threads: every output must be the very floats `forward` gives for that sample, whatever the
//! block holds, the number of samples, the thread count or the instruction set.

use kiln::core::kernels::{with_isa, Isa};
use kiln::core::model::{ForwardBatch, Scratch, BLOCK};
use kiln::prelude::*;

kiln::model! {
    /// The seed CNN.
    struct MnistCnn: [28, 28, 1] => <
        Conv2D(32, 3, relu), Conv2D(64, 3, relu), MaxPool(2), Dropout(0.25),
        Flatten, Dense(128, relu), Dropout(0.5), Dense(10, softmax),
    >
}

kiln::model! {
    /// The seed MLP; 512 outputs take the one-row path of the Dense kernel for a block of one.
    struct Mlp: [784] => < Dense(512, relu), Dense(10, softmax) >
}

kiln::model! {
    /// Every kind of layer, in and out of the per-sample runs: an activation layer and a
    /// dropout between convolutions, a Dense over each pixel, a reshape before a pool.
    struct Everything: [9, 9, 3] => <
        Conv2D(4, (3, 2), strides = 2, padding = same, activation = gelu), Activation(tanh),
        Dropout(0.1), AvgPool(2, padding = same), Dense(70, elu), Reshape(9, 5, 14), MaxPool(1),
        GlobalAvgPool, Activation(softmax), Reshape(2, 7), Dense(3, swish), Flatten,
    >
}

kiln::model! {
    struct Features: [8, 8, 1] => < Conv2D(5, 3, relu), MaxPool(2), Flatten >
}

kiln::model! {
    struct Classifier: [45] => < Dense(100, relu), Dropout(0.5), Dense(4, softmax) >
}

kiln::model! {
    /// Nested models on both sides of a block layer.
    struct Nested: [8, 8, 1] => < Features, Dense(45, relu), Classifier, Activation(sigmoid) >
}

kiln::model! {
    /// Upsampling in a per-sample run, LayerNormalization over pixels and over a vector.
    struct Normalized: [5, 4, 2] => <
        Conv2D(3, 2, tanh), UpSampling2D((2, 1)), LayerNormalization, Flatten, Dense(9, relu),
        LayerNormalization(epsilon = 1e-5), Dense(3),
    >
}

kiln::model! {
    /// Every recurrent layer, two read backwards; the test's 9 and 37 samples are more than one
    /// chunk of rows (8) and one block (32).
    struct Recurrent: [7, 5] => <
        LSTM(6, return_sequences = true), GRU(5, return_sequences = true, go_backwards = true),
        SimpleRNN(5, return_sequences = true), LSTM(4, go_backwards = true), Dense(3, softmax),
    >
}

kiln::model! {
    /// Token ids (random floats, clamped) through an embedding table.
    struct Tokens: [9] => < Embedding(5, 4), LSTM(3), Dense(2) >
}

kiln::model! {
    /// In `f64` every kernel is the scalar loop.
    struct Mlp64<f64>: [20] => < Dense(130, tanh), Dense(7) >
}

/// Deterministic pseudo-random floats in [-1, 1), a quarter of them zero (as ReLU outputs and
/// MNIST pixels are).
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            if s.is_multiple_of(4) {
                0.0
            } else {
                v
            }
        })
        .collect()
}

/// `M` with every parameter, biases included, drawn from [`noise`] scaled by `scale`: with
/// Keras's zero biases, a bias added first or last would give the same floats.
fn random<M: Model<Scalar = f32>>(seed: u64, scale: f32) -> Box<M> {
    let mut m = M::init(seed);
    let mut i = 0;
    m.visit_params_mut(None, &mut |p| {
        i += 1;
        let values = noise(seed + i, p.data.len());
        for (d, v) in p.data.iter_mut().zip(values) {
            *d = v * scale;
        }
    });
    m
}

/// `n` inputs of `M`, filled with [`noise`].
fn inputs<M: Model<Scalar = f32>>(seed: u64, n: usize) -> Vec<M::Input> {
    let floats = std::mem::size_of::<M::Input>() / 4;
    let v = noise(seed, n * floats);
    kiln::core::bytemuck::cast_slice(&v).to_vec()
}

/// Checks `predict` on `xs` against `forward`, on one thread and on several.
fn assert_predict_is_forward<M: Model>(m: &M, xs: &[M::Input], what: &str)
where
    M::Output: PartialEq + std::fmt::Debug,
{
    let want: Vec<M::Output> = xs.iter().map(|x| m.forward(x)).collect();
    for threads in [1, 2, 3] {
        let got = m.predict_with_threads(xs, threads);
        assert_eq!(got.len(), xs.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g,
                w,
                "{what}: sample {i} of {}, {threads} threads",
                xs.len()
            );
        }
    }
    assert!(m.predict(xs) == want, "{what}: predict on every core");
}

#[test]
fn batched_predict_equals_forward_for_the_seed_mlp_on_every_instruction_set() {
    let m = random::<Mlp>(1, 0.1);
    // 70 = two whole blocks and 6; 33 leaves a block of one sample, which takes the Dense
    // kernel's one-row path.
    for n in [70, 33, 2] {
        let xs = inputs::<Mlp>(n as u64, n);
        assert_predict_is_forward(&*m, &xs, "MLP");
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            // `with_isa` holds on this thread only: compare one thread's blocks here.
            with_isa(isa, || {
                let want: Vec<_> = xs.iter().map(|x| m.forward(x)).collect();
                let got = m.predict_with_threads(&xs, 1);
                assert!(got == want, "MLP, {n} samples, {isa:?}");
            });
        }
    }
}

#[test]
fn batched_predict_equals_forward_for_the_seed_cnn() {
    let m = random::<MnistCnn>(2, 0.1);
    let xs = inputs::<MnistCnn>(3, BLOCK + 5);
    assert_predict_is_forward(&*m, &xs, "CNN");
    let ys = m.predict(&xs);
    assert_ne!(ys[0], ys[1], "different images, different outputs");
}

#[test]
fn batched_predict_equals_forward_for_every_kind_of_layer() {
    let m = random::<Everything>(4, 0.5);
    for n in [1, 2, BLOCK, 2 * BLOCK + 7] {
        let xs = inputs::<Everything>(n as u64, n);
        assert_predict_is_forward(&*m, &xs, "Everything");
    }
}

#[test]
fn batched_predict_equals_forward_with_upsampling_and_layer_normalization() {
    let m = random::<Normalized>(6, 0.5);
    for n in [1, BLOCK + 3] {
        let xs = inputs::<Normalized>(n as u64, n);
        assert_predict_is_forward(&*m, &xs, "Normalized");
    }
}

#[test]
fn batched_predict_equals_forward_with_lstms() {
    let m = random::<Recurrent>(7, 0.5);
    for n in [1, 9, BLOCK + 5] {
        let xs = inputs::<Recurrent>(n as u64, n);
        assert_predict_is_forward(&*m, &xs, "Recurrent");
    }
}

#[test]
fn batched_predict_equals_forward_with_an_embedding() {
    let m = random::<Tokens>(8, 0.5);
    let xs: Vec<[f32; 9]> = (0..40)
        .map(|i| core::array::from_fn(|s| ((i * 7 + s * 3) % 6) as f32))
        .collect();
    assert_predict_is_forward(&*m, &xs, "Tokens");
}

#[test]
fn batched_predict_equals_forward_for_nested_models() {
    let m = random::<Nested>(5, 0.3);
    let xs = inputs::<Nested>(6, 3 * BLOCK - 1);
    assert_predict_is_forward(&*m, &xs, "Nested");
    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
        with_isa(isa, || {
            let want: Vec<_> = xs.iter().map(|x| m.forward(x)).collect();
            assert!(m.predict_with_threads(&xs, 1) == want, "Nested, {isa:?}");
        });
    }
}

#[test]
fn batched_predict_equals_forward_in_f64() {
    let m = Mlp64::init(7);
    let xs: Vec<[f64; 20]> = noise(8, 20 * 45)
        .chunks(20)
        .map(|c| std::array::from_fn(|i| f64::from(c[i])))
        .collect();
    assert_predict_is_forward(&*m, &xs, "f64 MLP");
}

#[test]
fn forward_batch_reuses_its_scratch_across_calls_and_sizes() {
    let m = random::<Mlp>(9, 0.1);
    let mut scratch: Box<Scratch<Mlp>> = kiln::core::bytemuck::zeroed_box();
    for n in [BLOCK + 3, 1, 0, 5] {
        let xs = inputs::<Mlp>(10 + n as u64, n);
        let mut ys = vec![[f32::NAN; 10]; n];
        m.forward_batch(&xs, &mut ys, &mut scratch);
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(&m.forward(x), y, "{n} samples");
        }
    }
}

#[test]
fn predict_of_nothing_is_nothing() {
    let m = MnistCnn::init(0);
    assert!(m.predict(&[]).is_empty());
    assert!(m.predict_with_threads(&[], 4).is_empty());
}

#[test]
#[should_panic(expected = "forward_batch: 3 inputs but room for 2 outputs")]
fn forward_batch_panics_when_the_lengths_differ() {
    let m = Mlp::init(0);
    let mut scratch: Box<Scratch<Mlp>> = kiln::core::bytemuck::zeroed_box();
    let xs = inputs::<Mlp>(0, 3);
    m.forward_batch(&xs, &mut [[0.0; 10]; 2], &mut scratch);
}

kiln::model! {
    struct Trunk: [6] => < Dense(6, relu) >
}

kiln::model! {
    /// A graph of vectors with every kind of step the block plan has: Dense layers, a nested
    /// model, reshapes and activations on the block, merges per sample, two inputs, two
    /// outputs, a value read by four layers. (Graphs of images run `forward` per sample.)
    struct GraphBlocks {
        input v: [6];
        input meta: [6];
        let m = Trunk(meta);
        let d = Activation(tanh)(Dense(6)(Concatenate(v, m, meta)));
        let r = Flatten(Reshape(2, 3)(Add(d, Dense(6, relu)(v))));
        let joined = Concatenate(Dropout(0.5)(r), Multiply(m, meta), Average(d, v));
        output class = Dense(4, softmax)(joined);
        output level = Dense(1)(Maximum(d, m, Subtract(v, meta)));
    }
}

#[test]
fn batched_predict_equals_forward_for_a_graph() {
    // Block buffers for every value, not the per-sample fallback's `()`.
    assert!(std::mem::size_of::<Scratch<GraphBlocks>>() >= BLOCK * 6 * 4);
    let m = GraphBlocks::init(8);
    let xs: Vec<GraphBlocksInput> = (0..75)
        .map(|i| {
            let mut x: GraphBlocksInput = kiln::core::bytemuck::Zeroable::zeroed();
            let f = kiln::core::bytemuck::cast_slice_mut::<GraphBlocksInput, f32>(
                std::slice::from_mut(&mut x),
            );
            for (j, v) in f.iter_mut().enumerate() {
                *v = (((i * 31 + j * 17) % 23) as f32 - 11.0) / 7.0;
            }
            x
        })
        .collect();
    for threads in [1, 2] {
        let ys = m.predict_with_threads(&xs, threads);
        for (x, y) in xs.iter().zip(&ys) {
            let f = m.forward(x);
            assert_eq!(
                kiln::core::bytemuck::bytes_of(&f),
                kiln::core::bytemuck::bytes_of(y)
            );
        }
    }
}
