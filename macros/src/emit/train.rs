//! Emits the training half of a model: a cache struct holding a block of up to
//! `kiln::core::train::BLOCK` samples' intermediates, a `forward_train` that fills it, and a
//! `backward` that walks the layers in reverse. Every layer owns its output `a{i}` and the
//! gradient `g{i}` with respect to that output, one per sample of the block (one in all, when
//! only per-sample layers touch it), so each step reads and writes distinct fields and the code
//! stays uniform.
//!
//! Dense layers and nested models run on the whole block at once: a Dense layer is one product
//! of the block's rows with its kernel, forward and backward, so the kernel is read from memory
//! once per block rather than once per sample. Every other layer runs sample by sample, and a
//! run of such layers is one loop over the block's samples, so that each sample's images stay in
//! cache from one layer to the next.

use crate::emit::types::{lit, tensor_ty};
use crate::graph::Graph;
use crate::layers::{Act, Mode};
use crate::shapes::Step;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

fn act_ty(act: &Act) -> TokenStream {
    let ty = format_ident!("{}", act.ty);
    quote!(::kiln::core::activations::#ty)
}

/// `Some(Fused::…)` when this activation can be fused with a loss.
fn fused_of(act: &Act) -> TokenStream {
    match act.name {
        "softmax" => quote!(::core::option::Option::Some(
            ::kiln::core::losses::Fused::Softmax
        )),
        "sigmoid" => quote!(::core::option::Option::Some(
            ::kiln::core::losses::Fused::Sigmoid
        )),
        _ => quote!(::core::option::Option::None),
    }
}

/// One layer's pieces of the generated training code. In a block layer, `n` is the number of
/// samples and `d_prev` a slice of `n` input gradients; in a per-sample one, `s` is the sample
/// and `d_prev` its input gradient.
pub struct Parts {
    /// The layer's fields of the cache struct.
    pub fields: TokenStream,
    /// Their types, to check each is `Zeroable`.
    pub cache_tys: Vec<TokenStream>,
    pub forward: TokenStream,
    /// Runs before the input gradient is formed (activation and dropout backward).
    pub pre: TokenStream,
    /// Forms the input gradient into `d_prev` (and adds parameter gradients).
    pub with_dx: TokenStream,
    /// Adds parameter gradients only: the first layer of a top-level model.
    pub params_only: TokenStream,
    /// `(pre-activation, output)` of the block, when this layer makes a model output.
    pub outputs: TokenStream,
    /// The activation a loss may fuse with, when this layer makes a model output.
    pub last_activation: TokenStream,
}

/// What a layer's `train` sees. Its cache fields are named for its output value `i`: output
/// `a{i}`, its gradient `g{i}`, pre-activation `z{i}`, dropout mask `m{i}`, nested cache `n{i}`.
pub struct Cx<'a> {
    pub t: TokenStream,
    pub s: &'a Step,
    pub field: Ident,
    pub a: Ident,
    pub g: Ident,
    pub z: Ident,
    pub m: Ident,
    pub n: Ident,
    /// Whether the layer runs on the whole block (else on sample `s`).
    pub blocked: bool,
    /// Whether one gradient buffer serves every sample (see `emit`).
    pub single: bool,
    /// The model output this layer makes, when a loss may fuse with its activation (no other
    /// layer reads it): `backward` then skips the activation when `fused` names the output.
    pub head: Option<usize>,
    /// The layer's input: `&xs[s]`, `&xs[..n]` or the previous layer's output.
    pub input: TokenStream,
    /// Every input, `input` first (a merge reads several; its gradients go to `d_prev_0`, …).
    pub inputs: Vec<TokenStream>,
    pub in_ty: TokenStream,
    pub out_ty: TokenStream,
    /// The widths of the input's and output's last axes.
    pub cin: proc_macro2::Literal,
    pub cout: proc_macro2::Literal,
    pub block: TokenStream,
    pub cast: TokenStream,
    pub cast_mut: TokenStream,
}

impl Cx<'_> {
    /// This layer's view of field `f`: sample `s`'s tensor, or the block's first `n`.
    pub fn at(&self, f: &Ident) -> TokenStream {
        if self.blocked {
            quote!(cache.#f[..n])
        } else if self.single && *f == self.g {
            quote!(cache.#f[0])
        } else {
            quote!(cache.#f[s])
        }
    }

    /// The rows of `cout` floats of field `f`, for the activations.
    pub fn rows(&self, f: &Ident) -> TokenStream {
        let (v, t, cout, cast) = (self.at(f), &self.t, &self.cout, &self.cast);
        if self.blocked {
            quote!(#cast::<_, [#t; #cout]>(&#v))
        } else {
            quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows(&#v))
        }
    }

    fn rows_mut(&self, f: &Ident) -> TokenStream {
        let (v, t, cout, cast_mut) = (self.at(f), &self.t, &self.cout, &self.cast_mut);
        if self.blocked {
            quote!(#cast_mut::<_, [#t; #cout]>(&mut #v))
        } else {
            quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows_mut(&mut #v))
        }
    }

    fn copy(&self, to: &Ident, from: &Ident) -> TokenStream {
        let (to, from) = (self.at(to), self.at(from));
        if self.blocked {
            quote!(#to.copy_from_slice(&#from);)
        } else {
            quote!(#to = #from;)
        }
    }

    /// Where a layer with activation `act` writes before activating: `z`, or `a` for none.
    pub fn target(&self, act: &Act) -> &Ident {
        if act.name != "linear" {
            &self.z
        } else {
            &self.a
        }
    }

    /// The parts every layer starts from: its output and gradient fields.
    pub fn parts(&self) -> Parts {
        let (a, g, out_ty, block) = (&self.a, &self.g, &self.out_ty, &self.block);
        let g_len = if self.single {
            quote!(1)
        } else {
            block.clone()
        };
        Parts {
            fields: quote!(pub #a: [#out_ty; #block], pub #g: [#out_ty; #g_len],),
            cache_tys: vec![quote!([#out_ty; #block]), quote!([#out_ty; #g_len])],
            forward: TokenStream::new(),
            pre: TokenStream::new(),
            with_dx: TokenStream::new(),
            params_only: TokenStream::new(),
            outputs: quote!((&cache.#a[..], &cache.#a[..])),
            last_activation: quote!(::core::option::Option::None),
        }
    }

    /// Adds a cache field `f` holding one output-shaped tensor per sample.
    pub fn field(&self, p: &mut Parts, f: &Ident) {
        let (out_ty, block) = (&self.out_ty, &self.block);
        p.fields.extend(quote!(pub #f: [#out_ty; #block],));
        p.cache_tys.push(quote!([#out_ty; #block]));
    }

    /// Activation `act` from `z` (already written) into `a`, and its backward; the loss may
    /// fuse with it when this layer makes a model output.
    pub fn activated(&self, p: &mut Parts, act: &Act) {
        let (t, cout, a, z, g) = (&self.t, &self.cout, &self.a, &self.z, &self.g);
        self.field(p, z);
        let at = act_ty(act);
        let (a_rows, z_rows, g_rows, a_view) = (
            self.rows_mut(a),
            self.rows(z),
            self.rows_mut(g),
            self.rows(a),
        );
        let backward = quote! {
            <#at as ::kiln::core::activations::Activation>::backward::<#t, #cout>(
                #z_rows, #a_view, #g_rows,
            );
        };
        p.forward.extend(self.copy(a, z));
        p.forward.extend(
            quote!(<#at as ::kiln::core::activations::Activation>::apply::<#t, #cout>(#a_rows);),
        );
        p.pre = match self.head {
            Some(k) => quote!(if !fused.has(#k) { #backward }),
            None => backward,
        };
        p.outputs = quote!((&cache.#z[..], &cache.#a[..]));
        p.last_activation = fused_of(act);
    }

    /// The input's bytes seen as the output's shape, forward and backward.
    pub fn reshaped(&self) -> Parts {
        let (in_ty, out_ty, input) = (&self.in_ty, &self.out_ty, &self.input);
        let mut p = self.parts();
        let (out, dy) = (self.at(&self.a), self.at(&self.g));
        p.forward = quote!(#out = *::kiln::core::tensor::reshape::<#in_ty, #out_ty>(#input););
        p.with_dx = quote!(*d_prev = *::kiln::core::tensor::reshape::<#out_ty, #in_ty>(&#dy););
        p
    }
}

/// The cache struct, the `Flat` and `Train` impls of model `name` with element type `t`.
pub fn emit(
    t: &TokenStream,
    name: &syn::Ident,
    vis: &syn::Visibility,
    graph: &Graph,
    steps: &[Step],
) -> TokenStream {
    let t = t.clone();
    let input = graph.input();
    let cache = format_ident!("{}TrainCache", name);
    let block = quote!(::kiln::core::train::BLOCK);
    let cast = quote!(::kiln::core::bytemuck::cast_slice);
    let cast_mut = quote!(::kiln::core::bytemuck::cast_slice_mut);
    let nodes = &graph.nodes;
    // Values `0..k` are the inputs; `values` counts them all.
    let (k, values) = (graph.n_inputs(), graph.n_values());
    // With several outputs, their pre-activations, values and gradients are gathered in
    // `{name}Output` structs (`zo`, `yo`, `go`), for the loss to see one struct per sample.
    let several_out = graph.outputs.len() > 1;
    // With several inputs, each is copied into the cache (`a{v}`), so that a block layer can
    // read it as a slice, and its gradient gathered in `g{v}` (or `h{v}_j`) for `dx`.
    let several = k > 1;
    let input_names: Vec<Ident> = graph.value_names[..k]
        .iter()
        .map(|n| format_ident!("{n}"))
        .collect();
    let on_block: Vec<bool> = nodes
        .iter()
        .map(|n| n.layer.kind.mode() == Mode::Block)
        .collect();
    let mut all = Vec::new();
    let mut cache_tys = Vec::new();
    // Runs of consecutive layers of one kind, `(first, end, on the block)`.
    let mut groups: Vec<(usize, usize, bool)> = Vec::new();
    for (idx, &blocked) in on_block.iter().enumerate() {
        match groups.last_mut() {
            Some((_, end, false)) if !blocked => *end = idx + 1,
            _ => groups.push((idx, idx + 1, blocked)),
        }
    }
    let group_of = |idx: usize| groups.iter().position(|g| (g.0..g.1).contains(&idx));
    // The gradient of a per-sample layer's output is only needed while that sample goes back
    // through the run of per-sample layers it belongs to, unless a block layer reads or writes
    // it, or it leaves the run: then it is kept for every sample. Otherwise one buffer serves
    // every sample, and stays in cache. By value: `single[v]`.
    let consumers: Vec<Vec<(usize, usize)>> = (0..values).map(|v| graph.consumers(v)).collect();
    let single: Vec<bool> = (0..values)
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
    // A value several layers read gets one gradient buffer per reader, `h{v}_{j}`, summed
    // into `g{v}` before the layer that made it goes back. An output that layers also read
    // counts the loss as one more reader: its gradient arrives in the last `h{v}_{j}`.
    let readers: Vec<usize> = (0..values)
        .map(|v| {
            let n = consumers[v].len();
            n + usize::from(n > 0 && graph.output_index(v).is_some())
        })
        .collect();
    // Where the loss's gradient for output `o` (value `v`) goes.
    let seed = |v: usize| {
        if readers[v] > 1 {
            format_ident!("h{v}_{}", consumers[v].len())
        } else {
            format_ident!("g{v}")
        }
    };
    let mut extra = TokenStream::new();
    let mut prologue = TokenStream::new();
    for (v, f) in input_names.iter().enumerate().filter(|_| several) {
        let (ty, a, g) = (
            tensor_ty(&t, graph.shape(steps, v)),
            format_ident!("a{v}"),
            format_ident!("g{v}"),
        );
        extra.extend(quote!(pub #a: [#ty; #block], pub #g: [#ty; #block],));
        cache_tys.push(quote!([#ty; #block]));
        prologue.extend(quote!(for s in 0..n { cache.#a[s] = xs[s].#f; }));
    }
    for v in 0..values {
        if readers[v] < 2 {
            continue;
        }
        let ty = tensor_ty(&t, graph.shape(steps, v));
        let len = if single[v] { quote!(1) } else { block.clone() };
        for j in 0..readers[v] {
            let h = format_ident!("h{v}_{j}");
            extra.extend(quote!(pub #h: [#ty; #len],));
            cache_tys.push(quote!([#ty; #len]));
        }
    }

    for (idx, (node, s)) in nodes.iter().zip(steps).enumerate() {
        let l = &node.layer;
        let (i, x) = (node.output, node.inputs[0]);
        let blocked = on_block[idx];
        let inputs: Vec<TokenStream> = node
            .inputs
            .iter()
            .map(|&v| match (v, blocked) {
                (0, false) if !several => quote!(&xs[s]),
                (0, true) if !several => quote!(&xs[..n]),
                _ => {
                    let prev = format_ident!("a{}", v);
                    if blocked {
                        quote!(&cache.#prev[..n])
                    } else {
                        quote!(&cache.#prev[s])
                    }
                }
            })
            .collect();
        let cx = Cx {
            t: t.clone(),
            s,
            field: format_ident!("{}", l.name),
            a: format_ident!("a{}", i),
            g: format_ident!("g{}", i),
            z: format_ident!("z{}", i),
            m: format_ident!("m{}", i),
            n: format_ident!("n{}", i),
            blocked,
            single: single[i],
            head: graph.output_index(i).filter(|_| consumers[i].is_empty()),
            input: inputs[0].clone(),
            inputs,
            in_ty: tensor_ty(&t, if x == 0 { input } else { &s.input }),
            out_ty: tensor_ty(&t, &s.output),
            cin: lit(*s.input.last().expect("rank >= 1")),
            cout: lit(*s.output.last().expect("rank >= 1")),
            block: block.clone(),
            cast: cast.clone(),
            cast_mut: cast_mut.clone(),
        };
        let p = l.kind.train(&cx);
        cache_tys.extend(p.cache_tys.iter().cloned());
        all.push(p);
    }
    // Each output's `(pre-activation, value)` slices, and the activation a loss may fuse with.
    let out_parts: Vec<(&TokenStream, TokenStream)> = graph
        .outputs
        .iter()
        .map(|&v| {
            let p = &all[graph.producer(v).expect("outputs are made by layers")];
            let act = if consumers[v].is_empty() {
                p.last_activation.clone()
            } else {
                quote!(::core::option::Option::None)
            };
            (&p.outputs, act)
        })
        .collect();
    let out_ty = crate::emit::types::output_ty(&t, name, graph, steps);
    let (outputs, output_grad, gather_out, scatter_out) = if several_out {
        extra.extend(quote!(pub zo: [#out_ty; #block], pub yo: [#out_ty; #block], pub go: [#out_ty; #block],));
        cache_tys.push(quote!([#out_ty; #block]));
        let gather = graph
            .outputs
            .iter()
            .zip(&out_parts)
            .enumerate()
            .map(|(o, (_, (zy, _)))| {
                let f = format_ident!("{}", graph.output_name(o));
                quote! {
                    {
                        let (z, y) = #zy;
                        for s in 0..n {
                            cache.zo[s].#f = z[s];
                            cache.yo[s].#f = y[s];
                        }
                    }
                }
            });
        let scatter = graph.outputs.iter().enumerate().map(|(o, &v)| {
            let (f, to) = (format_ident!("{}", graph.output_name(o)), seed(v));
            quote!(for s in 0..n { cache.#to[s] = cache.go[s].#f; })
        });
        (
            quote!((&cache.zo[..], &cache.yo[..])),
            quote!(&mut cache.go[..]),
            quote!(#(#gather)*),
            quote!(#(#scatter)*),
        )
    } else {
        let g = seed(graph.output());
        (
            out_parts[0].0.clone(),
            quote!(&mut cache.#g[..]),
            TokenStream::new(),
            TokenStream::new(),
        )
    };
    let out_specs = graph
        .outputs
        .iter()
        .zip(&out_parts)
        .enumerate()
        .map(|(o, (&v, (_, act)))| {
            let shape = graph.shape(steps, v);
            let offset: usize = graph.outputs[..o]
                .iter()
                .map(|&u| graph.shape(steps, u).iter().product::<usize>())
                .sum();
            let name = if several_out {
                graph.output_name(o)
            } else {
                "output"
            };
            let dims = shape.iter().map(|&d| lit(d));
            quote! {
                ::kiln::core::train::OutputSpec {
                    name: #name,
                    shape: &[#(#dims),*],
                    offset: #offset,
                    activation: #act,
                }
            }
        });

    let fields = all.iter().map(|p| &p.fields).chain(std::iter::once(&extra));
    let forward = groups.iter().map(|&(first, end, blocked)| {
        let code = all[first..end].iter().map(|p| &p.forward);
        if blocked {
            quote!(#(#code)*)
        } else {
            quote!(for s in 0..n { #(#code)* })
        }
    });
    let flat = quote!(::kiln::core::tensor::flat::<#t, _>);
    let flat_mut = quote!(::kiln::core::tensor::flat_mut::<#t, _>);
    let sum = quote!(::kiln::core::layers::merge::sum_into::<#t>);
    // Where the gradient for input slot `k` of node `idx` goes, indexed for its context.
    let target = |idx: usize, k: usize, mine: &TokenStream| {
        let v = nodes[idx].inputs[k];
        let at = if single[v] { quote!([0]) } else { mine.clone() };
        if readers[v] > 1 {
            let j = consumers[v]
                .iter()
                .position(|&c| c == (idx, k))
                .expect("a consumer");
            let h = format_ident!("h{v}_{j}");
            quote!(cache.#h #at)
        } else {
            let g = format_ident!("g{v}");
            quote!(cache.#g #at)
        }
    };
    // `g{v} = Σ h{v}_j`, sample by sample.
    let summed = |v: usize, one: bool, to: TokenStream| {
        let parts = (0..readers[v]).map(|j| {
            let h = format_ident!("h{v}_{j}");
            let at = if one { quote!([0]) } else { quote!([s]) };
            quote!(#flat(&cache.#h #at))
        });
        quote!(#sum(#flat_mut(#to), &[#(#parts),*]);)
    };
    let backward = groups.iter().rev().map(|&(first, end, blocked)| {
        let code = (first..end).rev().map(|idx| {
            let p = &all[idx];
            let (pre, with_dx, params_only) = (&p.pre, &p.with_dx, &p.params_only);
            let mine = if blocked { quote!([..n]) } else { quote!([s]) };
            let out = nodes[idx].output;
            let gather = if readers[out] > 1 {
                let g = format_ident!("g{out}");
                if single[out] {
                    summed(out, true, quote!(&mut cache.#g[0]))
                } else {
                    let one = summed(out, false, quote!(&mut cache.#g[s]));
                    if blocked {
                        quote!(for s in 0..n { #one })
                    } else {
                        one
                    }
                }
            } else {
                TokenStream::new()
            };
            let ins = &nodes[idx].inputs;
            if ins == &[0] && consumers[0].len() == 1 && !several {
                quote! {
                    #gather
                    #pre
                    match dx.as_deref_mut() {
                        ::core::option::Option::Some(d) => { let d_prev = &mut d #mine; #with_dx }
                        ::core::option::Option::None => { #params_only }
                    }
                }
            } else if ins.len() == 1 {
                let to = target(idx, 0, &mine);
                quote! {
                    #gather
                    #pre
                    {
                        let d_prev = &mut #to;
                        #with_dx
                    }
                }
            } else {
                let binds = (0..ins.len()).map(|k| {
                    let (d, to) = (format_ident!("d_prev_{k}"), target(idx, k, &mine));
                    quote!(let #d = &mut #to;)
                });
                quote! {
                    #gather
                    #pre
                    {
                        #(#binds)*
                        #with_dx
                    }
                }
            }
        });
        if blocked {
            quote!(#(#code)*)
        } else {
            quote!(for s in 0..n { #(#code)* })
        }
    });
    // The model's input read by several layers: its gradient is the sum of theirs.
    let input_grad = if several {
        let per_input = (0..k).map(|v| {
            let f = &input_names[v];
            if consumers[v].len() > 1 {
                summed(v, false, quote!(&mut d[s].#f))
            } else {
                let g = format_ident!("g{v}");
                quote!(d[s].#f = cache.#g[s];)
            }
        });
        quote! {
            if let ::core::option::Option::Some(d) = dx.as_deref_mut() {
                for s in 0..n { #(#per_input)* }
            }
        }
    } else if consumers[0].len() > 1 {
        let one = summed(0, false, quote!(&mut d[s]));
        quote! {
            if let ::core::option::Option::Some(d) = dx.as_deref_mut() {
                for s in 0..n { #one }
            }
        }
    } else {
        TokenStream::new()
    };
    let in_ty = crate::emit::types::input_ty(&t, name, graph);
    let field_tys: Vec<TokenStream> = graph
        .owners(steps)
        .filter_map(|(l, s)| l.kind.field_type(&t, s))
        .collect();
    let doc = format!("A block of samples' training state for [`{name}`]: layer outputs, pre-activations, dropout masks and gradients.");

    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[repr(C)]
        #vis struct #cache { #(#fields)* }

        // SAFETY: every field is an array of floats or a nested model's cache, all `Zeroable`
        // (checked below), so all-zero bytes are a valid value.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #cache {}
        const _: () = {
            fn _zeroable_fields() {
                fn zeroable<Z: ::kiln::core::bytemuck::Zeroable>() {}
                #( zeroable::<#cache_tys>(); )*
            }
        };

        // SAFETY: `#name` is `#[repr(C)]` and holds only layers that are themselves `Flat`
        // (checked below): contiguous `f32`s with no padding.
        unsafe impl ::kiln::core::train::Flat<#t> for #name {}
        const _: () = {
            fn _flat_fields() {
                fn flat<F: ::kiln::core::train::Flat<#t>>() {}
                #( flat::<#field_tys>(); )*
            }
        };

        impl ::kiln::core::train::Train for #name {
            type Cache = #cache;
            const OUTPUTS: &'static [::kiln::core::train::OutputSpec] = &[#(#out_specs),*];

            #[allow(unused_variables)]
            fn forward_train(&self, xs: &[#in_ty], cache: &mut #cache, rngs: &mut [::kiln::core::init::Rng]) {
                let n = xs.len();
                assert!(n <= #block && rngs.len() >= n, "a block is at most BLOCK samples, each with its generator");
                #prologue
                #(#forward)*
                #gather_out
            }

            fn outputs(cache: &#cache) -> (&[#out_ty], &[#out_ty]) {
                #outputs
            }

            fn output_grad(cache: &mut #cache) -> &mut [#out_ty] {
                #output_grad
            }

            #[allow(unused_variables, unused_mut)]
            fn backward(
                &self,
                xs: &[#in_ty],
                cache: &mut #cache,
                fused: ::kiln::core::train::Fusion,
                grads: &mut Self,
                mut dx: ::core::option::Option<&mut [#in_ty]>,
            ) {
                let n = xs.len();
                assert!(n <= #block, "a block is at most BLOCK samples");
                #scatter_out
                #(#backward)*
                #input_grad
            }
        }
    }
}
