//! `Observe::forward_observed`: every layer's output in order, the same result as `forward`,
//! and softmax layers shown as logits (what int8 calibration needs).

use kiln::core::Observe;
use kiln::prelude::*;

model! {
    struct Small: [6, 6, 2] => <
        Conv2D(3, 3, relu), MaxPool(2), Flatten, Dropout(0.5), Dense(4, tanh), Dense(3, softmax),
    >
}

#[test]
fn observed_layers_match_forward() {
    let net = Small::init(7);
    let mut x = [[[0f32; 2]; 6]; 6];
    for (i, v) in x.iter_mut().flatten().flatten().enumerate() {
        *v = ((i * 37 % 11) as f32 - 5.0) / 4.0;
    }
    let mut seen: Vec<(usize, &str, &str, &str, Vec<f32>)> = Vec::new();
    let y = net.forward_observed(&x, &mut |o| {
        seen.push((o.position, o.name, o.class, o.activation, o.output.to_vec()))
    });
    assert_eq!(y, net.forward(&x));
    let summary: Vec<_> = seen
        .iter()
        .map(|s| (s.0, s.1, s.2, s.3, s.4.len()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "conv2d", "Conv2D", "relu", 4 * 4 * 3),
            (2, "max_pooling2d", "MaxPooling2D", "linear", 2 * 2 * 3),
            (3, "flatten", "Flatten", "linear", 12),
            (4, "dropout", "Dropout", "linear", 12),
            (5, "dense", "Dense", "tanh", 4),
            (6, "dense_1", "Dense", "softmax", 3),
        ]
    );
    // ReLU was applied before the conv output was shown.
    assert!(seen[0].4.iter().all(|&v| v >= 0.0));
    assert!(seen[0].4.iter().any(|&v| v > 0.0));
    // Dense's input is what Flatten showed.
    let flat = &seen[2].4;
    let h: Vec<f32> = (0..4)
        .map(|o| {
            let z: f32 = net.dense.bias[o]
                + (0..12)
                    .map(|i| flat[i] * net.dense.kernel[i][o])
                    .sum::<f32>();
            z.tanh()
        })
        .collect();
    for (a, b) in h.iter().zip(&seen[4].4) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // The last layer shows logits: their softmax is the model's output.
    let logits = &seen[5].4;
    let m = logits.iter().cloned().fold(f32::MIN, f32::max);
    let e: Vec<f32> = logits.iter().map(|z| (z - m).exp()).collect();
    let sum: f32 = e.iter().sum();
    for (k, v) in e.iter().enumerate() {
        assert!((v / sum - y[k]).abs() < 1e-6);
    }
}
