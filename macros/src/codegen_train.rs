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

use crate::layer::{Act, Config, Layer};
use crate::shape::Step;
use crate::types::{field_type, lit, tensor_ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

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

/// Whether a layer runs on the whole block (Dense, a nested model) or on sample `s`.
fn on_block(l: &Layer) -> bool {
    matches!(l.config, Config::Dense { .. } | Config::Nested { .. })
}

/// One layer's pieces of the generated training code. In a block layer, `n` is the number of
/// samples and `d_prev` a slice of `n` input gradients; in a per-sample one, `s` is the sample
/// and `d_prev` its input gradient.
#[derive(Default)]
struct Parts {
    fields: TokenStream,
    forward: TokenStream,
    /// Runs before the input gradient is formed (activation and dropout backward).
    pre: TokenStream,
    /// Forms the input gradient into `d_prev` (and adds parameter gradients).
    with_dx: TokenStream,
    /// Adds parameter gradients only: the first layer of a top-level model.
    params_only: TokenStream,
}

/// The cache struct, the `Flat` and `Train` impls of model `name` with element type `t`.
pub fn emit(
    t: &TokenStream,
    name: &syn::Ident,
    vis: &syn::Visibility,
    input: &[usize],
    layers: &[Layer],
    steps: &[Step],
) -> TokenStream {
    let t = t.clone();
    let cache = format_ident!("{}TrainCache", name);
    let block = quote!(::kiln::core::train::BLOCK);
    let cast = quote!(::kiln::core::bytemuck::cast_slice);
    let cast_mut = quote!(::kiln::core::bytemuck::cast_slice_mut);
    let last = layers.len();
    let mut all = Vec::new();
    let mut cache_tys = Vec::new();
    let mut last_activation = quote!(::core::option::Option::None);
    let mut outputs = TokenStream::new();
    // The gradient of a per-sample layer's output is only needed while that sample goes back
    // through the run of per-sample layers it belongs to, unless a block layer reads or writes
    // it: then one buffer serves every sample, and stays in cache.
    let g_single: Vec<bool> = (0..last)
        .map(|idx| !on_block(&layers[idx]) && idx + 1 < last && !on_block(&layers[idx + 1]))
        .collect();

    for (idx, (l, s)) in layers.iter().zip(steps).enumerate() {
        let i = idx + 1;
        let is_last = i == last;
        let (a, g, z, m, n) = (
            format_ident!("a{}", i),
            format_ident!("g{}", i),
            format_ident!("z{}", i),
            format_ident!("m{}", i),
            format_ident!("n{}", i),
        );
        let blocked = on_block(l);
        let single = g_single[idx];
        // This layer's view of field `f`: sample `s`'s tensor, or the block's first `n`.
        let at = |f: &syn::Ident| {
            if blocked {
                quote!(cache.#f[..n])
            } else if single && *f == g {
                quote!(cache.#f[0])
            } else {
                quote!(cache.#f[s])
            }
        };
        let input_expr = match (i, blocked) {
            (1, false) => quote!(&xs[s]),
            (1, true) => quote!(&xs[..n]),
            _ => {
                let p = at(&format_ident!("a{}", i - 1));
                quote!(&#p)
            }
        };
        let in_ty = tensor_ty(&t, if i == 1 { input } else { &s.input });
        let out_ty = tensor_ty(&t, &s.output);
        let f = format_ident!("{}", l.name);
        let g_len = if single { quote!(1) } else { block.clone() };
        let mut p = Parts {
            fields: quote!(pub #a: [#out_ty; #block], pub #g: [#out_ty; #g_len],),
            ..Parts::default()
        };
        cache_tys.push(quote!([#out_ty; #block]));
        cache_tys.push(quote!([#out_ty; #g_len]));
        let (cin, cout) = (
            lit(*s.input.last().expect("rank >= 1")),
            lit(*s.output.last().expect("rank >= 1")),
        );
        // The rows of `cout` floats of field `f` (`&` or `&mut`), for the activations.
        let rows = |f: &syn::Ident| {
            let v = at(f);
            if blocked {
                quote!(#cast::<_, [#t; #cout]>(&#v))
            } else {
                quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows(&#v))
            }
        };
        let rows_mut = |f: &syn::Ident| {
            let v = at(f);
            if blocked {
                quote!(#cast_mut::<_, [#t; #cout]>(&mut #v))
            } else {
                quote!(::kiln::core::tensor::Rows::<#t, #cout>::rows_mut(&mut #v))
            }
        };
        let copy = |to: &syn::Ident, from: &syn::Ident| {
            let (to, from) = (at(to), at(from));
            if blocked {
                quote!(#to.copy_from_slice(&#from);)
            } else {
                quote!(#to = #from;)
            }
        };
        let skip_if_fused = |code: TokenStream| {
            if is_last {
                quote!(if !fused { #code })
            } else {
                code
            }
        };
        let activation = |at: TokenStream| {
            let (a_rows, z_rows, g_rows) = (rows_mut(&a), rows(&z), rows_mut(&g));
            let a_view = rows(&a);
            (
                quote!(<#at as ::kiln::core::activations::Activation>::apply::<#t, #cout>(#a_rows);),
                skip_if_fused(quote! {
                    <#at as ::kiln::core::activations::Activation>::backward::<#t, #cout>(
                        #z_rows, #a_view, #g_rows,
                    );
                }),
            )
        };
        outputs = quote!((&cache.#a[..], &cache.#a[..]));

        match &l.config {
            Config::Dense { act, .. } => {
                let has_act = act.name != "linear";
                let target = if has_act { &z } else { &a };
                let x_rows = quote!(#cast::<_, [#t; #cin]>(#input_expr));
                let out = at(target);
                p.forward =
                    quote!(self.#f.forward(#x_rows, #cast_mut::<_, [#t; #cout]>(&mut #out)););
                if has_act {
                    p.fields.extend(quote!(pub #z: [#out_ty; #block],));
                    cache_tys.push(quote!([#out_ty; #block]));
                    let (apply, backward) = activation(act_ty(act));
                    p.forward.extend(copy(&a, &z));
                    p.forward.extend(apply);
                    p.pre = backward;
                    outputs = quote!((&cache.#z[..], &cache.#a[..]));
                    last_activation = fused_of(act);
                } else {
                    last_activation = quote!(::core::option::Option::None);
                }
                let field_ty = field_type(&t, l, s).expect("Dense has parameters");
                let dy = rows(&g);
                p.with_dx = quote! {
                    self.#f.backward(#x_rows, #dy, #cast_mut::<_, [#t; #cin]>(d_prev), &mut grads.#f);
                };
                p.params_only = quote!(<#field_ty>::backward_params(#x_rows, #dy, &mut grads.#f););
            }
            Config::Conv2D { act, .. } => {
                let has_act = act.name != "linear";
                let target = at(if has_act { &z } else { &a });
                p.forward = quote!(self.#f.forward(#input_expr, &mut #target););
                if has_act {
                    p.fields.extend(quote!(pub #z: [#out_ty; #block],));
                    cache_tys.push(quote!([#out_ty; #block]));
                    let (apply, backward) = activation(act_ty(act));
                    p.forward.extend(copy(&a, &z));
                    p.forward.extend(apply);
                    p.pre = backward;
                    outputs = quote!((&cache.#z[..], &cache.#a[..]));
                    last_activation = fused_of(act);
                } else {
                    last_activation = quote!(::core::option::Option::None);
                }
                let field_ty = field_type(&t, l, s).expect("Conv2D has parameters");
                let dy = at(&g);
                p.with_dx = quote!(self.#f.backward(#input_expr, &#dy, d_prev, &mut grads.#f););
                p.params_only =
                    quote!(<#field_ty>::backward_params(#input_expr, &#dy, &mut grads.#f););
            }
            Config::Pool {
                max, pool, strides, ..
            } => {
                let [ph, pw, sh, sw, pt, pl] =
                    [pool.0, pool.1, strides.0, strides.1, s.pad.0, s.pad.1].map(lit);
                let k = if *max {
                    quote!(MaxPool2D)
                } else {
                    quote!(AvgPool2D)
                };
                let k = quote!(::kiln::core::layers::#k::<#ph, #pw, #sh, #sw, #pt, #pl>);
                let (out, dy) = (at(&a), at(&g));
                p.forward = quote!(#k.forward(#input_expr, &mut #out););
                p.with_dx = quote!(#k.backward(#input_expr, &#dy, d_prev););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::GlobalAvgPool => {
                let (out, dy) = (at(&a), at(&g));
                p.forward =
                    quote!(::kiln::core::layers::GlobalAvgPool2D.forward(#input_expr, &mut #out););
                p.with_dx = quote!(::kiln::core::layers::GlobalAvgPool2D.backward(&#dy, d_prev););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Flatten | Config::Reshape { .. } => {
                let (out, dy) = (at(&a), at(&g));
                p.forward =
                    quote!(#out = *::kiln::core::tensor::reshape::<#in_ty, #out_ty>(#input_expr););
                p.with_dx =
                    quote!(*d_prev = *::kiln::core::tensor::reshape::<#out_ty, #in_ty>(&#dy););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Dropout { rate } => {
                p.fields.extend(quote!(pub #m: [#out_ty; #block],));
                cache_tys.push(quote!([#out_ty; #block]));
                let (out, mask, dy) = (at(&a), at(&m), at(&g));
                p.forward = quote! {
                    ::kiln::core::layers::Dropout::forward_train(
                        #rate,
                        &mut rngs[s],
                        ::kiln::core::tensor::flat::<#t, #in_ty>(#input_expr),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut #out),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut #mask),
                    );
                };
                p.pre = quote! {
                    ::kiln::core::layers::Dropout::backward(
                        ::kiln::core::tensor::flat::<#t, #out_ty>(&#mask),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut #dy),
                    );
                };
                p.with_dx = quote!(*d_prev = #dy;);
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Activation { act } => {
                p.fields.extend(quote!(pub #z: [#out_ty; #block],));
                cache_tys.push(quote!([#out_ty; #block]));
                let (zs, dy) = (at(&z), at(&g));
                let (apply, backward) = activation(act_ty(act));
                p.forward = quote!(#zs = *#input_expr;);
                p.forward.extend(copy(&a, &z));
                p.forward.extend(apply);
                p.pre = backward;
                p.with_dx = quote!(*d_prev = #dy;);
                outputs = quote!((&cache.#z[..], &cache.#a[..]));
                last_activation = fused_of(act);
            }
            Config::Nested { path, .. } => {
                let tr = quote!(<#path as ::kiln::core::train::Train>);
                p.fields.extend(quote!(pub #n: #tr::Cache,));
                cache_tys.push(quote!(#tr::Cache));
                let (out, dy) = (at(&a), at(&g));
                p.forward = quote! {
                    #tr::forward_train(&self.#f, #input_expr, &mut cache.#n, rngs);
                    #out.copy_from_slice(&#tr::outputs(&cache.#n).1[..n]);
                };
                let fused = if is_last {
                    quote!(fused)
                } else {
                    quote!(false)
                };
                p.pre = quote!(#tr::output_grad(&mut cache.#n)[..n].copy_from_slice(&#dy););
                p.with_dx = quote! {
                    #tr::backward(&self.#f, #input_expr, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::Some(d_prev));
                };
                p.params_only = quote! {
                    #tr::backward(&self.#f, #input_expr, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::None);
                };
                outputs = quote!(#tr::outputs(&cache.#n));
                last_activation = quote!(#tr::LAST_ACTIVATION);
            }
        }
        all.push(p);
    }

    // Runs of consecutive layers of one kind, `(first, end, on the block)`.
    let mut groups: Vec<(usize, usize, bool)> = Vec::new();
    for (idx, l) in layers.iter().enumerate() {
        let blocked = on_block(l);
        match groups.last_mut() {
            Some((_, end, false)) if !blocked => *end = idx + 1,
            _ => groups.push((idx, idx + 1, blocked)),
        }
    }

    let fields = all.iter().map(|p| &p.fields);
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
            let prev = if idx > 0 && g_single[idx - 1] {
                quote!([0])
            } else {
                mine.clone()
            };
            if idx == 0 {
                quote! {
                    #pre
                    match dx.as_deref_mut() {
                        ::core::option::Option::Some(d) => { let d_prev = &mut d #mine; #with_dx }
                        ::core::option::Option::None => { #params_only }
                    }
                }
            } else {
                let g_prev = format_ident!("g{}", idx);
                quote! {
                    #pre
                    {
                        let d_prev = &mut cache.#g_prev #prev;
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
    let g_last = format_ident!("g{}", last);
    let out_ty = tensor_ty(&t, &steps.last().expect("a model has layers").output);
    let in_ty = tensor_ty(&t, input);
    let field_tys: Vec<TokenStream> = layers
        .iter()
        .zip(steps)
        .filter_map(|(l, s)| field_type(&t, l, s))
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
            const LAST_ACTIVATION: ::core::option::Option<::kiln::core::losses::Fused> = #last_activation;

            #[allow(unused_variables)]
            fn forward_train(&self, xs: &[#in_ty], cache: &mut #cache, rngs: &mut [::kiln::core::init::Rng]) {
                let n = xs.len();
                assert!(n <= #block && rngs.len() >= n, "a block is at most BLOCK samples, each with its generator");
                #(#forward)*
            }

            fn outputs(cache: &#cache) -> (&[#out_ty], &[#out_ty]) {
                #outputs
            }

            fn output_grad(cache: &mut #cache) -> &mut [#out_ty] {
                &mut cache.#g_last[..]
            }

            #[allow(unused_variables, unused_mut)]
            fn backward(
                &self,
                xs: &[#in_ty],
                cache: &mut #cache,
                fused: bool,
                grads: &mut Self,
                mut dx: ::core::option::Option<&mut [#in_ty]>,
            ) {
                let n = xs.len();
                assert!(n <= #block, "a block is at most BLOCK samples");
                #(#backward)*
            }
        }
    }
}
