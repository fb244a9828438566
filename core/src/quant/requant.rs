//! Fixed-point requantization: an int32 accumulator times a real multiplier `M`, with `M` stored
//! as a Q31 mantissa and a power-of-two exponent. Bit for bit TFLite's
//! `MultiplyByQuantizedMultiplier` and `QuantizeMultiplier` (reference kernels, `common.h` /
//! `quantization_util.cc`), so a model quantized by TFLite's converter gives TFLite's outputs.

use num_traits::float::FloatCore;

/// `acc · multiplier · 2^(shift − 31)`, rounded as TFLite rounds: TFLite's
/// `MultiplyByQuantizedMultiplier(acc, multiplier, shift)`.
///
/// The left shift (`shift > 0`) is applied before the Q31 multiply, the right shift
/// (`shift < 0`) after it. `shift` must be in `-31..=30` (what [`quantize_multiplier`] returns
/// for any multiplier below 2^30).
#[inline(always)]
pub const fn requantize(acc: i32, multiplier: i32, shift: i32) -> i32 {
    let left_shift = if shift > 0 { shift } else { 0 };
    let right_shift = if shift > 0 { 0 } else { -shift };
    let scaled = acc.wrapping_mul(1i32.wrapping_shl(left_shift as u32));
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(scaled, multiplier),
        right_shift,
    )
}

/// The high 32 bits of `2·a·b`, rounded half up; `i32::MAX` for the one overflowing input
/// `a = b = i32::MIN` (gemmlowp's `SaturatingRoundingDoublingHighMul`).
#[inline(always)]
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // `/` truncates toward zero, as C++'s does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded half away from zero (gemmlowp's `RoundingDivideByPOT`);
/// `exponent` in `0..=31`.
#[inline(always)]
pub const fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!(0 <= exponent && exponent <= 31);
    let mask = ((1u32 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// Requantizes an accumulator to an int8 activation: [`requantize`], plus the output zero
/// point, clamped to `[act_min, act_max]` (TFLite's order of operations). For the layers'
/// kernels, whose constructors rule out `multiplier == i32::MIN`: then the doubling high
/// multiply cannot saturate and needs no check (`quantize_multiplier` never returns it).
#[inline(always)]
pub(super) const fn requantize_to_i8(
    acc: i32,
    multiplier: i32,
    shift: i32,
    zero_point: i32,
    act_min: i32,
    act_max: i32,
) -> i8 {
    debug_assert!(multiplier != i32::MIN);
    let left_shift = if shift > 0 { shift } else { 0 };
    let right_shift = if shift > 0 { 0 } else { -shift };
    let scaled = acc.wrapping_mul(1i32.wrapping_shl(left_shift as u32));
    // `(ab + nudge) / 2^31` truncated, as in `saturating_rounding_doubling_high_mul`, is
    // `floor((ab + 2^30) / 2^31)` for either sign of `ab`: one arithmetic shift.
    let high = ((scaled as i64 * multiplier as i64 + (1 << 30)) >> 31) as i32;
    let v = rounding_divide_by_pot(high, right_shift).wrapping_add(zero_point);
    let v = if v < act_min { act_min } else { v };
    let v = if v > act_max { act_max } else { v };
    v as i8
}

/// [`requantize`] for the usual case of a multiplier below 1/4: `multiplier >= 0` and `shift =
/// -right_shift <= -2` (so no left shift), in one 64-bit multiply-accumulate and one shift instead
/// of a multiply, a rounding and a second rounding.
///
/// TFLite rounds twice: `high = ⌊(a·m + 2^30) / 2^31⌋`, then `⌊(high + 2^(r−1) − [high < 0]) /
/// 2^r⌋`. Since `⌊(⌊x / b⌋ + c) / d⌋ = ⌊(x + c·b) / (b·d)⌋` for integer `c`, that is `⌊(a·m + 2^30
/// + c·2^31) / 2^(31+r)⌋` with `c = 2^(r−1) − [high < 0]`: the high word of `a·m + nudge` (one
/// SMLAL) shifted right by `r − 1`. The sign test may look at `a` instead of `high`: with `m >= 0`
/// they differ only where `a·m` is in `[−2^30, 0]`, and there both choices give 0. For `r >= 2`,
/// `c` is odd exactly when `a < 0`, which gives the nudge's two words below.
#[inline(always)]
pub(super) const fn requantize_fused(acc: i32, multiplier: i32, right_shift: u32) -> i32 {
    debug_assert!(multiplier >= 0 && 2 <= right_shift && right_shift <= 31);
    let high = (1i32 << (right_shift - 2)) + (acc >> 31);
    let low = (acc as u32 & 1 << 31) | 1 << 30;
    let nudge = ((high as i64) << 32) | low as i64;
    let t = (acc as i64 * multiplier as i64).wrapping_add(nudge);
    ((t >> 32) as i32) >> (right_shift - 1)
}

/// The requantization of an int8 layer's `C` accumulators to its outputs: per-channel Q31
/// multipliers, TFLite's shifts split at build time into a left and a right shift, the output
/// zero point and the clamp. Built by [`OutputStage::new`] from [`quantize_multiplier`]'s values.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct OutputStage<const C: usize> {
    /// Per-channel Q31 multipliers.
    multiplier: [i32; C],
    /// Added after requantization.
    output_zero_point: i32,
    /// Output clamp, in int8 units.
    act_min: i32,
    /// Output clamp, in int8 units.
    act_max: i32,
    /// `max(shift, 0)`: applied before the multiply.
    left_shift: [u8; C],
    /// `max(−shift, 0)`: the rounding division after it.
    right_shift: [u8; C],
    /// Every channel has a multiplier `>= 0` and a right shift of at least 2 (what TFLite's
    /// quantizer makes for real multipliers in `(0, 1/4)`), so [`requantize_fused`] applies to
    /// all; otherwise they all take [`requantize_to_i8`]. A layer in a `static` is a constant,
    /// so the compiler keeps only the branch taken.
    fused: bool,
}

impl<const C: usize> OutputStage<C> {
    /// From [`quantize_multiplier`]'s `(multiplier, shift)` per channel, the output zero point
    /// and the clamp, all already checked by [`check_params`].
    pub(super) const fn new(
        multiplier: [i32; C],
        shift: [i32; C],
        output_zero_point: i32,
        act_min: i32,
        act_max: i32,
    ) -> Self {
        let mut left_shift = [0u8; C];
        let mut right_shift = [0u8; C];
        let mut fused = true;
        let mut c = 0;
        while c < C {
            if shift[c] > 0 {
                left_shift[c] = shift[c] as u8;
            } else {
                right_shift[c] = -shift[c] as u8;
            }
            fused &= multiplier[c] >= 0 && right_shift[c] >= 2;
            c += 1;
        }
        Self {
            multiplier,
            output_zero_point,
            act_min,
            act_max,
            left_shift,
            right_shift,
            fused,
        }
    }

    /// Channel `c`'s accumulator as an int8 output: requantized, offset, clamped.
    #[inline(always)]
    pub(super) fn output(&self, c: usize, acc: i32) -> i8 {
        let (m, left, right) = (self.multiplier[c], self.left_shift[c], self.right_shift[c]);
        if self.fused {
            let v = requantize_fused(acc, m, right as u32);
            let v = v.wrapping_add(self.output_zero_point);
            v.clamp(self.act_min, self.act_max) as i8
        } else {
            let shift = left as i32 - right as i32;
            requantize_to_i8(
                acc,
                m,
                shift,
                self.output_zero_point,
                self.act_min,
                self.act_max,
            )
        }
    }
}

/// Const-checks the requantization parameters an int8 layer is built from: zero points and clamp
/// bounds inside int8, shifts [`requantize`] accepts, multipliers other than `i32::MIN`. In a `static` a failure is a compile
/// error with the message below.
pub(super) const fn check_params(
    input_zero_point: i32,
    output_zero_point: i32,
    act_min: i32,
    act_max: i32,
    multiplier: &[i32],
    shift: &[i32],
) {
    assert!(
        -128 <= input_zero_point && input_zero_point <= 127,
        "int8 layer: input_zero_point must be in -128..=127"
    );
    assert!(
        -128 <= output_zero_point && output_zero_point <= 127,
        "int8 layer: output_zero_point must be in -128..=127"
    );
    assert!(
        -128 <= act_min && act_min <= act_max && act_max <= 127,
        "int8 layer: need -128 <= act_min <= act_max <= 127"
    );
    let mut i = 0;
    while i < shift.len() {
        assert!(
            -31 <= shift[i] && shift[i] <= 30,
            "int8 layer: every shift must be in -31..=30"
        );
        assert!(
            multiplier[i] != i32::MIN,
            "int8 layer: a multiplier is i32::MIN, which quantize_multiplier never makes"
        );
        i += 1;
    }
}

/// Splits a real multiplier into `(multiplier, shift)` with `real ≈ multiplier · 2^(shift − 31)`
/// and `multiplier` in `[2^30, 2^31)` (or 0): TFLite's `QuantizeMultiplier`, for the quantizer
/// to run on the host. Multipliers below 2^-32 become `(0, 0)`.
///
/// # Panics
/// If `real` is not finite or is 2^30 or more.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    assert!(
        real.is_finite(),
        "quantize_multiplier: {real} is not finite"
    );
    if real == 0.0 {
        return (0, 0);
    }
    let (fraction, mut shift) = frexp(real);
    let mut q = FloatCore::round(fraction * (1i64 << 31) as f64) as i64;
    debug_assert!(q.abs() <= 1 << 31);
    if q.abs() == 1 << 31 {
        q /= 2;
        shift += 1;
    }
    assert!(
        shift <= 30,
        "quantize_multiplier: {real} is too large to requantize"
    );
    if shift < -31 {
        return (0, 0);
    }
    (q as i32, shift)
}

/// C's `frexp` for finite non-zero `x`: `(f, e)` with `x = f · 2^e` and `|f|` in `[0.5, 1)`.
/// `core` has none, so it is read off the bits.
fn frexp(x: f64) -> (f64, i32) {
    const EXP_MASK: u64 = 0x7ff << 52;
    let bits = x.to_bits();
    let biased = ((bits & EXP_MASK) >> 52) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first (2^54 is exact).
        let (f, e) = frexp(x * (1u64 << 54) as f64);
        return (f, e - 54);
    }
    // Biased exponent 1022 puts the magnitude in [0.5, 1).
    let f = f64::from_bits((bits & !EXP_MASK) | (1022 << 52));
    (f, biased - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    /// An independent statement of the same rounding: the Q31 product rounded half up, then the
    /// power-of-two division rounded half away from zero, in i128 with no tricks.
    fn reference(acc: i32, multiplier: i32, shift: i32) -> i32 {
        let x = (acc as i128 * (1i128 << shift.max(0))) as i32 as i128; // wraps as TFLite's does
        let m = multiplier as i128;
        if x == i32::MIN as i128 && m == i32::MIN as i128 {
            return i32::MAX;
        }
        let high = (2 * x * m + (1i128 << 31)).div_euclid(1i128 << 32);
        let e = (-shift).max(0) as u32;
        if e == 0 {
            return high as i32;
        }
        let mag = (high.abs() + (1i128 << (e - 1))) >> e;
        (high.signum() * mag) as i32
    }

    #[test]
    fn hand_computed_values() {
        // 100 · 0.5
        assert_eq!(requantize(100, 1 << 30, 0), 50);
        // 3 · 0.5 · 4
        assert_eq!(requantize(3, 1 << 30, 2), 6);
        // ±6 · 0.5 / 2 = ±1.5: away from zero.
        assert_eq!(requantize(6, 1 << 30, -1), 2);
        assert_eq!(requantize(-6, 1 << 30, -1), -2);
        // -3 · 0.5 = -1.5 rounds half up in the Q31 multiply (-1), then -1 / 2 = -0.5 → -1.
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(requantize(-3, 1 << 30, -1), -1);
        // 3 · 0.5 = 1.5 → 2 (half up), and the division ties away from zero.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(-5, 2), -1);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        // 1000 · 0.75 / 8 = 93.75
        assert_eq!(requantize(1000, 1_610_612_736, -3), 94);
        // The one saturating case.
        assert_eq!(requantize(i32::MIN, i32::MIN, 0), i32::MAX);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
    }

    #[test]
    fn requantize_is_const() {
        const Y: i32 = requantize(100, 1 << 30, 0);
        assert_eq!(Y, 50);
    }

    #[test]
    fn requantize_matches_an_i128_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for i in 0..200_000 {
            let acc = match i % 3 {
                0 => rng.next_u32() as i32,
                1 => (rng.next_u32() as i32) >> 12,
                _ => (rng.next_u32() % 64) as i32 - 32,
            };
            let multiplier = match i % 4 {
                0 => rng.next_u32() as i32,
                _ => ((rng.next_u32() >> 1) | (1 << 30)) as i32,
            };
            let shift = (rng.next_u32() % 42) as i32 - 31;
            // Left shifts overflow large accumulators; TFLite's quantizer never produces those.
            let acc = if shift > 0 { acc >> (shift + 1) } else { acc };
            assert_eq!(
                requantize(acc, multiplier, shift),
                reference(acc, multiplier, shift),
                "acc {acc} multiplier {multiplier} shift {shift}"
            );
        }
    }

    #[test]
    fn requantize_to_i8_is_requantize_then_offset_and_clamp() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for i in 0..200_000 {
            let acc = match i % 3 {
                0 => rng.next_u32() as i32,
                1 => (rng.next_u32() as i32) >> 14,
                _ => (rng.next_u32() % 64) as i32 - 32,
            };
            let multiplier = match rng.next_u32() as i32 {
                i32::MIN => i32::MAX,
                m if i % 2 == 0 => m,
                m => (m >> 1).abs() | 1 << 30,
            };
            let shift = (rng.next_u32() % 40) as i32 - 31;
            let acc = if shift > 0 { acc >> (shift + 1) } else { acc };
            let zp = (rng.next_u32() % 256) as i32 - 128;
            let (lo, hi) = if i % 2 == 0 { (zp, 127) } else { (-128, 127) };
            let expected = requantize(acc, multiplier, shift)
                .saturating_add(zp)
                .clamp(lo, hi);
            assert_eq!(
                requantize_to_i8(acc, multiplier, shift, zp, lo, hi) as i32,
                expected,
                "acc {acc} multiplier {multiplier} shift {shift} zp {zp}"
            );
        }
    }

    #[test]
    fn requantize_fused_is_requantize_for_right_shifts_from_2() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let check = |acc: i32, multiplier: i32, shift: i32| {
            assert_eq!(
                requantize_fused(acc, multiplier, -shift as u32),
                requantize(acc, multiplier, shift),
                "acc {acc} multiplier {multiplier} shift {shift}"
            );
        };
        // The extremes: saturating accumulators, the largest multipliers, ties either side of 0.
        for acc in [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            1 << 30,
            i32::MAX,
        ] {
            for multiplier in [0, 1, 1 << 30, i32::MAX] {
                for shift in -31..=-2 {
                    check(acc, multiplier, shift);
                }
            }
        }
        for i in 0..400_000 {
            let acc = match i % 3 {
                0 => rng.next_u32() as i32,
                1 => (rng.next_u32() as i32) >> 12,
                _ => (rng.next_u32() % 64) as i32 - 32,
            };
            let multiplier = match i % 4 {
                0 => (rng.next_u32() >> 1) as i32,
                _ => ((rng.next_u32() >> 1) | 1 << 30) as i32,
            };
            // Mostly the small right shifts where ties are frequent.
            let shift = match i % 2 {
                0 => -2 - (rng.next_u32() % 4) as i32,
                _ => -2 - (rng.next_u32() % 30) as i32,
            };
            check(acc, multiplier, shift);
            // Ties of the second rounding: `high` an odd multiple of 2^(r-1).
            // (0.5 · tie · 2^r is exact, and `tie · 2^(r-1) / 2^r` is a tie.)
            let r = 2 + i % 8;
            let tie = ((rng.next_u32() % 512) as i32 - 256) * 2 + 1;
            check(tie << r, 1 << 30, -r);
        }
    }

    #[test]
    fn output_stage_matches_requantize_to_i8_fused_or_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let shifts = [
            [-2, -9, -31],
            [-2, -9, -31],
            [-2, -1, -12],
            [0, -3, -12],
            [2, -2, 1],
        ];
        for (i, shift) in shifts.into_iter().enumerate() {
            let sign = if i == 0 { 1 } else { -1 };
            let multiplier = [0; 3].map(|_| sign * ((rng.next_u32() >> 1) | 1 << 30) as i32);
            let stage = OutputStage::new(multiplier, shift, -5, -5, 127);
            assert_eq!(stage.fused, i == 0);
            for _ in 0..20_000 {
                let acc = (rng.next_u32() as i32) >> (rng.next_u32() % 32);
                for c in 0..3 {
                    let acc = if shift[c] > 0 {
                        acc >> (shift[c] + 1)
                    } else {
                        acc
                    };
                    let expected = requantize_to_i8(acc, multiplier[c], shift[c], -5, -5, 127);
                    assert_eq!(
                        stage.output(c, acc),
                        expected,
                        "acc {acc} channel {c} {shift:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn quantize_multiplier_hand_computed() {
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        assert_eq!(quantize_multiplier(0.75), (1_610_612_736, 0));
        assert_eq!(quantize_multiplier(-0.5), (-(1 << 30), 0));
        // A fraction that rounds up to 2^31 is halved and the shift bumped.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
        // Too small to represent: TFLite's (0, 0).
        assert_eq!(quantize_multiplier(2f64.powi(-40)), (0, 0));
        assert_eq!(quantize_multiplier(1e-310), (0, 0));
        // round(0.6 · 2^31) = 1288490188.8 → 1288490189.
        assert_eq!(quantize_multiplier(0.6), (1_288_490_189, 0));
    }

    #[test]
    fn frexp_matches_its_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..10_000 {
            let x = f64::from_bits(rng.next_u64());
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            let (f, e) = frexp(x);
            assert!((0.5..1.0).contains(&f.abs()), "{x}: {f}");
            assert_eq!(f.signum(), x.signum());
            // f · 2^e, in two steps so neither factor overflows.
            let back = f * 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
            assert_eq!(back, x, "{x}: ({f}, {e})");
        }
    }

    #[test]
    fn quantized_multiplier_scales_like_the_real_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20_000 {
            let unit = (rng.next_u32() >> 8) as f64 / (1u32 << 24) as f64;
            let real = 2f64.powf(unit * 30.0 - 25.0); // 2^-25 .. 2^5
            let (m, s) = quantize_multiplier(real);
            assert!((1 << 30..=i32::MAX).contains(&m), "{real}: {m}");
            let acc = ((rng.next_u32() >> 12) as i32 - (1 << 19)) >> 5;
            let exact = acc as f64 * real;
            let got = requantize(acc, m, s) as f64;
            // Mantissa rounding (2^-31 relative) plus the two roundings of half a unit each.
            assert!(
                (got - exact).abs() <= 1.0 + exact.abs() * 1e-9,
                "{acc} · {real} = {exact}, got {got}"
            );
        }
    }
}
