//! The functional form: a graph of values computes what its layers compute one by one, trains
//! with `fit`, predicts, summarises with "Connected to", and saves its weights under Keras's
//! names. Gradients are checked by finite differences in `gradients.rs`.

use kiln::core::train::Flat;
use kiln::prelude::*;

kiln::model! {
    /// The example: a residual block.
    pub struct ResNetTiny {
        input image: [8, 8, 1];
        let x = Conv2D(4, 3, padding = same, activation = relu)(image);
        let y = Conv2D(4, 3, padding = same)(x);
        let x = Activation(relu)(Add(x, y));
        let x = GlobalAvgPool(MaxPool(2)(x));
        output class = Dense(3, softmax)(x);
    }
}

// The same layers one at a time, to compute the graph's output independently.
kiln::model! { struct First: [8, 8, 1] => < Conv2D(4, 3, padding = same, activation = relu) > }
kiln::model! { struct Second: [8, 8, 4] => < Conv2D(4, 3, padding = same) > }
kiln::model! { struct Rest: [8, 8, 4] => < MaxPool(2), GlobalAvgPool, Dense(3, softmax) > }

kiln::model! {
    /// A layer shared by two branches, concatenated.
    struct Siamese {
        input v: [6];
        let enc = Dense(3, tanh, name = "encoder");
        let a = enc(v);
        let b = enc(Dense(6)(v));
        output y = Dense(2, softmax)(Concatenate(a, b));
    }
}

kiln::model! {
    /// `Siamese` with its weights in the binary (`Siamese::init(11)`, saved).
    struct SiameseEmbedded {
        input v: [6];
        let enc = Dense(3, tanh, name = "encoder");
        let a = enc(v);
        let b = enc(Dense(6)(v));
        output y = Dense(2, softmax)(Concatenate(a, b));
    },
    weights = "tests/fixtures/graph_shared.safetensors",
}

kiln::model! {
    /// A functional model nested in a Sequential one, as a layer.
    struct WithBlock: [8, 8, 1] => < ResNetTiny, Dense(2, softmax) >
}

fn image(seed: usize) -> [[[f32; 1]; 8]; 8] {
    let mut x = [[[0.0f32; 1]; 8]; 8];
    for (i, v) in x.iter_mut().flatten().flatten().enumerate() {
        *v = (((i + seed * 31) * 2654435761) % 1000) as f32 / 1000.0 - 0.3;
    }
    x
}

fn softmax2(z: [f32; 2]) -> [f32; 2] {
    let m = z[0].max(z[1]);
    let e = z.map(|z| (z - m).exp());
    e.map(|v| v / (e[0] + e[1]))
}

#[test]
fn forward_is_the_layers_composed_by_hand() {
    let m = ResNetTiny::init(3);
    let (mut first, mut second, mut rest) = (First::init(0), Second::init(0), Rest::init(0));
    first.conv2d = m.conv2d;
    second.conv2d = m.conv2d_1;
    rest.dense = m.dense;
    for seed in 0..3 {
        let x = image(seed);
        let a = first.forward(&x);
        let b = second.forward(&a);
        let mut s = a;
        for (s, b) in s
            .iter_mut()
            .flatten()
            .flatten()
            .zip(b.iter().flatten().flatten())
        {
            *s = (*s + b).max(0.0);
        }
        assert_eq!(m.forward(&x), rest.forward(&s));
    }
}

#[test]
fn a_shared_layer_is_one_field_with_one_set_of_weights() {
    // encoder 6·3+3, dense 6·6+6, dense_1 6·2+2: the encoder is counted once.
    assert_eq!(Siamese::PARAMS, 21 + 42 + 14);
    let m = Siamese::init(1);
    let v = [0.5, -1.0, 0.25, 2.0, 0.0, -0.5];
    // By hand: the encoder applied to `v` and to `dense(v)`, then the head on both.
    let dense = |w: &[[f32; 3]; 6], b: &[f32; 3], x: &[f32; 6]| {
        let mut y = *b;
        for (i, x) in x.iter().enumerate() {
            for (j, y) in y.iter_mut().enumerate() {
                *y += x * w[i][j];
            }
        }
        y.map(f32::tanh)
    };
    let mut d = m.dense.bias;
    for (i, x) in v.iter().enumerate() {
        for (j, d) in d.iter_mut().enumerate() {
            *d += x * m.dense.kernel[i][j];
        }
    }
    let a = dense(&m.encoder.kernel, &m.encoder.bias, &v);
    let b = dense(&m.encoder.kernel, &m.encoder.bias, &d);
    let joined: Vec<f32> = a.iter().chain(&b).copied().collect();
    let mut z = m.dense_1.bias;
    for (i, x) in joined.iter().enumerate() {
        for (j, z) in z.iter_mut().enumerate() {
            *z += x * m.dense_1.kernel[i][j];
        }
    }
    let want = softmax2(z);
    let got = m.forward(&v);
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?} against {want:?}");
    }
}

#[test]
fn summary_has_the_input_and_a_connected_to_column() {
    let s = ResNetTiny::summary();
    let rows: Vec<&str> = s.lines().collect();
    assert_eq!(rows[0], "Model: \"res_net_tiny\"");
    assert!(rows[2].contains("Connected to"), "{s}");
    for (layer, shape, params, from) in [
        ("image (InputLayer)", "(None, 8, 8, 1)", "0", "-"),
        ("conv2d (Conv2D)", "(None, 8, 8, 4)", "40", "image[0][0]"),
        (
            "conv2d_1 (Conv2D)",
            "(None, 8, 8, 4)",
            "148",
            "conv2d[0][0]",
        ),
        ("add (Add)", "(None, 8, 8, 4)", "0", "conv2d[0][0]"),
        (
            "dense (Dense)",
            "(None, 3)",
            "15",
            "global_average_pooling2d[0][0]",
        ),
    ] {
        let row = rows
            .iter()
            .find(|r| r.contains(layer))
            .unwrap_or_else(|| panic!("no row for {layer} in\n{s}"));
        let cells: Vec<&str> = row.split('│').map(str::trim).collect();
        assert_eq!(&cells[1..5], &[layer, shape, params, from], "{s}");
    }
    // The merge's second input is on the next line of its cell.
    let add = rows.iter().position(|r| r.contains("add (Add)")).unwrap();
    assert!(rows[add + 1].contains("conv2d_1[0][0]"), "{s}");
    assert!(s.contains(" Total params: 203 "), "{s}");
}

#[test]
fn fit_learns_and_predict_is_forward() {
    // Three classes: which third of the image is brightest.
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..192 {
        let mut img = image(i);
        let c = i % 3;
        for (r, row) in img.iter_mut().enumerate() {
            if r * 3 / 8 == c {
                row.iter_mut().for_each(|p| p[0] += 1.0);
            }
        }
        x.push(img);
        y.push(c as u8);
    }
    let mut m = ResNetTiny::init(5);
    let mut trainer = m.compile(
        Adam::new(0.01),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let history = trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 15,
                batch_size: 16,
                verbose: 0,
                seed: 2,
                ..FitOptions::default()
            },
        )
        .unwrap();
    let loss = history.get("loss").unwrap();
    assert!(
        loss.last().unwrap() < &(loss[0] * 0.5),
        "the loss should at least halve: {loss:?}"
    );
    let [_, accuracy] = trainer.evaluate::<_, 2>(&x, &y).unwrap();
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    drop(trainer);
    let ys = m.predict(&x[..5]);
    for (x, y) in x.iter().zip(&ys) {
        assert_eq!(&m.forward(x), y);
    }
}

#[test]
fn weights_are_saved_under_keras_names_and_load_back() {
    let dir = std::env::temp_dir().join(format!("kiln-functional-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("siamese.safetensors");
    let a = Siamese::init(1);
    a.save_weights(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = file.names().into_iter().map(str::to_string).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "dense/bias",
            "dense/kernel",
            "dense_1/bias",
            "dense_1/kernel",
            "encoder/bias",
            "encoder/kernel"
        ]
    );
    let mut b = Siamese::init(2);
    let v = [0.1, 0.2, 0.3, -0.4, 0.5, 0.6];
    assert_ne!(a.forward(&v), b.forward(&v));
    b.load_weights(&path).unwrap();
    assert_eq!(a.forward(&v), b.forward(&v));
}

#[test]
fn a_functional_model_nests_as_a_layer() {
    let m = WithBlock::init(4);
    let x = image(1);
    let inner = m.res_net_tiny.forward(&x);
    let mut z = m.dense.bias;
    for (i, v) in inner.iter().enumerate() {
        for (j, z) in z.iter_mut().enumerate() {
            *z += v * m.dense.kernel[i][j];
        }
    }
    let want = softmax2(z);
    let got = m.forward(&x);
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?} against {want:?}");
    }
}

kiln::model! {
    /// Small enough to plan by hand: a value read twice, an in-place activation on a value
    /// another layer still reads, and a merge.
    struct Planned {
        input v: [8];
        let a = Dense(4)(v);
        let b = Activation(relu)(a);
        let c = Dense(4)(a);
        output y = Dense(2)(Concatenate(b, c));
    }
}

#[test]
fn arena_infer_gives_forward_s_outputs() {
    let m = ResNetTiny::init(3);
    let mut arena = kiln::Arena::<ResNetTiny>::new();
    for seed in 0..3 {
        let x = image(seed);
        assert_eq!(m.infer(&mut arena, &x), &m.forward(&x));
    }
    let m = Siamese::init(1);
    let mut arena = kiln::Arena::<Siamese>::new();
    let v = [0.5, -1.0, 0.25, 2.0, 0.0, -0.5];
    assert_eq!(m.infer(&mut arena, &v), &m.forward(&v));
    let m = Planned::init(2);
    let mut arena = kiln::Arena::<Planned>::new();
    let v = [0.5, -1.0, 0.25, 2.0, 0.0, -0.5, 1.5, 0.75];
    assert_eq!(m.infer(&mut arena, &v), &m.forward(&v));
}

#[test]
fn the_arena_is_planned_by_liveness() {
    // Values (bytes, 16-aligned): v 32, a 16, b 16, c 16, concat 32, y 16. While `b` is made,
    // `a` must live on (c reads it), so b is a copy: v at 0, a at 32, b at 0 (v is dead),
    // c at 16, the concatenation at 32 (a is dead, b and c are not), y at 0.
    assert_eq!(Planned::ARENA_BYTES, 64);
    // ResNetTiny: conv2d and conv2d_1 (1 KiB each) live until the add, which needs a third;
    // the image (256 B) fits in one of those before it is made, so 3 KiB in all.
    assert_eq!(ResNetTiny::ARENA_BYTES, 3 * 1024);
}

#[test]
fn a_graph_embeds_its_weights_at_compile_time() {
    static NET: SiameseEmbedded = SiameseEmbedded::WEIGHTS;
    let m = Siamese::init(11);
    let v = [0.5, -1.0, 0.25, 2.0, 0.0, -0.5];
    assert_eq!(NET.forward(&v), m.forward(&v));
    let mut arena = kiln::Arena::<SiameseEmbedded>::new();
    assert_eq!(NET.infer(&mut arena, &v), &m.forward(&v));
}

kiln::model! {
    /// Two inputs: an image and a vector of side information.
    struct TwoInputs {
        input image: [8, 8, 1];
        input meta: [2];
        let x = GlobalAvgPool(Conv2D(4, 3, padding = same, activation = relu)(image));
        output class = Dense(3, softmax)(Concatenate(x, Dense(4, relu)(meta)));
    }
}

#[test]
fn two_inputs_come_as_one_struct_and_train() {
    assert_eq!(TwoInputs::INPUT_SHAPE, &[64 + 2]);
    let rows: Vec<&str> = TwoInputs::summary().lines().collect();
    assert!(rows[4].contains("image (InputLayer)") && rows[6].contains("meta (InputLayer)"));
    // The class is in `meta` alone for some samples and in the image for others: both
    // inputs must be used.
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..150 {
        let c = i % 3;
        let mut image = image(i);
        if c == 2 {
            image.iter_mut().flatten().flatten().for_each(|p| *p += 1.0);
        }
        let meta = [f32::from(c == 0), f32::from(c == 1)];
        x.push(TwoInputsInput { image, meta });
        y.push(c as u8);
    }
    let mut m = TwoInputs::init(3);
    let mut trainer = m.compile(
        Adam::new(0.02),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    );
    let options = FitOptions {
        epochs: 20,
        batch_size: 16,
        verbose: 0,
        seed: 1,
        ..FitOptions::default()
    };
    trainer.fit(&x, &y, options).unwrap();
    let [_, accuracy] = trainer.evaluate::<_, 2>(&x, &y).unwrap();
    assert!(accuracy > 0.95, "accuracy {accuracy}");
    drop(trainer);
    let mut arena = kiln::Arena::<TwoInputs>::new();
    let ys = m.predict(&x[..4]);
    for (x, y) in x.iter().zip(&ys) {
        assert_eq!(&m.forward(x), y);
        assert_eq!(m.infer(&mut arena, x), y);
    }
}

kiln::model! {
    /// Two outputs from one trunk: a class and a regression, each with its own loss.
    struct TwoHeads {
        input image: [8, 8, 1];
        let x = GlobalAvgPool(Conv2D(4, 3, padding = same, activation = relu)(image));
        output class = Dense(3, softmax)(x);
        output level = Dense(1)(x);
    }
}

type TwoHeadsImage = [[[f32; 1]; 8]; 8];

/// Samples whose class is how much brighter the image is, and whose `level` is its mean.
fn two_heads_data() -> (Vec<TwoHeadsImage>, Vec<(u8, [f32; 1])>) {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..120 {
        let c = i % 3;
        let mut img = image(i);
        img.iter_mut()
            .flatten()
            .flatten()
            .for_each(|p| *p += c as f32);
        let mean = img.iter().flatten().flatten().sum::<f32>() / 64.0;
        x.push(img);
        y.push((c as u8, [mean]));
    }
    (x, y)
}

#[test]
fn two_outputs_come_as_one_struct_with_a_loss_each() {
    assert_eq!(TwoHeads::OUTPUT_SHAPE, &[3 + 1]);
    let names: Vec<_> = <TwoHeads as kiln::core::train::Train>::OUTPUTS
        .iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["class", "level"]);
    let (x, y) = two_heads_data();
    let mut m = TwoHeads::init(5);
    let out: TwoHeadsOutput = m.forward(&x[0]);
    assert!((out.class.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let losses = Losses::per_output([
        ("class", Loss::SparseCategoricalCrossentropy, 1.0),
        ("level", Loss::MeanSquaredError, 0.5),
    ]);
    let metrics = Metrics::per_output([("class", &[Metric::Accuracy][..])]);
    let mut trainer = m.compile(Adam::new(0.02), losses, metrics);
    let options = FitOptions {
        epochs: 25,
        batch_size: 16,
        verbose: 0,
        seed: 2,
        ..FitOptions::default()
    };
    let history = trainer.fit(&x, &y, options).unwrap();
    let first = history.get("level_loss").unwrap()[0];
    let logs = trainer.evaluate_logs(&x, &y).unwrap();
    let names: Vec<&str> = logs.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["loss", "class_loss", "level_loss", "class_accuracy"]
    );
    let get = |n: &str| logs.get(n).unwrap();
    assert!(get("class_accuracy") > 0.95, "{logs:?}");
    assert!(
        get("level_loss") < first / 4.0,
        "level loss {first} → {}",
        get("level_loss")
    );
    // The total is the weighted sum, and each output's loss is its own, from `predict`.
    let total = get("class_loss") + 0.5 * get("level_loss");
    assert!((get("loss") - total).abs() < 1e-9 * total, "{logs:?}");
    drop(trainer);
    let ys = m.predict(&x);
    let mse = ys
        .iter()
        .zip(&y)
        .map(|(o, (_, l))| f64::from(o.level[0] - l[0]).powi(2))
        .sum::<f64>()
        / x.len() as f64;
    assert!(
        (mse - get("level_loss")).abs() < 1e-6 * mse,
        "{mse} vs {logs:?}"
    );
    let mut arena = kiln::Arena::<TwoHeads>::new();
    for (x, o) in x.iter().zip(&ys).take(4) {
        let f = m.forward(x);
        assert_eq!((f.class, f.level), (o.class, o.level));
        let i = m.infer(&mut arena, x);
        assert_eq!((i.class, i.level), (o.class, o.level));
    }
}

#[test]
fn losses_that_do_not_fit_the_outputs_are_errors_in_words() {
    let (x, y) = two_heads_data();
    let mut m = TwoHeads::init(5);
    let before = m.flat().to_vec();
    let fit = |m: &mut TwoHeads, losses: Losses| {
        let mut t = m.compile(SGD::default(), losses, &[]);
        t.fit(
            &x,
            &y,
            FitOptions {
                verbose: 0,
                ..FitOptions::default()
            },
        )
        .unwrap_err()
        .to_string()
    };
    let e = fit(
        &mut m,
        Losses::per_output([
            ("class", Loss::SparseCategoricalCrossentropy, 1.0),
            ("levle", Loss::MeanSquaredError, 1.0),
        ]),
    );
    assert!(
        e.contains("no output of that name; its outputs are `class`, `level`"),
        "{e}"
    );
    let e = fit(
        &mut m,
        Losses::per_output([("class", Loss::SparseCategoricalCrossentropy, 1.0)]),
    );
    assert!(e.contains("the output `level` has no loss"), "{e}");
    // As in Keras 3, a flat list of metrics does not say which output each is for.
    let mut t = m.compile(SGD::default(), Loss::MeanSquaredError, &[Metric::Accuracy]);
    let e = t.evaluate_logs(&x, &y).unwrap_err().to_string();
    assert!(e.contains("so give metrics per output"), "{e}");
    drop(t);
    let metrics = Metrics::per_output([("levle", &[Metric::Accuracy][..])]);
    let mut t = m.compile(SGD::default(), Loss::MeanSquaredError, metrics);
    let e = t.evaluate_logs(&x, &y).unwrap_err().to_string();
    assert!(e.contains("metrics are given for `levle`"), "{e}");
    drop(t);
    // One loss for every output: a tuple of two targets is needed.
    let mut t = m.compile(SGD::default(), Loss::MeanSquaredError, &[]);
    let e = t
        .train_on_batch(&x[..2], &[2u8, 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("each target is a tuple of 2"), "{e}");
    let e = t
        .fit(
            &x,
            &y,
            FitOptions {
                class_weight: Some(vec![1.0, 2.0, 1.0]),
                verbose: 0,
                ..FitOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("class_weight is for a model with one output"),
        "{e}"
    );
    drop(t);
    assert_eq!(m.flat(), &before[..], "no error changed the model");
}

kiln::model! {
    /// Two inputs, nested below as one layer.
    struct Mix {
        input a: [4];
        input b: [2];
        output m = Dense(3, relu)(Concatenate(a, Dense(2)(b)));
    }
}

kiln::model! {
    struct UsesMix {
        input x: [4];
        let side = Dense(2, tanh)(x);
        output y = Dense(2, softmax)(Mix(x, side));
    }
}

#[test]
fn a_model_with_two_inputs_nests_as_a_layer_reading_two_values() {
    let rows: Vec<&str> = UsesMix::summary().lines().collect();
    let mix = rows.iter().find(|r| r.contains("mix (Mix)")).unwrap();
    assert!(mix.contains("x[0][0]"), "{mix}");
    assert!(rows.iter().any(|r| r.contains("dense[0][0]")), "{rows:?}");
    let m = UsesMix::init(4);
    let (mut side, mut head) = (SideNet::init(0), HeadNet::init(0));
    side.dense = m.dense;
    head.dense = m.dense_1;
    let mut arena = kiln::Arena::<UsesMix>::new();
    let xs: Vec<[f32; 4]> = (0..40)
        .map(|i| [i as f32 / 40.0, 0.5, -0.25 * (i % 3) as f32, 1.0])
        .collect();
    let ys = m.predict(&xs);
    for (x, y) in xs.iter().zip(&ys) {
        // By hand: the outer Dense, the nested model on (x, side), the head.
        let inner = m.mix.forward(&MixInput {
            a: *x,
            b: side.forward(x),
        });
        assert_eq!(&head.forward(&inner), y);
        assert_eq!(&m.forward(x), y);
        assert_eq!(m.infer(&mut arena, x), y);
    }
}

kiln::model! {
    struct SideNet: [4] => < Dense(2, tanh) >
}

kiln::model! {
    struct HeadNet: [3] => < Dense(2, softmax) >
}

kiln::model! {
    /// An output that an in-place layer (an activation) also reads, and one made by it.
    struct ReluOnOutput {
        input v: [4];
        output a = Dense(3)(v);
        output b = Dense(2)(Activation(relu)(a));
    }
}

kiln::model! {
    /// One output, named as declared.
    struct SingleNamed {
        input v: [4];
        output class = Dense(3, softmax)(v);
    }
}

#[test]
fn an_output_read_by_an_in_place_layer_keeps_its_value_in_the_arena() {
    let m = ReluOnOutput::init(2);
    let mut arena = kiln::Arena::<ReluOnOutput>::new();
    let mut negative = 0;
    for i in 0..8 {
        let v = [i as f32 - 4.0, 1.0, -0.5 * i as f32, 0.25];
        let (f, a) = (m.forward(&v), *m.infer(&mut arena, &v));
        negative += f.a.iter().filter(|x| **x < 0.0).count();
        assert_eq!((f.a, f.b), (a.a, a.b));
    }
    assert!(
        negative > 0,
        "some of `a` is negative, which the relu would change"
    );
}

#[test]
fn outputs_are_named_as_declared_and_targets_may_be_the_output_struct() {
    let names = |o: &[kiln::core::train::OutputSpec]| o.iter().map(|o| o.name).collect::<Vec<_>>();
    assert_eq!(
        names(<SingleNamed as kiln::core::train::Train>::OUTPUTS),
        ["class"]
    );
    let mut m = SingleNamed::init(1);
    let x = [[0.5f32, -1.0, 0.25, 2.0]; 4];
    let mut t = m.compile(
        SGD::new(0.01),
        Losses::per_output([("class", Loss::SparseCategoricalCrossentropy, 1.0)]),
        &[],
    );
    t.train_on_batch(&x, &[0u8, 1, 2, 1]).unwrap();
    // Several outputs: targets in the output struct, as arrays; a target's error names its output.
    let (x, y) = two_heads_data();
    let dense: Vec<TwoHeadsOutput> = y
        .iter()
        .map(|(c, l)| {
            let mut class = [0.0; 3];
            class[*c as usize] = 1.0;
            TwoHeadsOutput { class, level: *l }
        })
        .collect();
    let mut m = TwoHeads::init(5);
    let mut t = m.compile(
        SGD::new(0.01),
        Losses::per_output([
            ("class", Loss::CategoricalCrossentropy, 1.0),
            ("level", Loss::MeanSquaredError, 1.0),
        ]),
        &[],
    );
    let by_struct = t.evaluate_logs(&x, &dense).unwrap();
    let tuples: Vec<([f32; 3], [f32; 1])> = dense.iter().map(|o| (o.class, o.level)).collect();
    assert_eq!(by_struct, t.evaluate_logs(&x, &tuples).unwrap());
    let bad: Vec<(u8, [f32; 1])> = vec![(7, [0.0]); x.len()];
    let e = t.evaluate_logs(&x, &bad).unwrap_err().to_string();
    assert!(e.contains("output `class`"), "{e}");
}

kiln::model! {
    /// Two outputs, nested below.
    struct Parts {
        input x: [4];
        output low = Dense(2, relu)(x);
        output high = Dense(3)(x);
    }
}

kiln::model! {
    struct UsesParts {
        input v: [4];
        let (l, h) = Parts(v);
        output y = Dense(2)(Concatenate(h, l));
    }
}

kiln::model! {
    struct TailNet: [5] => < Dense(2) >
}

#[test]
fn a_model_with_two_outputs_nests_and_is_taken_apart() {
    let rows = UsesParts::summary();
    assert!(!rows.contains("Pick"), "{rows}");
    let concat = rows.lines().find(|r| r.contains("concatenate")).unwrap();
    assert!(concat.contains("parts[0][1]"), "{rows}");
    // Keras lists a nested model's several output shapes in its row.
    let parts = rows.lines().find(|r| r.contains("parts (Parts)")).unwrap();
    assert!(parts.contains("[(None, 2), (None, 3)]"), "{rows}");
    let m = UsesParts::init(6);
    let mut tail = TailNet::init(0);
    tail.dense = m.dense;
    let mut arena = kiln::Arena::<UsesParts>::new();
    let xs: Vec<[f32; 4]> = (0..20)
        .map(|i| [i as f32 / 10.0 - 1.0, 0.5, -0.25, (i % 4) as f32])
        .collect();
    let ys = m.predict(&xs);
    for (x, y) in xs.iter().zip(&ys) {
        let p = m.parts.forward(x);
        let joined = [p.high[0], p.high[1], p.high[2], p.low[0], p.low[1]];
        assert_eq!(&tail.forward(&joined), y);
        assert_eq!(&m.forward(x), y);
        assert_eq!(m.infer(&mut arena, x), y);
    }
}
