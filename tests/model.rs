//! The generated model's API end to end: summary, init, forward, predict, weight files,
//! nesting, and the promise that nothing large lives on the stack.

use kiln::prelude::*;
use std::path::PathBuf;

kiln::model! {
    /// The seed CNN.
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
    /// The 784-512-512-10 MLP.
    pub struct Mlp: [784] => < Dense(512, relu), Dense(512, relu), Dense(10, softmax) >
}

kiln::model! {
    struct Tiny: [2] => < Dense(2, relu), Dense(1, name = "out") >
}

kiln::model! {
    struct Features: [6, 6, 1] => < Conv2D(2, 3, relu), MaxPool(2), Flatten >
}

kiln::model! {
    struct Head: [8] => < Dense(3, softmax) >
}

kiln::model! {
    struct Stacked: [6, 6, 1] => < Features, Dropout(0.5), Head >
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn image(seed: u32) -> [[[f32; 1]; 28]; 28] {
    let mut x = [[[0.0f32; 1]; 28]; 28];
    for (i, v) in x.as_flattened_mut().iter_mut().enumerate() {
        v[0] = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0;
    }
    x
}

#[test]
fn summary_matches_keras() {
    let keras = include_str!("fixtures/keras_summary_mnist_cnn.txt");
    let ours = MnistCnn::summary();
    // Keras names a Sequential "sequential"; kiln names the model after its struct.
    assert_eq!(ours.lines().next(), Some("Model: \"mnist_cnn\""));
    for (k, o) in keras.lines().skip(1).zip(ours.lines().skip(1)) {
        assert_eq!(o, k);
    }
    assert_eq!(keras.lines().count(), ours.lines().count());
}

#[test]
fn the_model_trait_states_the_shapes_as_types_and_consts() {
    fn input_is(_: &<MnistCnn as Model>::Input, _: &[[[f32; 1]; 28]; 28]) {}
    fn output_is(_: &<MnistCnn as Model>::Output, _: &[f32; 10]) {}
    let x = image(0);
    input_is(&x, &x);
    output_is(&[0.0; 10], &[0.0; 10]);
    assert_eq!(<MnistCnn as Model>::INPUT_SHAPE, &[28, 28, 1]);
    assert_eq!(<MnistCnn as Model>::OUTPUT_SHAPE, &[10]);
    assert_eq!(<MnistCnn as Model>::PARAMS, 1_199_882);
    assert_eq!(
        <Mlp as Model>::PARAMS,
        784 * 512 + 512 + 512 * 512 + 512 + 5130
    );
    assert_eq!(<Stacked as Model>::PARAMS, 20 + 27);
    assert_eq!(<Features as Model>::NAME, "features");
}

#[test]
fn forward_computes_by_hand_values() {
    let mut m = Tiny::init(0);
    m.dense.kernel = [[1.0, -1.0], [2.0, 0.5]];
    m.dense.bias = [0.5, -3.0];
    m.out.kernel = [[2.0], [-1.0]];
    m.out.bias = [0.25];
    // x = [1, 2]: dense = [1 + 4 + 0.5, -1 + 1 - 3] = [5.5, -3] -> relu [5.5, 0]
    // out = 2 * 5.5 - 0 + 0.25 = 11.25
    assert_eq!(m.forward(&[1.0, 2.0]), [11.25]);
    // x = [-1, 0]: dense = [-0.5, -2] -> relu [0, 0]; out = 0.25
    assert_eq!(m.forward(&[-1.0, 0.0]), [0.25]);
}

#[test]
fn init_is_deterministic_per_seed_and_glorot_scaled() {
    let (a, b, c) = (MnistCnn::init(42), MnistCnn::init(42), MnistCnn::init(43));
    assert_eq!(a.dense.kernel.as_flattened(), b.dense.kernel.as_flattened());
    assert_ne!(a.dense.kernel.as_flattened(), c.dense.kernel.as_flattened());
    let limit = (6.0f32 / (9216.0 + 128.0)).sqrt();
    let k = a.dense.kernel.as_flattened();
    assert!(k.iter().all(|v| v.abs() <= limit));
    assert!(k.iter().any(|v| v.abs() > 0.9 * limit));
    assert!(
        a.dense.bias.iter().all(|&v| v == 0.0),
        "biases start at zero, as in Keras"
    );
    let y = a.forward(&image(1));
    assert!(
        (y.iter().sum::<f32>() - 1.0).abs() < 1e-5,
        "softmax output sums to one: {y:?}"
    );
    assert_eq!(y, b.forward(&image(1)));
}

#[test]
fn predict_is_forward_on_each_sample() {
    let m = MnistCnn::init(5);
    let xs = [image(1), image(2), image(3)];
    let ys = m.predict(&xs);
    assert_eq!(ys.len(), 3);
    for (x, y) in xs.iter().zip(&ys) {
        assert_eq!(&m.forward(x), y);
    }
    assert_ne!(ys[0], ys[1]);
}

#[test]
fn weights_survive_a_round_trip_with_keras_names_and_layouts() {
    let path = scratch("roundtrip.safetensors");
    let a = MnistCnn::init(1);
    a.save_weights(&path).unwrap();
    let mut b = MnistCnn::init(2);
    assert_ne!(a.forward(&image(7)), b.forward(&image(7)));
    b.load_weights(&path).unwrap();
    assert_eq!(a.forward(&image(7)), b.forward(&image(7)));

    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = file
        .iter()
        .map(|(n, t)| (n.to_string(), t.shape().to_vec()))
        .collect();
    names.sort();
    let expect = [
        ("conv2d/bias", vec![32]),
        ("conv2d/kernel", vec![3, 3, 1, 32]),
        ("conv2d_1/bias", vec![64]),
        ("conv2d_1/kernel", vec![3, 3, 32, 64]),
        ("dense/bias", vec![128]),
        ("dense/kernel", vec![9216, 128]),
        ("dense_1/bias", vec![10]),
        ("dense_1/kernel", vec![128, 10]),
    ];
    let expect: Vec<(String, Vec<usize>)> = expect
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    assert_eq!(names, expect);
    // Keras's kernel layout is [kh, kw, in, out]: element [1][2][0][5] of conv2d.
    let k = file.tensor("conv2d/kernel").unwrap();
    let (kw, cin, cout) = (3, 1, 32); // conv2d's kernel width, input and output channels
    let (ky, kx, ci, co) = (1, 2, 0, 5);
    let at = ((ky * kw + kx) * cin + ci) * cout + co;
    let v = f32::from_le_bytes(k.data()[at * 4..at * 4 + 4].try_into().unwrap());
    assert_eq!(v, a.conv2d.kernel[1][2][0][5]);
}

kiln::model! {
    /// Every recurrent layer and LayerNormalization, for their weight files.
    struct Sequences: [5, 3] => <
        LSTM(4, return_sequences = true), LayerNormalization, GRU(3, return_sequences = true),
        SimpleRNN(2), Dense(2),
    >
}

#[test]
fn recurrent_weights_survive_a_round_trip_in_keras_shapes() {
    let path = scratch("recurrent.safetensors");
    let a = Sequences::init(1);
    a.save_weights(&path).unwrap();
    let mut b = Sequences::init(2);
    let x = [[0.5f32, -1.0, 0.25]; 5];
    assert_ne!(a.forward(&x), b.forward(&x));
    b.load_weights(&path).unwrap();
    assert_eq!(a.forward(&x), b.forward(&x));
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = file
        .iter()
        .map(|(n, t)| (n.to_string(), t.shape().to_vec()))
        .collect();
    names.sort();
    let expect: Vec<(String, Vec<usize>)> = [
        ("dense/bias", vec![2]),
        ("dense/kernel", vec![2, 2]),
        ("gru/bias", vec![2, 9]),
        ("gru/kernel", vec![4, 9]),
        ("gru/recurrent_kernel", vec![3, 9]),
        ("layer_normalization/beta", vec![4]),
        ("layer_normalization/gamma", vec![4]),
        ("lstm/bias", vec![16]),
        ("lstm/kernel", vec![3, 16]),
        ("lstm/recurrent_kernel", vec![4, 16]),
        ("simple_rnn/bias", vec![2]),
        ("simple_rnn/kernel", vec![3, 2]),
        ("simple_rnn/recurrent_kernel", vec![2, 2]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(names, expect);
    // Keras's initial LSTM bias: ones for the forget gate (units 4..8) only.
    assert_eq!(a.lstm.bias[..4], [0.0; 4]);
    assert_eq!(a.lstm.bias[4..8], [1.0; 4]);
}

#[test]
fn nested_models_run_their_inner_models_and_nest_their_weight_names() {
    let m = Stacked::init(3);
    let x = {
        let mut x = [[[0.0f32; 1]; 6]; 6];
        for (i, v) in x.as_flattened_mut().iter_mut().enumerate() {
            v[0] = (i as f32 * 0.37).sin();
        }
        x
    };
    let by_hand = m.head.forward(&m.features.forward(&x));
    assert_eq!(m.forward(&x), by_hand);

    let path = scratch("nested.safetensors");
    m.save_weights(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "features/conv2d/bias",
            "features/conv2d/kernel",
            "head/dense/bias",
            "head/dense/kernel"
        ]
    );
}

#[test]
fn a_bad_weights_file_is_an_error_that_names_the_tensor_and_loads_nothing() {
    let good = scratch("good.safetensors");
    let src = MnistCnn::init(10);
    src.save_weights(&good).unwrap();
    let mut m = MnistCnn::init(11);
    let before = m.forward(&image(3));
    let check_untouched =
        |m: &MnistCnn| assert_eq!(m.forward(&image(3)), before, "nothing is half-loaded");

    // A file for another model: the MLP lacks every tensor of the CNN.
    let other = scratch("mlp.safetensors");
    Mlp::init(0).save_weights(&other).unwrap();
    let e = m.load_weights(&other).unwrap_err().to_string();
    assert!(
        e.contains("no tensor `conv2d/kernel`") && e.contains("[3, 3, 1, 32]"),
        "{e}"
    );
    check_untouched(&m);

    // One tensor with the wrong shape, the rest right: still nothing loads.
    let bytes = std::fs::read(&good).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView)> =
        file.iter().map(|(n, t)| (n.to_string(), t)).collect();
    let short = vec![0u8; 4 * 9];
    for (n, t) in tensors.iter_mut() {
        if n == "dense_1/bias" {
            *t = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![9], &short)
                .unwrap();
        }
    }
    let wrong_shape = scratch("wrong_shape.safetensors");
    safetensors::serialize_to_file(tensors.clone(), None, &wrong_shape).unwrap();
    let e = m.load_weights(&wrong_shape).unwrap_err().to_string();
    assert!(
        e.contains("`dense_1/bias` has shape [9] but the model expects [10]"),
        "{e}"
    );
    check_untouched(&m);

    // The wrong dtype.
    let doubles = vec![0u8; 8 * 10];
    for (n, t) in tensors.iter_mut() {
        if n == "dense_1/bias" {
            *t = safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![10], &doubles)
                .unwrap();
        }
    }
    let wrong_dtype = scratch("wrong_dtype.safetensors");
    safetensors::serialize_to_file(tensors, None, &wrong_dtype).unwrap();
    let e = m.load_weights(&wrong_dtype).unwrap_err().to_string();
    assert!(
        e.contains("`dense_1/bias` has dtype F64 but the model expects F32"),
        "{e}"
    );
    check_untouched(&m);

    // A truncated file, and one that is not safetensors at all.
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = m.load_weights(&truncated).unwrap_err().to_string();
    assert!(e.contains("corrupt file"), "{e}");
    let garbage = scratch("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a weights file").unwrap();
    assert!(matches!(
        m.load_weights(&garbage),
        Err(kiln::Error::Corrupt { .. })
    ));
    check_untouched(&m);

    // A missing file.
    assert!(matches!(
        m.load_weights(scratch("absent.safetensors")),
        Err(kiln::Error::Io { .. })
    ));

    // Tensors the model lacks: the file is for a bigger model.
    let mut extra: Vec<(String, safetensors::tensor::TensorView)> =
        file.iter().map(|(n, t)| (n.to_string(), t)).collect();
    extra.push((
        "dense_2/kernel".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1, 9], &short).unwrap(),
    ));
    let bigger = scratch("bigger.safetensors");
    safetensors::serialize_to_file(extra, None, &bigger).unwrap();
    let e = m.load_weights(&bigger).unwrap_err().to_string();
    assert!(e.contains("`dense_2/kernel`"), "{e}");
    check_untouched(&m);

    m.load_weights(&good).unwrap();
    assert_eq!(m.forward(&image(3)), src.forward(&image(3)));
}

/// A safetensors file written by hand: `header` as JSON, then `data`.
fn handmade(name: &str, header: &str, data: usize) -> std::path::PathBuf {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(vec![0u8; data]);
    let path = scratch(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_broken_safetensors_header_is_an_error_that_names_the_tensor() {
    kiln::model! { struct Tiny: [2] => < Dense(1) > }
    let kernel = r#""dense/kernel": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}"#;
    let cases = [
        // A shape that does not fit its bytes (safetensors' own error names no tensor).
        (
            r#""dense/bias": {"dtype": "F32", "shape": [2], "data_offsets": [8, 12]}"#,
            12,
            "tensor `dense/bias`: shape [2] of F32 needs 8 bytes, but its offsets 8..12 hold 4",
        ),
        // A bad offset in `dense/bias` is `dense/bias`'s, not `dense/kernel`'s.
        (
            r#""dense/bias": {"dtype": "F32", "shape": [1], "data_offsets": [9, 13]}"#,
            13,
            "tensor `dense/bias` starts at byte 9 of the data, where the tensor before it ends at 8 \
             (a gap or an overlap)",
        ),
        (
            r#""dense/bias": {"dtype": "Q4", "shape": [1], "data_offsets": [8, 12]}"#,
            12,
            "tensor `dense/bias`: unknown dtype `Q4`",
        ),
        (
            r#""dense/bias": {"dtype": "F32", "shape": [1], "data_offsets": [8, 16]}"#,
            12,
            "tensor `dense/bias`: its bytes 8..16 are not inside the 12 bytes of data",
        ),
    ];
    for (i, (bias, data, want)) in cases.into_iter().enumerate() {
        let path = handmade(
            &format!("header{i}.safetensors"),
            &format!("{{{kernel}, {bias}}}"),
            data,
        );
        let mut m = Tiny::init(1);
        let e = <Tiny as Model>::load_weights(&mut m, &path)
            .unwrap_err()
            .to_string();
        assert_eq!(e, format!("{}: corrupt file: {want}", path.display()));
    }
    // Keras's files given to the safetensors reader say what they are.
    let h5 = scratch("keras.h5");
    std::fs::write(&h5, b"\x89HDF\r\n\x1a\n rest").unwrap();
    let e = <Tiny as Model>::load_weights(&mut Tiny::init(1), &h5)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("this is an HDF5 file (Keras's `.weights.h5` or `.h5`), not safetensors"),
        "{e}"
    );
}

#[test]
fn the_cnn_and_a_784_512_512_10_mlp_run_in_a_2_mib_thread() {
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let cnn = MnistCnn::init(0);
            let y = cnn.forward(&image(0));
            let ys = cnn.predict(&[image(1), image(2)]);
            let mlp = Mlp::init(0);
            let z = mlp.forward(&[0.5; 784]);
            let path = scratch("thread.safetensors");
            cnn.save_weights(&path).unwrap();
            let mut again = MnistCnn::init(1);
            again.load_weights(&path).unwrap();
            (y, ys.len(), z, again.forward(&image(0)))
        })
        .unwrap();
    let (y, n, z, y2) = worker.join().expect("no stack overflow");
    assert_eq!(n, 2);
    assert_eq!(y, y2);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!((z.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}
