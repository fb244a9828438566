//! The RAM plan of inference: where each tensor lives in the arena.
//!
//! A graph (see [`liveness`]) places each value at the lowest offset free for as long as it
//! lives: from the node that makes it to the last node that reads it. A chain gets the plan
//! below, which also knows how to band a convolution into the pool after it.
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

/// Places buffers in `order`, each at the lowest offset where it overlaps none placed before
/// it that is alive at the same time as it (`[born[v], end[v]]`); the offsets and the arena's
/// size.
fn first_fit(
    order: &[usize],
    sizes: &[usize],
    born: &[usize],
    end: &[usize],
) -> (Vec<usize>, usize) {
    let mut offsets = vec![0usize; sizes.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut arena = 16;
    for &v in order {
        let size = up16(sizes[v]);
        let busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&u| born[u].max(born[v]) <= end[u].min(end[v]))
            .map(|&u| (offsets[u], offsets[u] + up16(sizes[u])))
            .collect();
        let mut at = 0;
        while let Some(&(_, e)) = busy.iter().find(|&&(s, e)| at < e && s < at + size) {
            at = e;
        }
        offsets[v] = at;
        arena = arena.max(at + size);
        placed.push(v);
    }
    (offsets, arena)
}

/// A graph's plan. Value `v` (`sizes[v]` bytes) is made at time `born[v]` (the inputs are
/// there from the start, 0) and read last at time `last_use[v]`; values that are alive at the
/// same time never overlap. `alias[v] = Some(u)`: `v` takes `u`'s bytes (an in-place layer whose
/// input has no other reader), so `u`'s bytes live until `v`'s last use. Each value goes at the
/// lowest offset, a multiple of 16, where it overlaps nothing alive with it, in the better of
/// two orders (by birth, or largest first).
pub fn liveness(
    sizes: &[usize],
    born: &[usize],
    last_use: &[usize],
    alias: &[Option<usize>],
) -> Plan {
    let n = sizes.len();
    // Each value's buffer, and how long that buffer lives (through its aliases).
    let mut root: Vec<usize> = (0..n).collect();
    for v in 0..n {
        if let Some(u) = alias[v] {
            root[v] = root[u];
        }
    }
    let mut end = last_use.to_vec();
    for v in (0..n).rev() {
        let r = root[v];
        end[r] = end[r].max(last_use[v]);
    }
    // Two greedy orders, the better kept: by birth, and largest first (as TFLite's planner).
    let roots: Vec<usize> = (0..n).filter(|&v| root[v] == v).collect();
    let mut by_size = roots.clone();
    by_size.sort_by_key(|&v| std::cmp::Reverse(up16(sizes[v])));
    let (mut offsets, arena) = [roots, by_size]
        .into_iter()
        .map(|order| first_fit(&order, sizes, born, &end))
        .min_by_key(|(_, arena)| *arena)
        .expect("two orders");
    for v in 0..n {
        offsets[v] = offsets[root[v]];
    }
    Plan {
        arena,
        offsets,
        sizes: sizes.to_vec(),
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
    fn a_residual_keeps_its_input_until_the_add() {
        // 0 → 1 (conv) → 2 (conv) → 3 = add(1, 2) → 4 (dense). Value 1 lives until the add.
        let sizes = [100, 64, 64, 64, 8];
        let p = liveness(&sizes, &[0, 1, 2, 3, 4], &[1, 3, 3, 4, 5], &[None; 5]);
        // 0 at 0; 1 beside it; 2 where 0 was (0 is dead); 3 past 1 and 2, both alive; 4 at 0.
        assert_eq!(p.offsets, vec![0, 112, 0, 176, 0]);
        assert_eq!(p.arena, 240);
        // An in-place activation after the add takes its bytes.
        let p = liveness(
            &[16, 16, 16],
            &[0, 1, 2],
            &[1, 2, 3],
            &[None, None, Some(1)],
        );
        assert_eq!((p.offsets.clone(), p.arena), (vec![0, 16, 16], 32));
    }

    #[test]
    fn rounds_to_sixteen() {
        let p = plan(&[10, 3], &[false, false]);
        assert_eq!((p.arena, p.offsets.clone()), (32, vec![0, 16]));
    }
}
