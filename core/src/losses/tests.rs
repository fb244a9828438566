//! Every loss against values computed with Keras 3.15.1, and every gradient by finite
//! differences.

use super::*;

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

/// Checks `got` against Keras's value in f64 (to 1e-12) and in f32 (to 1e-5).
fn check_value(loss: Loss, y_pred: &[f64], y_true: Target<'_, f64>, classes: usize, keras: f64) {
    check_value_f32(loss, y_pred, y_true, classes, keras, keras);
}

/// [`check_value`] where Keras's float32 value differs from its float64 one (saturation).
fn check_value_f32(
    loss: Loss,
    y_pred: &[f64],
    y_true: Target<'_, f64>,
    classes: usize,
    keras: f64,
    keras32: f64,
) {
    let mut grad = [0.0; 16];
    let got = loss
        .loss_grad(y_pred, y_true, classes, &mut grad[..y_pred.len()])
        .unwrap();
    assert!(
        rel_close(got, keras, 1e-12),
        "{loss:?}: {got} vs Keras {keras}"
    );
    assert_eq!(loss.loss(y_pred, y_true, classes).unwrap(), got);

    let p32: [f32; 16] = core::array::from_fn(|i| y_pred.get(i).copied().unwrap_or(0.0) as f32);
    let t32: [f32; 16];
    let y32 = match y_true {
        Target::Dense(t) => {
            t32 = core::array::from_fn(|i| t.get(i).copied().unwrap_or(0.0) as f32);
            Target::Dense(&t32[..t.len()])
        }
        Target::Class(k) => Target::Class(k),
    };
    let got32 = loss.loss(&p32[..y_pred.len()], y32, classes).unwrap();
    assert!(
        rel_close(got32 as f64, keras32, 1e-5),
        "{loss:?} in f32: {got32} vs Keras {keras32}"
    );
}

/// Checks the analytic gradient of `f` against central differences, in f64.
fn check_grad(y_pred: &[f64], f: impl Fn(&[f64], &mut [f64]) -> f64) {
    let n = y_pred.len();
    let mut grad = [0.0; 16];
    f(y_pred, &mut grad[..n]);
    let mut x = [0.0; 16];
    x[..n].copy_from_slice(y_pred);
    let mut scratch = [0.0; 16];
    for i in 0..n {
        let h = 1e-6 * y_pred[i].abs().max(1.0);
        x[i] = y_pred[i] + h;
        let up = f(&x[..n], &mut scratch[..n]);
        x[i] = y_pred[i] - h;
        let down = f(&x[..n], &mut scratch[..n]);
        x[i] = y_pred[i];
        let numeric = (up - down) / (2.0 * h);
        let err = (grad[i] - numeric).abs() / numeric.abs().max(grad[i].abs()).max(1e-8);
        assert!(
            err < 1e-6 || (grad[i] - numeric).abs() < 1e-10,
            "d/dy_pred[{i}]: analytic {}, finite difference {numeric}",
            grad[i]
        );
    }
}

fn check_loss_grad(loss: Loss, y_pred: &[f64], y_true: Target<'_, f64>, classes: usize) {
    check_grad(y_pred, |p, g| {
        loss.loss_grad(p, y_true, classes, g).unwrap()
    });
}

fn check_logits_grad(loss: Loss, last: Fused, z: &[f64], y_true: Target<'_, f64>, classes: usize) {
    check_grad(z, |z, g| {
        loss.loss_grad_from_logits(z, last, y_true, classes, g)
            .unwrap()
    });
}

// Expected values below come from Keras 3.15.1 (TensorFlow backend, floatx float64):
// `keras.losses.<Class>(...)(np.array([y_true]), np.array([y_pred]))`, i.e. one sample in
// a batch of one, which is exactly the per-sample value Keras averages over a batch.

#[test]
fn mean_squared_error_matches_keras() {
    let (p, t) = ([0.3, -1.2, 2.5], [0.0, -1.0, 3.0]);
    check_value(
        Loss::MeanSquaredError,
        &p,
        Target::Dense(&t),
        3,
        0.12666666666666668,
    );
    check_loss_grad(Loss::MeanSquaredError, &p, Target::Dense(&t), 3);
    // Two rows of two: mean over the last axis, then over the rows.
    let (p, t) = ([0.5, 0.25, 1.0, 0.0], [0.0, 1.0, 2.0, -1.0]);
    check_value(Loss::MeanSquaredError, &p, Target::Dense(&t), 2, 0.703125);
    check_loss_grad(Loss::MeanSquaredError, &p, Target::Dense(&t), 2);
}

#[test]
fn mean_absolute_error_matches_keras() {
    let (p, t) = ([0.3, -1.2, 2.5], [0.0, -1.0, 3.0]);
    check_value(
        Loss::MeanAbsoluteError,
        &p,
        Target::Dense(&t),
        3,
        0.3333333333333333,
    );
    check_loss_grad(Loss::MeanAbsoluteError, &p, Target::Dense(&t), 3);
}

#[test]
fn huber_matches_keras_on_both_sides_of_delta() {
    let (p, t) = ([0.3, -3.2, 2.5, 2.75], [0.0, -1.0, 3.0, 1.0]);
    check_value(Loss::huber(), &p, Target::Dense(&t), 4, 0.78);
    check_loss_grad(Loss::huber(), &p, Target::Dense(&t), 4);
    let half = Loss::Huber { delta: 0.5 };
    check_value(half, &p, Target::Dense(&t), 4, 0.47375);
    // Away from the kink at |e| = 0.5 that the third element sits on.
    check_loss_grad(half, &[0.3, -3.2, 2.7, 2.75], Target::Dense(&t), 4);
}

#[test]
fn binary_crossentropy_matches_keras() {
    let (p, t) = ([0.2, 0.7, 0.4, 0.6], [0.0, 1.0, 1.0, 0.25]);
    check_value(
        Loss::BinaryCrossentropy,
        &p,
        Target::Dense(&t),
        4,
        0.5777584204935529,
    );
    check_loss_grad(Loss::BinaryCrossentropy, &p, Target::Dense(&t), 4);
}

#[test]
fn binary_crossentropy_clips_saturated_probabilities_like_keras() {
    let (p, t) = ([0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]);
    // In float32, 1 - 1e-7 rounds to 1 - 2^-23, so saturation costs less (Keras: 8.0151195).
    check_value_f32(
        Loss::BinaryCrossentropy,
        &p,
        Target::Dense(&t),
        4,
        8.059047875610752,
        8.015119552612305,
    );
    let mut g = [1.0; 4];
    Loss::BinaryCrossentropy
        .loss_grad(&p, Target::Dense(&t), 4, &mut g)
        .unwrap();
    assert_eq!(g, [0.0; 4], "clipping is flat outside [1e-7, 1 - 1e-7]");
}

#[test]
fn categorical_crossentropy_matches_keras() {
    // The row sums to 0.8: Keras normalises it first.
    let (p, t) = ([0.2, 0.5, 0.1], [0.0, 1.0, 0.0]);
    check_value(
        Loss::CategoricalCrossentropy,
        &p,
        Target::Dense(&t),
        3,
        0.4700036292457356,
    );
    check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
    let (p, t) = ([0.25, 0.6, 0.15], [0.1, 0.7, 0.2]);
    check_value(
        Loss::CategoricalCrossentropy,
        &p,
        Target::Dense(&t),
        3,
        0.8756313697253588,
    );
    check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
    let (p, t) = (
        [0.2, 0.7, 0.1, 0.3, 0.3, 0.4],
        [0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
    );
    check_value(
        Loss::CategoricalCrossentropy,
        &p,
        Target::Dense(&t),
        3,
        0.7803238741323341,
    );
    check_loss_grad(Loss::CategoricalCrossentropy, &p, Target::Dense(&t), 3);
    // A zero probability on the true class is clipped to 1e-7.
    let (p, t) = ([0.5, 0.5, 0.0], [0.0, 0.0, 1.0]);
    check_value(
        Loss::CategoricalCrossentropy,
        &p,
        Target::Dense(&t),
        3,
        16.11809565095832,
    );
}

#[test]
fn sparse_categorical_crossentropy_matches_keras() {
    let scce = Loss::SparseCategoricalCrossentropy;
    // The 0 is clipped to 1e-7 before the row is normalised: -ln(0.95 / (1 + 1e-7)).
    check_value(
        scce,
        &[0.05, 0.95, 0.0],
        Target::Class(1),
        3,
        0.05129339438754555,
    );
    check_value(
        scce,
        &[0.5, 0.5, 0.0],
        Target::Class(2),
        3,
        16.118095750958314,
    );
    check_value(
        scce,
        &[0.1, 0.8, 0.1],
        Target::Class(2),
        3,
        2.3025850929940455,
    );
    check_loss_grad(scce, &[0.1, 0.8, 0.1], Target::Class(2), 3);
    check_value(
        scce,
        &[0.2, 0.5, 0.1],
        Target::Class(0),
        3,
        1.3862943611198906,
    );
    check_loss_grad(scce, &[0.2, 0.5, 0.1], Target::Class(0), 3);
    // One label per row, given as floats like Keras's `y_true` array.
    let p = [0.2, 0.7, 0.1, 0.3, 0.3, 0.4];
    check_value(scce, &p, Target::Dense(&[1.0, 0.0]), 3, 0.7803238741323342);
    check_loss_grad(scce, &p, Target::Dense(&[1.0, 0.0]), 3);
}

#[test]
fn softmax_crossentropy_from_logits_matches_keras() {
    let cce = Loss::CategoricalCrossentropy;
    let scce = Loss::SparseCategoricalCrossentropy;
    let sm = Fused::Softmax;
    let z = [2.0, -1.0, 0.5];
    let t = [0.0, 0.0, 1.0];
    let want = 1.7413112966571571;
    assert!(rel_close(
        cce.loss_from_logits(&z, sm, Target::Dense(&t), 3).unwrap(),
        want,
        1e-12
    ));
    assert!(rel_close(
        scce.loss_from_logits(&z, sm, Target::Class(2), 3).unwrap(),
        want,
        1e-12
    ));
    let z32 = [2.0f32, -1.0, 0.5];
    let got32 = scce
        .loss_from_logits(&z32, sm, Target::Class(2), 3)
        .unwrap();
    assert!(rel_close(got32 as f64, want, 1e-5));
    check_logits_grad(cce, sm, &z, Target::Dense(&t), 3);
    check_logits_grad(scce, sm, &z, Target::Class(2), 3);

    // Smoothed targets (not summing to 1) over two rows.
    let z = [0.3, -0.4, 1.1, 1.0, 2.0, 3.0];
    let t = [0.1, 0.7, 0.2, 0.0, 0.0, 1.0];
    let got = cce.loss_from_logits(&z, sm, Target::Dense(&t), 3).unwrap();
    assert!(rel_close(got, 1.025950518632506, 1e-12), "{got}");
    check_logits_grad(cce, sm, &z, Target::Dense(&t), 3);
    check_logits_grad(
        cce,
        sm,
        &z,
        Target::Dense(&[0.1, 0.7, 0.1, 0.0, 0.5, 1.0]),
        3,
    );
    check_logits_grad(scce, sm, &z, Target::Dense(&[1.0, 2.0]), 3);
}

#[test]
fn softmax_crossentropy_survives_extreme_logits() {
    let sm = Fused::Softmax;
    let mut g = [0.0; 3];
    let got = Loss::CategoricalCrossentropy
        .loss_grad_from_logits(
            &[1000.0, 0.0, -1000.0],
            sm,
            Target::Dense(&[0.0, 0.0, 1.0]),
            3,
            &mut g,
        )
        .unwrap();
    assert_eq!(got, 2000.0); // Keras: 2000.0
    assert_eq!(g, [1.0, 0.0, -1.0]);
    let mut g32 = [0.0f32; 3];
    let got32 = Loss::SparseCategoricalCrossentropy
        .loss_grad_from_logits(
            &[-1000.0f32, 1000.0, 0.0],
            sm,
            Target::Class(0),
            3,
            &mut g32,
        )
        .unwrap();
    assert_eq!(got32, 2000.0); // Keras: 2000.0
    assert_eq!(g32, [-1.0, 1.0, 0.0]);
}

#[test]
fn sigmoid_crossentropy_from_logits_matches_keras() {
    let bce = Loss::BinaryCrossentropy;
    let sg = Fused::Sigmoid;
    let z = [-1.5, 0.8, 2.0, 0.1];
    let t = [0.0, 1.0, 1.0, 0.25];
    let got = bce.loss_from_logits(&z, sg, Target::Dense(&t), 4).unwrap();
    assert!(rel_close(got, 0.3547096537617684, 1e-12), "{got}");
    check_logits_grad(bce, sg, &z, Target::Dense(&t), 4);
    check_logits_grad(bce, sg, &z, Target::Dense(&t), 2);

    let mut g = [0.0f32; 3];
    let got = bce
        .loss_grad_from_logits(
            &[1000.0f32, -1000.0, 0.3],
            sg,
            Target::Dense(&[0.0, 0.0, 1.0]),
            3,
            &mut g,
        )
        .unwrap();
    assert!(rel_close(got as f64, 333.5181184148228, 1e-6), "{got}");
    assert!(g.iter().all(|v| v.is_finite()));
    assert!(rel_close(g[0] as f64, 1.0 / 3.0, 1e-6));
}

#[test]
fn bad_shapes_and_labels_are_errors_not_panics() {
    let mut g = [0.0; 3];
    let p = [0.2, 0.5, 0.3];
    let mse = Loss::MeanSquaredError;
    let scce = Loss::SparseCategoricalCrossentropy;
    assert_eq!(
        mse.loss(&p, Target::Dense(&[1.0, 2.0]), 3),
        Err(LossError::TargetLen {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        mse.loss(&p, Target::Dense(&p), 2),
        Err(LossError::Classes { len: 3, classes: 2 })
    );
    assert_eq!(
        mse.loss(&p, Target::Dense(&p), 0),
        Err(LossError::Classes { len: 3, classes: 0 })
    );
    assert_eq!(
        mse.loss::<f64>(&[], Target::Dense(&[]), 1),
        Err(LossError::Classes { len: 0, classes: 1 })
    );
    assert_eq!(
        mse.loss_grad(&p, Target::Dense(&p), 3, &mut g[..2]),
        Err(LossError::GradLen {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        Loss::CategoricalCrossentropy.loss(&p, Target::Class(1), 3),
        Err(LossError::ClassTarget {
            loss: "categorical_crossentropy"
        })
    );
    assert_eq!(
        scce.loss(&p, Target::Class(3), 3),
        Err(LossError::Label { row: 0, classes: 3 })
    );
    assert_eq!(
        scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Class(1), 2),
        Err(LossError::Label { row: 0, classes: 2 })
    );
    assert_eq!(
        scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[1.0, 0.5]), 2),
        Err(LossError::Label { row: 1, classes: 2 })
    );
    assert_eq!(
        scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[1.0, f64::NAN]), 2),
        Err(LossError::Label { row: 1, classes: 2 })
    );
    assert_eq!(
        scce.loss(&[0.5, 0.5, 0.1, 0.9], Target::Dense(&[-1.0, 0.0]), 2),
        Err(LossError::Label { row: 0, classes: 2 })
    );
    assert_eq!(
        mse.loss_from_logits(&p, Fused::Softmax, Target::Dense(&p), 3),
        Err(LossError::NotFused {
            loss: "mean_squared_error",
            activation: "softmax"
        })
    );
    assert_eq!(
        Loss::BinaryCrossentropy.loss_from_logits(&p, Fused::Softmax, Target::Dense(&p), 3),
        Err(LossError::NotFused {
            loss: "binary_crossentropy",
            activation: "softmax"
        })
    );
    assert_eq!(
        Loss::CategoricalCrossentropy.loss_from_logits(&p, Fused::Sigmoid, Target::Dense(&p), 3),
        Err(LossError::NotFused {
            loss: "categorical_crossentropy",
            activation: "sigmoid"
        })
    );
}

#[test]
fn names_round_trip_and_accept_keras_aliases() {
    let all = [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::BinaryCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
        Loss::huber(),
    ];
    for loss in all {
        assert_eq!(Loss::from_name(loss.name()), Some(loss));
    }
    assert_eq!(Loss::from_name("mse"), Some(Loss::MeanSquaredError));
    assert_eq!(Loss::from_name("MAE"), Some(Loss::MeanAbsoluteError));
    assert_eq!(Loss::from_name("bce"), Some(Loss::BinaryCrossentropy));
    assert_eq!(Loss::from_name("huber"), Some(Loss::Huber { delta: 1.0 }));
    assert_eq!(
        Loss::from_name("SparseCategoricalCrossentropy"),
        Some(Loss::SparseCategoricalCrossentropy)
    );
    assert_eq!(Loss::from_name("cce"), None);
}
