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
//!
//! `cx.rs` holds what each layer sees, `flow.rs` where gradients go when values fan out.

mod cx;
mod flow;

pub use cx::{Cx, Parts};

use crate::emit::types::{lit, tensor_ty};
use crate::graph::Graph;
use crate::shapes::Step;
use flow::Flow;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

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
    // Values `0..k` are the inputs.
    let k = graph.n_inputs();
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
    let flow = Flow::new(&t, graph);
    let (on_block, groups, consumers) = (&flow.on_block, &flow.groups, &flow.consumers);
    let mut all = Vec::new();
    let mut cache_tys = Vec::new();
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
    let (fans, fan_tys) = flow.buffers(graph, steps, &block);
    extra.extend(fans);
    cache_tys.extend(fan_tys);

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
            single: flow.single[i],
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
            let (f, to) = (format_ident!("{}", graph.output_name(o)), flow.seed(v));
            quote!(for s in 0..n { cache.#to[s] = cache.go[s].#f; })
        });
        (
            quote!((&cache.zo[..], &cache.yo[..])),
            quote!(&mut cache.go[..]),
            quote!(#(#gather)*),
            quote!(#(#scatter)*),
        )
    } else {
        let g = flow.seed(graph.output());
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
            let name = graph.output_name(o);
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
    let backward = groups.iter().rev().map(|&(first, end, blocked)| {
        let code = (first..end).rev().map(|idx| {
            let p = &all[idx];
            let (pre, with_dx, params_only) = (&p.pre, &p.with_dx, &p.params_only);
            let mine = if blocked { quote!([..n]) } else { quote!([s]) };
            let out = nodes[idx].output;
            let gather = flow.gather(out, blocked);
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
                let to = flow.target(idx, 0, ins[0], &mine);
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
                    let (d, to) = (
                        format_ident!("d_prev_{k}"),
                        flow.target(idx, k, ins[k], &mine),
                    );
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
                flow.summed(v, false, quote!(&mut d[s].#f))
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
        let one = flow.summed(0, false, quote!(&mut d[s]));
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
