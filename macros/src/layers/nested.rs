//! A model made with `model!`, used as a layer: its shapes come from its callback
//! (`graph::nested`), and every way of running calls the nested model's own impls.

use super::{Fusion, LayerKind, Mode, QuantRole, Weight};
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::nested::KnownModel;
use crate::shapes::{describe, fmt_shape, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Path;

pub struct Nested {
    pub path: Path,
    /// The index of its shapes among the known models.
    pub known: usize,
}

impl Nested {
    fn known<'a>(&self, cx: &ShapeCx<'a>) -> &'a KnownModel {
        &cx.known[self.known]
    }

    /// A nested model that receives another shape than it takes, with the likeliest fix.
    fn mismatch(&self, k: &KnownModel, input: &[usize], cx: &ShapeCx) -> String {
        let want = fmt_shape(&k.input);
        let fix = if input.iter().product::<usize>() == k.input.iter().product::<usize>() {
            let dims = k
                .input
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            format!("add `Reshape({dims})` before it")
        } else if cx.first {
            format!(
                "give this model the input shape {want}, or add layers before it that produce {want}"
            )
        } else {
            format!("change the layers before it so they produce {want}")
        };
        format!(
            "{}: the nested model `{}` takes {} but receives {} from {}; {fix}",
            cx.label,
            cx.class,
            describe(&k.input),
            describe(input),
            cx.from
        )
    }
}

impl LayerKind for Nested {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let k = self.known(cx);
        if k.input.is_empty() {
            return Err(format!(
                "{}: the model `{}` has several inputs, so it cannot be a layer here yet: a layer \
                 reads one value (nesting a model with several inputs is planned)",
                cx.label, cx.class
            ));
        }
        if k.output.is_empty() {
            return Err(format!(
                "{}: the model `{}` has several outputs, so it cannot be a layer here yet: a layer \
                 makes one value (nesting a model with several outputs is planned)",
                cx.label, cx.class
            ));
        }
        if k.input != input {
            return Err(self.mismatch(k, input, cx));
        }
        if k.scalar != cx.scalar {
            return Err(format!(
                "{}: the nested model `{}` computes in `{}` but this model in `{}`; \
                 declare both with the same element type (`struct Name<{}>: …`)",
                cx.label, cx.class, k.scalar, cx.scalar, cx.scalar
            ));
        }
        Ok(cx.step(input, k.output.clone(), k.params, (0, 0)))
    }

    fn output_alone(&self, cx: &ShapeCx) -> Option<Vec<usize>> {
        let k = self.known(cx);
        (!k.broken).then(|| k.output.clone())
    }

    fn is_broken(&self, cx: &ShapeCx) -> bool {
        self.known(cx).broken
    }

    fn field_type(&self, _: &TokenStream, _: &Step) -> Option<TokenStream> {
        let path = &self.path;
        Some(quote!(#path))
    }

    fn weights(&self, _: &Step) -> Vec<Weight> {
        // Its tensors are the nested model's own, under this layer's name in weight files.
        Vec::new()
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Err("the weights of a nested model")
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (path, f, b, ty_out, x_in) = (&self.path, &cx.field, &cx.b, &cx.ty_out, &cx.x_in);
        let run = quote! {
            let #b: #ty_out = <#path as ::kiln::Model>::forward(&self.#f, #x_in);
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (path, f, input, n) = (&self.path, &cx.field, &cx.input, &cx.n);
        let tr = quote!(<#path as ::kiln::core::train::Train>);
        let mut p = cx.parts();
        p.fields.extend(quote!(pub #n: #tr::Cache,));
        p.cache_tys.push(quote!(#tr::Cache));
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = quote! {
            #tr::forward_train(&self.#f, #input, &mut cache.#n, rngs);
            #out.copy_from_slice(&#tr::outputs(&cache.#n).1[..n]);
        };
        let none = quote!(::kiln::core::train::Fusion::NONE);
        let fused = match cx.head {
            Some(k) => quote!(#none.with(0, fused.has(#k))),
            None => none,
        };
        p.pre = quote!(#tr::output_grad(&mut cache.#n)[..n].copy_from_slice(&#dy););
        p.with_dx = quote! {
            #tr::backward(&self.#f, #input, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::Some(d_prev));
        };
        p.params_only = quote! {
            #tr::backward(&self.#f, #input, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::None);
        };
        p.outputs = quote!(#tr::outputs(&cache.#n));
        p.last_activation = quote!(#tr::OUTPUTS[0].activation);
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        assert!(!cx.in_run, "runs hold no block layers");
        let (f, x_in, x_out, b) = (&cx.field, &cx.x_in, &cx.x_out, &cx.b);
        let (ty_in, ty_out) = (&cx.ty_in, &cx.ty_out);
        let mut p = cx.block_output();
        let nested = format_ident!("n{}", cx.value);
        let inner = &self.path;
        let inner_scratch = quote! {
            <#inner as ::kiln::core::model::ForwardBatch<#ty_in, #ty_out>>::Scratch
        };
        let doc = format!("The block buffers of layer {}, `{}`.", cx.pos, cx.name);
        p.fields.push((nested.clone(), inner_scratch, doc));
        let out = cx.block_out();
        p.code = quote! {
            ::kiln::core::model::ForwardBatch::<#ty_in, #ty_out>::forward_batch(
                &self.#f, #x_in, #out, &mut s.#nested,
            );
            let #x_out: &[#ty_out] = &s.#b[..n];
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (path, f, io) = (&self.path, &cx.field, &cx.io);
        quote! {{
            #io
            *y = <#path as ::kiln::Model>::forward(&self.#f, x);
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("nested models have no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }
}
