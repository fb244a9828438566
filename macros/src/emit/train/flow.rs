//! Where each gradient lives in the training cache, and how gradients that fan in are summed:
//! the bookkeeping of `backward` over a graph.
//!
//! A value several layers read gets one gradient buffer per reader, `h{v}_{j}`, summed into
//! `g{v}` before the layer that made it goes back. An output that layers also read counts the
//! loss as one more reader: its gradient arrives in the last `h{v}_{j}`. The gradient of a
//! per-sample layer's output is only needed while that sample goes back through the run of
//! per-sample layers it belongs to, unless a block layer reads or writes it, or it leaves the
//! run: then it is kept for every sample. Otherwise one buffer serves every sample
//! (`single`), and stays in cache.

use crate::emit::types::tensor_ty;
use crate::graph::Graph;
use crate::layers::Mode;
use crate::shapes::Step;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// How gradients flow back through the graph's values.
pub struct Flow {
    /// Whether node `i` runs on the whole block (else sample by sample).
    pub on_block: Vec<bool>,
    /// Runs of consecutive nodes of one kind, `(first, end, on the block)`.
    pub groups: Vec<(usize, usize, bool)>,
    /// The nodes reading each value, with the input slot each reads it in.
    pub consumers: Vec<Vec<(usize, usize)>>,
    /// How many gradients reach each value: its readers, plus the loss for an output that
    /// layers also read.
    pub readers: Vec<usize>,
    /// Whether one gradient buffer serves every sample.
    pub single: Vec<bool>,
    /// The model's element type.
    t: TokenStream,
}

impl Flow {
    pub fn new(t: &TokenStream, graph: &Graph) -> Flow {
        let values = graph.n_values();
        let on_block: Vec<bool> = graph
            .nodes
            .iter()
            .map(|n| n.layer.kind.mode() == Mode::Block)
            .collect();
        let mut groups: Vec<(usize, usize, bool)> = Vec::new();
        for (idx, &blocked) in on_block.iter().enumerate() {
            match groups.last_mut() {
                Some((_, end, false)) if !blocked => *end = idx + 1,
                _ => groups.push((idx, idx + 1, blocked)),
            }
        }
        let group_of = |idx: usize| groups.iter().position(|g| (g.0..g.1).contains(&idx));
        let consumers: Vec<Vec<(usize, usize)>> = (0..values).map(|v| graph.consumers(v)).collect();
        let single = (0..values)
            .map(|v| {
                let Some(p) = graph.producer(v) else {
                    return false;
                };
                let users = &consumers[v];
                graph.output_index(v).is_none()
                    && !on_block[p]
                    && !users.is_empty()
                    && users
                        .iter()
                        .all(|&(c, _)| !on_block[c] && group_of(c) == group_of(p))
            })
            .collect();
        let readers = (0..values)
            .map(|v| {
                let n = consumers[v].len();
                n + usize::from(n > 0 && graph.output_index(v).is_some())
            })
            .collect();
        Flow {
            on_block,
            groups,
            consumers,
            readers,
            single,
            t: t.clone(),
        }
    }

    /// The cache fields `h{v}_{j}` of every value with more than one gradient, with their
    /// types.
    pub fn buffers(
        &self,
        graph: &Graph,
        steps: &[Step],
        block: &TokenStream,
    ) -> (TokenStream, Vec<TokenStream>) {
        let (mut fields, mut tys) = (TokenStream::new(), Vec::new());
        for v in 0..graph.n_values() {
            if self.readers[v] < 2 {
                continue;
            }
            let ty = tensor_ty(&self.t, graph.shape(steps, v));
            let len = if self.single[v] {
                quote!(1)
            } else {
                block.clone()
            };
            for j in 0..self.readers[v] {
                let h = format_ident!("h{v}_{j}");
                fields.extend(quote!(pub #h: [#ty; #len],));
                tys.push(quote!([#ty; #len]));
            }
        }
        (fields, tys)
    }

    /// Where the loss's gradient for output value `v` goes.
    pub fn seed(&self, v: usize) -> Ident {
        if self.readers[v] > 1 {
            format_ident!("h{v}_{}", self.consumers[v].len())
        } else {
            format_ident!("g{v}")
        }
    }

    /// Where the gradient for input slot `k` of node `idx` (which reads value `v`) goes,
    /// indexed for its context (`mine`: `[s]` or `[..n]`).
    pub fn target(&self, idx: usize, k: usize, v: usize, mine: &TokenStream) -> TokenStream {
        let at = if self.single[v] {
            quote!([0])
        } else {
            mine.clone()
        };
        if self.readers[v] > 1 {
            let j = self.consumers[v]
                .iter()
                .position(|&c| c == (idx, k))
                .expect("a consumer");
            let h = format_ident!("h{v}_{j}");
            quote!(cache.#h #at)
        } else {
            let g = format_ident!("g{v}");
            quote!(cache.#g #at)
        }
    }

    /// `to = Σ h{v}_j`, for sample `s` (or the one shared buffer when `one`).
    pub fn summed(&self, v: usize, one: bool, to: TokenStream) -> TokenStream {
        let t = &self.t;
        let flat = quote!(::kiln::core::tensor::flat::<#t, _>);
        let flat_mut = quote!(::kiln::core::tensor::flat_mut::<#t, _>);
        let sum = quote!(::kiln::core::layers::merge::sum_into::<#t>);
        let parts = (0..self.readers[v]).map(|j| {
            let h = format_ident!("h{v}_{j}");
            let at = if one { quote!([0]) } else { quote!([s]) };
            quote!(#flat(&cache.#h #at))
        });
        quote!(#sum(#flat_mut(#to), &[#(#parts),*]);)
    }

    /// Before the node that made value `out` goes back: its gradients summed into `g{out}`,
    /// when more than one reaches it (`blocked`: the node runs on the block).
    pub fn gather(&self, out: usize, blocked: bool) -> TokenStream {
        if self.readers[out] < 2 {
            return TokenStream::new();
        }
        let g = format_ident!("g{out}");
        if self.single[out] {
            return self.summed(out, true, quote!(&mut cache.#g[0]));
        }
        let one = self.summed(out, false, quote!(&mut cache.#g[s]));
        if blocked {
            quote!(for s in 0..n { #one })
        } else {
            one
        }
    }
}
