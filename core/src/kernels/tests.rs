//! Every vector path against the scalar one, on every instruction set this CPU has (the others
//! are skipped, not failed), through the same `Kernels` methods the layers call.
//!
//! Sums run in another order in the vector paths, so products are compared to a relative
//! `1e-5`; the pools do no arithmetic but in the scalar order, so they must agree exactly.

extern crate std;

use super::{with_isa, Isa, Kernels, Shape2d, Window2d};
use crate::init::{rng, uniform01};
use std::vec::Vec;
use std::{eprintln, format, vec};

/// The largest relative error allowed between a vector path and the scalar one.
const TOLERANCE: f32 = 1e-5;

/// `n` pseudo-random values in `[-1, 1)`, a fifth of them zero when `zeros`.
fn random(seed: u64, n: usize, zeros: bool) -> Vec<f32> {
    let mut r = rng(seed);
    (0..n)
        .map(|_| {
            let v = 2.0 * uniform01(&mut r) - 1.0;
            if zeros && v.abs() < 0.2 {
                0.0
            } else {
                v as f32
            }
        })
        .collect()
}

/// Asserts `|got - want| <= TOLERANCE · max(|want|, 1)` everywhere.
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOLERANCE * w.abs().max(1.0),
            "{what}[{i}]: {g} vs scalar {w}"
        );
    }
}

/// Runs `check(isa, what)` for every vector instruction set the CPU has.
fn for_each_vector_isa(mut check: impl FnMut(Isa, &str)) {
    for isa in Isa::ALL.into_iter().filter(|&isa| isa != Isa::Scalar) {
        if isa.is_available() {
            check(isa, isa.name());
        } else {
            eprintln!(
                "skipped {}: not on this CPU or not in this build",
                isa.name()
            );
        }
    }
}

/// Checks the three Dense kernels on `rows` rows, with and without a bias.
fn check_dense<const I: usize, const O: usize>(rows: usize, seed: u64) {
    let kernel_v = random(seed, I * O, false);
    let kernel: &[[f32; O]; I] = bytemuck::cast_slice::<f32, [f32; O]>(&kernel_v)
        .try_into()
        .unwrap();
    let bias_v = random(seed + 1, O, false);
    let bias: &[f32; O] = bias_v.as_slice().try_into().unwrap();
    let x_v = random(seed + 2, rows * I, true);
    let x: &[[f32; I]] = bytemuck::cast_slice(&x_v);
    let dy_v = random(seed + 3, rows * O, true);
    let dy: &[[f32; O]] = bytemuck::cast_slice(&dy_v);
    let grad0 = random(seed + 4, I * O + O, false);

    let run = |isa: Isa, with_bias: bool| {
        with_isa(isa, || {
            let mut y = vec![[f32::NAN; O]; rows];
            f32::dense_forward(kernel, with_bias.then_some(bias), x, &mut y);
            let mut g_kernel = vec![[0.0f32; O]; I];
            bytemuck::cast_slice_mut::<_, f32>(&mut g_kernel).copy_from_slice(&grad0[..I * O]);
            let mut g_bias: [f32; O] = grad0[I * O..].try_into().unwrap();
            let g_kernel_arr: &mut [[f32; O]; I] = g_kernel.as_mut_slice().try_into().unwrap();
            f32::dense_backward_params(x, dy, g_kernel_arr, with_bias.then_some(&mut g_bias));
            let mut dx = vec![[f32::NAN; I]; rows];
            f32::dense_backward_input(kernel, dy, &mut dx);
            let flat = |v: &[f32]| v.to_vec();
            (
                flat(bytemuck::cast_slice(&y)),
                flat(bytemuck::cast_slice(&g_kernel)),
                g_bias.to_vec(),
                flat(bytemuck::cast_slice(&dx)),
            )
        })
    };
    for with_bias in [true, false] {
        let want = run(Isa::Scalar, with_bias);
        for_each_vector_isa(|isa, name| {
            let got = run(isa, with_bias);
            let what = |part: &str| {
                format!("dense {I}x{O}, {rows} rows, bias {with_bias}, {name}: {part}")
            };
            assert_close(&what("y"), &got.0, &want.0);
            assert_close(&what("grad kernel"), &got.1, &want.1);
            assert_close(&what("grad bias"), &got.2, &want.2);
            assert_close(&what("dx"), &got.3, &want.3);
        });
    }
}

#[test]
fn dense_matches_scalar_at_sizes_off_the_vector_width() {
    check_dense::<1, 1>(1, 1);
    check_dense::<3, 7>(2, 2);
    check_dense::<17, 15>(1, 3);
    check_dense::<16, 16>(3, 4);
    check_dense::<33, 17>(7, 5);
    check_dense::<5, 33>(1, 6);
    check_dense::<40, 100>(13, 7);
    check_dense::<129, 70>(2, 8);
    check_dense::<70, 129>(6, 9);
    check_dense::<200, 64>(1, 10);
}

/// The forward pass on many rows whose zeros fall in runs (every row zero in some inputs, a few
/// rows in others, as MNIST's borders and strokes are): against the scalar path, and row by
/// row against the same row alone, which must be the very same floats (`predict` relies on it).
fn check_dense_rows_alone<const I: usize, const O: usize>(rows: usize, seed: u64) {
    let kernel_v = random(seed, I * O, false);
    let kernel: &[[f32; O]; I] = bytemuck::cast_slice::<f32, [f32; O]>(&kernel_v)
        .try_into()
        .unwrap();
    let bias_v = random(seed + 1, O, false);
    let bias: &[f32; O] = bias_v.as_slice().try_into().unwrap();
    let mut x = vec![[0.0f32; I]; rows];
    for (r, row) in x.iter_mut().enumerate() {
        let v = random(seed + 2 + r as u64, I, true);
        for (i, (x, v)) in row.iter_mut().zip(v).enumerate() {
            // Inputs 0..I/5 zero everywhere; in the rest, each row has its own zero stripes.
            if i >= I / 5 && (i / 7 + r) % 3 != 0 {
                *x = v;
            }
        }
    }
    let forward = |isa: Isa, x: &[[f32; I]]| {
        with_isa(isa, || {
            let mut y = vec![[f32::NAN; O]; x.len()];
            f32::dense_forward(kernel, Some(bias), x, &mut y);
            y
        })
    };
    let want = forward(Isa::Scalar, &x);
    for isa in Isa::ALL.into_iter().filter(|isa| isa.is_available()) {
        let all = forward(isa, &x);
        let what = format!("dense {I}x{O}, {rows} rows, {}", isa.name());
        assert_close(&what, all.as_flattened(), want.as_flattened());
        for r in 0..rows {
            let alone = forward(isa, &x[r..r + 1]);
            assert_eq!(alone[0], all[r], "{what}: row {r} alone");
        }
    }
}

#[test]
fn dense_forward_of_a_row_does_not_depend_on_the_rows_beside_it() {
    // Wide enough for the tiles to skip zero inputs on every instruction set, with more rows
    // than one group of tiles and more inputs than one block.
    check_dense_rows_alone::<800, 260>(61, 11);
    check_dense_rows_alone::<130, 10>(33, 12);
    check_dense_rows_alone::<100, 100>(7, 13);
}

/// Checks the three Conv2D kernels on the geometry `G`, with and without a bias; `dy` has some
/// all-zero pixels, which the vector paths skip too.
fn check_conv<G: Shape2d>(seed: u64) {
    let kernel = random(seed, G::KH * G::KW * G::CI * G::CO, false);
    let bias = random(seed + 1, G::CO, false);
    let x = random(seed + 2, G::H * G::W * G::CI, true);
    let mut dy = random(seed + 3, G::OH * G::OW * G::CO, true);
    for pixel in dy.chunks_exact_mut(G::CO).step_by(3) {
        pixel.fill(0.0);
    }
    let grad0 = random(seed + 4, kernel.len() + G::CO, false);

    let run = |isa: Isa, with_bias: bool| {
        with_isa(isa, || {
            let mut y = vec![f32::NAN; G::OH * G::OW * G::CO];
            f32::conv2d_forward::<G>(&kernel, with_bias.then_some(&bias[..]), &x, &mut y);
            let (mut g_kernel, mut g_bias) = (
                grad0[..kernel.len()].to_vec(),
                grad0[kernel.len()..].to_vec(),
            );
            f32::conv2d_backward_params::<G>(
                &x,
                &dy,
                &mut g_kernel,
                with_bias.then_some(&mut g_bias[..]),
            );
            let mut dx = vec![f32::NAN; x.len()];
            f32::conv2d_backward_input::<G>(&kernel, &dy, &mut dx);
            (y, g_kernel, g_bias, dx)
        })
    };
    for with_bias in [true, false] {
        let want = run(Isa::Scalar, with_bias);
        for_each_vector_isa(|isa, name| {
            let got = run(isa, with_bias);
            let what =
                |part: &str| {
                    format!(
                    "conv2d {}x{}x{} -> {}x{}x{}, kernel {}x{}, strides {}x{}, pad {}/{}, bias \
                     {with_bias}, {name}: {part}",
                    G::H, G::W, G::CI, G::OH, G::OW, G::CO, G::KH, G::KW, G::SH, G::SW, G::PT, G::PL
                )
                };
            assert_close(&what("y"), &got.0, &want.0);
            assert_close(&what("grad kernel"), &got.1, &want.1);
            assert_close(&what("grad bias"), &got.2, &want.2);
            assert_close(&what("dx"), &got.3, &want.3);
        });
    }
}

/// `Window2d` with the parameters in the order of the Conv2D layer: kernel, channels, strides,
/// padding, then input and output size.
type Conv<
    const KH: usize,
    const KW: usize,
    const CI: usize,
    const CO: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
> = Window2d<H, W, CI, CO, KH, KW, SH, SW, PT, PL, OH, OW>;

#[test]
fn conv2d_valid_stride_one_matches_scalar_for_odd_channel_counts() {
    // 6 x 7, 3 x 3 valid -> 4 x 5, for CO off the vector widths.
    check_conv::<Conv<3, 3, 3, 1, 1, 1, 0, 0, 6, 7, 4, 5>>(1);
    check_conv::<Conv<3, 3, 3, 7, 1, 1, 0, 0, 6, 7, 4, 5>>(2);
    check_conv::<Conv<3, 3, 3, 15, 1, 1, 0, 0, 6, 7, 4, 5>>(3);
    check_conv::<Conv<3, 3, 3, 17, 1, 1, 0, 0, 6, 7, 4, 5>>(4);
    check_conv::<Conv<3, 3, 5, 33, 1, 1, 0, 0, 6, 7, 4, 5>>(5);
    check_conv::<Conv<3, 3, 20, 100, 1, 1, 0, 0, 6, 7, 4, 5>>(6);
}

#[test]
fn conv2d_like_the_seed_cnn_matches_scalar() {
    // Conv2D(32, 3) on one channel, then Conv2D(64, 3) on 32, smaller images.
    check_conv::<Conv<3, 3, 1, 32, 1, 1, 0, 0, 12, 14, 10, 12>>(7);
    check_conv::<Conv<3, 3, 32, 64, 1, 1, 0, 0, 9, 10, 7, 8>>(8);
}

#[test]
fn conv2d_same_padding_matches_scalar() {
    // same, stride 1: 5 x 5, K 3 -> PT = PL = 1.
    check_conv::<Conv<3, 3, 2, 17, 1, 1, 1, 1, 5, 5, 5, 5>>(9);
    // same, stride 2: 6 x 7, K 3 -> 3 x 4, pad H 1 (top 0), pad W 2 (left 1).
    check_conv::<Conv<3, 3, 3, 33, 2, 2, 0, 1, 6, 7, 3, 4>>(10);
    // same, K (3, 2), strides (2, 3) on 7 x 10 -> 4 x 4, PT 1, PL 0: asymmetric everything.
    check_conv::<Conv<3, 2, 3, 4, 2, 3, 1, 0, 7, 10, 4, 4>>(11);
    // same, K 5 on 4 x 4: PT = PL = 2, every window hangs over an edge.
    check_conv::<Conv<5, 5, 3, 16, 1, 1, 2, 2, 4, 4, 4, 4>>(12);
    // same, K 4 (even) stride 1 on 6 x 5: pad 3, top/left 1, bottom/right 2.
    check_conv::<Conv<4, 4, 7, 9, 1, 1, 1, 1, 6, 5, 6, 5>>(13);
}

#[test]
fn conv2d_strides_and_small_kernels_match_scalar() {
    // valid, stride 2: 7 x 9, K 3 -> 3 x 4.
    check_conv::<Conv<3, 3, 4, 15, 2, 2, 0, 0, 7, 9, 3, 4>>(14);
    // valid, strides (1, 2), K (2, 3) on 5 x 8 -> 4 x 3.
    check_conv::<Conv<2, 3, 6, 31, 1, 2, 0, 0, 5, 8, 4, 3>>(15);
    // 1 x 1 kernels, stride 1 and 2.
    check_conv::<Conv<1, 1, 19, 65, 1, 1, 0, 0, 3, 4, 3, 4>>(16);
    check_conv::<Conv<1, 1, 8, 8, 2, 2, 0, 0, 5, 5, 3, 3>>(17);
    // A kernel wider than most rows: 1 x 6 valid on 2 x 9 -> 2 x 4.
    check_conv::<Conv<1, 6, 2, 3, 1, 1, 0, 0, 2, 9, 2, 4>>(18);
}

#[test]
fn conv2d_with_many_pixels_fills_several_sum_blocks() {
    // 20 x 20 -> 18 x 18 = 324 pixels, more than one block of the kernel-gradient sums.
    check_conv::<Conv<3, 3, 2, 5, 1, 1, 0, 0, 20, 20, 18, 18>>(19);
}

/// Checks the pools on the geometry `G` (`CO = CI`), exactly, on values with many ties.
fn check_pool<G: Shape2d>(seed: u64) {
    // Quarters in [-2, 2]: ties in most windows.
    let x: Vec<f32> = random(seed, G::H * G::W * G::CI, false)
        .iter()
        .map(|v| (v * 8.0).round() / 4.0)
        .collect();
    let dy = random(seed + 1, G::OH * G::OW * G::CO, false);
    let run = |isa: Isa| {
        with_isa(isa, || {
            let mut out = [
                vec![f32::NAN; dy.len()],
                vec![f32::NAN; x.len()],
                vec![],
                vec![],
            ];
            f32::max_pool2d_forward::<G>(&x, &mut out[0]);
            f32::max_pool2d_backward::<G>(&x, &dy, &mut out[1]);
            out[2] = vec![f32::NAN; dy.len()];
            f32::avg_pool2d_forward::<G>(&x, &mut out[2]);
            out[3] = vec![f32::NAN; x.len()];
            f32::avg_pool2d_backward::<G>(&dy, &mut out[3]);
            out
        })
    };
    let want = run(Isa::Scalar);
    for_each_vector_isa(|isa, name| {
        let got = run(isa);
        for (part, (g, w)) in ["max y", "max dx", "avg y", "avg dx"]
            .iter()
            .zip(got.iter().zip(&want))
        {
            assert!(
                g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()),
                "pool {}x{}x{} window {}x{} strides {}x{} pad {}/{}, {name}: {part} differs",
                G::H,
                G::W,
                G::CI,
                G::KH,
                G::KW,
                G::SH,
                G::SW,
                G::PT,
                G::PL
            );
        }
    });
}

/// `Window2d` with the parameters in the order of the pool layers: window, strides, padding,
/// then input size, channels and output size.
type Pool<
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const H: usize,
    const W: usize,
    const C: usize,
    const OH: usize,
    const OW: usize,
> = Window2d<H, W, C, C, PH, PW, SH, SW, PT, PL, OH, OW>;

#[test]
fn pools_match_scalar_exactly() {
    // The seed CNN's MaxPool(2) on 64 channels, smaller.
    check_pool::<Pool<2, 2, 2, 2, 0, 0, 6, 6, 64, 3, 3>>(1);
    // Channels off the vector widths, same padding bottom/right and all round.
    check_pool::<Pool<2, 2, 2, 2, 0, 0, 5, 5, 7, 3, 3>>(2);
    check_pool::<Pool<3, 3, 1, 1, 1, 1, 4, 5, 17, 4, 5>>(3);
    check_pool::<Pool<3, 3, 2, 2, 0, 1, 6, 7, 33, 3, 4>>(4);
    // Overlapping, non-square windows and unequal strides.
    check_pool::<Pool<3, 2, 2, 1, 0, 0, 7, 5, 1, 3, 4>>(5);
    check_pool::<Pool<2, 3, 1, 2, 0, 0, 2, 4, 20, 2, 2>>(6);
}

#[test]
fn isa_names_round_trip_and_the_chosen_one_is_available() {
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
    }
    assert_eq!(Isa::from_name("sse2"), None);
    assert!(super::isa().is_available());
    assert!(Isa::Scalar.is_available());
    with_isa(Isa::Scalar, || assert_eq!(super::isa(), Isa::Scalar));
    for isa in Isa::available() {
        assert_eq!(with_isa(isa, super::isa), isa);
    }
}

#[test]
fn dense_kernel_gradient_skips_zero_inputs_against_an_infinite_dy_on_every_path() {
    // Rows [0, 1] and [0, 2], then the first alone: input 0 is zero, so its kernel row gets
    // nothing, not `0 · inf = NaN`; the bias and input 1's row take the infinity. 17 outputs: a
    // register and a float past it on every path.
    let x = [[0.0f32, 1.0], [0.0, 2.0]];
    let mut dy = [[1.0f32; 17]; 2];
    dy[0][16] = f32::INFINITY;
    for (rows, row_sum) in [(1, 1.0), (2, 3.0)] {
        for isa in Isa::available() {
            with_isa(isa, || {
                let mut kernel = [[0.0f32; 17]; 2];
                let mut bias = [0.0f32; 17];
                let (x, dy) = (&x[..rows], &dy[..rows]);
                f32::dense_backward_params(x, dy, &mut kernel, Some(&mut bias));
                assert_eq!(kernel[0], [0.0; 17], "{isa:?}, {rows} rows");
                assert_eq!(kernel[1][..16], [row_sum; 16], "{isa:?}, {rows} rows");
                assert_eq!(kernel[1][16], f32::INFINITY, "{isa:?}, {rows} rows");
                assert_eq!(bias[16], f32::INFINITY, "{isa:?}, {rows} rows");
            });
        }
    }
}
