//! The generated backward pass, checked end to end against central finite differences in f64:
//! every parameter and every input element of models that use every layer kind, with the loss
//! fused into softmax/sigmoid and not.

use kiln::core::bytemuck::zeroed_box;
use kiln::core::losses::{Loss, Target};
use kiln::core::tensor::{flat, flat_mut};
use kiln::core::train::{Fusion, Train};

kiln::model! {
    /// Convolutions with `same` padding and strides, both pools, dropout, reshapes.
    struct ConvNet<f64>: [7, 6, 2] => <
        Conv2D(3, (3, 2), strides = (2, 1), padding = same, activation = tanh),
        MaxPool(2, strides = 1, padding = same),
        Conv2D(4, 2, activation = elu, use_bias = false),
        AvgPool((2, 1), padding = same),
        Dropout(0.3),
        Flatten,
        Dense(6, gelu),
        Reshape(2, 3),
        Dense(4, swish),
        Activation(softplus),
        Flatten,
        Dense(3, softmax),
    >
}

kiln::model! {
    struct Features<f64>: [5, 5, 1] => < Conv2D(2, 3, sigmoid), GlobalAvgPool >
}

kiln::model! {
    /// A nested model in front, a sigmoid head for binary cross-entropy.
    struct Nested<f64>: [5, 5, 1] => < Features, Dense(4, leaky_relu), Dense(2), Activation(sigmoid) >
}

kiln::model! {
    struct Regressor<f64>: [4] => < Dense(5, relu6), Dense(3, hard_sigmoid), Dense(2) >
}

kiln::model! {
    /// The functional form: a residual block (a value read by two layers), `Add`, pooling.
    struct Residual<f64> {
        input image: [6, 6, 2];
        let x = Conv2D(3, 3, padding = same, activation = tanh)(image);
        let y = Conv2D(3, 3, padding = same)(x);
        let x = Activation(elu)(Add(x, y));
        let x = GlobalAvgPool(MaxPool(2)(x));
        output class = Dense(3, softmax)(x);
    }
}

kiln::model! {
    /// Both global pools over one image, side by side: the maximum sends each channel's
    /// gradient to its largest pixel, the mean to all of them.
    struct GlobalPools<f64> {
        input image: [5, 4, 2];
        let x = Conv2D(3, 2, activation = tanh)(image);
        output y = Dense(2, softmax)(Concatenate(GlobalMaxPool(x), GlobalAvgPool(x)));
    }
}

kiln::model! {
    /// Zero padding and cropping around a convolution.
    struct PadCrop<f64>: [4, 5, 1] => <
        ZeroPadding2D((1, 2)), Conv2D(2, 3, tanh), Cropping2D(((0, 1), (2, 0))), Flatten, Dense(2, softmax),
    >
}

kiln::model! {
    /// Conv1D first (no input gradient) and later (with one), in each padding, and the 1-D
    /// window pools.
    struct Sequence1d<f64>: [11, 2] => <
        Conv1D(3, 3, tanh, padding = causal), MaxPooling1D(2, strides = 1),
        Conv1D(4, 2, sigmoid, strides = 2, padding = same), AveragePooling1D(3, strides = 2, padding = same),
        Conv1D(2, 2), Flatten, Dense(2, softmax),
    >
}

kiln::model! {
    /// Dilated Conv1D first and later, in each padding (`same` overhanging both ends).
    struct Dilated1d<f64>: [10, 2] => <
        Conv1D(3, 3, tanh, dilation_rate = 2), Conv1D(2, 2, sigmoid, padding = causal, dilation_rate = 3),
        Conv1D(2, 3, padding = same, dilation_rate = 4), Flatten, Dense(2, softmax),
    >
}

kiln::model! {
    /// Upsampling between convolutions, so its backward feeds one.
    struct Upsample<f64>: [3, 3, 2] => <
        Conv2D(2, 2, tanh), UpSampling2D((2, 3)), Conv2D(2, 3, sigmoid), Flatten, Dense(2, softmax),
    >
}

kiln::model! {
    /// DepthwiseConv2D first (no input gradient) with two filters per channel, `same` padding
    /// and stride 2; then later ones (with one) without a bias, and `valid` with three filters
    /// per channel.
    struct Depthwise<f64>: [7, 6, 2] => <
        DepthwiseConv2D(3, tanh, strides = 2, padding = same, depth_multiplier = 2),
        DepthwiseConv2D((2, 3), elu, padding = same, use_bias = false),
        DepthwiseConv2D(2, depth_multiplier = 3),
        Flatten,
        Dense(3, softmax),
    >
}

kiln::model! {
    /// SeparableConv2D first (no input gradient) with two filters per channel, `same` padding
    /// and stride 2; then later ones (with one) without a bias, and `valid` with three filters
    /// per channel.
    struct Separable<f64>: [7, 6, 2] => <
        SeparableConv2D(3, 3, tanh, strides = 2, padding = same, depth_multiplier = 2),
        SeparableConv2D(4, (2, 3), elu, padding = same, use_bias = false),
        SeparableConv2D(2, 2, depth_multiplier = 3),
        Flatten,
        Dense(3, softmax),
    >
}

kiln::model! {
    /// LayerNormalization first, over a sequence's features, and after a Dense at another epsilon.
    struct LayerNorms<f64>: [3, 4] => <
        LayerNormalization, Dense(5, tanh), LayerNormalization(epsilon = 1e-2), Flatten, Dense(2, softmax),
    >
}

kiln::model! {
    /// A pre-norm residual block: LayerNormalization reads the sum of two paths.
    struct NormResidual<f64> {
        input x: [6];
        let h = Dense(6, tanh)(LayerNormalization(x));
        output y = Dense(3, softmax)(LayerNormalization(Add(x, h)));
    }
}

kiln::model! {
    /// Two LSTMs: the first returns every step (read backwards by the second) and gets no
    /// input gradient; the second only its last, in other activations and without a bias.
    struct Recurrent<f64>: [5, 3] => <
        LSTM(4, return_sequences = true),
        LSTM(3, activation = elu, recurrent_activation = hard_sigmoid, use_bias = false, go_backwards = true),
        Dense(2, softmax),
    >
}

kiln::model! {
    /// An LSTM after a Dense over each step, so the input gradient flows back through it.
    struct RecurrentLater<f64>: [4, 3] => <
        Dense(3, tanh), LSTM(5, return_sequences = true, go_backwards = true), Flatten, Dense(2, sigmoid),
    >
}

kiln::model! {
    /// GRUs both ways round: first (no input gradient) with every step, then backwards after a
    /// Dense, in other activations and without a bias.
    struct Gated<f64>: [5, 3] => <
        GRU(4, return_sequences = true),
        Dense(3, tanh),
        GRU(3, activation = elu, recurrent_activation = hard_sigmoid, use_bias = false, go_backwards = true),
        Dense(2, softmax),
    >
}

kiln::model! {
    /// The 1-D global pools over the steps of a sequence.
    struct SequencePools<f64> {
        input seq: [6, 3];
        let x = Dense(4, tanh)(seq);
        output y = Dense(2, sigmoid)(Concatenate(GlobalMaxPool1D(x), GlobalAvgPool1D(x)));
    }
}

kiln::model! {
    /// Branches from the input (its gradient summed over three readers), every elementwise
    /// merge, and a shared layer whose gradients add up.
    struct Branches<f64> {
        input v: [6];
        let enc = Dense(4, tanh);
        let a = enc(Dense(6, sigmoid)(v));
        let b = enc(v);
        let c = Dense(4)(v);
        let m = Concatenate(Multiply(a, b), Subtract(a, c), Average(a, b, c), Maximum(a, b, c), Minimum(b, c));
        output y = Dense(2, sigmoid)(m);
    }
}

kiln::model! {
    /// Images joined along the channels and along the height, one value read twice by one layer.
    struct Joined<f64> {
        input img: [4, 4, 1];
        let p = Conv2D(2, 3, padding = same, activation = relu)(img);
        let q = Conv2D(3, 1)(img);
        let j = Concatenate(p, q);
        let k = Concatenate(axis = 1)(j, j);
        output y = Dense(2)(Flatten(k));
    }
}

kiln::model! {
    /// Two inputs: an image through a convolution, a vector read by a Dense layer and by the
    /// concatenation (its gradient summed over both), joined into one head.
    struct TwoInputs<f64> {
        input image: [4, 4, 1];
        input meta: [3];
        let a = Dense(4, tanh)(Flatten(Conv2D(2, 3, padding = same)(image)));
        let b = Dense(4, sigmoid)(meta);
        output y = Dense(2, softmax)(Concatenate(a, b, meta));
    }
}

kiln::model! {
    /// Three outputs: a softmax head (fused), a regression head, and a sigmoid output that the
    /// regression head also reads (its gradient is the loss's plus the head's).
    struct TwoOutputs<f64> {
        input image: [5, 5, 1];
        let x = Flatten(Conv2D(2, 3, activation = tanh)(image));
        output class = Dense(3, softmax)(x);
        output aux = Dense(2, sigmoid)(x);
        output score = Dense(1)(Concatenate(x, aux));
    }
}

/// A deterministic pseudo-random value in [-1, 1).
fn noise(i: usize, salt: u64) -> f64 {
    let h = (i as u64 ^ salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// One output's target, its loss and the loss's weight in the total.
type Head<'a> = (Target<'a, f64>, Loss, f64);

/// One sample's loss (the weighted sum over the outputs) and, when `grads` is given, its
/// gradients by the generated backward, each output's loss fused with its activation when
/// it can be.
fn loss_of<M: Train<Scalar = f64>>(
    m: &M,
    x: &M::Input,
    heads: &[Head<'_>],
    grads: Option<(&mut M, &mut M::Input)>,
) -> f64 {
    assert_eq!(heads.len(), M::OUTPUTS.len(), "one target per output");
    let mut cache: Box<M::Cache> = zeroed_box();
    let xs = std::slice::from_ref(x);
    // The same seed every time: dropout draws the same mask for every evaluation.
    m.forward_train(xs, &mut cache, &mut [kiln::core::init::rng(9)]);
    let (z, y) = M::outputs(&cache);
    let (z, y) = (z[0], y[0]);
    let g = flat_mut::<f64, M::Output>(&mut M::output_grad(&mut cache)[0]);
    let mut fused = Fusion::NONE;
    let mut total = 0.0;
    for (k, (o, &(target, loss, weight))) in M::OUTPUTS.iter().zip(heads).enumerate() {
        let classes = *o.shape.last().unwrap();
        let f = o.activation.filter(|f| loss.fuses(*f));
        fused = fused.with(k, f.is_some());
        let g = o.of_mut(&mut *g);
        let value = match f {
            Some(f) => loss.loss_grad_from_logits(o.of(flat(&z)), f, target, classes, g),
            None => loss.loss_grad(o.of(flat(&y)), target, classes, g),
        }
        .unwrap();
        g.iter_mut().for_each(|g| *g *= weight);
        total += weight * value;
    }
    if let Some((grads, dx)) = grads {
        m.backward(xs, &mut cache, fused, grads, Some(std::slice::from_mut(dx)));
    }
    total
}

fn check<M: Train<Scalar = f64>>(seed: u64, target: Target<'_, f64>, loss: Loss) {
    check_heads::<M>(seed, &[(target, loss, 1.0)]);
}

fn check_heads<M: Train<Scalar = f64>>(seed: u64, heads: &[Head<'_>]) {
    let mut m = M::init(seed);
    // Non-zero biases, so their gradients are tested on a general point.
    m.flat_mut()
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v += 0.05 * noise(i, seed));
    let mut x: M::Input = kiln::core::bytemuck::Zeroable::zeroed();
    flat_mut::<f64, M::Input>(&mut x)
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = 1.5 * noise(i, seed + 1));

    let mut grads: Box<M> = zeroed_box();
    let mut dx: M::Input = kiln::core::bytemuck::Zeroable::zeroed();
    loss_of(&*m, &x, heads, Some((&mut grads, &mut dx)));

    // Central differences in f64 with h = 1e-5 are accurate to ~1e-10 absolute (h² truncation,
    // ε·loss/h rounding), so the relative error is taken against at least 1e-4: gradients
    // above that must agree to 1e-6 relative, smaller ones to 1e-10 absolute.
    let h = 1e-5;
    let rel = |a: f64, n: f64| (a - n).abs() / a.abs().max(n.abs()).max(1e-4);
    let ranges = kiln::core::train::variable_ranges(&*m);
    let mut checked = 0;
    for r in &ranges {
        for k in r.clone() {
            let orig = m.flat()[k];
            m.flat_mut()[k] = orig + h;
            let up = loss_of(&*m, &x, heads, None);
            m.flat_mut()[k] = orig - h;
            let down = loss_of(&*m, &x, heads, None);
            m.flat_mut()[k] = orig;
            let numeric = (up - down) / (2.0 * h);
            let analytic = grads.flat()[k];
            assert!(
                rel(analytic, numeric) < 1e-6,
                "param {k}: backward {analytic:e}, numeric {numeric:e}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, M::PARAMS, "every parameter is checked");
    for k in 0..flat::<f64, M::Input>(&x).len() {
        let orig = flat::<f64, M::Input>(&x)[k];
        flat_mut::<f64, M::Input>(&mut x)[k] = orig + h;
        let up = loss_of(&*m, &x, heads, None);
        flat_mut::<f64, M::Input>(&mut x)[k] = orig - h;
        let down = loss_of(&*m, &x, heads, None);
        flat_mut::<f64, M::Input>(&mut x)[k] = orig;
        let numeric = (up - down) / (2.0 * h);
        let analytic = flat::<f64, M::Input>(&dx)[k];
        assert!(
            rel(analytic, numeric) < 1e-6,
            "input {k}: backward {analytic:e}, numeric {numeric:e}"
        );
    }
    assert!(grads.flat().iter().any(|g| *g != 0.0));
}

#[test]
fn convnet_with_softmax_fused_into_categorical_crossentropy() {
    check::<ConvNet>(
        1,
        Target::Dense(&[0.0, 1.0, 0.0]),
        Loss::CategoricalCrossentropy,
    );
    check::<ConvNet>(2, Target::Class(2), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn convnet_with_an_unfused_loss_goes_through_softmax_backward() {
    check::<ConvNet>(3, Target::Dense(&[0.2, 0.3, 0.5]), Loss::MeanSquaredError);
}

#[test]
fn nested_model_with_sigmoid_fused_into_binary_crossentropy() {
    check::<Nested>(4, Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy);
    check::<Nested>(5, Target::Dense(&[0.3, -0.2]), Loss::Huber { delta: 1.0 });
}

#[test]
fn regressor_with_mean_squared_error() {
    check::<Regressor>(6, Target::Dense(&[0.5, -0.25]), Loss::MeanSquaredError);
}

#[test]
fn only_softmax_and_sigmoid_endings_fuse() {
    let last = |outputs: &[kiln::core::train::OutputSpec]| {
        assert_eq!(outputs.len(), 1);
        outputs[0].activation
    };
    assert_eq!(
        last(<ConvNet as Train>::OUTPUTS),
        Some(kiln::core::losses::Fused::Softmax)
    );
    assert_eq!(
        last(<Nested as Train>::OUTPUTS),
        Some(kiln::core::losses::Fused::Sigmoid)
    );
    assert_eq!(last(<Regressor as Train>::OUTPUTS), None);
    // A softmax output that another layer reads does not fuse: that layer needs its value.
    let o = <TwoOutputs as Train>::OUTPUTS;
    assert_eq!(
        o.iter()
            .map(|o| (o.name, o.offset, o.len()))
            .collect::<Vec<_>>(),
        [("class", 0, 3), ("aux", 3, 2), ("score", 5, 1)]
    );
    assert_eq!(o[0].activation, Some(kiln::core::losses::Fused::Softmax));
    assert_eq!(o[1].activation, None, "a sigmoid read by `score`");
    assert_eq!(o[2].activation, None);
}

#[test]
fn graph_with_a_residual_add() {
    check::<Residual>(7, Target::Class(1), Loss::SparseCategoricalCrossentropy);
    check::<Residual>(8, Target::Dense(&[0.2, 0.3, 0.5]), Loss::MeanSquaredError);
}

#[test]
fn graph_with_global_max_and_average_pools() {
    check::<GlobalPools>(11, Target::Class(0), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn zero_padding_and_cropping() {
    check::<PadCrop>(13, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn conv1d_and_the_1d_window_pools() {
    check::<Sequence1d>(14, Target::Class(0), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn dilated_conv1d() {
    check::<Dilated1d>(30, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn upsampling_between_convolutions() {
    check::<Upsample>(15, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn depthwise_convolutions_first_and_later() {
    check::<Depthwise>(26, Target::Class(2), Loss::SparseCategoricalCrossentropy);
    check::<Depthwise>(27, Target::Dense(&[0.2, 0.5, 0.3]), Loss::MeanSquaredError);
}

#[test]
fn separable_convolutions_first_and_later() {
    check::<Separable>(31, Target::Class(2), Loss::SparseCategoricalCrossentropy);
    check::<Separable>(32, Target::Dense(&[0.2, 0.5, 0.3]), Loss::MeanSquaredError);
}

#[test]
fn layer_normalization_first_and_later() {
    check::<LayerNorms>(16, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn layer_normalization_in_a_residual_block() {
    check::<NormResidual>(
        17,
        Target::Dense(&[0.2, 0.3, 0.5]),
        Loss::CategoricalCrossentropy,
    );
}

#[test]
fn lstm_through_time() {
    check::<Recurrent>(18, Target::Class(1), Loss::SparseCategoricalCrossentropy);
    check::<RecurrentLater>(19, Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy);
}

kiln::model! {
    /// SimpleRNNs: first with every step, then backwards in another activation.
    struct Simple<f64>: [5, 2] => <
        SimpleRNN(3, return_sequences = true),
        SimpleRNN(4, elu, go_backwards = true, use_bias = false),
        Dense(2, softmax),
    >
}

#[test]
fn simple_rnn_through_time() {
    check::<Simple>(24, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

kiln::model! {
    /// Bidirectional LSTMs and GRUs, through time both ways: first (no input gradient) with
    /// every step concatenated, then after a Dense (the two copies' input gradients summed)
    /// their last steps summed.
    struct Both<f64>: [5, 3] => <
        Bidirectional(LSTM(3, return_sequences = true)),
        Dense(3, tanh),
        Bidirectional(GRU(2, use_bias = false, activation = elu), merge_mode = sum),
        Dense(2, softmax),
    >
}

kiln::model! {
    /// Every step of two Bidirectional layers after a Dense: multiplied, then averaged.
    struct BothSteps<f64>: [4, 2] => <
        Dense(3, tanh),
        Bidirectional(SimpleRNN(3, return_sequences = true), merge_mode = mul),
        Bidirectional(LSTM(2, return_sequences = true), merge_mode = "ave"),
        Flatten,
        Dense(2, sigmoid),
    >
}

#[test]
fn bidirectional_through_time() {
    check::<Both>(27, Target::Class(1), Loss::SparseCategoricalCrossentropy);
    check::<BothSteps>(28, Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy);
}

kiln::model! {
    /// An embedding table into a GRU: the table's rows get the gradients of the steps that read
    /// them (the ids, random in [-1.5, 1.5), truncate and clamp to rows 0 and 1).
    struct Embedded<f64>: [6] => < Embedding(3, 4), GRU(3), Dense(2, softmax) >
}

#[test]
fn embedding_into_a_gru() {
    check::<Embedded>(25, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn gru_through_time() {
    check::<Gated>(22, Target::Class(0), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn graph_with_global_pools_over_a_sequence() {
    check::<SequencePools>(12, Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy);
}

#[test]
fn graph_with_branches_every_merge_and_a_shared_layer() {
    assert_eq!(
        Branches::PARAMS,
        6 * 6 + 6 + 6 * 4 + 4 + 6 * 4 + 4 + 20 * 2 + 2
    );
    check::<Branches>(9, Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy);
}

#[test]
fn graph_with_concatenations() {
    check::<Joined>(10, Target::Dense(&[0.5, -0.5]), Loss::MeanSquaredError);
}

#[test]
fn graph_with_two_inputs() {
    check::<TwoInputs>(11, Target::Class(1), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn graph_with_several_outputs_and_loss_weights() {
    check_heads::<TwoOutputs>(
        12,
        &[
            (Target::Class(2), Loss::SparseCategoricalCrossentropy, 1.0),
            (Target::Dense(&[1.0, 0.0]), Loss::BinaryCrossentropy, 0.25),
            (Target::Dense(&[0.7]), Loss::MeanSquaredError, 0.5),
        ],
    );
    // Unfused, and one output left out of the total (weight 0).
    check_heads::<TwoOutputs>(
        13,
        &[
            (Target::Dense(&[0.1, 0.2, 0.7]), Loss::MeanSquaredError, 2.0),
            (Target::Dense(&[0.5, 0.5]), Loss::MeanSquaredError, 0.0),
            (Target::Dense(&[-0.3]), Loss::Huber { delta: 1.0 }, 1.0),
        ],
    );
}

kiln::model! {
    /// A model with two inputs, nested below.
    struct Pair<f64> {
        input left: [3];
        input right: [2];
        output joined = Dense(3, tanh)(Concatenate(Dense(2, sigmoid)(left), right));
    }
}

kiln::model! {
    /// A nested model with two inputs, given one value twice (its gradient summed) and another.
    struct UsesPair<f64> {
        input v: [3];
        let w = Dense(2, elu)(v);
        let p = Pair(v, w);
        let q = Pair(Dense(3)(v), w);
        output y = Dense(2, softmax)(Add(p, q));
    }
}

#[test]
fn graph_with_a_nested_two_input_model() {
    check::<UsesPair>(14, Target::Class(1), Loss::SparseCategoricalCrossentropy);
    check::<UsesPair>(15, Target::Dense(&[0.3, 0.7]), Loss::MeanSquaredError);
}

kiln::model! {
    /// Two outputs, nested below and taken apart.
    struct Split<f64> {
        input x: [4];
        let h = Dense(3, tanh)(x);
        output small = Dense(2, sigmoid)(h);
        output big = Dense(3)(h);
    }
}

kiln::model! {
    /// A nested model's two outputs taken apart, each read by its own layers, one also an output.
    struct UsesSplit<f64> {
        input v: [4];
        let (a, b) = Split(v);
        output first = Dense(2, softmax)(Concatenate(a, Dense(2, elu)(b)));
        output second = b;
    }
}

#[test]
fn graph_with_a_nested_two_output_model_taken_apart() {
    check_heads::<UsesSplit>(
        16,
        &[
            (Target::Class(0), Loss::SparseCategoricalCrossentropy, 1.0),
            (
                Target::Dense(&[0.1, -0.4, 0.9]),
                Loss::MeanSquaredError,
                0.5,
            ),
        ],
    );
}
