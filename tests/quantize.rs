//! `kiln::quantize`: TFLite-scheme int8 quantization checked against hand-computed values, its
//! file read back with the safetensors crate, and the int8 reference interpreter
//! (`kiln::quantize::reference`) checked against hand-computed outputs and against the f32 model.
//!
//! Hand-computed values use binary fractions (scales 1/64, 1/128) so every step is exact; the
//! one non-binary scale (dense_1's logits) and its multipliers were computed independently in
//! Python with TFLite's `QuantizeMultiplier` and `MultiplyByQuantizedMultiplier`.

mod common;

use common::inputs;
use kiln::core::Observe;
use kiln::prelude::*;
use kiln::quantize::reference::{self, Op, Padding};
use kiln::quantize::{quantize, QuantParams, Quantized, QuantizedLayer, Weighted};
use safetensors::tensor::{Dtype, SafeTensors};
use std::path::Path;

model! {
    struct TinyDense: [2] => < Dense(2, relu), Dense(2, softmax) >
}

/// TinyDense with binary-fraction weights, and two calibration inputs that set every range.
fn tiny_dense() -> (Box<TinyDense>, [[f32; 2]; 2]) {
    let mut net = TinyDense::init(0);
    // Channel 0 peaks at 127/64 (scale 1/64), channel 1 at 127/128 (scale 1/128).
    net.dense.kernel = [[1.984375, -0.5], [-0.75, 0.9921875]];
    net.dense.bias = [1.0, -0.1171875];
    // Channel 0 peaks at 127/128, channel 1 at 127/64.
    net.dense_1.kernel = [[0.9921875, -1.984375], [-0.25, 0.5]];
    net.dense_1.bias = [0.0, 0.5];
    // Input range [-1, 127/128]: scale 1/128, zero point 0.
    // dense (relu): a → [0, 1.36724853515625], b → [1.9921875, 0]: scale 1/128, zp −128.
    // dense_1 logits: a → [-0.3418121337890625, 1.183624267578125],
    //                 b → [1.97662353515625, -3.4532470703125].
    (net, [[-1.0, 0.9921875], [0.5, 0.0]])
}

#[test]
fn dense_model_quantizes_to_hand_computed_values() {
    let (net, calibration) = tiny_dense();
    let q = quantize(&*net, &calibration).unwrap();
    assert_eq!(q.input_shape, [2]);
    assert_eq!(
        q.input,
        QuantParams {
            scale: 0.0078125,
            zero_point: 0
        }
    );
    assert_eq!(q.layers.len(), 2);

    let d = &q.layers[0];
    assert_eq!((d.position, d.name.as_str()), (1, "dense"));
    assert_eq!((d.kind, d.activation.as_str()), (Weighted::Dense, "relu"));
    assert_eq!(d.kernel_shape, [2, 2]);
    // −0.75 · 64 = −48, −0.5 · 128 = −64.
    assert_eq!(d.kernel, [127, -64, -48, 127]);
    assert_eq!(d.kernel_scale, [0.015625, 0.0078125]);
    // 1.0 / (1/128 · 1/64) = 8192, −0.1171875 / (1/128 · 1/128) = −1920.
    assert_eq!(d.bias, [8192, -1920]);
    // 1/128 · 1/64 / (1/128) = 1/64 = 0.5 · 2^−5; 1/128 = 0.5 · 2^−6.
    assert_eq!(d.multiplier, [1 << 30, 1 << 30]);
    assert_eq!(d.shift, [-5, -6]);
    assert_eq!(d.input, q.input);
    assert_eq!(
        d.output,
        QuantParams {
            scale: 0.0078125,
            zero_point: -128
        }
    );
    // relu: [zero point, 127].
    assert_eq!((d.activation_min, d.activation_max), (-128, 127));

    let s = &q.layers[1];
    assert_eq!((s.position, s.name.as_str()), (2, "dense_1"));
    assert_eq!(s.activation, "softmax");
    assert_eq!(s.kernel, [127, -127, -32, 32]);
    assert_eq!(s.kernel_scale, [0.0078125, 0.015625]);
    assert_eq!(s.bias, [0, 4096]);
    assert_eq!(s.input, d.output);
    // Logits range [-3.4532470703125, 1.97662353515625]: scale 5.42987060546875 / 255,
    // zero point round(−128 + 3.4532470703125 / scale) = round(34.17) = 34.
    assert_eq!(s.output.scale, (5.42987060546875f64 / 255.0) as f32);
    assert_eq!(s.output.zero_point, 34);
    assert_eq!(s.multiplier, [1575798161, 1575798161]);
    assert_eq!(s.shift, [-8, -7]);
    // The int8 model outputs logits: no clamp beyond int8's own.
    assert_eq!((s.activation_min, s.activation_max), (-128, 127));
    assert_eq!(q.output(), s.output);
}

#[test]
fn reference_runs_the_dense_model_to_hand_computed_outputs() {
    let (net, calibration) = tiny_dense();
    let q = quantize(&*net, &calibration).unwrap();
    let ops = [Op::dense("dense"), Op::dense("dense_1")];
    // b = [0.5, 0] → [64, 0]; dense: acc = 8192 + 64·127 = 16320, /64 → 255 − 128 = 127;
    // acc = −1920 − 64·64 = −6016, /128 → −47 − 128, clamped to −128.
    // dense_1 on [127, −128] − zp = [255, 0]: acc = 32385 → 127 (saturated),
    // acc = 4096 − 32385 = −28289 → −128.
    assert_eq!(reference::forward(&q, &ops, &[64, 0]).unwrap(), [127, -128]);
    // a = [−1, 127/128] → [−128, 127]; dense: [−128, 47]; dense_1 logits: [18, 90]
    // (real −0.3418 / 0.02129 + 34 = 17.95, 1.1836 / 0.02129 + 34 = 89.6).
    assert_eq!(q.quantize_input(&calibration[0]), [-128, 127]);
    assert_eq!(
        reference::forward(&q, &ops, &[-128, 127]).unwrap(),
        [18, 90]
    );
    let real = reference::forward_f32(&q, &ops, &calibration[0]).unwrap();
    let scale = q.output().scale;
    assert_eq!(real, [-16.0 * scale, 56.0 * scale]);
}

#[test]
fn unit_range_input_is_quantized_with_scale_one_255th_and_zero_point_minus_128() {
    model! { struct Pixels: [4] => < Dense(3, relu), Dense(2) > }
    let net = Pixels::init(3);
    let calibration = [[0.0, 0.2, 1.0, 0.5], [0.4, 0.0, 0.6, 1.0]];
    let q = quantize(&*net, &calibration).unwrap();
    assert_eq!(
        q.input,
        QuantParams {
            scale: 1.0 / 255.0,
            zero_point: -128
        }
    );
    assert_eq!(q.quantize_input(&[0.0, 1.0, 128.0 / 255.0]), [-128, 127, 0]);
    // relu outputs start at 0, so their zero point is −128 and the clamp is [−128, 127].
    let relu = &q.layers[0];
    assert_eq!(relu.output.zero_point, -128);
    assert_eq!((relu.activation_min, relu.activation_max), (-128, 127));
}

model! {
    struct TinyConv: [3, 3, 1] => <
        Conv2D(2, 2, activation = relu6, use_bias = false), AvgPool(2), Flatten, Dense(1),
    >
}

#[test]
fn conv_kernel_is_quantized_per_output_channel_in_keras_layout() {
    let mut net = TinyConv::init(5);
    // kernel[ky][kx][0][co]: channel 0 = (127/64, −0.5, 0.25, 0), channel 1 =
    // (0, 127/128, −127/128, 0.125).
    net.conv2d.kernel = [
        [[[1.984375, 0.0]], [[-0.5, 0.9921875]]],
        [[[0.25, -0.9921875]], [[0.0, 0.125]]],
    ];
    let calibration = [[[[1.0]; 3]; 3], [[[0.0]; 3]; 3]];
    let q = quantize(&*net, &calibration).unwrap();
    let c = q.layer("conv2d").unwrap();
    assert_eq!((c.kind, c.position), (Weighted::Conv2D, 1));
    assert_eq!(c.kernel_shape, [2, 2, 1, 2]);
    assert_eq!(c.kernel_scale, [0.015625, 0.0078125]);
    assert_eq!(c.kernel, [127, 0, -32, 127, 16, -127, 0, 16]);
    // No bias: zeros.
    assert_eq!(c.bias, [0, 0]);
    // Outputs: channel 0 on ones = 1.734375, the largest; relu6 keeps it.
    assert_eq!(
        c.output,
        QuantParams {
            scale: (1.734375f64 / 255.0) as f32,
            zero_point: -128
        }
    );
    // relu6: [zp, min(127, zp + round(6 / scale))] = [−128, 127].
    assert_eq!((c.activation_min, c.activation_max), (-128, 127));
    // AvgPool and Flatten keep the conv's quantization: it is the dense layer's input.
    let d = q.layer("dense").unwrap();
    assert_eq!((d.position, d.input), (4, c.output));
    assert_eq!(q.layers.len(), 2);
}

#[test]
fn average_pooling_rounds_half_away_from_zero() {
    let unit = QuantParams {
        scale: 1.0,
        zero_point: 0,
    };
    let q = Quantized {
        input_shape: vec![2, 2, 1],
        input: unit,
        layers: vec![],
        merges: vec![],
        activations: vec![],
        output_quant: unit,
    };
    let avg = [Op::avg_pool(2)];
    // Means −0.75, −0.5, 0.5, 0.75, 1.25 → −1, −1, 1, 1, 1.
    for (x, want) in [
        ([-1, -2, 0, 0], -1),
        ([-1, -1, 0, 0], -1),
        ([1, 1, 0, 0], 1),
        ([1, 2, 0, 0], 1),
        ([2, 3, 0, 0], 1),
        ([-128, -128, -128, -127], -128),
    ] {
        assert_eq!(reference::forward(&q, &avg, &x).unwrap(), [want], "{x:?}");
    }
    assert_eq!(
        reference::forward(&q, &[Op::max_pool(2)], &[-5, 3, 2, -128]).unwrap(),
        [3]
    );
}

fn error_of<M: Observe<Scalar = f32>>(net: &M, calibration: &[M::Input]) -> String {
    match quantize(net, calibration) {
        Err(kiln::Error::InvalidArgument(msg)) => msg,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn unsupported_activation_is_refused_naming_the_layer() {
    model! { struct Tanh: [4] => < Dense(3, relu), Dense(3, tanh), Dense(2) > }
    let msg = error_of(&*Tanh::init(1), &[[0.5; 4]]);
    assert!(
        msg.starts_with(
            "quantize: layer 2 `dense_1` (Dense) has activation `tanh`; int8 \
             quantization supports Conv2D and Dense with activation linear, relu or relu6"
        ),
        "{msg}"
    );
}

#[test]
fn a_layer_without_an_int8_kernel_is_refused_naming_the_layer() {
    model! { struct Norm: [4] => < Dense(3, relu), LayerNormalization, Dense(2) > }
    let msg = error_of(&*Norm::init(1), &[[0.5; 4]]);
    assert!(
        msg.starts_with(
            "quantize: layer 2 `layer_normalization` (LayerNormalization) is not supported;"
        ),
        "{msg}"
    );
}

#[test]
fn a_depthwise_convolution_is_refused_naming_the_layer() {
    model! { struct Depthwise: [4, 4, 2] => < DepthwiseConv2D(3, relu), Flatten, Dense(2) > }
    let msg = error_of(&*Depthwise::init(1), &[[[[0.5; 2]; 4]; 4]]);
    assert!(
        msg.starts_with("quantize: layer 1 `depthwise_conv2d` (DepthwiseConv2D) is not supported;"),
        "{msg}"
    );
}

#[test]
fn a_bidirectional_layer_is_refused_naming_the_layer() {
    model! { struct Bidi: [4, 2] => < Bidirectional(GRU(3)), Dense(2) > }
    let msg = error_of(&*Bidi::init(1), &[[[0.5; 2]; 4]]);
    assert!(
        msg.starts_with("quantize: layer 1 `bidirectional` (Bidirectional) is not supported;"),
        "{msg}"
    );
}

#[test]
fn a_separable_convolution_is_refused_naming_the_layer() {
    model! { struct Separable: [4, 4, 2] => < SeparableConv2D(3, 3, relu), Flatten, Dense(2) > }
    let msg = error_of(&*Separable::init(1), &[[[[0.5; 2]; 4]; 4]]);
    assert!(
        msg.starts_with("quantize: layer 1 `separable_conv2d` (SeparableConv2D) is not supported;"),
        "{msg}"
    );
}

#[test]
fn global_average_pooling_keeps_its_input_quantization() {
    model! { struct Gap: [4, 4, 1] => < Conv2D(2, 3, relu), GlobalAvgPool, Dense(2) > }
    let calibration = [[[[0.5]; 4]; 4], [[[-1.0]; 4]; 4]];
    let q = quantize(&*Gap::init(1), &calibration).unwrap();
    let (c, d) = (q.layer("conv2d").unwrap(), q.layer("dense").unwrap());
    assert_eq!((d.position, d.input), (3, c.output));
    assert_eq!(q.output(), d.output);
}

#[test]
fn softmax_before_the_last_layer_is_refused() {
    model! { struct Early: [4] => < Dense(3, softmax), Dense(2) > }
    let msg = error_of(&*Early::init(1), &[[0.5; 4]]);
    assert!(
        msg.starts_with("quantize: layer 1 `dense` (Dense) has softmax before the last layer;"),
        "{msg}"
    );
}

#[test]
fn a_separate_activation_is_a_clamp_on_its_input_scale() {
    model! { struct Act: [4] => < Dense(3), Activation(relu6), Dense(2) > }
    let calibration = [[0.5, -1.0, 2.0, 0.25], [-3.0, 1.0, 0.0, 4.0]];
    let q = quantize(&*Act::init(1), &calibration).unwrap();
    let (d, a) = (
        q.layer("dense").unwrap(),
        q.activation("activation").unwrap(),
    );
    assert_eq!(
        (a.position, a.activation.as_str(), a.quant),
        (2, "relu6", d.output)
    );
    // relu6 on the dense output's grid: from its zero point to zero point + round(6 / scale).
    let top = (d.output.zero_point + (6.0 / f64::from(d.output.scale)).round() as i32).min(127);
    assert_eq!(
        (a.activation_min, a.activation_max),
        (d.output.zero_point, top)
    );
    assert_eq!(q.layer("dense_1").unwrap().input, d.output);
    let msg = error_of(
        &*{
            model! { struct Tanh2: [4] => < Dense(3), Activation(tanh), Dense(2) > }
            Tanh2::init(1)
        },
        &calibration,
    );
    assert!(
        msg.starts_with("quantize: layer 2 `activation` (Activation) has activation `tanh`;"),
        "{msg}"
    );
}

#[test]
fn empty_or_non_finite_calibration_is_refused() {
    let (net, _) = tiny_dense();
    let msg = error_of(&*net, &[]);
    assert!(msg.contains("no calibration samples"), "{msg}");
    let msg = error_of(&*net, &[[0.5, 0.5], [f32::NAN, 0.0]]);
    assert_eq!(
        msg,
        "quantize: calibration sample 1 makes the input NaN; int8 ranges must be finite"
    );
}

/// Reads a `kiln-int8` file back into a [`Quantized`], given what the file does not hold: the
/// input shape and, per weighted layer in order, its name, kind, position and activation.
fn load_quantized(
    path: &Path,
    input_shape: &[usize],
    layers: &[(&str, Weighted, usize, &str)],
) -> Quantized {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let get = |name: &str, dtype: Dtype| {
        let t = file.tensor(name).unwrap_or_else(|_| panic!("no `{name}`"));
        assert_eq!(t.dtype(), dtype, "{name}");
        (t.shape().to_vec(), t.data().to_vec())
    };
    let f32s = |name: &str| -> Vec<f32> {
        let (_, b) = get(name, Dtype::F32);
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let i32s = |name: &str| -> Vec<i32> {
        let (_, b) = get(name, Dtype::I32);
        b.chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let params = |prefix: &str| QuantParams {
        scale: f32s(&format!("{prefix}scale"))[0],
        zero_point: i32s(&format!("{prefix}zero_point"))[0],
    };
    let input = params("input/");
    let mut current = input;
    let mut out = Vec::new();
    for &(name, kind, position, activation) in layers {
        let (kernel_shape, kernel) = get(&format!("{name}/kernel"), Dtype::I8);
        let output = params(&format!("{name}/output_"));
        out.push(QuantizedLayer {
            position,
            name: name.into(),
            kind,
            activation: activation.into(),
            kernel_shape,
            kernel: kernel.iter().map(|&b| b as i8).collect(),
            bias: i32s(&format!("{name}/bias")),
            kernel_scale: f32s(&format!("{name}/kernel_scale")),
            multiplier: i32s(&format!("{name}/multiplier")),
            shift: i32s(&format!("{name}/shift")),
            input: current,
            output,
            activation_min: i32s(&format!("{name}/activation_min"))[0],
            activation_max: i32s(&format!("{name}/activation_max"))[0],
        });
        current = output;
    }
    Quantized {
        input_shape: input_shape.to_vec(),
        input,
        layers: out,
        merges: vec![],
        activations: vec![],
        output_quant: current,
    }
}

#[test]
fn file_holds_every_tensor_with_its_dtype_and_shape_and_reads_back_equal() {
    let mut net = TinyConv::init(9);
    net.conv2d.kernel[0][0][0] = [0.5, -0.25];
    let calibration = [[[[1.0]; 3]; 3], [[[0.25]; 3]; 3]];
    let q = quantize(&*net, &calibration).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.int8.safetensors");
    q.save(&path).unwrap();
    assert!(!dir.path().join("tiny.int8.safetensors.tmp").exists());

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, q.to_bytes());
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let info = meta.metadata().as_ref().unwrap();
    assert_eq!(info.get("format").map(String::as_str), Some("kiln-int8/1"));
    assert_eq!(info.len(), 1);

    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut seen: Vec<(String, Dtype, Vec<usize>)> = file
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec()))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let want = |n: &str, d, s: &[usize]| (n.to_string(), d, s.to_vec());
    let (f, i, b) = (Dtype::F32, Dtype::I32, Dtype::I8);
    assert_eq!(
        seen,
        [
            want("conv2d/activation_max", i, &[1]),
            want("conv2d/activation_min", i, &[1]),
            want("conv2d/bias", i, &[2]),
            want("conv2d/kernel", b, &[2, 2, 1, 2]),
            want("conv2d/kernel_scale", f, &[2]),
            want("conv2d/multiplier", i, &[2]),
            want("conv2d/output_scale", f, &[1]),
            want("conv2d/output_zero_point", i, &[1]),
            want("conv2d/shift", i, &[2]),
            want("dense/activation_max", i, &[1]),
            want("dense/activation_min", i, &[1]),
            want("dense/bias", i, &[1]),
            want("dense/kernel", b, &[2, 1]),
            want("dense/kernel_scale", f, &[1]),
            want("dense/multiplier", i, &[1]),
            want("dense/output_scale", f, &[1]),
            want("dense/output_zero_point", i, &[1]),
            want("dense/shift", i, &[1]),
            want("input/scale", f, &[1]),
            want("input/zero_point", i, &[1]),
        ]
    );
    // 4-byte tensors come first, so each starts aligned to its type.
    let mut by_offset = file.iter().collect::<Vec<_>>();
    by_offset.sort_by_key(|(_, t)| t.data().as_ptr() as usize);
    let first_i8 = by_offset
        .iter()
        .position(|(_, t)| t.dtype() == Dtype::I8)
        .unwrap();
    assert!(by_offset[first_i8..]
        .iter()
        .all(|(_, t)| t.dtype() == Dtype::I8));

    let back = load_quantized(
        &path,
        &[3, 3, 1],
        &[
            ("conv2d", Weighted::Conv2D, 1, "relu6"),
            ("dense", Weighted::Dense, 4, "linear"),
        ],
    );
    assert_eq!(back, q);
}

model! {
    /// Every supported layer kind, `same` padding on both a conv and an average pool (edge
    /// windows with fewer cells), strides, and a Dense that is not last.
    struct Mixed: [10, 10, 2] => <
        Conv2D(4, 3, activation = relu, padding = same),
        MaxPool(2),
        AvgPool(2, padding = same),
        Conv2D(6, 2, activation = relu6),
        Flatten,
        Dense(8, relu),
        Dropout(0.5),
        Dense(5, softmax),
    >
}

/// `Mixed` as the int8 reference walks it.
fn mixed_ops() -> Vec<Op> {
    vec![
        Op::Conv2D {
            name: "conv2d",
            strides: (1, 1),
            padding: Padding::Same,
        },
        Op::max_pool(2),
        Op::Pool {
            max: false,
            pool: (2, 2),
            strides: (2, 2),
            padding: Padding::Same,
        },
        Op::conv2d("conv2d_1"),
        Op::flatten(),
        Op::dense("dense"),
        Op::dense("dense_1"),
    ]
}

/// The f32 model's logits (the last layer's output before softmax).
fn logits<M: Observe<Scalar = f32>>(net: &M, x: &M::Input) -> Vec<f32> {
    let mut last = Vec::new();
    net.forward_observed(x, &mut |o| last = o.output.to_vec());
    last
}

/// How often `q` picks the f32 model's class on `xs`, and its largest logit error in output
/// steps.
fn compare(net: &Mixed, q: &Quantized, xs: &[[[[f32; 2]; 10]; 10]]) -> (usize, f32) {
    let (mut agree, mut worst) = (0, 0f32);
    for x in xs {
        let want = logits(net, x);
        let flat: &[f32] = kiln::core::bytemuck::cast_slice(std::slice::from_ref(x));
        let got = reference::forward_f32(q, &mixed_ops(), flat).unwrap();
        agree += usize::from(reference::argmax(&got) == reference::argmax(&want));
        for (g, w) in got.iter().zip(&want) {
            worst = worst.max((g - w).abs() / q.output().scale);
        }
    }
    (agree, worst)
}

#[test]
fn int8_reference_follows_the_f32_model() {
    let net = Mixed::init(11);
    let test = inputs(300, 2);
    // Calibrated on the very inputs it runs, nothing saturates: the int8 logits are within a
    // few output steps of the f32 ones (2.65 when this was written).
    let q = quantize(&*net, &test).unwrap();
    let (agree, worst) = compare(&net, &q, &test);
    assert!(agree >= 290, "argmax agrees on {agree} of 300");
    assert!(worst <= 4.0, "max error {worst} output steps");
    // Calibrated on other inputs, a few outliers saturate, but the classes still agree.
    let q = quantize(&*net, &inputs(100, 1)).unwrap();
    let (agree, _) = compare(&net, &q, &test);
    assert!(agree >= 285, "argmax agrees on {agree} of 300");
}

#[test]
fn reference_checks_ops_against_the_model() {
    let net = Mixed::init(11);
    let q = quantize(&*net, &inputs(4, 1)).unwrap();
    let x = vec![0i8; 200];
    let err = |ops: &[Op]| reference::forward(&q, ops, &x).unwrap_err().to_string();
    assert_eq!(
        err(&[Op::dense("conv2d")]),
        "int8 reference: layer `conv2d` is a Conv2D, not a Dense"
    );
    assert_eq!(
        err(&[Op::conv2d("nope")]),
        "int8 reference: the model has no layer `nope`"
    );
    // Forgetting the max pool leaves the second conv the wrong input size for the dense layer.
    let mut ops = mixed_ops();
    ops.remove(1);
    assert_eq!(
        err(&ops),
        "int8 reference: `dense` expects a last axis of 24, got [96]"
    );
}

#[test]
fn debug_shows_scales_not_weights() {
    let (net, calibration) = tiny_dense();
    let shown = format!("{:?}", quantize(&*net, &calibration).unwrap());
    assert_eq!(
        shown.lines().next().unwrap(),
        "int8 model (TFLite scheme), input [2]: scale 7.8125e-3, zero point 0"
    );
    assert_eq!(
        shown.lines().nth(1).unwrap(),
        "  1 `dense` (Dense, relu): kernel [2, 2] scales 7.8125e-3..1.5625e-2, output scale \
         7.8125e-3 zero point -128, clamp [-128, 127]"
    );
}

#[test]
fn graphs_int8_cannot_run_yet_are_refused_in_words() {
    model! {
        struct Heads {
            input x: [4];
            output class = Dense(3, softmax)(x);
            output score = Dense(1)(x);
        }
    }
    let msg = error_of(&*Heads::init(1), &[[0.5; 4]]);
    assert!(
        msg.starts_with("quantize: layer 1 `dense` (Dense) makes a second output;"),
        "{msg}"
    );
    model! {
        struct Pair {
            input left: [2];
            input right: [2];
            output y = Dense(2)(Concatenate(left, right));
        }
    }
    let msg = error_of(
        &*Pair::init(1),
        &[PairInput {
            left: [0.5; 2],
            right: [1.0; 2],
        }],
    );
    assert!(
        msg.starts_with(
            "quantize: layer 2 `concatenate` (Concatenate) reads input 1 of the model;"
        ),
        "{msg}"
    );
    model! {
        struct Shared {
            input v: [3];
            let enc = Dense(3, relu);
            output y = Dense(2)(Add(enc(v), enc(Dense(3)(v))));
        }
    }
    let msg = error_of(&*Shared::init(1), &[[0.5; 3]]);
    assert!(
        msg.contains("`dense` (Dense) is applied to several values;"),
        "{msg}"
    );
}
