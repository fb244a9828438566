//! kiln's kernels at the seed models' shapes, forward and backward, through their public APIs
//! (`Dense`, `Conv2D`, `MaxPool2D` in `kiln::core::layers`), so these benchmarks measure any
//! kernel body behind those signatures. Beside `Dense`, the same matrix products by the `gemm`
//! and `matrixmultiply` crates, in the same criterion group, for comparison.
//!
//! Throughput is `Throughput::Elements(flops)`: criterion's "elem/s" are FLOP/s, counting 2
//! FLOPs per multiply-add (`2·I·O` per row for a Dense forward, `2·OH·OW·KH·KW·CI·CO` for a
//! Conv2D forward). `backward` counts twice the forward (parameter gradients plus `dx`),
//! `backward_params` once. FLOPs are nominal: where a kernel skips zeros, work it skips still
//! counts. For max pooling, elements are input values (one comparison each).
//!
//! Inputs are dense (no zeros) so that every kernel does all of its nominal work; the
//! `*_digit_x` and `*_pooled_dy` cases add the sparsity training really sees (an MNIST-like input
//! that is ~80% zeros; a gradient behind a 2x2 max pool, zero at 3 pixels of 4).
//!
//! `recurrent` runs `LSTM` and `GRU` (their products and vectorized cells) at
//! `examples/04_mnist_lstm`'s shape.
//!
//! Run: `cargo bench --bench kernels` (a filter narrows it: `cargo bench --bench kernels dense`).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use kiln::core::activations::{Sigmoid, Tanh};
use kiln::core::bytemuck::{zeroed_box, zeroed_vec};
use kiln::core::layers::recurrent::Scratch;
use kiln::core::layers::{Conv2D, Dense, Gru, Lstm, MaxPool2D};
use kiln::core::model::BLOCK;
use kiln::core::params::Params;
use kiln::core::tensor::flat_mut;
use std::hint::black_box;
use std::time::Duration;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Fills `xs` with deterministic values in (-1, 1), none of them zero.
fn fill(seed: u64, xs: &mut [f32]) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for x in xs {
        // splitmix64
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // (k + 0.5) / 2^22 - 1 for a 23-bit k: never exactly zero.
        *x = ((z >> 41) as f32 + 0.5) / (1u32 << 22) as f32 - 1.0;
    }
}

/// A 28x28 MNIST-like digit, row-major: a ring of ink (168 of 784 pixels, 21%; MNIST averages
/// 19%) in (0, 1], zero elsewhere.
fn digit(seed: u64) -> [f32; 784] {
    let mut ink = [0.0f32; 784];
    fill(seed, &mut ink);
    let mut x = [0.0f32; 784];
    for (i, (x, ink)) in x.iter_mut().zip(ink).enumerate() {
        let (r, c) = ((i / 28) as f32 - 13.5, (i % 28) as f32 - 13.5);
        let d = (r * r + c * c).sqrt();
        if (5.5..9.0).contains(&d) {
            *x = 0.5 + 0.5 * ink.abs().max(0.01);
        }
    }
    x
}

/// Fewer samples for slow cases, so each case stays near the measurement time (criterion then
/// samples them flat).
fn sample_size(group: &mut Group<'_>, flops: u64) {
    group.sample_size(match flops {
        f if f >= 100_000_000 => 10,
        f if f >= 10_000_000 => 20,
        _ => 50,
    });
}

/// Asserts that two results of the same product agree to rounding.
fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&a, &b)) in a.iter().zip(b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * (1.0 + a.abs()),
            "{what}: element {i} is {a} vs {b}"
        );
    }
}

/// `c[m×n] = a[m×k]·b[k×n] (+ c when `accumulate`)` by `gemm`, single-threaded, with the row
/// and column strides of each matrix (in elements).
#[allow(clippy::too_many_arguments)]
fn gemm_f32(
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    (c_rs, c_cs): (usize, usize),
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    // SAFETY: the strides describe matrices inside the slices (checked above for the contiguous
    // layouts used here), and `c` does not overlap `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs as isize,
            c_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0, // dst scale, when it is read
            1.0, // product scale
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// The same as [`gemm_f32`] by `matrixmultiply::sgemm` (single-threaded by default).
#[allow(clippy::too_many_arguments)]
fn sgemm(
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    (c_rs, c_cs): (usize, usize),
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: as for `gemm_f32`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_rs as isize,
            a_cs as isize,
            b.as_ptr(),
            b_rs as isize,
            b_cs as isize,
            beta,
            c.as_mut_ptr(),
            c_rs as isize,
            c_cs as isize,
        )
    }
}

/// The product routines compared with kiln, by name.
type Gemm = fn(
    (usize, usize, usize),
    &mut [f32],
    (usize, usize),
    bool,
    &[f32],
    (usize, usize),
    &[f32],
    (usize, usize),
);
const GEMMS: [(&str, Gemm); 2] = [("gemm", gemm_f32), ("matrixmultiply", sgemm)];

/// `Dense<I, O>` with a bias on 1 row (the trainer's per-sample step), on `BLOCK` rows (a block of
/// `predict`) and on 128 rows (a batch):
/// kiln's `forward` and `backward` beside the same products by `gemm` and `matrixmultiply`, and
/// `backward_params` when `first` (the layer is a model's first, whose input needs no gradient).
fn dense<const I: usize, const O: usize>(c: &mut Criterion, first: bool) {
    let mut group = c.benchmark_group(format!("dense_{I}x{O}"));
    let mut layer: Box<Dense<f32, I, O, true>> = zeroed_box();
    fill(1, flat_mut(&mut layer.kernel));
    fill(2, &mut layer.bias);
    let kernel: &[f32] = layer.kernel.as_flattened();
    let mut grad: Box<Dense<f32, I, O, true>> = zeroed_box();

    for rows in [1, BLOCK, 128] {
        let mut x: Vec<[f32; I]> = zeroed_vec(rows);
        fill(3, x.as_flattened_mut());
        let mut dy: Vec<[f32; O]> = zeroed_vec(rows);
        fill(4, dy.as_flattened_mut());
        let mut y: Vec<[f32; O]> = zeroed_vec(rows);
        let mut dx: Vec<[f32; I]> = zeroed_vec(rows);
        let (xf, dyf) = (x.as_flattened(), dy.as_flattened());

        // The products compared: forward y = x·kernel (the bias add, O per row, left out);
        // backward grad.kernel += xᵀ·dy, grad.bias += Σ dy, dx = dy·kernelᵀ.
        let forward = |f: Gemm, y: &mut [f32]| {
            f((rows, O, I), y, (O, 1), false, xf, (I, 1), kernel, (O, 1));
        };
        let backward = |f: Gemm, gk: &mut [f32], gb: &mut [f32], dx: &mut [f32]| {
            f((I, O, rows), gk, (O, 1), true, xf, (1, I), dyf, (O, 1));
            for dy in &dy {
                gb.iter_mut().zip(dy).for_each(|(b, &d)| *b += d);
            }
            f((rows, I, O), dx, (I, 1), false, dyf, (O, 1), kernel, (1, O));
        };

        // The comparison computes what kiln computes.
        layer.forward(&x, &mut y);
        let mut bias_free: Vec<f32> = y.as_flattened().to_vec();
        for row in bias_free.chunks_mut(O) {
            row.iter_mut().zip(&layer.bias).for_each(|(v, b)| *v -= b);
        }
        let mut check: Box<Dense<f32, I, O, true>> = zeroed_box();
        layer.backward(&x, &dy, &mut dx, &mut check);
        for (name, f) in GEMMS {
            let mut y2 = vec![0.0; rows * O];
            forward(f, &mut y2);
            assert_close(&format!("{name} forward"), &bias_free, &y2);
            let (mut gk, mut gb, mut dx2) = (vec![0.0; I * O], vec![0.0; O], vec![0.0; rows * I]);
            backward(f, &mut gk, &mut gb, &mut dx2);
            assert_close(
                &format!("{name} kernel gradient"),
                check.kernel.as_flattened(),
                &gk,
            );
            assert_close(&format!("{name} bias gradient"), &check.bias, &gb);
            assert_close(&format!("{name} dx"), dx.as_flattened(), &dx2);
        }

        let flops = (2 * I * O * rows) as u64;
        group.throughput(Throughput::Elements(flops));
        sample_size(&mut group, flops);
        let id = format!("forward_b{rows}");
        group.bench_function(format!("{id}/kiln"), |b| {
            b.iter(|| black_box(&*layer).forward(black_box(&x), black_box(&mut y)))
        });
        for (name, f) in GEMMS {
            let y = y.as_flattened_mut();
            group.bench_function(format!("{id}/{name}"), |b| {
                b.iter(|| forward(f, black_box(&mut *y)))
            });
        }

        group.throughput(Throughput::Elements(2 * flops));
        sample_size(&mut group, 2 * flops);
        let id = format!("backward_b{rows}");
        group.bench_function(format!("{id}/kiln"), |b| {
            b.iter(|| {
                black_box(&*layer).backward(
                    black_box(&x),
                    black_box(&dy),
                    black_box(&mut dx),
                    black_box(&mut grad),
                )
            })
        });
        for (name, f) in GEMMS {
            let (gk, gb) = (grad.kernel.as_flattened_mut(), &mut grad.bias);
            let dx = dx.as_flattened_mut();
            group.bench_function(format!("{id}/{name}"), |b| {
                b.iter(|| {
                    backward(
                        f,
                        black_box(&mut *gk),
                        black_box(&mut *gb),
                        black_box(&mut *dx),
                    )
                })
            });
        }

        if first {
            group.throughput(Throughput::Elements(flops));
            sample_size(&mut group, flops);
            let id = format!("backward_params_b{rows}");
            group.bench_function(format!("{id}/kiln"), |b| {
                b.iter(|| {
                    Dense::backward_params(black_box(&x), black_box(&dy), black_box(&mut grad))
                })
            });
            if I == 784 && rows == 1 {
                // The MLP's first layer on an MNIST-like image: zero pixels may be skipped.
                let mut digit_x: Vec<[f32; I]> = zeroed_vec(1);
                digit_x.as_flattened_mut().copy_from_slice(&digit(5));
                group.bench_function(format!("{id}/kiln_digit_x"), |b| {
                    b.iter(|| {
                        Dense::backward_params(
                            black_box(&digit_x),
                            black_box(&dy),
                            black_box(&mut grad),
                        )
                    })
                });
            }
        }
    }
    group.finish();
}

fn dense_784x512(c: &mut Criterion) {
    dense::<784, 512>(c, true);
}

fn dense_512x10(c: &mut Criterion) {
    dense::<512, 10>(c, false);
}

fn dense_9216x128(c: &mut Criterion) {
    dense::<9216, 128>(c, false);
}

/// A 3x3, stride 1, `valid` `Conv2D` with a bias from `CI` to `CO` channels on one `H × W`
/// image: `forward`, `backward` and `backward_params`.
fn conv2d<
    const CI: usize,
    const CO: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
>(
    c: &mut Criterion,
) -> Group<'_> {
    let mut group = c.benchmark_group(format!("conv2d_3x3_{CI}to{CO}_{H}x{W}"));
    let mut layer: Box<Conv2D<f32, 3, 3, CI, CO, 1, 1, 0, 0, true>> = zeroed_box();
    fill(11, flat_mut(&mut layer.kernel));
    fill(12, &mut layer.bias);
    let mut grad: Box<Conv2D<f32, 3, 3, CI, CO, 1, 1, 0, 0, true>> = zeroed_box();
    let mut x: Box<[[[f32; CI]; W]; H]> = zeroed_box();
    fill(13, flat_mut(&mut *x));
    let mut dy: Box<[[[f32; CO]; OW]; OH]> = zeroed_box();
    fill(14, flat_mut(&mut *dy));
    let mut y: Box<[[[f32; CO]; OW]; OH]> = zeroed_box();
    let mut dx: Box<[[[f32; CI]; W]; H]> = zeroed_box();

    let flops = (2 * OH * OW * 9 * CI * CO) as u64;
    group.throughput(Throughput::Elements(flops));
    sample_size(&mut group, flops);
    group.bench_function("forward", |b| {
        b.iter(|| black_box(&*layer).forward(black_box(&*x), black_box(&mut *y)))
    });
    group.throughput(Throughput::Elements(2 * flops));
    sample_size(&mut group, 2 * flops);
    group.bench_function("backward", |b| {
        b.iter(|| {
            black_box(&*layer).backward(
                black_box(&*x),
                black_box(&*dy),
                black_box(&mut *dx),
                black_box(&mut *grad),
            )
        })
    });
    group.throughput(Throughput::Elements(flops));
    sample_size(&mut group, flops);
    group.bench_function("backward_params", |b| {
        b.iter(|| Conv2D::backward_params(black_box(&*x), black_box(&*dy), black_box(&mut *grad)))
    });

    if CI == 1 && H == 28 && W == 28 {
        // The CNN's first layer on an MNIST-like image: zero pixels may be skipped.
        let digit = digit(15);
        for (x, &v) in flat_mut::<f32, _>(&mut *x).iter_mut().zip(&digit) {
            *x = v;
        }
        group.bench_function("backward_params_digit_x", |b| {
            b.iter(|| {
                Conv2D::backward_params(black_box(&*x), black_box(&*dy), black_box(&mut *grad))
            })
        });
    } else {
        // The gradient behind a 2x2 max pool: one pixel of each window (chosen by a fixed
        // scramble) gets one, the other 3 get none.
        for (oy, row) in dy.iter_mut().enumerate() {
            for (ox, px) in row.iter_mut().enumerate() {
                let winner = (oy / 2 * 7 + ox / 2 * 3) % 4;
                if (oy % 2) * 2 + ox % 2 != winner {
                    px.fill(0.0);
                }
            }
        }
        group.throughput(Throughput::Elements(2 * flops));
        sample_size(&mut group, 2 * flops);
        group.bench_function("backward_pooled_dy", |b| {
            b.iter(|| {
                black_box(&*layer).backward(
                    black_box(&*x),
                    black_box(&*dy),
                    black_box(&mut *dx),
                    black_box(&mut *grad),
                )
            })
        });
    }
    group
}

fn conv2d_1to32(c: &mut Criterion) {
    conv2d::<1, 32, 28, 28, 26, 26>(c).finish();
}

fn conv2d_32to64(c: &mut Criterion) {
    conv2d::<32, 64, 26, 26, 24, 24>(c).finish();
}

/// The seed CNN's `MaxPool(2)` on its 24x24x64 feature map; elements are input values.
fn max_pool2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("max_pool2d_2x2_24x24x64");
    let pool = MaxPool2D::<2, 2, 2, 2, 0, 0>;
    let mut x: Box<[[[f32; 64]; 24]; 24]> = zeroed_box();
    fill(21, flat_mut(&mut *x));
    let mut dy: Box<[[[f32; 64]; 12]; 12]> = zeroed_box();
    fill(22, flat_mut(&mut *dy));
    let mut y: Box<[[[f32; 64]; 12]; 12]> = zeroed_box();
    let mut dx: Box<[[[f32; 64]; 24]; 24]> = zeroed_box();
    group.throughput(Throughput::Elements(24 * 24 * 64));
    group.bench_function("forward", |b| {
        b.iter(|| black_box(&pool).forward(black_box(&*x), black_box(&mut *y)))
    });
    group.bench_function("backward", |b| {
        b.iter(|| black_box(&pool).backward(black_box(&*x), black_box(&*dy), black_box(&mut *dx)))
    });
    group.finish();
}

/// `examples/04_mnist_lstm`'s recurrent layer on a training block: 28 steps of 28 features,
/// 128 units, an MNIST-like input; `LSTM` and `GRU`, training forward and backward (without
/// `dx`, as a first layer) and batch-1 inference. FLOPs count the products only (2 per
/// multiply-add), not the cells.
fn recurrent(c: &mut Criterion) {
    const S: usize = 28;
    const F: usize = 28;
    const U: usize = 128;
    let mut group = c.benchmark_group("recurrent_28x28_to_128");
    let mut x: Box<[[[f32; F]; S]; BLOCK]> = zeroed_box();
    for (k, sample) in x.iter_mut().enumerate() {
        *sample = kiln::core::bytemuck::cast(digit(k as u64));
    }
    let mut dy = vec![0.0f32; BLOCK * U];
    fill(31, &mut dy);
    let mut rng = kiln::core::init::rng(5);
    let products = |g: u64| 2 * BLOCK as u64 * S as u64 * (F as u64 * g + U as u64 * g);

    let mut lstm: Box<Lstm<f32, F, U, { 4 * U }, true>> = zeroed_box();
    lstm.init_params(&mut rng);
    let mut grads: Box<Lstm<f32, F, U, { 4 * U }, true>> = zeroed_box();
    let mut z: Box<[[[f32; 4 * U]; S]; BLOCK]> = zeroed_box();
    let mut cs: Box<[[[f32; U]; S]; BLOCK]> = zeroed_box();
    let mut h: Box<[[[f32; U]; S]; BLOCK]> = zeroed_box();
    let mut scratch: Box<Scratch<f32, U, { 4 * U }>> = zeroed_box();
    group.throughput(Throughput::Elements(products(4 * U as u64)));
    group.sample_size(20);
    group.bench_function("lstm/forward_train", |b| {
        b.iter(|| {
            lstm.forward_train::<Tanh, Sigmoid, S, false>(
                &x[..],
                &mut z[..],
                &mut cs[..],
                &mut h[..],
                &mut scratch,
            )
        })
    });
    group.throughput(Throughput::Elements(2 * products(4 * U as u64)));
    group.bench_function("lstm/forward_train+backward", |b| {
        b.iter(|| {
            lstm.forward_train::<Tanh, Sigmoid, S, false>(
                &x[..],
                &mut z[..],
                &mut cs[..],
                &mut h[..],
                &mut scratch,
            );
            lstm.backward::<Tanh, Sigmoid, S, false, false>(
                &x[..],
                &mut z[..],
                &mut cs[..],
                &h[..],
                &dy,
                None,
                &mut grads,
                &mut scratch,
            );
        })
    });
    let mut y = [0.0f32; U];
    group.throughput(Throughput::Elements(products(4 * U as u64) / BLOCK as u64));
    group.bench_function("lstm/forward_batch_1", |b| {
        b.iter(|| lstm.forward::<Tanh, Sigmoid, S, false, false, 1>(black_box(&x[..1]), &mut y))
    });

    let mut gru: Box<Gru<f32, F, U, { 3 * U }, true>> = zeroed_box();
    gru.init_params(&mut rng);
    let mut g_grads: Box<Gru<f32, F, U, { 3 * U }, true>> = zeroed_box();
    let mut gx: Box<[[[f32; 3 * U]; S]; BLOCK]> = zeroed_box();
    let mut gr: Box<[[[f32; 3 * U]; S]; BLOCK]> = zeroed_box();
    let mut g_scratch: Box<Scratch<f32, U, { 3 * U }>> = zeroed_box();
    group.throughput(Throughput::Elements(2 * products(3 * U as u64)));
    group.bench_function("gru/forward_train+backward", |b| {
        b.iter(|| {
            gru.forward_train::<Tanh, Sigmoid, S, false>(
                &x[..],
                &mut gx[..],
                &mut gr[..],
                &mut h[..],
                &mut g_scratch,
            );
            gru.backward::<Tanh, Sigmoid, S, false, false>(
                &x[..],
                &mut gx[..],
                &mut gr[..],
                &h[..],
                &dy,
                None,
                &mut g_grads,
                &mut g_scratch,
            );
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = kernels;
    config = config();
    targets = dense_784x512, dense_512x10, dense_9216x128, conv2d_1to32, conv2d_32to64, max_pool2d,
        recurrent
}
criterion_main!(kernels);
