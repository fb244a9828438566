//! Instructions counted with SysTick under QEMU's `-icount shift=0`.
//!
//! With `-icount shift=0` QEMU's virtual clock advances exactly 1 ns per guest instruction,
//! whatever the host's speed. On the mps2 boards SysTick (clock source: the processor) runs at
//! 25 MHz of that virtual clock: one tick every 40 ns, i.e. every 40 instructions. The ratio is
//! not taken on trust: [`calibrate`] measures it on a loop of known length. An interval is then
//! `ticks × instructions per tick`, exact to one tick at each end.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// SysTick's counter is 24 bits wide.
const MASK: u32 = 0x00FF_FFFF;

/// Starts SysTick free-running from the processor clock, no interrupt.
pub fn start(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(MASK);
    syst.clear_current();
    syst.enable_counter();
}

/// The counter now. It counts down.
#[inline(always)]
pub fn now() -> u32 {
    SYST::get_current()
}

/// Ticks from `start` to `end` (two [`now`] readings). Correct while the interval is shorter
/// than one wrap of the counter: 2^24 ticks, 671 million instructions.
#[inline(always)]
pub fn ticks(start: u32, end: u32) -> u32 {
    start.wrapping_sub(end) & MASK
}

/// Runs a loop of exactly `2 × n` instructions (`subs` and `bne`, n times), for `n ≥ 1`.
#[inline(never)]
pub fn spin(n: u32) {
    // SAFETY: register-only arithmetic and a local branch.
    unsafe {
        core::arch::asm!(
            "1:", "subs {0}, #1", "bne 1b",
            inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}

/// What [`calibrate`] found.
pub struct Calibration {
    /// Instructions the two loops differ by.
    pub instructions: u32,
    /// Ticks they differ by.
    pub ticks: u32,
    /// `instructions / ticks` rounded: 40 under `-icount shift=0`.
    pub per_tick: u32,
    /// Whether `per_tick × ticks` accounts for `instructions` to within the two readings'
    /// resolution (one tick each) and `per_tick` is 40. False when QEMU runs without `-icount`.
    pub exact: bool,
}

/// Measures two loops of different lengths: the difference of their tick counts is the
/// difference of their instruction counts (the call and the readings cancel out).
pub fn calibrate() -> Calibration {
    const SHORT: u32 = 100_000;
    const LONG: u32 = 1_100_000;
    let time = |n| {
        let t0 = now();
        spin(n);
        ticks(t0, now())
    };
    let short = time(SHORT);
    let long = time(LONG);
    let instructions = 2 * (LONG - SHORT);
    let ticks = long.saturating_sub(short).max(1);
    let per_tick = (instructions + ticks / 2) / ticks;
    let exact = per_tick == 40 && instructions.abs_diff(per_tick * ticks) <= 2 * per_tick;
    Calibration {
        instructions,
        ticks,
        per_tick,
        exact,
    }
}
