//! The machine's own f32 FMA limit, to express kernel figures as a percentage of peak.
//!
//! Each case runs 12 independent chains of packed FMAs (`acc_i += a · b`) in a loop of nothing
//! else. An FMA's result is ready after ~4 cycles and a core starts up to 2 per cycle, so 8
//! chains in flight keep both units busy and 12 leave a margin; the loop's counter and branch
//! run on other ports. Elements are FLOPs, 2 per multiply-add per lane: one round is
//! `12 × lanes × 2` FLOPs (384 with AVX-512's 16 lanes, 192 with AVX2's 8).
//!
//! Cases (x86-64 only; each instruction set only if the CPU has it, as
//! `is_x86_feature_detected!` tells at run time):
//! - `peak_fma_f32/avx512_1thread`, `.../avx512_Nthreads`: `vfmadd231ps` on 512-bit `zmm`.
//! - `peak_fma_f32/avx2_1thread`, `.../avx2_Nthreads`: `vfmadd231ps` on 256-bit `ymm`.
//!
//! `N` is `std::thread::available_parallelism()`; the all-threads cases run one copy per thread
//! in `std::thread::scope` and count every thread's FLOPs. A kernel at `F` FLOP/s on one thread
//! is at `F / peak_1thread` of this machine's peak (use the widest unit the CPU has, since that
//! is what a SIMD kernel could use); a multi-threaded step compares with the all-threads peak.
//! Wide FMAs may lower the clock (AVX-512 frequency licences), and these loops include that.
//!
//! The loops are `asm!` rather than intrinsics: AVX-512 intrinsics and
//! `#[target_feature(enable = "avx512f")]` are stable only from Rust 1.89, above this
//! workspace's 1.85, and assembly also fixes the instruction stream exactly.
//!
//! Run: `cargo bench --bench peak`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// Independent accumulator registers per loop round.
const CHAINS: u64 = 12;

/// Loop rounds per call: ~10 ms on one core, long beside a thread's start.
const ROUNDS: u64 = 1 << 22;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;

    /// Runs `rounds` rounds of 12 independent `vfmadd231ps` on `zmm0`–`zmm11` (16 f32 lanes).
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `rounds` must be at least 1.
    pub unsafe fn fma_zmm(rounds: u64) {
        // The accumulators and operands are zero: FMA timing does not depend on the values, and
        // zeros cannot become denormals. `vxorps xmm` (VEX) also clears the upper 384 bits.
        // SAFETY: the caller guarantees AVX-512F; only xmm0–xmm13, which are declared
        // clobbered (with their upper ymm/zmm parts), and the counter are written.
        unsafe {
            asm!(
                "vxorps xmm0, xmm0, xmm0",
                "vxorps xmm1, xmm1, xmm1",
                "vxorps xmm2, xmm2, xmm2",
                "vxorps xmm3, xmm3, xmm3",
                "vxorps xmm4, xmm4, xmm4",
                "vxorps xmm5, xmm5, xmm5",
                "vxorps xmm6, xmm6, xmm6",
                "vxorps xmm7, xmm7, xmm7",
                "vxorps xmm8, xmm8, xmm8",
                "vxorps xmm9, xmm9, xmm9",
                "vxorps xmm10, xmm10, xmm10",
                "vxorps xmm11, xmm11, xmm11",
                "vxorps xmm12, xmm12, xmm12",
                "vxorps xmm13, xmm13, xmm13",
                "2:",
                "vfmadd231ps zmm0, zmm12, zmm13",
                "vfmadd231ps zmm1, zmm12, zmm13",
                "vfmadd231ps zmm2, zmm12, zmm13",
                "vfmadd231ps zmm3, zmm12, zmm13",
                "vfmadd231ps zmm4, zmm12, zmm13",
                "vfmadd231ps zmm5, zmm12, zmm13",
                "vfmadd231ps zmm6, zmm12, zmm13",
                "vfmadd231ps zmm7, zmm12, zmm13",
                "vfmadd231ps zmm8, zmm12, zmm13",
                "vfmadd231ps zmm9, zmm12, zmm13",
                "vfmadd231ps zmm10, zmm12, zmm13",
                "vfmadd231ps zmm11, zmm12, zmm13",
                "dec {n}",
                "jnz 2b",
                "vzeroupper",
                n = inout(reg) rounds => _,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                out("xmm12") _, out("xmm13") _,
                options(nomem, nostack),
            );
        }
    }

    /// Runs `rounds` rounds of 12 independent `vfmadd231ps` on `ymm0`–`ymm11` (8 f32 lanes).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `rounds` must be at least 1.
    pub unsafe fn fma_ymm(rounds: u64) {
        // SAFETY: as for `fma_zmm`, with AVX2 and FMA.
        unsafe {
            asm!(
                "vxorps xmm0, xmm0, xmm0",
                "vxorps xmm1, xmm1, xmm1",
                "vxorps xmm2, xmm2, xmm2",
                "vxorps xmm3, xmm3, xmm3",
                "vxorps xmm4, xmm4, xmm4",
                "vxorps xmm5, xmm5, xmm5",
                "vxorps xmm6, xmm6, xmm6",
                "vxorps xmm7, xmm7, xmm7",
                "vxorps xmm8, xmm8, xmm8",
                "vxorps xmm9, xmm9, xmm9",
                "vxorps xmm10, xmm10, xmm10",
                "vxorps xmm11, xmm11, xmm11",
                "vxorps xmm12, xmm12, xmm12",
                "vxorps xmm13, xmm13, xmm13",
                "2:",
                "vfmadd231ps ymm0, ymm12, ymm13",
                "vfmadd231ps ymm1, ymm12, ymm13",
                "vfmadd231ps ymm2, ymm12, ymm13",
                "vfmadd231ps ymm3, ymm12, ymm13",
                "vfmadd231ps ymm4, ymm12, ymm13",
                "vfmadd231ps ymm5, ymm12, ymm13",
                "vfmadd231ps ymm6, ymm12, ymm13",
                "vfmadd231ps ymm7, ymm12, ymm13",
                "vfmadd231ps ymm8, ymm12, ymm13",
                "vfmadd231ps ymm9, ymm12, ymm13",
                "vfmadd231ps ymm10, ymm12, ymm13",
                "vfmadd231ps ymm11, ymm12, ymm13",
                "dec {n}",
                "jnz 2b",
                "vzeroupper",
                n = inout(reg) rounds => _,
                out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                out("xmm12") _, out("xmm13") _,
                options(nomem, nostack),
            );
        }
    }
}

/// An FMA loop the CPU can run, with its name and f32 lanes.
struct Unit {
    name: &'static str,
    lanes: u64,
    run: unsafe fn(u64),
}

/// The FMA units this CPU has, widest first.
fn units() -> Vec<Unit> {
    #[allow(unused_mut)]
    let mut units = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            units.push(Unit {
                name: "avx512",
                lanes: 16,
                run: x86::fma_zmm,
            });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            units.push(Unit {
                name: "avx2",
                lanes: 8,
                run: x86::fma_ymm,
            });
        }
    }
    units
}

fn peak(c: &mut Criterion) {
    let units = units();
    if units.is_empty() {
        eprintln!("peak: no AVX2+FMA or AVX-512F unit on this CPU; nothing to measure");
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("peak_fma_f32");
    // Every call takes the same time; flat sampling keeps the all-threads cases near 3 s.
    group.sampling_mode(SamplingMode::Flat);
    for unit in &units {
        let run = unit.run;
        let flops = ROUNDS * CHAINS * unit.lanes * 2;
        group.throughput(Throughput::Elements(flops));
        group.bench_function(format!("{}_1thread", unit.name), |b| {
            // SAFETY: `units` only lists loops the CPU has; ROUNDS > 0.
            b.iter(|| unsafe { run(black_box(ROUNDS)) })
        });
        if threads > 1 {
            group.throughput(Throughput::Elements(flops * threads as u64));
            group.bench_function(format!("{}_{threads}threads", unit.name), |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 1..threads {
                            // SAFETY: as above.
                            s.spawn(|| unsafe { run(black_box(ROUNDS)) });
                        }
                        // SAFETY: as above.
                        unsafe { run(black_box(ROUNDS)) }
                    })
                })
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = peak
}
criterion_main!(benches);
