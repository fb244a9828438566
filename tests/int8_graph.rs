//! int8 graphs: a functional model with every merge, separate activations and global pools,
//! quantized by `kiln::quantize`, run by the code `model!` generates and by the plain integer
//! reference, bit for bit, and against its f32 original.
//!
//! The int8 file is the quantizer's output for `float_net()` on `inputs(200, 5)`; after a
//! change to the scheme, rewrite it with `cargo test --test int8_graph -- --ignored`.

mod common;

use common::inputs;
use kiln::core::params::Params;
use kiln::core::Observe;
use kiln::quantize::reference::{self, Node, Op, Padding};
use kiln::quantize::{quantize, Quantized};
use kiln::Arena;

const FIXTURE: &str = "tests/fixtures/int8_graph.int8.safetensors";

kiln::model! {
    /// A residual block, a subtraction, a convolution whose pool is fused into it, an average
    /// of two branches, both global pools of their concatenation, and the vector merges.
    struct Graph {
        input image: [10, 10, 2];
        let a = Conv2D(4, 3, padding = same, activation = relu)(image);
        let b = Conv2D(4, 3, padding = same)(a);
        let r = Activation(relu)(Add(a, b));
        let d = Subtract(r, a);
        let p = MaxPool(2)(Conv2D(6, 3, padding = same, activation = relu6)(d));
        let q = AvgPool(2)(Average(r, b));
        let cat = Concatenate(p, q);
        let u = Dense(8, relu)(GlobalAvgPool(cat));
        let v = Dense(8)(GlobalMaxPool(cat));
        let w = Maximum(u, v);
        let m = Multiply(w, Minimum(u, v));
        output y = Dense(5, softmax)(Concatenate(Dropout(0.5)(m), w));
    }
}

kiln::model! {
    struct GraphQ<i8> {
        input image: [10, 10, 2];
        let a = Conv2D(4, 3, padding = same, activation = relu)(image);
        let b = Conv2D(4, 3, padding = same)(a);
        let r = Activation(relu)(Add(a, b));
        let d = Subtract(r, a);
        let p = MaxPool(2)(Conv2D(6, 3, padding = same, activation = relu6)(d));
        let q = AvgPool(2)(Average(r, b));
        let cat = Concatenate(p, q);
        let u = Dense(8, relu)(GlobalAvgPool(cat));
        let v = Dense(8)(GlobalMaxPool(cat));
        let w = Maximum(u, v);
        let m = Multiply(w, Minimum(u, v));
        output y = Dense(5, softmax)(Concatenate(Dropout(0.5)(m), w));
    },
    weights = "tests/fixtures/int8_graph.int8.safetensors",
}

/// `Graph::init(5)` with non-zero biases, so each bias reaches the int8 file.
fn float_net() -> Box<Graph> {
    let mut net = Graph::init(5);
    let mut k = 0;
    net.visit_params_mut(None, &mut |p| {
        if p.name.to_string().ends_with("/bias") {
            for v in p.data.iter_mut() {
                k += 1;
                *v = ((k * 37) % 11) as f32 / 20.0 - 0.25;
            }
        }
    });
    net
}

fn quantized() -> Quantized {
    quantize(&*float_net(), &inputs(200, 5)).unwrap()
}

/// The graph for the reference, node by node in `model!`'s order (value 0 is the image, node
/// `j` writes value `j + 1`).
fn nodes() -> Vec<Node> {
    let same = |name| Op::Conv2D {
        name,
        strides: (1, 1),
        padding: Padding::Same,
    };
    let merge = |name| Op::Merge { name };
    let cat = |name| Op::Concatenate { name, axis: -1 };
    vec![
        same("conv2d").on(&[0]),                        // 1 a
        same("conv2d_1").on(&[1]),                      // 2 b
        merge("add").on(&[1, 2]),                       // 3
        Op::Activation { name: "activation" }.on(&[3]), // 4 r
        merge("subtract").on(&[4, 1]),                  // 5 d
        same("conv2d_2").on(&[5]),                      // 6
        Op::max_pool(2).on(&[6]),                       // 7 p
        merge("average").on(&[4, 2]),                   // 8
        Op::avg_pool(2).on(&[8]),                       // 9 q
        cat("concatenate").on(&[7, 9]),                 // 10 cat
        Op::GlobalPool { max: false }.on(&[10]),        // 11
        Op::dense("dense").on(&[11]),                   // 12 u
        Op::GlobalPool { max: true }.on(&[10]),         // 13
        Op::dense("dense_1").on(&[13]),                 // 14 v
        merge("maximum").on(&[12, 14]),                 // 15 w
        merge("minimum").on(&[12, 14]),                 // 16
        merge("multiply").on(&[15, 16]),                // 17 m
        Op::Reshape(vec![8]).on(&[17]),                 // 18 dropout
        cat("concatenate_1").on(&[18, 15]),             // 19
        Op::dense("dense_2").on(&[19]),                 // 20 y
    ]
}

fn flat_i8<T: kiln::core::bytemuck::Pod>(x: &T) -> &[i8] {
    kiln::core::bytemuck::cast_slice(std::slice::from_ref(x))
}

fn flat_f32<T: kiln::core::bytemuck::Pod>(x: &T) -> &[f32] {
    kiln::core::bytemuck::cast_slice(std::slice::from_ref(x))
}

#[test]
#[ignore = "rewrites the fixture"]
fn write_fixture() {
    quantized().save(FIXTURE).unwrap();
}

#[test]
fn fixture_is_what_the_quantizer_writes() {
    let q = quantized();
    assert!(
        q.to_bytes() == std::fs::read(FIXTURE).unwrap(),
        "the fixture is stale: rewrite it (see the top of this file)"
    );
    // Every merge and the activation have their own constants.
    let names: Vec<&str> = q.merges.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "add",
            "subtract",
            "average",
            "concatenate",
            "maximum",
            "minimum",
            "multiply",
            "concatenate_1"
        ]
    );
    let (a, add) = (q.activation("activation").unwrap(), q.merge("add").unwrap());
    // The activation keeps the Add's quantization and clamps at its zero point (relu).
    assert_eq!(a.quant, add.output);
    assert_eq!(
        (a.activation_min, a.activation_max),
        (add.output.zero_point, 127)
    );
    // The Add reads conv2d's and conv2d_1's outputs with their own scales.
    let (c0, c1) = (q.layer("conv2d").unwrap(), q.layer("conv2d_1").unwrap());
    assert_eq!(add.inputs, [c0.output, c1.output]);
    // The Dense layers after the global pools read the concatenation's quantization.
    let cat = q.merge("concatenate").unwrap();
    assert_eq!(q.layer("dense").unwrap().input, cat.output);
    assert_eq!(q.layer("dense_1").unwrap().input, cat.output);
    assert_eq!(q.output(), q.layer("dense_2").unwrap().output);
}

#[test]
fn generated_int8_graph_equals_the_reference_bit_for_bit() {
    let q = quantized();
    let (net, nodes) = (GraphQ::weights(), nodes());
    let mut arena = Arena::<GraphQ>::new();
    let mut varied = 0;
    for x in inputs(300, 77) {
        let xq = GraphQ::quantize_input(&x);
        assert_eq!(flat_i8(&xq), &q.quantize_input(flat_f32(&x))[..]);
        arena.bytes_mut().fill(0x5a);
        let got = *net.infer(&mut arena, &xq);
        let want = reference::forward_graph(&q, &nodes, flat_i8(&xq)).unwrap();
        assert_eq!(&got[..], &want[..]);
        varied += usize::from(got.iter().any(|&v| v != got[0]));
    }
    assert!(varied > 250, "outputs vary with the input ({varied}/300)");
    // When conv2d_2 runs, b, r (both read later by the Average), d and p are alive:
    // 3 · 400 + 150 bytes at least; the planner's first fit keeps it within 1,760.
    assert!(
        (1350..=1760).contains(&GraphQ::ARENA_BYTES),
        "{}",
        GraphQ::ARENA_BYTES
    );
    assert_eq!(GraphQ::OUTPUT_ZERO_POINT, q.output().zero_point);
    assert_eq!(GraphQ::OUTPUT_SCALE, q.output().scale);
}

#[test]
fn int8_graph_follows_the_f32_model() {
    let (q, f) = (quantized(), float_net());
    let (nodes, out) = (nodes(), q.output());
    let (mut worst, mut same_class, n) = (0f32, 0, 200);
    for x in inputs(n, 91) {
        let xq = q.quantize_input(flat_f32(&x));
        let got = q.dequantize_output(&reference::forward_graph(&q, &nodes, &xq).unwrap());
        // The f32 model's logits: the last Dense before its softmax.
        let mut logits = Vec::new();
        f.forward_observed(&x, &mut |o| {
            if o.name == "dense_2" {
                logits = o.output.to_vec();
            }
        });
        for (g, w) in got.iter().zip(&logits) {
            worst = worst.max((g - w).abs() / out.scale);
        }
        same_class += usize::from(reference::argmax(&got) == reference::argmax(&logits));
    }
    println!("worst logit error {worst:.1} output steps; same class {same_class}/{n}");
    assert!(worst <= 8.0, "worst logit error {worst} steps");
    assert!(same_class >= n * 9 / 10, "same class {same_class}/{n}");
}

kiln::model! {
    /// A small residual network for MNIST, trained in the test and quantized.
    struct ResMnist {
        input image: [28, 28, 1];
        let x = MaxPool(2)(Conv2D(8, 3, activation = relu)(image));
        let y = Conv2D(8, 3, padding = same, activation = relu)(x);
        let y = Conv2D(8, 3, padding = same)(y);
        let x = Activation(relu)(Add(x, y));
        let x = MaxPool(2)(Conv2D(16, 3, activation = relu)(x));
        output class = Dense(10, softmax)(Flatten(x));
    }
}

#[test]
fn trained_residual_network_keeps_its_accuracy_in_int8() {
    use kiln::datasets::{images_to_f32, mnist};
    use kiln::prelude::*;
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data().expect("MNIST (see README)");
    let (x, x_test) = (
        images_to_f32(&x_train[..6000]),
        images_to_f32(&x_test[..1000]),
    );
    let mut net = ResMnist::init(3);
    let mut trainer = net.compile(
        Adam::new(0.003),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let options = FitOptions {
        epochs: 1,
        batch_size: 32,
        verbose: 0,
        seed: 1,
        ..FitOptions::default()
    };
    trainer.fit(&x, &y_train[..6000], options).unwrap();
    drop(trainer);
    let q = quantize(&*net, &x[..300]).unwrap();
    let same = |name| Op::Conv2D {
        name,
        strides: (1, 1),
        padding: Padding::Same,
    };
    let nodes = vec![
        Op::conv2d("conv2d").on(&[0]),
        Op::max_pool(2).on(&[1]),
        same("conv2d_1").on(&[2]),
        same("conv2d_2").on(&[3]),
        Op::Merge { name: "add" }.on(&[2, 4]),
        Op::Activation { name: "activation" }.on(&[5]),
        Op::conv2d("conv2d_3").on(&[6]),
        Op::max_pool(2).on(&[7]),
        Op::flatten().on(&[8]),
        Op::dense("dense").on(&[9]),
    ];
    let (mut right_f32, mut right_i8) = (0, 0);
    for (img, &label) in x_test.iter().zip(&y_test[..1000]) {
        let logits = reference::forward_graph(&q, &nodes, &q.quantize_input(flat_f32(img)));
        right_i8 += usize::from(reference::argmax(&logits.unwrap()) == label as usize);
        right_f32 += usize::from(reference::argmax(&net.forward(img)[..]) == label as usize);
    }
    let (a32, a8) = (right_f32 as f64 / 1000.0, right_i8 as f64 / 1000.0);
    println!("first 1000 test digits: f32 {a32:.3}, int8 {a8:.3}");
    assert!(a32 > 0.9, "f32 accuracy {a32}");
    assert!((a32 - a8).abs() <= 0.01, "int8 {a8} vs f32 {a32}");
}
