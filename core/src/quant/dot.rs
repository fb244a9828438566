//! The int8 dot-product micro-kernels under [`QConv2D`](super::QConv2D) and
//! [`QDense`](super::QDense), four taps per step: SXTB16 splits four int8 values (one word) into
//! the int16 pairs (0, 2) and (1, 3), and two SMLADs multiply-accumulate the pairs.
//!
//! - [`dot_x1`], [`dot_x4`]: one input vector against one or four weight rows; four rows share
//!   one input load and its two SXTB16s, as CMSIS-NN blocks output channels (Dense).
//! - [`dot_wide_x4`]: a [`WideBlock`] (four im2col patches extended to int16 once) against one
//!   weight row; the four share one weight load and its two SXTB16s, so each tap of each patch
//!   costs half an SMLAD and a quarter of a word load (Conv2D, four output pixels at a time).

use super::dsp::{smlad, sxtb16, sxtb16_ror8};

/// Four int8 values from `s[at..at + 4]` as one little-endian word (a single `LDR` on Armv7E-M,
/// which allows unaligned word loads). Copying the four bytes as one `[i8; 4]` keeps LLVM from
/// assembling the word byte by byte, which it does for four separate byte loads from a stack
/// array.
#[inline(always)]
pub(super) fn load4<const N: usize>(s: &[i8; N], at: usize) -> u32 {
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

/// Four im2col patches of `K4` int8 taps each (four output pixels), sign-extended to int16 and
/// interleaved for [`dot_wide_x4`]: for each group `g` of four taps, the four patches' pairs
/// `(x0, x2)`, `(x1, x3)` (as SXTB16 and its rotated form make them from one word) side by side,
/// so one group of all four patches is 32 contiguous bytes, read with one advancing pointer.
/// A convolution reads the block once per output channel, so extending it once saves those
/// SXTB16s per channel. `K4` is a multiple of 4; word-aligned so that a group can be loaded with
/// two `LDM`s (which, unlike `LDR`, need aligned addresses).
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug)]
pub(super) struct WideBlock<const K4: usize>([[i16; K4]; 4]);

impl<const K4: usize> WideBlock<K4> {
    /// All taps 0: a buffer to extend into.
    pub(super) const ZERO: Self = Self([[0; K4]; 4]);

    /// Sets taps `4g..4g + 4` of patch `p` from four int8 taps packed in the word `v` (as
    /// [`load4`] reads them).
    #[inline(always)]
    pub(super) fn set_group(&mut self, p: usize, g: usize, v: u32) {
        let pairs: [i16; 4] = bytemuck::cast([sxtb16(v), sxtb16_ror8(v)]);
        let at = 16 * g + 4 * p;
        self.0.as_flattened_mut()[at..at + 4].copy_from_slice(&pairs);
    }

    /// Sets all of patch `p` from its int8 taps.
    #[inline(always)]
    pub(super) fn set_patch(&mut self, p: usize, patch: &[i8; K4]) {
        for g in 0..K4 / 4 {
            self.set_group(p, g, load4(patch, 4 * g));
        }
    }
}

/// `acc + Σ_k x[p][k]·w[k]` for the four patches `p` of `x` against one weight row (`K4` a
/// multiple of 4; padding taps have weight 0). Per group of four taps: one weight load, two
/// SXTB16s, eight SMLADs and the patches' eight words.
#[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp))))]
#[inline(always)]
pub(super) fn dot_wide_x4<const K4: usize>(x: &WideBlock<K4>, w: &[i8; K4], acc: i32) -> [i32; 4] {
    let mut acc = [acc; 4];
    for (w, x) in w.chunks_exact(4).zip(x.0.as_flattened().chunks_exact(16)) {
        let v = u32::from_le(bytemuck::cast::<[i8; 4], u32>(w.try_into().unwrap()));
        let (w02, w13) = (sxtb16(v), sxtb16_ror8(v));
        let x: [u32; 8] = bytemuck::cast::<[i16; 16], _>(x.try_into().unwrap());
        for (p, a) in acc.iter_mut().enumerate() {
            *a = smlad(w13, x[2 * p + 1], smlad(w02, x[2 * p], *a));
        }
    }
    acc
}

/// `acc + Σ_k x[p][k]·w[k]` for the four patches `p` of `x` against one weight row (`K4` a
/// multiple of 4; padding taps have weight 0): the portable version's loop, written out as
/// assembly because LLVM hoists the patch loads ahead of the SMLADs and then spills the
/// accumulators (26 instructions per group instead of these 15: LDR, 2 SXTB16, 2 LDM of four
/// words, 8 SMLAD, CMP, BNE).
#[cfg(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp)))]
#[inline(always)]
pub(super) fn dot_wide_x4<const K4: usize>(x: &WideBlock<K4>, w: &[i8; K4], acc: i32) -> [i32; 4] {
    let [mut a0, mut a1, mut a2, mut a3] = [acc; 4];
    if K4 >= 4 {
        let x = x.0.as_flattened().as_ptr_range();
        // SAFETY: reads only `w` (K4 bytes, 4 per group; LDR allows any alignment) and `x`
        // (32 bytes per group, word-aligned as LDM needs), both borrowed for this call: the
        // loop runs once per group, K4 / 4 >= 1 times, until `px` reaches the block's end.
        // Writes only the registers named; CMP sets the flags, so `preserves_flags` is not
        // claimed.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {w13}, [{pw}], #4",
                "sxtb16 {w02}, {w13}",
                "sxtb16 {w13}, {w13}, ror #8",
                "ldm {px}!, {{r0, r1, r2, r3}}",
                "smlad {a0}, {w02}, r0, {a0}",
                "smlad {a0}, {w13}, r1, {a0}",
                "smlad {a1}, {w02}, r2, {a1}",
                "smlad {a1}, {w13}, r3, {a1}",
                "ldm {px}!, {{r0, r1, r2, r3}}",
                "smlad {a2}, {w02}, r0, {a2}",
                "smlad {a2}, {w13}, r1, {a2}",
                "smlad {a3}, {w02}, r2, {a3}",
                "smlad {a3}, {w13}, r3, {a3}",
                "cmp {px}, {end}",
                "bne 2b",
                pw = inout(reg) w.as_ptr() => _,
                px = inout(reg) x.start => _,
                end = in(reg) x.end,
                w02 = out(reg) _,
                w13 = out(reg) _,
                // LDM fills its registers in ascending order: pairs of patch 2j in r0, r1 and of
                // patch 2j + 1 in r2, r3.
                out("r0") _,
                out("r1") _,
                out("r2") _,
                out("r3") _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                options(readonly, nostack),
            );
        }
    }
    [a0, a1, a2, a3]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

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

    #[test]
    fn dot_wide_x4_matches_plain_sums() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for _ in 0..1000 {
            let xs: [[i8; 12]; 4] = [[0; 12]; 4].map(|r| r.map(|_| rng.next_u32() as i8));
            let w: [i8; 12] = [0; 12].map(|_| rng.next_u32() as i8);
            let mut wide = WideBlock::ZERO;
            for (p, x) in xs.iter().enumerate() {
                wide.set_patch(p, x);
            }
            let acc = rng.next_u32() as i32 >> 8;
            assert_eq!(dot_wide_x4(&wide, &w, acc), xs.map(|x| plain(&x, &w, acc)));
        }
    }
}
