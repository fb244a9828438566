//! The two Cortex-M4 DSP instructions the int8 kernels are built from: SXTB16 (two int8 → two
//! int16 lanes) and SMLAD (two 16×16 multiply-accumulates in one instruction).
//!
//! With the DSP extension each function is that one instruction (`asm!`); elsewhere it is a
//! portable emulation with the same results, so the kernels built on them are tested on the host
//! exactly as they run on the microcontroller.
//!
//! The instructions are chosen by `cfg(kiln_dsp)` (or `target_feature = "dsp"` where a compiler
//! exposes it). Stable Rust does not expose Arm's `dsp` feature to `cfg`, so kiln-core's build
//! script sets `kiln_dsp` on `thumbv7em-*` targets (Cortex-M4/M7 always have the extension);
//! other cores that have it (M33/M55) opt in with `RUSTFLAGS="--cfg kiln_dsp"`.

/// Sign-extends bytes 0 and 2 of `x` into the low and high int16 lanes of the result (`SXTB16`).
#[cfg(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp)))]
#[inline(always)]
pub fn sxtb16(x: u32) -> u32 {
    let d: u32;
    // SAFETY: a register-to-register instruction of the DSP extension this cfg requires.
    unsafe {
        core::arch::asm!("sxtb16 {d}, {x}", d = lateout(reg) d, x = in(reg) x,
            options(pure, nomem, nostack, preserves_flags));
    }
    d
}

/// Sign-extends bytes 1 and 3 of `x` into the low and high int16 lanes of the result
/// (`SXTB16` with its free rotate by 8).
#[cfg(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp)))]
#[inline(always)]
pub fn sxtb16_ror8(x: u32) -> u32 {
    let d: u32;
    // SAFETY: as `sxtb16`.
    unsafe {
        core::arch::asm!("sxtb16 {d}, {x}, ror #8", d = lateout(reg) d, x = in(reg) x,
            options(pure, nomem, nostack, preserves_flags));
    }
    d
}

/// `acc + a.lo·b.lo + a.hi·b.hi` over int16 lanes, wrapping (`SMLAD`; the hardware also sets
/// the Q flag on overflow, which nothing here reads).
#[cfg(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp)))]
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let d: i32;
    // SAFETY: as `sxtb16`. SMLAD writes only the Q flag, which is sticky and unread, so
    // `preserves_flags` (about N, Z, C, V) holds.
    unsafe {
        core::arch::asm!("smlad {d}, {a}, {b}, {acc}", d = lateout(reg) d, a = in(reg) a,
            b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack, preserves_flags));
    }
    d
}

/// Sign-extends bytes 0 and 2 of `x` into the low and high int16 lanes of the result (`SXTB16`).
#[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp))))]
#[inline(always)]
pub fn sxtb16(x: u32) -> u32 {
    let lo = x as u8 as i8 as i16 as u16 as u32;
    let hi = (x >> 16) as u8 as i8 as i16 as u16 as u32;
    lo | hi << 16
}

/// Sign-extends bytes 1 and 3 of `x` into the low and high int16 lanes of the result
/// (`SXTB16` with its free rotate by 8).
#[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp))))]
#[inline(always)]
pub fn sxtb16_ror8(x: u32) -> u32 {
    sxtb16(x.rotate_right(8))
}

/// `acc + a.lo·b.lo + a.hi·b.hi` over int16 lanes, wrapping (`SMLAD`; the hardware also sets
/// the Q flag on overflow, which nothing here reads).
#[cfg(not(all(target_arch = "arm", any(target_feature = "dsp", kiln_dsp))))]
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let lo = a as i16 as i32 * b as i16 as i32;
    let hi = (a >> 16) as i16 as i32 * (b >> 16) as i16 as i32;
    acc.wrapping_add(lo).wrapping_add(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    fn lanes(x: u32) -> (i32, i32) {
        (x as i16 as i32, (x >> 16) as i16 as i32)
    }

    fn bytes(x: u32) -> [i32; 4] {
        x.to_le_bytes().map(|b| b as i8 as i32)
    }

    #[test]
    fn sxtb16_hand_computed() {
        // Bytes (lowest first) 0x80 = -128, 0x7f, 0xff = -1, 0x01.
        let x = 0x01ff_7f80;
        assert_eq!(sxtb16(x), 0xffff_ff80);
        assert_eq!(sxtb16_ror8(x), 0x0001_007f);
        assert_eq!(smlad(0x0003_fffe, 0x0005_0007, 10), 10 - 2 * 7 + 3 * 5);
    }

    #[test]
    fn sxtb16_extends_the_bytes_it_names() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        for _ in 0..100_000 {
            let x = rng.next_u32();
            let b = bytes(x);
            assert_eq!(lanes(sxtb16(x)), (b[0], b[2]), "{x:#x}");
            assert_eq!(lanes(sxtb16_ror8(x)), (b[1], b[3]), "{x:#x}");
        }
    }

    #[test]
    fn smlad_is_two_multiply_accumulates_wrapping() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for i in 0..100_000 {
            let (a, b, acc) = (rng.next_u32(), rng.next_u32(), rng.next_u32() as i32);
            let acc = if i % 2 == 0 { acc >> 8 } else { acc };
            let ((a0, a1), (b0, b1)) = (lanes(a), lanes(b));
            let expected = (acc as i64 + (a0 * b0) as i64 + (a1 * b1) as i64) as i32;
            assert_eq!(smlad(a, b, acc), expected, "{a:#x} {b:#x} {acc}");
        }
        // -32768² + -32768² = 2^31 wraps.
        assert_eq!(smlad(0x8000_8000, 0x8000_8000, 0), i32::MIN);
    }

    #[test]
    fn two_smlads_of_sxtb16_pairs_are_a_four_byte_dot_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for _ in 0..100_000 {
            let (x, w) = (rng.next_u32(), rng.next_u32());
            let acc = smlad(sxtb16(x), sxtb16(w), 7);
            let acc = smlad(sxtb16_ror8(x), sxtb16_ror8(w), acc);
            let (bx, bw) = (bytes(x), bytes(w));
            let dot: i32 = (0..4).map(|i| bx[i] * bw[i]).sum();
            assert_eq!(acc, 7 + dot);
        }
    }
}
