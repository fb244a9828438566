//! Helpers shared by integration tests (each test file that needs them declares `mod common;`).

/// `n` deterministic pseudo-random `[10, 10, 2]` inputs in [0, 1) (an LCG seeded with `seed`):
/// the calibration and test inputs of the `Mixed` int8 models in quantize.rs and int8.rs.
pub fn inputs(n: usize, seed: u64) -> Vec<[[[f32; 2]; 10]; 10]> {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|_| {
            let mut x = [[[0f32; 2]; 10]; 10];
            x.iter_mut().flatten().flatten().for_each(|v| *v = next());
            x
        })
        .collect()
}
