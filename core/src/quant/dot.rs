//! The int8 dot-product micro-kernel under [`QConv2D`](super::QConv2D) and
//! [`QDense`](super::QDense): one input vector against one or four weight rows, four taps per
//! step. Each step loads four int8 inputs and four int8 weights per row as one word each,
//! splits them with SXTB16 into the int16 pairs (0, 2) and (1, 3), and multiplies-accumulates
//! the pairs with two SMLADs. Four rows share one input load and its two SXTB16s, as CMSIS-NN
//! blocks output channels.

use super::dsp::{smlad, sxtb16, sxtb16_ror8};

/// Four int8 values from `s[at..at + 4]` as one little-endian word (a single `LDR` on Armv7E-M,
/// which allows unaligned word loads). Copying the four bytes as one `[i8; 4]` keeps LLVM from
/// assembling the word byte by byte, which it does for four separate byte loads from a stack
/// array.
#[inline(always)]
fn load4<const N: usize>(s: &[i8; N], at: usize) -> u32 {
    let bytes: [i8; 4] = s[at..at + 4].try_into().unwrap();
    u32::from_le(bytemuck::cast(bytes))
}

/// `acc + Σ_k x[k]·w[k]` for one row. `N <= M`: taps past `N` are the row's zero padding.
#[inline(always)]
pub(super) fn dot_x1<const N: usize, const M: usize>(x: &[i8; N], w: &[i8; M], acc: i32) -> i32 {
    const { assert!(N <= M) };
    let mut acc = acc;
    for g in 0..N / 4 {
        let (a, b) = (load4(x, 4 * g), load4(w, 4 * g));
        acc = smlad(sxtb16(a), sxtb16(b), acc);
        acc = smlad(sxtb16_ror8(a), sxtb16_ror8(b), acc);
    }
    for k in N / 4 * 4..N {
        acc = acc.wrapping_add(x[k] as i32 * w[k] as i32);
    }
    acc
}

/// `acc[j] + Σ_k x[k]·w[j][k]` for four rows at once.
#[inline(always)]
pub(super) fn dot_x4<const N: usize, const M: usize>(
    x: &[i8; N],
    w: [&[i8; M]; 4],
    acc: [i32; 4],
) -> [i32; 4] {
    const { assert!(N <= M) };
    let mut acc = acc;
    // One group per iteration: unrolled by two, the eight live int16 pairs spill on Thumb.
    for g in 0..N / 4 {
        acc = group_x4(x, w, 4 * g, acc);
    }
    for k in N / 4 * 4..N {
        for (a, w) in acc.iter_mut().zip(w) {
            *a = a.wrapping_add(x[k] as i32 * w[k] as i32);
        }
    }
    acc
}

/// One step of [`dot_x4`]: taps `at..at + 4`.
#[inline(always)]
fn group_x4<const N: usize, const M: usize>(
    x: &[i8; N],
    w: [&[i8; M]; 4],
    at: usize,
    acc: [i32; 4],
) -> [i32; 4] {
    let v = load4(x, at);
    let (v02, v13) = (sxtb16(v), sxtb16_ror8(v));
    let step = |w: &[i8; M], acc: i32| {
        let w = load4(w, at);
        smlad(sxtb16_ror8(w), v13, smlad(sxtb16(w), v02, acc))
    };
    [
        step(w[0], acc[0]),
        step(w[1], acc[1]),
        step(w[2], acc[2]),
        step(w[3], acc[3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain<const N: usize, const M: usize>(x: &[i8; N], w: &[i8; M], acc: i32) -> i32 {
        acc + (0..N).map(|k| x[k] as i32 * w[k] as i32).sum::<i32>()
    }

    #[test]
    fn dot_kernels_match_plain_sums_including_the_tail() {
        let x: [i8; 7] = [1, -2, 3, -128, 127, 5, -6];
        let w: [[i8; 8]; 4] = [
            [3, 4, -5, 6, 7, -8, 9, 0],
            [-127, 127, -127, 127, -127, 127, -127, 0],
            [0; 8],
            [1, 1, 1, 1, 1, 1, 1, 0],
        ];
        for (j, row) in w.iter().enumerate() {
            assert_eq!(dot_x1(&x, row, j as i32), plain(&x, row, j as i32));
        }
        let got = dot_x4(&x, [&w[0], &w[1], &w[2], &w[3]], [10, 20, 30, 40]);
        let expected = [0, 1, 2, 3].map(|j| plain(&x, &w[j], 10 * (j as i32 + 1)));
        assert_eq!(got, expected);
        // x·w[0] by hand: 3 - 8 - 15 - 768 + 889 - 40 - 54 = 7.
        assert_eq!(dot_x1(&x, &w[0], 0), 7);
    }
}
