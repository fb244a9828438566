//! Peak stack use by stack painting: fill the free stack with a pattern, run the code, and find
//! the deepest word it overwrote.

/// The paint. A word the code writes keeps it only by chance (1 in 2^32 per word).
const PAINT: u32 = 0xC0FF_EE11;
/// Bytes left unpainted just below the stack pointer, for the painting loop and
/// the call into `f`. Any real inference goes far deeper.
const MARGIN: usize = 64;

extern "C" {
    /// The lowest address of the stack: cortex-m-rt's link.x puts it just above `.bss` and
    /// `.uninit` (there is no heap).
    static _stack_end: u32;
}

/// Runs `f` and returns its result and how many bytes of stack it used below the stack pointer
/// of the caller. `f` must not be inlined into the caller (its frame would be allocated before
/// the painting): call an `#[inline(never)]` function in it.
#[inline(always)]
pub fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let top = sp - MARGIN;
    // SAFETY: [bottom, top) is free stack: below every live frame (which are above `sp`) and
    // above all statics; no interrupt handler runs (SysTick's is not enabled).
    unsafe {
        let mut p = bottom as *mut u32;
        while (p as usize) < top {
            p.write_volatile(PAINT);
            p = p.add(1);
        }
    }
    let r = f();
    let mut deepest = top;
    // SAFETY: as above; only reads.
    unsafe {
        let mut p = bottom as *const u32;
        while (p as usize) < top {
            if p.read_volatile() != PAINT {
                deepest = p as usize;
                break;
            }
            p = p.add(1);
        }
    }
    (r, sp - deepest)
}
