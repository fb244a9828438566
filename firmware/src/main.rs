//! kiln's MNIST CNN on QEMU's mps2-an386 (Cortex-M4F), no heap, weights in flash: runs the first
//! 200 MNIST test digits and prints the predictions, the accuracy, the agreement with the host
//! build of the same model, instructions per inference, the peak stack of one inference and the
//! arena size. Exits 0 only if the predictions agree with the host's exactly (int8) or the
//! accuracy is within 0.5 percentage points of the host's (f32). README.md says how to read it.
#![no_std]
#![no_main]

mod clock;
mod stack;

/// `println!` to the host's standard output over semihosting, one write per line.
macro_rules! say {
    ($($t:tt)*) => {{
        let mut line = Line { buf: [0; 192], len: 0 };
        let _ = fmt::Write::write_fmt(&mut line, format_args!($($t)*));
        line.end();
    }};
}

use core::fmt;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hio};
use kiln::Infer;

include!("model.rs");

/// The test digits build.rs extracted: `N` of them, labels and the host's predictions.
const N: usize = 200;

// The test set sits in its own section (memory.x) so flash figures can leave it out. The digits
// are stored as the model's input (int8: quantized with its input scale and zero point, as
// the peer firmware stores them; f32: x / 255), prepared by build.rs with `input()`.
#[link_section = ".kiln_testdata"]
static INPUTS: [Input; N] =
    // SAFETY: build.rs wrote `N` inputs' bytes (`bytemuck::bytes_of`), and an input is plain
    // int8 or f32 arrays, for which every bit pattern is a value.
    unsafe { core::mem::transmute(*include_bytes!(concat!(env!("OUT_DIR"), "/inputs.bin"))) };
#[link_section = ".kiln_testdata"]
static LABELS: [u8; N] = *include_bytes!(concat!(env!("OUT_DIR"), "/labels.u8"));
#[link_section = ".kiln_testdata"]
static HOST: [u8; N] = *include_bytes!(concat!(env!("OUT_DIR"), "/expected.u8"));

type Input = <Net as Infer>::Input;
type Output = <Net as Infer>::Output;

/// What runs an inference: the model (a `static` in flash) and its arena (a `static` in RAM,
/// `ARENA_BYTES` long, planned by the macro).
struct Engine {
    net: &'static Net,
    arena: &'static mut kiln::Arena<Net>,
}

impl Engine {
    fn new() -> Self {
        Engine {
            net: Net::weights(),
            arena: cortex_m::singleton!(: kiln::Arena<Net> = kiln::Arena::new())
                .expect("Engine::new runs once"),
        }
    }

    /// One inference. Never inlined, so its frame is below the caller's stack pointer when the
    /// stack is measured, and its instructions are those timed.
    #[inline(never)]
    fn infer(&mut self, x: &Input) -> &Output {
        self.net.infer(self.arena, x)
    }
}

#[entry]
fn main() -> ! {
    let mut cp = cortex_m::Peripherals::take().unwrap();
    clock::start(&mut cp.SYST);
    let cal = clock::calibrate();
    let mut engine = Engine::new();
    say!("kiln MNIST CNN ({KIND}) on mps2-an386 (Cortex-M4F), {N} test digits");

    let (_, stack) = stack::peak(|| {
        engine.infer(&INPUTS[0]);
    });

    let mut pred = [0u8; N];
    // u32 throughout: 200 inferences of a few million instructions fit, and u64 formatting and
    // division would add a kilobyte of flash.
    let (mut total, mut min, mut max) = (0u32, u32::MAX, 0u32);
    for (p, x) in pred.iter_mut().zip(&INPUTS) {
        let t0 = clock::now();
        let out = engine.infer(x);
        let t = clock::ticks(t0, clock::now());
        *p = class(out);
        total += t;
        (min, max) = (min.min(t), max.max(t));
    }

    for i in (0..N).step_by(20) {
        let r = i..(i + 20).min(N);
        say!(
            "{:3}..{:3}  kiln {}  label {}  host {}",
            r.start,
            r.end,
            Classes(&pred[r.clone()]),
            Classes(&LABELS[r.clone()]),
            Classes(&HOST[r.clone()]),
        );
    }
    let count = |a: &[u8], b: &[u8]| a.iter().zip(b).filter(|(x, y)| x == y).count();
    let correct = count(&pred, &LABELS);
    let host_correct = count(&HOST, &LABELS);
    let agree = count(&pred, &HOST);
    say!(
        "accuracy: {}/{N} = {}; host {}/{N} = {}",
        correct,
        Percent(correct),
        host_correct,
        Percent(host_correct)
    );
    say!("agreement with the host: {agree}/{N}");

    // Instructions: each interval is ticks × per_tick, exact to one tick at each end, so the
    // total is exact to ±N ticks and the mean to ±per_tick instructions (in practice far less:
    // the readings' phases differ from digit to digit and the errors cancel).
    let per = cal.per_tick;
    say!(
        "calibration: {} instructions in {} ticks, {} instructions per tick{}",
        cal.instructions,
        cal.ticks,
        cal.per_tick,
        if cal.exact {
            ""
        } else {
            " (NOT EXACT: is QEMU running with -icount shift=0?)"
        }
    );
    say!(
        "instructions per inference: {} = {} ticks x {} / {N} (min {}, max {}, +-{})",
        total * per / N as u32,
        total,
        per,
        min * per,
        max * per,
        per
    );
    say!("peak stack of one inference: {stack} bytes (below the caller's frame)");
    say!(
        "arena: {} bytes (static, planned at compile time)",
        Net::ARENA_BYTES
    );
    say!(
        "model: {} parameters, {} bytes of constants in flash",
        Net::PARAMS,
        Net::FLASH_BYTES
    );

    let pass = if cfg!(feature = "f32") {
        // Within 0.5 percentage points: 1000 × |difference| ≤ 5 × N.
        1000 * correct.abs_diff(host_correct) <= 5 * N
    } else {
        agree == N
    };
    say!(
        "{}: {}",
        if pass { "PASS" } else { "FAIL" },
        if cfg!(feature = "f32") {
            "accuracy within 0.5 pp of the host's"
        } else {
            "every prediction equals the host's"
        }
    );
    exit(pass)
}

/// Ends QEMU with exit status 0 (`pass`) or 1.
fn exit(pass: bool) -> ! {
    debug::exit(if pass {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a debugger or semihosting host: stop on a fault.
    cortex_m::asm::udf()
}

/// A line of output, cut at 191 bytes.
struct Line {
    buf: [u8; 192],
    len: usize,
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - 1 - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Line {
    fn end(mut self) {
        self.buf[self.len] = b'\n';
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(&self.buf[..=self.len]);
        }
    }
}

/// Classes as a string of digits: `7210414959`.
struct Classes<'a>(&'a [u8]);

impl fmt::Display for Classes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .iter()
            .try_for_each(|&c| fmt::Write::write_char(f, char::from(b'0' + c)))
    }
}

/// `n` of `N` as a percentage with two decimals: `99.50%`.
struct Percent(usize);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bp = self.0 * 10_000 / N;
        write!(f, "{}.{:02}%", bp / 100, bp % 100)
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    say!("panic: {info}");
    exit(false)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    // The faulting address only: Debug-formatting the whole frame costs 2 kB of flash.
    say!("hard fault at pc {:#010x}", frame.pc());
    exit(false)
}
