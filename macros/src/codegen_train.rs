//! Emits the training half of a model: a cache struct holding one sample's intermediates, a
//! `forward_train` that fills it, and a `backward` that walks the layers in reverse. Every layer
//! owns its output `a{i}` and the gradient `g{i}` with respect to that output, so each step
//! reads and writes distinct fields and the code stays uniform.

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

/// One layer's pieces of the generated training code.
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
    let rows = quote!(::kiln::core::tensor::Rows);
    let last = layers.len();
    let mut all = Vec::new();
    let mut cache_tys = Vec::new();
    let mut last_activation = quote!(::core::option::Option::None);
    let mut outputs = TokenStream::new();

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
        let input_expr = if i == 1 {
            quote!(x)
        } else {
            let p = format_ident!("a{}", i - 1);
            quote!(&cache.#p)
        };
        let in_ty = tensor_ty(&t, if i == 1 { input } else { &s.input });
        let out_ty = tensor_ty(&t, &s.output);
        let f = format_ident!("{}", l.name);
        let mut p = Parts {
            fields: quote!(pub #a: #out_ty, pub #g: #out_ty,),
            ..Parts::default()
        };
        cache_tys.push(out_ty.clone());
        let (cin, cout) = (
            lit(*s.input.last().expect("rank >= 1")),
            lit(*s.output.last().expect("rank >= 1")),
        );
        let skip_if_fused = |code: TokenStream| {
            if is_last {
                quote!(if !fused { #code })
            } else {
                code
            }
        };
        outputs = quote!((&cache.#a, &cache.#a));

        match &l.config {
            Config::Dense { act, .. } | Config::Conv2D { act, .. } => {
                let dense = matches!(l.config, Config::Dense { .. });
                let has_act = act.name != "linear";
                let target = if has_act { &z } else { &a };
                let (x_view, out_view) = if dense {
                    (
                        quote!(#rows::<#t, #cin>::rows(#input_expr)),
                        quote!(#rows::<#t, #cout>::rows_mut(&mut cache.#target)),
                    )
                } else {
                    (quote!(#input_expr), quote!(&mut cache.#target))
                };
                p.forward = quote!(self.#f.forward(#x_view, #out_view););
                if has_act {
                    let at = act_ty(act);
                    p.fields.extend(quote!(pub #z: #out_ty,));
                    cache_tys.push(out_ty.clone());
                    p.forward.extend(quote! {
                        cache.#a = cache.#z;
                        <#at as ::kiln::core::activations::Activation>::apply::<#t, #cout>(#rows::<#t, #cout>::rows_mut(&mut cache.#a));
                    });
                    p.pre = skip_if_fused(quote! {
                        <#at as ::kiln::core::activations::Activation>::backward::<#t, #cout>(
                            #rows::<#t, #cout>::rows(&cache.#z),
                            #rows::<#t, #cout>::rows(&cache.#a),
                            #rows::<#t, #cout>::rows_mut(&mut cache.#g),
                        );
                    });
                    outputs = quote!((&cache.#z, &cache.#a));
                    last_activation = fused_of(act);
                } else {
                    last_activation = quote!(::core::option::Option::None);
                }
                let field_ty = field_type(&t, l, s).expect("Dense and Conv2D have parameters");
                if dense {
                    p.with_dx = quote! {
                        self.#f.backward(#x_view, #rows::<#t, #cout>::rows(&cache.#g), #rows::<#t, #cin>::rows_mut(d_prev), &mut grads.#f);
                    };
                    p.params_only = quote! {
                        <#field_ty>::backward_params(#x_view, #rows::<#t, #cout>::rows(&cache.#g), &mut grads.#f);
                    };
                } else {
                    p.with_dx =
                        quote!(self.#f.backward(#input_expr, &cache.#g, d_prev, &mut grads.#f););
                    p.params_only = quote!(<#field_ty>::backward_params(#input_expr, &cache.#g, &mut grads.#f););
                }
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
                p.forward = quote!(#k.forward(#input_expr, &mut cache.#a););
                p.with_dx = quote!(#k.backward(#input_expr, &cache.#g, d_prev););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::GlobalAvgPool => {
                p.forward = quote!(::kiln::core::layers::GlobalAvgPool2D.forward(#input_expr, &mut cache.#a););
                p.with_dx =
                    quote!(::kiln::core::layers::GlobalAvgPool2D.backward(&cache.#g, d_prev););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Flatten | Config::Reshape { .. } => {
                p.forward = quote!(cache.#a = *::kiln::core::tensor::reshape::<#in_ty, #out_ty>(#input_expr););
                p.with_dx =
                    quote!(*d_prev = *::kiln::core::tensor::reshape::<#out_ty, #in_ty>(&cache.#g););
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Dropout { rate } => {
                p.fields.extend(quote!(pub #m: #out_ty,));
                cache_tys.push(out_ty.clone());
                p.forward = quote! {
                    ::kiln::core::layers::Dropout::forward_train(
                        #rate,
                        rng,
                        ::kiln::core::tensor::flat::<#t, #in_ty>(#input_expr),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut cache.#a),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut cache.#m),
                    );
                };
                p.pre = quote! {
                    ::kiln::core::layers::Dropout::backward(
                        ::kiln::core::tensor::flat::<#t, #out_ty>(&cache.#m),
                        ::kiln::core::tensor::flat_mut::<#t, #out_ty>(&mut cache.#g),
                    );
                };
                p.with_dx = quote!(*d_prev = cache.#g;);
                last_activation = quote!(::core::option::Option::None);
            }
            Config::Activation { act } => {
                let at = act_ty(act);
                p.fields.extend(quote!(pub #z: #out_ty,));
                cache_tys.push(out_ty.clone());
                p.forward = quote! {
                    cache.#z = *#input_expr;
                    cache.#a = cache.#z;
                    <#at as ::kiln::core::activations::Activation>::apply::<#t, #cout>(#rows::<#t, #cout>::rows_mut(&mut cache.#a));
                };
                p.pre = skip_if_fused(quote! {
                    <#at as ::kiln::core::activations::Activation>::backward::<#t, #cout>(
                        #rows::<#t, #cout>::rows(&cache.#z),
                        #rows::<#t, #cout>::rows(&cache.#a),
                        #rows::<#t, #cout>::rows_mut(&mut cache.#g),
                    );
                });
                p.with_dx = quote!(*d_prev = cache.#g;);
                outputs = quote!((&cache.#z, &cache.#a));
                last_activation = fused_of(act);
            }
            Config::Nested { path, .. } => {
                let tr = quote!(<#path as ::kiln::core::train::Train>);
                p.fields.extend(quote!(pub #n: #tr::Cache,));
                cache_tys.push(quote!(#tr::Cache));
                p.forward = quote! {
                    #tr::forward_train(&self.#f, #input_expr, &mut cache.#n, rng);
                    cache.#a = *#tr::outputs(&cache.#n).1;
                };
                let fused = if is_last {
                    quote!(fused)
                } else {
                    quote!(false)
                };
                p.pre = quote!(*#tr::output_grad(&mut cache.#n) = cache.#g;);
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

    let fields = all.iter().map(|p| &p.fields);
    let forward = all.iter().map(|p| &p.forward);
    let backward = all.iter().enumerate().rev().map(|(idx, p)| {
        let (pre, with_dx, params_only) = (&p.pre, &p.with_dx, &p.params_only);
        if idx == 0 {
            quote! {
                #pre
                match dx {
                    ::core::option::Option::Some(d_prev) => { #with_dx }
                    ::core::option::Option::None => { #params_only }
                }
            }
        } else {
            let g_prev = format_ident!("g{}", idx);
            quote! {
                #pre
                {
                    let d_prev = &mut cache.#g_prev;
                    #with_dx
                }
            }
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
    let doc = format!("One sample's training state for [`{name}`]: layer outputs, pre-activations, dropout masks and gradients.");

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
            fn forward_train(&self, x: &#in_ty, cache: &mut #cache, rng: &mut ::kiln::core::init::Rng) {
                #(#forward)*
            }

            fn outputs(cache: &#cache) -> (&#out_ty, &#out_ty) {
                #outputs
            }

            fn output_grad(cache: &mut #cache) -> &mut #out_ty {
                &mut cache.#g_last
            }

            #[allow(unused_variables)]
            fn backward(
                &self,
                x: &#in_ty,
                cache: &mut #cache,
                fused: bool,
                grads: &mut Self,
                dx: ::core::option::Option<&mut #in_ty>,
            ) {
                #(#backward)*
            }
        }
    }
}
