//! The generated backward pass, checked end to end against central finite differences in f64:
//! every parameter and every input element of models that use every layer kind, with the loss
//! fused into softmax/sigmoid and not.

use kiln::core::bytemuck::zeroed_box;
use kiln::core::losses::{Loss, Target};
use kiln::core::tensor::{flat, flat_mut};
use kiln::core::train::Train;

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

/// A deterministic pseudo-random value in [-1, 1).
fn noise(i: usize, salt: u64) -> f64 {
    let h = (i as u64 ^ salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// One sample's loss and, when `grads` is given, its gradients by the generated backward.
fn loss_of<M: Train<Scalar = f64>>(
    m: &M,
    x: &M::Input,
    target: Target<'_, f64>,
    loss: Loss,
    grads: Option<(&mut M, &mut M::Input)>,
) -> f64 {
    let mut cache: Box<M::Cache> = zeroed_box();
    let xs = std::slice::from_ref(x);
    // The same seed every time: dropout draws the same mask for every evaluation.
    m.forward_train(xs, &mut cache, &mut [kiln::core::init::rng(9)]);
    let (z, y) = M::outputs(&cache);
    let (z, y) = (z[0], y[0]);
    let classes = *M::OUTPUT_SHAPE.last().unwrap();
    let fused = M::LAST_ACTIVATION.filter(|f| loss.fuses(*f));
    let g = flat_mut::<f64, M::Output>(&mut M::output_grad(&mut cache)[0]);
    let value = match fused {
        Some(f) => loss.loss_grad_from_logits(flat(&z), f, target, classes, g),
        None => loss.loss_grad(flat(&y), target, classes, g),
    }
    .unwrap();
    if let Some((grads, dx)) = grads {
        m.backward(
            xs,
            &mut cache,
            fused.is_some(),
            grads,
            Some(std::slice::from_mut(dx)),
        );
    }
    value
}

fn check<M: Train<Scalar = f64>>(seed: u64, target: Target<'_, f64>, loss: Loss) {
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
    loss_of(&*m, &x, target, loss, Some((&mut grads, &mut dx)));

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
            let up = loss_of(&*m, &x, target, loss, None);
            m.flat_mut()[k] = orig - h;
            let down = loss_of(&*m, &x, target, loss, None);
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
        let up = loss_of(&*m, &x, target, loss, None);
        flat_mut::<f64, M::Input>(&mut x)[k] = orig - h;
        let down = loss_of(&*m, &x, target, loss, None);
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
    assert_eq!(
        <ConvNet as Train>::LAST_ACTIVATION,
        Some(kiln::core::losses::Fused::Softmax)
    );
    assert_eq!(
        <Nested as Train>::LAST_ACTIVATION,
        Some(kiln::core::losses::Fused::Sigmoid)
    );
    assert_eq!(<Regressor as Train>::LAST_ACTIVATION, None);
}

#[test]
fn graph_with_a_residual_add() {
    check::<Residual>(7, Target::Class(1), Loss::SparseCategoricalCrossentropy);
    check::<Residual>(8, Target::Dense(&[0.2, 0.3, 0.5]), Loss::MeanSquaredError);
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
