//! The RAM plan of inference: where each tensor lives in the arena.
//!
//! A chain of layers needs, at any moment, the input and the output of the layer running. So
//! tensors alternate between the two ends of one buffer: tensor 0 (the model's input) at the
//! start, tensor 1 at the end, tensor 2 at the start again… The buffer is then the largest
//! `input + output` of any layer, the least a layer-by-layer plan can use. Offsets are multiples
//! of 16 so every tensor can be viewed as its own type.

/// Where each tensor goes.
pub struct Plan {
    /// Total bytes, a multiple of 16 (at least 16).
    pub arena: usize,
    /// Byte offset of each tensor.
    pub offsets: Vec<usize>,
    sizes: Vec<usize>,
}

fn up16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// Plans tensors of `sizes` bytes, in order; `alias[k]` means tensor `k` reuses tensor `k - 1`'s
/// bytes (a reshape, an identity, an in-place activation). Tensor 0 is never an alias.
pub fn plan(sizes: &[usize], alias: &[bool]) -> Plan {
    plan_with_scratch(sizes, alias, &vec![0; sizes.len()])
}

/// [`plan`], where making tensor `k` also needs `scratch[k]` bytes beside its input and output
/// (a band of convolution rows that a fused pooling layer reduces). The scratch goes right
/// after whichever of the two sits at the start: [`Plan::scratch`] gives its offset.
pub fn plan_with_scratch(sizes: &[usize], alias: &[bool], scratch: &[usize]) -> Plan {
    let mut arena = up16(sizes[0]).max(16);
    for k in 1..sizes.len() {
        if !alias[k] {
            arena = arena.max(up16(sizes[k - 1]) + up16(scratch[k]) + up16(sizes[k]));
        }
    }
    let mut offsets = vec![0];
    let mut low = true;
    for k in 1..sizes.len() {
        if alias[k] {
            offsets.push(offsets[k - 1]);
            continue;
        }
        low = !low;
        offsets.push(if low { 0 } else { arena - up16(sizes[k]) });
    }
    Plan {
        arena,
        offsets,
        sizes: sizes.to_vec(),
    }
}

impl Plan {
    /// Where tensor `k`'s scratch goes: after tensor `k - 1` or `k`, whichever is at offset 0.
    pub fn scratch(&self, k: usize) -> usize {
        let low = if self.offsets[k - 1] == 0 { k - 1 } else { k };
        up16(self.sizes[low])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_ends_and_keeps_pairs_apart() {
        // input 3136, conv 10816, alias (flatten), dense 40.
        let p = plan(&[3136, 10816, 10816, 40], &[false, false, true, false]);
        assert_eq!(p.arena, 3136 + 10816);
        assert_eq!(p.offsets, vec![0, 3136, 3136, 0]);
        for k in 1..4 {
            let (a, b) = (p.offsets[k - 1], p.offsets[k]);
            if a != b {
                let (sa, sb) = ([3136, 10816, 10816, 40][k - 1], [3136, 10816, 10816, 40][k]);
                assert!(
                    a + sa <= b || b + sb <= a,
                    "tensors {} and {k} overlap",
                    k - 1
                );
            }
        }
    }

    #[test]
    fn scratch_sits_between_input_and_output() {
        // input 100 → 112, tensor 1 needs 50 → 64 of scratch, output 40 → 48.
        let p = plan_with_scratch(&[100, 40, 30], &[false, false, false], &[0, 50, 0]);
        assert_eq!(p.arena, 112 + 64 + 48);
        assert_eq!(p.offsets, vec![0, 224 - 48, 0]);
        assert_eq!(p.scratch(1), 112);
    }

    #[test]
    fn rounds_to_sixteen() {
        let p = plan(&[10, 3], &[false, false]);
        assert_eq!((p.arena, p.offsets.clone()), (32, vec![0, 16]));
    }
}
