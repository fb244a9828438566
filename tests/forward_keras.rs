//! kiln's forward pass against real Keras.
//!
//! Each fixture in `tests/fixtures/` was written by `scripts/make_fixtures.py` from a Keras 3
//! `Sequential` model, or for `graph_*` a functional `keras.Model` declared here in kiln's
//! functional form, with seeded random weights (see `tests/fixtures/README.md`). It holds the
//! weights as `<layer>/<param>` in Keras's layouts, three input samples (`__input__`) and
//! Keras's outputs for them (`__output__`). Each test declares the same model with
//! `kiln::model!`, loads the weights, and checks every output element against Keras's.

use kiln::core::bytemuck;
use kiln::prelude::*;
use kiln::Infer;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

/// Absolute part of the tolerance: `|kiln - keras| <= ATOL + RTOL * |keras|`.
const ATOL: f32 = 1e-5;
/// Relative part of the tolerance.
const RTOL: f32 = 1e-4;

/// The path of `tests/fixtures/<name>.safetensors`.
macro_rules! fixture {
    ($name:expr) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name,
            ".safetensors"
        )
    };
}

/// A float32 tensor of a fixture, decoded from its little-endian bytes.
fn tensor(file: &SafeTensors<'_>, path: &str, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = file
        .tensor(name)
        .unwrap_or_else(|e| panic!("{path}: no tensor {name:?}: {e}"));
    assert_eq!(view.dtype(), Dtype::F32, "{path}: {name} is not float32");
    let data = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (view.shape().to_vec(), data)
}

/// `flat` as a multi-index into `shape` (row-major), for failure messages.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        index[i] = flat % d;
        flat /= d;
    }
    index
}

/// Loads the fixture's weights into a fresh `M`, runs every sample of `__input__` and checks
/// each output element against `__output__`, reporting every element out of tolerance.
/// Returns the loaded model and the input samples.
fn check<M: Model<Scalar = f32>>(path: &str) -> (Box<M>, Vec<M::Input>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (in_shape, inputs) = tensor(&file, path, "__input__");
    let (out_shape, expected) = tensor(&file, path, "__output__");
    let samples = in_shape[0];
    assert_eq!(&in_shape[1..], M::INPUT_SHAPE, "{path}: input shape");
    assert_eq!(out_shape[0], samples, "{path}: sample count");
    assert_eq!(&out_shape[1..], M::OUTPUT_SHAPE, "{path}: output shape");
    let in_len = inputs.len() / samples;
    let out_len = expected.len() / samples;
    assert_eq!(
        core::mem::size_of::<M::Input>(),
        in_len * 4,
        "{path}: Input type size"
    );
    assert_eq!(
        core::mem::size_of::<M::Output>(),
        out_len * 4,
        "{path}: Output type size"
    );

    let mut m = M::init(0);
    m.load_weights(path)
        .unwrap_or_else(|e| panic!("{path}: load_weights: {e}"));

    // The loaded parameters are the file's, bit for bit, in the same layout.
    let mut loaded = 0;
    m.visit_params(None, &mut |p| {
        let name = p.name.to_string();
        let (shape, data) = tensor(&file, path, &name);
        assert_eq!(p.shape, &shape[..], "{path}: shape of {name}");
        assert!(
            p.data
                .iter()
                .zip(&data)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{path}: {name} differs from the file after load_weights"
        );
        loaded += data.len();
    });
    assert_eq!(loaded, M::PARAMS, "{path}: parameter count");

    let xs: Vec<M::Input> = inputs
        .chunks_exact(in_len)
        .map(|x| bytemuck::pod_read_unaligned(bytemuck::cast_slice(x)))
        .collect();
    let mut failures = Vec::new();
    let mut worst = 0.0f32;
    for (s, x) in xs.iter().enumerate() {
        let y = m.forward(x);
        let got: &[f32] = bytemuck::cast_slice(core::slice::from_ref(&y));
        let want = &expected[s * out_len..][..out_len];
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = (g - w).abs();
            worst = worst.max(err);
            if err.is_nan() || err > ATOL + RTOL * w.abs() {
                failures.push(format!(
                    "  sample {s}, element {i} {:?}: kiln {g}, keras {w} (diff {err:e})",
                    unravel(i, M::OUTPUT_SHAPE)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{path}: {} of {} outputs differ from Keras by more than {ATOL:e} + {RTOL:e} * |keras|:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
    eprintln!(
        "{path}: {} outputs within tolerance, max abs diff {worst:e}",
        expected.len()
    );
    keras_files(&*m, path, &xs);
    (m, xs)
}

/// The same model read from Keras's own files (`tests/fixtures/keras/<name>.keras`,
/// `.weights.h5`, `.h5`, saved by the fixture script with the fixture's weights): every
/// parameter equals `m`'s, bit for bit, and so does every output.
fn keras_files<M: Model<Scalar = f32>>(m: &M, path: &str, xs: &[M::Input]) {
    let stem = path.trim_end_matches(".safetensors");
    let (dir, name) = stem.rsplit_once('/').expect("a fixture path");
    // Each layer's group in Keras 3's weights file is where kiln says (`LayerRecord::keras_path`,
    // Keras's `model.layers` order), which is what kiln writes and Keras reads.
    let h5 = hdf5_pure::File::open(format!("{dir}/keras/{name}.weights.h5")).unwrap();
    for l in M::LAYERS {
        let attrs = h5
            .group(&format!("{}/vars", l.keras_path))
            .unwrap_or_else(|e| {
                panic!(
                    "{name}: no group `{}/vars` for `{}`: {e}",
                    l.keras_path, l.name
                )
            });
        let attrs = attrs.attrs().unwrap();
        let recorded = format!("{:?}", attrs.get("name"));
        assert!(
            recorded.contains(&format!("\"{}\"", l.name)),
            "{name}: `{}` holds layer {recorded}, not `{}`",
            l.keras_path,
            l.name
        );
    }
    // kiln writes Keras 3's weights file, and reads back exactly what it wrote. With
    // `KILN_WRITE_KERAS=1` the file goes to `tests/fixtures/keras/from_kiln/`, where
    // `scripts/check_kiln_weights.py` loads it into the Keras model and compares predictions.
    // Several tests may check one fixture at once: each writes in a directory of its own.
    let scratch = tempfile::tempdir().unwrap();
    let written = match std::env::var_os("KILN_WRITE_KERAS") {
        Some(_) => {
            std::fs::create_dir_all(format!("{dir}/keras/from_kiln")).unwrap();
            format!("{dir}/keras/from_kiln/{name}.weights.h5")
        }
        None => scratch
            .path()
            .join(format!("{name}.weights.h5"))
            .display()
            .to_string(),
    };
    kiln::keras::save_weights(m, &written).unwrap_or_else(|e| panic!("{written}: {e}"));
    // The same for the whole model: `save_keras`'s archive, whose `config.json` Keras rebuilds
    // the model from (checked by the same script). Its config must stay the one Keras read.
    let archive = written.replace(".weights.h5", ".keras");
    kiln::keras::save_keras(m, &archive).unwrap_or_else(|e| panic!("{archive}: {e}"));
    let config = archive_entry(&archive, "config.json");
    let checked = format!("{dir}/keras/from_kiln/{name}.keras");
    let accepted = archive_entry(&checked, "config.json");
    assert!(
        config == accepted,
        "{name}: save_keras's config.json is no longer the one Keras rebuilt the model from \
         ({checked}); if the change is meant, rewrite it with KILN_WRITE_KERAS=1 and check it \
         with scripts/check_kiln_weights.py:\n{}\n{}",
        String::from_utf8_lossy(&config),
        String::from_utf8_lossy(&accepted)
    );
    let mut files: Vec<String> = ["keras", "weights.h5", "h5"]
        .iter()
        .map(|ext| format!("{dir}/keras/{name}.{ext}"))
        .collect();
    files.push(written.clone());
    files.push(archive);
    for file in files {
        let mut k = M::init(1);
        kiln::keras::load_weights(&mut *k, &file)
            .unwrap_or_else(|e| panic!("{file}: kiln::keras::load_weights: {e}"));
        let mut params = Vec::new();
        m.visit_params(None, &mut |p| {
            params.push((p.name.to_string(), p.data.to_vec()))
        });
        let mut i = 0;
        k.visit_params(None, &mut |p| {
            let (name, want) = &params[i];
            assert!(
                p.data
                    .iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{file}: `{name}` differs from the safetensors fixture's"
            );
            i += 1;
        });
        for x in xs {
            let (a, b) = (m.forward(x), k.forward(x));
            assert!(
                bytemuck::bytes_of(&a) == bytemuck::bytes_of(&b),
                "{file}: outputs differ"
            );
        }
    }
}

/// The bytes of entry `name` of the zip archive at `path`.
fn archive_entry(path: &str, name: &str) -> Vec<u8> {
    use std::io::Read;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut bytes = Vec::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{path}: {name}: {e}"))
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// [`check`] for a graph, whose `predict` and arena `infer` (planned by liveness) are code of
/// their own: both must also give `forward`'s outputs, bit for bit, so they match Keras too.
fn check_graph<M>(path: &str)
where
    M: Model<Scalar = f32> + Infer<Input = <M as Model>::Input, Output = <M as Model>::Output>,
{
    let (m, xs) = check::<M>(path);
    let want: Vec<<M as Model>::Output> = xs.iter().map(|x| m.forward(x)).collect();
    let predicted = m.predict(&xs);
    // An arena of NaN bytes, so a step that reads a buffer before it is written shows up.
    let mut arena = kiln::Arena::<M>::new();
    arena.bytes_mut().fill(0xff);
    for (s, (x, w)) in xs.iter().zip(&want).enumerate() {
        let w = bytemuck::bytes_of(w);
        assert!(
            bytemuck::bytes_of(&predicted[s]) == w,
            "{path}: sample {s}: predict differs from forward"
        );
        assert!(
            bytemuck::bytes_of(m.infer(&mut arena, x)) == w,
            "{path}: sample {s}: infer differs from forward"
        );
    }
}

kiln::model! {
    struct SmallCnn: [12, 12, 2] => <
        Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, padding = valid, strides = 1),
        MaxPool(2), Dropout(0.25), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >
}

#[test]
fn small_cnn() {
    check::<SmallCnn>(fixture!("small_cnn"));
}

kiln::model! {
    struct SamePadding: [7, 10, 3] => <
        Conv2D(4, (3, 2), strides = (2, 3), padding = same, activation = elu),
        Conv2D(5, 3, strides = 2, padding = same, use_bias = false, activation = gelu),
        GlobalAvgPool,
    >
}

#[test]
fn same_padding() {
    check::<SamePadding>(fixture!("same_padding"));
}

kiln::model! {
    struct Pools: [9, 7, 2] => <
        Conv2D(2, 1, name = "mix"),
        MaxPool(3, strides = 2, padding = same),
        AvgPool((2, 3), strides = (1, 2), padding = same),
        MaxPool((2, 1), strides = 1),
        AvgPool(2, padding = same),
    >
}

#[test]
fn pools() {
    check::<Pools>(fixture!("pools"));
}

kiln::model! {
    struct PadCrop: [6, 5, 2] => <
        ZeroPadding2D(((1, 0), (2, 1))), Conv2D(3, 3, tanh), Cropping2D(((1, 1), (0, 2))),
        ZeroPadding2D, Flatten, Dense(3),
    >
}

#[test]
fn pad_crop() {
    check::<PadCrop>(fixture!("pad_crop"));
}

kiln::model! {
    /// Conv1D in its three paddings, with strides, and both 1-D window pools.
    struct Conv1d: [16, 3] => <
        Conv1D(4, 3, relu), Conv1D(5, 2, tanh, strides = 2, padding = same),
        MaxPooling1D(2), Conv1D(3, 3, padding = causal),
        AveragePooling1D(2, strides = 1, padding = same), Flatten, Dense(3),
    >
}

#[test]
fn conv1d() {
    check::<Conv1d>(fixture!("conv1d"));
}

kiln::model! {
    /// Dilated 1-D convolutions in each padding (`same` with a span that overhangs both ends).
    struct Conv1dDilated: [12, 3] => <
        Conv1D(4, 3, tanh, dilation_rate = 2),
        Conv1D(3, 2, padding = causal, dilation_rate = 4),
        Conv1D(2, 3, relu, padding = same, dilation_rate = 3), Flatten, Dense(3),
    >
}

#[test]
fn conv1d_dilated() {
    check_graph::<Conv1dDilated>(fixture!("conv1d_dilated"));
}

kiln::model! {
    /// Nearest-neighbour upsampling, by a pair and by Keras's default 2.
    struct Upsampling: [3, 4, 2] => <
        Conv2D(3, 2, tanh), UpSampling2D((2, 3)), Conv2D(2, 3), UpSampling2D, Flatten, Dense(3),
    >
}

#[test]
fn upsampling() {
    check::<Upsampling>(fixture!("upsampling"));
}

kiln::model! {
    /// Layer normalization over an image's channels and over a vector, at two epsilons.
    struct LayerNorm: [3, 4, 2] => <
        Conv2D(4, 2, tanh), LayerNormalization, Flatten, Dense(6),
        LayerNormalization(epsilon = 1e-5), Dense(3),
    >
}

#[test]
fn layer_norm() {
    check::<LayerNorm>(fixture!("layer_norm"));
    // gamma and beta per normalized feature, as Keras's summary counts them.
    assert_eq!(<LayerNorm as Model>::PARAMS, 36 + 2 * 4 + 150 + 2 * 6 + 21);
}

/// Every parameter of `m` as bits, in visiting order.
fn param_bits<M: Model<Scalar = f32>>(m: &M) -> Vec<u32> {
    let mut all = Vec::new();
    m.visit_params(None, &mut |p| {
        all.extend(p.data.iter().map(|v| v.to_bits()))
    });
    all
}

kiln::model! {
    /// Depthwise convolutions: two filters per channel, then `same` padding with strides and
    /// no bias.
    struct Depthwise: [7, 6, 3] => <
        DepthwiseConv2D(3, relu, depth_multiplier = 2),
        DepthwiseConv2D((2, 3), strides = 2, padding = same, use_bias = false),
        Flatten,
        Dense(3),
    >
}

kiln::model! {
    /// The same with Keras's archive compiled in: its tensors written as literals of the
    /// layers' fields.
    struct DepthwiseEmbedded: [7, 6, 3] => <
        DepthwiseConv2D(3, relu, depth_multiplier = 2),
        DepthwiseConv2D((2, 3), strides = 2, padding = same, use_bias = false),
        Flatten,
        Dense(3),
    >,
    weights = "tests/fixtures/keras/depthwise.keras",
}

#[test]
fn depthwise() {
    // Also `predict` and arena `infer`, bit for bit as `forward`.
    check_graph::<Depthwise>(fixture!("depthwise"));
    let mut loaded = Depthwise::init(0);
    loaded.load_weights(fixture!("depthwise")).unwrap();
    assert!(
        param_bits(&*loaded) == param_bits(DepthwiseEmbedded::weights()),
        "the compiled-in weights are the fixture's"
    );
    // Keras's count_params(): kernel [3, 3, 3, 2] and bias [6], kernel [2, 3, 6, 1], then the
    // Dense on 3 x 2 x 6.
    assert_eq!(<Depthwise as Model>::PARAMS, (54 + 6) + 36 + (36 * 3 + 3));
}

kiln::model! {
    /// Separable convolutions: two depthwise filters per channel with relu, then `same` padding
    /// with strides and no bias.
    struct Separable: [7, 6, 3] => <
        SeparableConv2D(4, 3, relu, depth_multiplier = 2),
        SeparableConv2D(3, (2, 3), strides = 2, padding = same, use_bias = false),
        Flatten,
        Dense(3),
    >
}

kiln::model! {
    /// The same with Keras's archive compiled in.
    struct SeparableEmbedded: [7, 6, 3] => <
        SeparableConv2D(4, 3, relu, depth_multiplier = 2),
        SeparableConv2D(3, (2, 3), strides = 2, padding = same, use_bias = false),
        Flatten,
        Dense(3),
    >,
    weights = "tests/fixtures/keras/separable.keras",
}

#[test]
fn separable() {
    // Also `predict` and arena `infer`, bit for bit as `forward`.
    check_graph::<Separable>(fixture!("separable"));
    let mut loaded = Separable::init(0);
    loaded.load_weights(fixture!("separable")).unwrap();
    assert!(
        param_bits(&*loaded) == param_bits(SeparableEmbedded::weights()),
        "the compiled-in weights are the fixture's"
    );
    // Keras's count_params(): depthwise [3, 3, 3, 2], pointwise [1, 1, 6, 4], bias [4]; then
    // depthwise [2, 3, 4, 1], pointwise [1, 1, 4, 3]; then the Dense on 3 x 2 x 3.
    assert_eq!(
        <Separable as Model>::PARAMS,
        (54 + 24 + 4) + (24 + 12) + (18 * 3 + 3)
    );
}

kiln::model! {
    /// Bidirectional LSTM with every step (the backward copy's reversed back in time,
    /// concatenated), then a Bidirectional GRU's two last outputs.
    struct Bidi: [6, 3] => <
        Bidirectional(LSTM(4, return_sequences = true)),
        Bidirectional(GRU(3)),
        Dense(2),
    >
}

#[test]
fn bidirectional() {
    // Also `predict` and arena `infer`, bit for bit as `forward`.
    check_graph::<Bidi>(fixture!("bidirectional"));
    // Keras's count_params(): two LSTM(4) copies on 3 features, two GRU(3) copies on 8, the
    // Dense on 6.
    assert_eq!(
        <Bidi as Model>::PARAMS,
        2 * (3 * 16 + 4 * 16 + 16) + 2 * (8 * 9 + 3 * 9 + 2 * 9) + (6 * 2 + 2)
    );
    // summary()'s rows as Keras 3.15.1's `model.summary(line_length=80)` prints them (kiln's
    // columns are narrower: compared word by word).
    let summary = <Bidi as Model>::summary();
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let rows: Vec<String> = summary.lines().map(words).collect();
    for row in [
        "│ bidirectional (Bidirectional)     │ (None, 6, 8)             │           256 │",
        "│ bidirectional_1 (Bidirectional)   │ (None, 6)                │           234 │",
        " Total params: 504 (1.97 KB)",
    ] {
        assert!(rows.contains(&words(row)), "no row {row:?} in\n{summary}");
    }
}

kiln::model! {
    /// Two LSTMs: every step returned, then read backwards.
    struct Lstm: [6, 3] => <
        LSTM(4, return_sequences = true),
        LSTM(3, go_backwards = true, return_sequences = true),
        Flatten,
        Dense(2),
    >
}

kiln::model! {
    /// Other activations, given by position as Keras's `LSTM(3, "elu", "hard_sigmoid")`, and
    /// no bias; the last step's output.
    struct LstmOptions: [5, 4] => < LSTM(3, elu, hard_sigmoid, use_bias = false) >
}

#[test]
fn lstm() {
    check::<Lstm>(fixture!("lstm"));
    check::<LstmOptions>(fixture!("lstm_options"));
    // kernel, recurrent_kernel and bias, as Keras's summary counts them.
    assert_eq!(
        <Lstm as Model>::PARAMS,
        (3 * 16 + 4 * 16 + 16) + (4 * 12 + 3 * 12 + 12) + (18 * 2 + 2)
    );
    assert_eq!(<LstmOptions as Model>::PARAMS, 4 * 12 + 3 * 12);
}

kiln::model! {
    /// Two GRUs (Keras 3's `reset_after`, a bias of `[2, 3u]`): every step returned, then read
    /// backwards.
    struct Gru: [6, 3] => <
        GRU(4, return_sequences = true),
        GRU(3, go_backwards = true, return_sequences = true),
        Flatten,
        Dense(2),
    >
}

kiln::model! {
    /// Other activations by position, no bias.
    struct GruOptions: [5, 4] => < GRU(3, relu, hard_sigmoid, use_bias = false) >
}

#[test]
fn gru() {
    check::<Gru>(fixture!("gru"));
    check::<GruOptions>(fixture!("gru_options"));
    assert_eq!(
        <Gru as Model>::PARAMS,
        (3 * 12 + 4 * 12 + 2 * 12) + (4 * 9 + 3 * 9 + 2 * 9) + (18 * 2 + 2)
    );
    assert_eq!(<GruOptions as Model>::PARAMS, 4 * 9 + 3 * 9);
}

kiln::model! {
    /// SimpleRNNs: every step, read backwards; then relu without a bias.
    struct SimpleRnn: [6, 3] => <
        SimpleRNN(4, return_sequences = true, go_backwards = true),
        SimpleRNN(3, relu, use_bias = false),
        Dense(2),
    >
}

#[test]
fn simple_rnn() {
    check::<SimpleRnn>(fixture!("simple_rnn"));
    assert_eq!(
        <SimpleRnn as Model>::PARAMS,
        (3 * 4 + 4 * 4 + 4) + (4 * 3 + 3 * 3) + (3 * 2 + 2)
    );
}

kiln::model! {
    /// Token ids (as floats, which Keras's Embedding casts) into a GRU.
    struct Tokens: [6] => < Embedding(7, 3), GRU(4), Dense(2) >
}

#[test]
fn embedding() {
    check::<Tokens>(fixture!("embedding"));
    assert_eq!(
        <Tokens as Model>::PARAMS,
        7 * 3 + (3 * 12 + 4 * 12 + 2 * 12) + (4 * 2 + 2)
    );
}

/// Three `train_on_batch` steps from the fixture's weights, SGD at 0.1 on the mean squared
/// error to `__train_target__`, as the fixture script ran them in Keras: each step's loss
/// against `__train_losses__` and every weight afterwards against `__trained__/<name>`. SGD
/// moves each weight by its gradient alone, so this checks the backward pass against Keras's.
fn check_training<M, const N: usize>(path: &str)
where
    M: kiln::core::train::Train<Scalar = f32, Output = [f32; N]>,
{
    let (mut m, xs) = check::<M>(path);
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, target) = tensor(&file, path, "__train_target__");
    let ys: Vec<[f32; N]> = target
        .chunks_exact(N)
        .map(|c| c.try_into().unwrap())
        .collect();
    let (_, losses) = tensor(&file, path, "__train_losses__");
    {
        let mut trainer = m.compile(SGD::new(0.1), Loss::MeanSquaredError, &[]);
        for (step, &want) in losses.iter().enumerate() {
            let got = trainer.train_on_batch(&xs, &ys).unwrap();
            let want = f64::from(want);
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{path}: step {step}: loss {got}, Keras {want}"
            );
        }
    }
    let (mut checked, mut moved, mut worst) = (0, 0, 0.0f32);
    m.visit_params(None, &mut |p| {
        let name = format!("__trained__/{}", p.name);
        let (_, want) = tensor(&file, path, &name);
        let (_, before) = tensor(&file, path, &p.name.to_string());
        moved += want
            .iter()
            .zip(&before)
            .filter(|(a, b)| (*a - *b).abs() > 1e-4)
            .count();
        for (k, (&a, &b)) in p.data.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{path}: {} [{k}] after 3 steps: kiln {a}, Keras {b}",
                p.name
            );
            worst = worst.max((a - b).abs());
        }
        checked += want.len();
    });
    assert_eq!(checked, M::PARAMS, "{path}: every weight checked");
    // Not a vacuous check: Keras's steps moved most weights by more than the tolerance.
    assert!(
        moved * 2 > checked,
        "{path}: only {moved} of {checked} weights moved"
    );
    eprintln!("{path}: 3 SGD steps, losses and weights as Keras's, max weight diff {worst:e}");
}

#[test]
fn training_steps_match_keras_for_the_normalization_recurrent_and_embedding_layers() {
    check_training::<LayerNorm, 3>(fixture!("layer_norm"));
    check_training::<Lstm, 2>(fixture!("lstm"));
    check_training::<Gru, 2>(fixture!("gru"));
    check_training::<SimpleRnn, 2>(fixture!("simple_rnn"));
    check_training::<Tokens, 2>(fixture!("embedding"));
}

#[test]
fn training_steps_match_keras_for_depthwise_convolutions() {
    check_training::<Depthwise, 3>(fixture!("depthwise"));
}

#[test]
fn training_steps_match_keras_for_dilated_conv1d() {
    check_training::<Conv1dDilated, 3>(fixture!("conv1d_dilated"));
}

#[test]
fn training_steps_match_keras_for_separable_convolutions() {
    check_training::<Separable, 3>(fixture!("separable"));
}

#[test]
fn training_steps_match_keras_for_bidirectional_layers() {
    check_training::<Bidi, 2>(fixture!("bidirectional"));
}

/// One `Dense(5, <activation>)` model on a `[2, 3, 5]` input per activation, each checked
/// against its `act_<activation>` fixture.
macro_rules! activation_tests {
    ($($test:ident: $model:ident = $activation:ident;)*) => {$(
        kiln::model! {
            struct $model: [2, 3, 5] => < Dense(5, $activation) >
        }

        #[test]
        fn $test() {
            check::<$model>(fixture!(stringify!($test)));
        }
    )*};
}

activation_tests! {
    act_linear: ActLinear = linear;
    act_relu: ActRelu = relu;
    act_relu6: ActRelu6 = relu6;
    act_sigmoid: ActSigmoid = sigmoid;
    act_tanh: ActTanh = tanh;
    act_softmax: ActSoftmax = softmax;
    act_leaky_relu: ActLeakyRelu = leaky_relu;
    act_elu: ActElu = elu;
    act_gelu: ActGelu = gelu;
    act_swish: ActSwish = swish;
    act_softplus: ActSoftplus = softplus;
    act_hard_sigmoid: ActHardSigmoid = hard_sigmoid;
}

kiln::model! {
    struct Sequence: [6, 4] => <
        Dense(3, swish), Flatten, Reshape(3, 6), Dense(2, softplus), Flatten,
        Dense(4, hard_sigmoid),
    >
}

#[test]
fn sequence() {
    check::<Sequence>(fixture!("sequence"));
}

kiln::model! {
    struct Mlp: [20] => <
        Dense(16, relu), Dense(16, tanh, use_bias = false), Dense(4, sigmoid, name = "head"),
    >
}

#[test]
fn mlp() {
    check::<Mlp>(fixture!("mlp"));
}

kiln::model! {
    struct ReshapeConv: [48] => <
        Reshape(4, 4, 3), Conv2D(2, 2, strides = 2, activation = leaky_relu), Flatten, Dense(3),
    >
}

#[test]
fn reshape_conv() {
    check::<ReshapeConv>(fixture!("reshape_conv"));
}

kiln::model! {
    struct ActivationLayers: [10] => <
        Dense(6), Activation(relu6), Dense(6, use_bias = false), Activation(tanh), Dense(3),
        Activation(softmax),
    >
}

#[test]
fn activation_layers() {
    check::<ActivationLayers>(fixture!("activation_layers"));
}

// The functional form against Keras's functional API (`keras.Input`, layers called on values,
// `keras.Model`): the `graph_*` fixtures. Keras created each model's layers in the order these
// statements write them, so its automatic names are kiln's.

kiln::model! {
    struct GraphResidual {
        input image: [8, 8, 2];
        let x = Conv2D(4, 3, padding = same, activation = relu)(image);
        let y = Conv2D(4, 3, padding = same)(x);
        let x = Activation(relu)(Add(x, y));
        output class = Dense(3, softmax)(GlobalAvgPool(MaxPool(2)(x)));
    }
}

#[test]
fn graph_residual() {
    check_graph::<GraphResidual>(fixture!("graph_residual"));
}

kiln::model! {
    /// `GlobalMaxPooling2D` beside `GlobalAveragePooling2D` on one image.
    struct GraphGlobalPools {
        input image: [6, 5, 3];
        let x = Conv2D(4, 3, padding = same, activation = tanh)(image);
        output y = Dense(3, softmax)(Concatenate(GlobalMaxPool(x), GlobalAvgPool(x)));
    }
}

#[test]
fn graph_global_pools() {
    check_graph::<GraphGlobalPools>(fixture!("graph_global_pools"));
}

kiln::model! {
    /// `GlobalMaxPooling1D` beside `GlobalAveragePooling1D` on a sequence.
    struct GraphGlobalPools1d {
        input seq: [7, 4];
        let x = Dense(5, tanh)(seq);
        output y = Dense(3, softmax)(Concatenate(GlobalMaxPooling1D(x), GlobalAveragePooling1D(x)));
    }
}

#[test]
fn graph_global_pools_1d() {
    check_graph::<GraphGlobalPools1d>(fixture!("graph_global_pools_1d"));
}

kiln::model! {
    /// Two branches joined along the channels, then along the height (`axis = 1`) and the
    /// width (`axis = 2`).
    struct GraphBranchesConcat {
        input img: [6, 6, 2];
        let p = Conv2D(3, 3, padding = same, activation = tanh)(img);
        let q = Dense(2, relu)(img);
        let j = Concatenate(p, q);
        let r = Conv2D(5, (3, 1), strides = (2, 1), padding = same)(img);
        let k = Concatenate(axis = 1)(j, r);
        let m = Concatenate(axis = 2)(k, MaxPool((1, 2))(k));
        output y = Dense(4)(Flatten(m));
    }
}

#[test]
fn graph_branches_concat() {
    check_graph::<GraphBranchesConcat>(fixture!("graph_branches_concat"));
}

kiln::model! {
    /// Every elementwise merge but `Add`, side by side in the output: elements 0–3 `subtract`,
    /// 4–7 `multiply`, 8–11 `average`, 12–15 `maximum`, 16–19 `minimum`.
    struct GraphMerges {
        input v: [6];
        let a = Dense(4, tanh)(v);
        let b = Dense(4)(v);
        let c = Dense(4, sigmoid)(v);
        output y = Concatenate(
            Subtract(a, b),
            Multiply(a, b, c),
            Average(a, b, c),
            Maximum(a, b, c),
            Minimum(b, c),
        );
    }
}

#[test]
fn graph_merges() {
    check_graph::<GraphMerges>(fixture!("graph_merges"));
}

kiln::model! {
    /// One Dense layer applied three times (once to its own output), its weights loaded once.
    struct GraphSharedDense {
        input v: [6];
        let enc = Dense(6, tanh);
        let a = enc(v);
        let b = enc(Dense(6, relu)(v));
        let c = enc(a);
        output y = Dense(3, softmax)(Concatenate(a, b, c));
    }
}

#[test]
fn graph_shared_dense() {
    check_graph::<GraphSharedDense>(fixture!("graph_shared_dense"));
}

kiln::model! {
    struct GraphTwoInputs {
        input image: [4, 4, 1];
        input meta: [3];
        let a = Dense(4, tanh)(Flatten(Conv2D(2, 3, padding = same)(image)));
        let b = Dense(4, sigmoid)(meta);
        output y = Dense(3, softmax)(Concatenate(a, b, meta));
    }
}

#[test]
fn graph_two_inputs() {
    // The fixture's samples are each input flattened in turn: the layout of the input struct.
    assert_eq!(GraphTwoInputs::INPUT_SHAPE, &[16 + 3]);
    check_graph::<GraphTwoInputs>(fixture!("graph_two_inputs"));
}

kiln::model! {
    struct GraphTwoOutputs {
        input image: [5, 5, 2];
        let x = Flatten(Conv2D(3, 3, relu)(image));
        output class = Dense(4, softmax)(x);
        output aux = Dense(2, sigmoid)(x);
        output score = Dense(1)(Concatenate(x, aux));
    }
}

#[test]
fn graph_two_outputs() {
    // The fixture's outputs are each output flattened in turn: the layout of the output struct.
    assert_eq!(GraphTwoOutputs::OUTPUT_SHAPE, &[4 + 2 + 1]);
    check_graph::<GraphTwoOutputs>(fixture!("graph_two_outputs"));
}

#[test]
fn graph_two_outputs_evaluates_with_a_loss_and_weight_per_output_as_keras() {
    let path = fixture!("graph_two_outputs");
    let (mut m, xs) = check::<GraphTwoOutputs>(path);
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, class) = tensor(&file, path, "__target_dense__");
    let (_, aux) = tensor(&file, path, "__target_dense_1__");
    let (_, score) = tensor(&file, path, "__target_dense_2__");
    let (_, want) = tensor(&file, path, "__losses__");
    let ys: Vec<(u8, [f32; 2], [f32; 1])> = (0..xs.len())
        .map(|s| (class[s] as u8, [aux[2 * s], aux[2 * s + 1]], [score[s]]))
        .collect();
    let mut trainer = m.compile(
        SGD::default(),
        Losses::per_output([
            ("class", Loss::SparseCategoricalCrossentropy, 1.0),
            ("aux", Loss::BinaryCrossentropy, 0.25),
            ("score", Loss::MeanSquaredError, 0.5),
        ]),
        &[],
    );
    let logs = trainer.evaluate_logs(&xs, &ys).unwrap();
    let got: Vec<(&str, f64)> = logs.iter().collect();
    let names = ["loss", "class_loss", "aux_loss", "score_loss"];
    assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), names);
    for ((name, g), w) in got.iter().zip(&want) {
        let w = f64::from(*w);
        eprintln!("{path}: {name} kiln {g:.7}, Keras {w:.7}");
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{name}: kiln {g}, Keras {w}"
        );
    }
}
