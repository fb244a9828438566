//! Emits the batched forward pass `predict` runs (`kiln::core::model::ForwardBatch`): samples
//! go through the network a block at a time, layer by layer, so that a Dense layer multiplies
//! the whole block's rows by its kernel at once (read from memory once per block, not once
//! per sample).
//!
//! Layers fall in three kinds. Dense layers and nested models take the whole block. Conv2D and
//! the pools take one sample at a time: a run of them (with the reshapes, dropouts and
//! activations between them) is one loop over the block's samples, so each sample's images
//! stay in cache from one layer to the next, and only the run's last output is kept for every
//! sample. Reshapes, dropouts and activation layers work either way, as their neighbours do.
//! Every buffer is a field of one scratch struct, built once per `predict` call.

use crate::layer::{Act, Config, Layer};
use crate::shape::Step;
use crate::types::{field_type, lit, tensor_ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// How a layer is run in a block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// On all of the block's samples at once (Dense, a nested model).
    Block,
    /// On one sample at a time (Conv2D, pools).
    Sample,
    /// Either way (reshapes, dropout, activation layers).
    Neutral,
}

fn kind(l: &Layer) -> Kind {
    match l.config {
        Config::Dense { .. } | Config::Nested { .. } => Kind::Block,
        Config::Conv2D { .. } | Config::Pool { .. } | Config::GlobalAvgPool => Kind::Sample,
        Config::Flatten
        | Config::Reshape { .. }
        | Config::Dropout { .. }
        | Config::Activation { .. } => Kind::Neutral,
    }
}

/// Applies `act` in place to the rows of `c` floats in `rows` (a slice of tensors).
fn apply_act(t: &TokenStream, act: &Act, c: usize, rows: TokenStream) -> TokenStream {
    let lit_c = lit(c);
    let rows = quote!(::kiln::core::bytemuck::cast_slice_mut::<_, [#t; #lit_c]>(#rows));
    crate::codegen::apply_act(t, act, c, rows)
}

/// The scratch struct, the `ForwardBatch` impl of model `name` with element type `t`.
pub fn emit(
    t: &TokenStream,
    name: &syn::Ident,
    input: &[usize],
    layers: &[Layer],
    steps: &[Step],
) -> TokenStream {
    let scratch = format_ident!("{}BatchScratch", name);
    let block = quote!(::kiln::core::model::BLOCK);
    let kinds: Vec<Kind> = layers.iter().map(kind).collect();
    // A run of per-sample layers goes from a `Sample` layer to the last `Sample` layer before
    // the next `Block` one (or the end); `in_run[i]` says whether layer `i` is inside one,
    // `run_end[i]` whether it is the run's last.
    let n = layers.len();
    let mut in_run = vec![false; n];
    let mut run_end = vec![false; n];
    let mut i = 0;
    while i < n {
        if kinds[i] != Kind::Sample {
            i += 1;
            continue;
        }
        let mut last = i;
        let mut j = i;
        while j < n && kinds[j] != Kind::Block {
            if kinds[j] == Kind::Sample {
                last = j;
            }
            j += 1;
        }
        in_run[i..=last].iter_mut().for_each(|f| *f = true);
        run_end[last] = true;
        i = last + 1;
    }

    let mut fields = TokenStream::new();
    let mut field_tys: Vec<TokenStream> = Vec::new();
    let mut body = TokenStream::new();
    // The loop over one run's samples, being built.
    let mut run = TokenStream::new();
    let in_ty = tensor_ty(t, input);
    let out_ty = tensor_ty(
        t,
        &steps.last().map_or(input.to_vec(), |s| s.output.clone()),
    );

    for (idx, (l, s)) in layers.iter().zip(steps).enumerate() {
        let (x_in, x_out) = (format_ident!("x{}", idx), format_ident!("x{}", idx + 1));
        let b = format_ident!("b{}", idx + 1);
        let f = format_ident!("{}", l.name);
        let ty_in = tensor_ty(t, &s.input);
        let ty_out = tensor_ty(t, &s.output);
        let (c_in, c_out) = (
            lit(*s.input.last().expect("rank >= 1")),
            lit(*s.output.last().expect("rank >= 1")),
        );
        let mut field = |ty: TokenStream, doc: String| {
            fields.extend(quote!(#[doc = #doc] pub #b: #ty,));
            field_tys.push(ty);
        };
        let doc = format!("The output of layer {}, `{}`.", l.pos, l.name);

        if in_run[idx] {
            // Inside the loop over the samples `r` of a run: `x{idx}` is one sample's tensor.
            let first = idx == 0 || !in_run[idx - 1];
            let x = if first {
                quote!(&#x_in[r])
            } else {
                quote!(#x_in)
            };
            let (out, out_field) = if run_end[idx] {
                (quote!(s.#b[r]), quote!([#ty_out; #block]))
            } else {
                (quote!(s.#b), ty_out.clone())
            };
            let one = |e: &TokenStream| quote!(::core::slice::from_mut(&mut #e));
            let step = match &l.config {
                Config::Conv2D { filters, act, .. } => {
                    field(out_field, doc);
                    let act = apply_act(t, act, *filters, one(&out));
                    quote! {
                        self.#f.forward(#x, &mut #out);
                        #act
                        let #x_out: &#ty_out = &#out;
                    }
                }
                Config::Pool {
                    max, pool, strides, ..
                } => {
                    field(out_field, doc);
                    let [ph, pw, sh, sw, pt, pl] =
                        [pool.0, pool.1, strides.0, strides.1, s.pad.0, s.pad.1].map(lit);
                    let kernel = if *max {
                        quote!(MaxPool2D)
                    } else {
                        quote!(AvgPool2D)
                    };
                    quote! {
                        ::kiln::core::layers::#kernel::<#ph, #pw, #sh, #sw, #pt, #pl>.forward(#x, &mut #out);
                        let #x_out: &#ty_out = &#out;
                    }
                }
                Config::GlobalAvgPool => {
                    field(out_field, doc);
                    quote! {
                        ::kiln::core::layers::GlobalAvgPool2D.forward(#x, &mut #out);
                        let #x_out: &#ty_out = &#out;
                    }
                }
                Config::Flatten | Config::Reshape { .. } => quote! {
                    let #x_out: &#ty_out = ::kiln::core::tensor::reshape::<#ty_in, #ty_out>(#x);
                },
                Config::Dropout { .. } => quote!(let #x_out: &#ty_out = #x;),
                Config::Activation { act } => {
                    // Never the run's last layer: runs end at a convolution or pool.
                    field(ty_out.clone(), doc);
                    let act = apply_act(t, act, *s.output.last().expect("rank >= 1"), one(&out));
                    quote! {
                        #out = *#x;
                        #act
                        let #x_out: &#ty_out = &#out;
                    }
                }
                Config::Dense { .. } | Config::Nested { .. } => {
                    unreachable!("runs hold no block layers")
                }
            };
            run.extend(step);
            if run_end[idx] {
                body.extend(quote! {
                    for r in 0..n {
                        #run
                    }
                    let #x_out: &[#ty_out] = &s.#b[..n];
                });
                run = TokenStream::new();
            }
            continue;
        }

        // On the whole block: `x{idx}` is a slice of `n` tensors.
        let rows_in = quote!(::kiln::core::bytemuck::must_cast_slice::<#ty_in, [#t; #c_in]>(#x_in));
        let out = quote!(&mut s.#b[..n]);
        let step = match &l.config {
            Config::Dense { units, act, .. } => {
                field(quote!([#ty_out; #block]), doc);
                let act = apply_act(t, act, *units, out.clone());
                quote! {
                    self.#f.forward(
                        #rows_in,
                        ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, [#t; #c_out]>(#out),
                    );
                    #act
                    let #x_out: &[#ty_out] = &s.#b[..n];
                }
            }
            Config::Nested { .. } => {
                field(quote!([#ty_out; #block]), doc);
                let nested = format_ident!("n{}", idx + 1);
                let inner = field_type(t, l, s).expect("a nested model has a type");
                let inner_scratch = quote! {
                    <#inner as ::kiln::core::model::ForwardBatch<#ty_in, #ty_out>>::Scratch
                };
                let doc = format!("The block buffers of layer {}, `{}`.", l.pos, l.name);
                fields.extend(quote!(#[doc = #doc] pub #nested: #inner_scratch,));
                field_tys.push(inner_scratch);
                quote! {
                    ::kiln::core::model::ForwardBatch::<#ty_in, #ty_out>::forward_batch(
                        &self.#f, #x_in, #out, &mut s.#nested,
                    );
                    let #x_out: &[#ty_out] = &s.#b[..n];
                }
            }
            Config::Flatten | Config::Reshape { .. } => quote! {
                let #x_out: &[#ty_out] = ::kiln::core::bytemuck::must_cast_slice::<#ty_in, #ty_out>(#x_in);
            },
            Config::Dropout { .. } => quote!(let #x_out: &[#ty_out] = #x_in;),
            Config::Activation { act } => {
                field(quote!([#ty_out; #block]), doc);
                let act = apply_act(t, act, *s.output.last().expect("rank >= 1"), out.clone());
                quote! {
                    s.#b[..n].copy_from_slice(#x_in);
                    #act
                    let #x_out: &[#ty_out] = &s.#b[..n];
                }
            }
            Config::Conv2D { .. } | Config::Pool { .. } | Config::GlobalAvgPool => {
                unreachable!("per-sample layers are in runs")
            }
        };
        body.extend(step);
    }
    let x_last = format_ident!("x{}", n);
    let doc = format!(
        "The buffers of one block of `{name}`'s batched forward pass (`kiln::core::model::ForwardBatch`)."
    );

    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[repr(C)]
        pub struct #scratch {
            #fields
        }

        // SAFETY: every field is an array of floats or the scratch struct of a nested model,
        // for which all-zero bytes are a valid value; `_zeroable_fields` proves each is
        // `Zeroable`.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #scratch {}
        const _: () = {
            fn _zeroable_fields() {
                fn zeroable<Z: ::kiln::core::bytemuck::Zeroable>() {}
                #( zeroable::<#field_tys>(); )*
            }
        };

        impl ::kiln::core::model::ForwardBatch<#in_ty, #out_ty> for #name {
            type Scratch = #scratch;

            #[allow(unused_variables)]
            fn forward_batch(&self, xs: &[#in_ty], ys: &mut [#out_ty], s: &mut #scratch) {
                ::core::assert_eq!(
                    xs.len(),
                    ys.len(),
                    "forward_batch: {} inputs but room for {} outputs",
                    xs.len(),
                    ys.len(),
                );
                for (x0, ys) in xs.chunks(#block).zip(ys.chunks_mut(#block)) {
                    let n = x0.len();
                    #body
                    ys.copy_from_slice(#x_last);
                }
            }
        }
    }
}
