//! A training step runs its samples in blocks (Dense layers as one product over the block's
//! rows): the gradients must be those of running each sample alone, to rounding, with every
//! layer kind, a nested model and dropout, on a batch that is not a multiple of the block.

use kiln::core::bytemuck::zeroed_box;
use kiln::core::init::rng;
use kiln::core::losses::{Loss, Target};
use kiln::core::tensor::{flat, flat_mut};
use kiln::core::train::{Train, BLOCK};

kiln::model! {
    struct Features<f64>: [6, 6, 1] => < Conv2D(3, 3, relu), MaxPool(2), Dropout(0.2) >
}

kiln::model! {
    /// Per-sample layers, then Dense layers, with a nested model, dropout and reshapes between.
    struct Net<f64>: [6, 6, 1] => <
        Features,
        Flatten,
        Dense(8, tanh),
        Dropout(0.3),
        Reshape(2, 4),
        Dense(5, relu),
        Flatten,
        Activation(elu),
        Dense(3, softmax),
    >
}

kiln::model! {
    /// Dense first (the first layer adds parameter gradients only), no activation at the end.
    struct Mlp<f64>: [7] => < Dense(9, relu), Dropout(0.5), Dense(4), Dense(2) >
}

fn noise(i: usize, salt: u64) -> f64 {
    let h = (i as u64 ^ salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(23)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// The gradients of `xs` with categorical cross-entropy against class `s % classes`, the
/// samples run `block` at a time; sample `s` draws its dropout from generator `s`.
fn gradients<M: Train<Scalar = f64>>(m: &M, xs: &[M::Input], block: usize, loss: Loss) -> Box<M> {
    let mut grads: Box<M> = zeroed_box();
    let mut cache: Box<M::Cache> = zeroed_box();
    let classes = *M::OUTPUT_SHAPE.last().unwrap();
    let fused = M::OUTPUTS[0].activation.filter(|f| loss.fuses(*f));
    for (b, chunk) in xs.chunks(block).enumerate() {
        let mut rngs: Vec<_> = (0..chunk.len())
            .map(|s| rng((b * block + s) as u64))
            .collect();
        m.forward_train(chunk, &mut cache, &mut rngs);
        for s in 0..chunk.len() {
            let (z, y) = M::outputs(&cache);
            let (z, y) = (z[s], y[s]);
            let mut onehot = vec![0.0; classes];
            onehot[(b * block + s) % classes] = 1.0;
            let target = Target::Dense(&onehot);
            let g = flat_mut::<f64, M::Output>(&mut M::output_grad(&mut cache)[s]);
            match fused {
                Some(f) => loss.loss_grad_from_logits(flat(&z), f, target, classes, g),
                None => loss.loss_grad(flat(&y), target, classes, g),
            }
            .unwrap();
        }
        let fusion = kiln::core::train::Fusion::NONE.with(0, fused.is_some());
        m.backward(chunk, &mut cache, fusion, &mut grads, None);
    }
    grads
}

fn check<M: Train<Scalar = f64>>(loss: Loss) {
    let m = M::init(3);
    let n = 2 * BLOCK + 5;
    let mut xs: Vec<M::Input> = vec![kiln::core::bytemuck::Zeroable::zeroed(); n];
    for (s, x) in xs.iter_mut().enumerate() {
        for (i, v) in flat_mut::<f64, M::Input>(x).iter_mut().enumerate() {
            *v = noise(i, s as u64);
        }
    }
    let alone = gradients(&*m, &xs, 1, loss);
    for block in [BLOCK, 5] {
        let blocked = gradients(&*m, &xs, block, loss);
        let scale = alone.flat().iter().fold(0.0f64, |a, g| a.max(g.abs()));
        assert!(scale > 0.0);
        for (k, (a, b)) in alone.flat().iter().zip(blocked.flat()).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * scale,
                "parameter {k}, blocks of {block}: alone {a:e}, blocked {b:e}"
            );
        }
    }
}

#[test]
fn blocks_of_samples_give_the_gradients_of_samples_alone() {
    check::<Net>(Loss::CategoricalCrossentropy);
    check::<Mlp>(Loss::MeanSquaredError);
}
