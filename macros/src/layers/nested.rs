//! A model made with `model!`, used as a layer: its shapes come from its callback
//! (`graph::nested`), and every way of running calls the nested model's own impls.

use super::{keras_config, Fusion, KerasConfig, LayerKind, Mode, QuantRole, Weight};
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::nested::KnownModel;
use crate::shapes::{describe, fmt_named, fmt_shape, ShapeCx, Step};
use kiln_core::NESTED_MARK;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::json;
use syn::Path;

pub struct Nested {
    pub path: Path,
    /// The index of its shapes among the known models.
    pub known: usize,
    /// With several inputs, their names: the fields of its `{Name}Input`, filled from the
    /// values it is given, in order. Empty for one input.
    pub inputs: Vec<String>,
    /// Whether it has several outputs: its value is then its `{Name}Output` seen as one
    /// vector, which `Pick`s take apart (`layers/pick.rs`).
    pub packed: bool,
}

impl Nested {
    /// `{Name}Input` at the nested model's path, built from the values `xs` (references).
    fn input_struct(&self, xs: &[TokenStream]) -> TokenStream {
        let ty = self.input_ty();
        let fields = self.inputs.iter().map(|n| format_ident!("{n}"));
        quote!(#ty { #( #fields: *#xs, )* })
    }

    /// The nested model's `{Name}Input` type.
    fn input_ty(&self) -> TokenStream {
        let mut path = self.path.clone();
        let last = path.segments.last_mut().expect("a path has a segment");
        last.ident = format_ident!("{}Input", last.ident);
        quote!(#path)
    }

    /// Its several inputs checked against the values it is given.
    fn several(&self, k: &KnownModel, input: &[usize], cx: &ShapeCx) -> Result<(), String> {
        let given = 1 + cx.others.len();
        let list = fmt_named(&k.inputs);
        if given != k.inputs.len() {
            let names: Vec<&str> = k.inputs.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "{}: the model `{}` has {} inputs ({list}), so it reads {} values, one for each in that \
                 order, but is given {given}; in the functional form, write `{}({})`",
                cx.label,
                cx.class,
                k.inputs.len(),
                k.inputs.len(),
                cx.class,
                names.join(", ")
            ));
        }
        let got = std::iter::once((input, cx.from.as_str()))
            .chain(cx.others.iter().map(|(s, f)| (s.as_slice(), f.as_str())));
        for ((name, want), (shape, from)) in k.inputs.iter().zip(got) {
            if want != shape {
                return Err(format!(
                    "{}: the input `{name}` of the nested model `{}` takes {} but receives {} from {from}; \
                     give `{name}` a value shaped {}",
                    cx.label,
                    cx.class,
                    describe(want),
                    describe(shape),
                    fmt_shape(want)
                ));
            }
        }
        Ok(())
    }

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
        if k.output.is_empty() && !cx.packed {
            let names: Vec<&str> = k.outputs.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "{}: the model `{}` has {} outputs, so it makes more than one value; take them apart \
                 with `let ({}) = {}(x);` (in the functional form)",
                cx.label,
                cx.class,
                k.outputs.len(),
                names.join(", "),
                cx.class
            ));
        }
        if !k.inputs.is_empty() {
            self.several(k, input, cx)?;
        } else if !cx.others.is_empty() {
            return Err(format!(
                "{} reads one value, but is given {}",
                cx.label,
                1 + cx.others.len()
            ));
        } else if k.input != input {
            return Err(self.mismatch(k, input, cx));
        }
        if k.scalar != cx.scalar {
            return Err(format!(
                "{}: the nested model `{}` computes in `{}` but this model in `{}`; \
                 declare both with the same element type (`struct Name<{}>: …`)",
                cx.label, cx.class, k.scalar, cx.scalar, cx.scalar
            ));
        }
        let output = if k.output.is_empty() {
            vec![k
                .outputs
                .iter()
                .map(|(_, s)| s.iter().product::<usize>())
                .sum()]
        } else {
            k.output.clone()
        };
        let mut step = cx.step(input, output, k.params, (0, 0));
        step.inputs.extend(cx.others.iter().map(|(s, _)| s.clone()));
        Ok(step)
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
        let x = if self.inputs.is_empty() {
            quote!(#x_in)
        } else {
            let xs: Vec<TokenStream> = cx.x_ins.iter().map(|x| quote!(#x)).collect();
            let x = self.input_struct(&xs);
            quote!(&#x)
        };
        let run = if self.packed {
            quote! {
                let #b: #ty_out = *::kiln::core::tensor::reshape::<_, #ty_out>(
                    &<#path as ::kiln::Model>::forward(&self.#f, #x),
                );
            }
        } else {
            quote! {
                let #b: #ty_out = <#path as ::kiln::Model>::forward(&self.#f, #x);
            }
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (path, f, n) = (&self.path, &cx.field, &cx.n);
        let tr = quote!(<#path as ::kiln::core::train::Train>);
        let mut p = cx.parts();
        p.fields.extend(quote!(pub #n: #tr::Cache,));
        p.cache_tys.push(quote!(#tr::Cache));
        // With several inputs, the block's inputs are gathered into `{Name}Input`s (`ni…`),
        // and their gradients come back in `nd…`, to be handed to each input value.
        let (gather, input, scatter) = if self.inputs.is_empty() {
            (TokenStream::new(), cx.input.clone(), TokenStream::new())
        } else {
            let (ni, nd, ty, block) = (
                format_ident!("ni{n}"),
                format_ident!("nd{n}"),
                self.input_ty(),
                &cx.block,
            );
            p.fields
                .extend(quote!(pub #ni: [#ty; #block], pub #nd: [#ty; #block],));
            p.cache_tys.push(quote!([#ty; #block]));
            let xs: Vec<TokenStream> = cx
                .inputs
                .iter()
                .map(|x| quote!((#x)[s]))
                .map(|x| quote!(&#x))
                .collect();
            let built = self.input_struct(&xs);
            let fields = self.inputs.iter().map(|n| format_ident!("{n}"));
            let dxs = (0..self.inputs.len()).map(|k| format_ident!("d_prev_{k}"));
            (
                quote!(for s in 0..n { cache.#ni[s] = #built; }),
                quote!(&cache.#ni[..n]),
                quote!(for s in 0..n { #( #dxs[s] = cache.#nd[s].#fields; )* }),
            )
        };
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        // With several outputs, the packed value is the `{Name}Output`s seen as vectors.
        let cast = |v: TokenStream| {
            if self.packed {
                quote!(::kiln::core::bytemuck::cast_slice(#v))
            } else {
                v
            }
        };
        let (outs, dys) = (
            cast(quote!(&#tr::outputs(&cache.#n).1[..n])),
            cast(quote!(&#dy)),
        );
        p.forward = quote! {
            #gather
            #tr::forward_train(&self.#f, #input, &mut cache.#n, rngs);
            #out.copy_from_slice(#outs);
        };
        let none = quote!(::kiln::core::train::Fusion::NONE);
        let fused = match cx.head {
            Some(k) => quote!(#none.with(0, fused.has(#k))),
            None => none,
        };
        p.pre = quote!(#tr::output_grad(&mut cache.#n)[..n].copy_from_slice(#dys););
        p.with_dx = if self.inputs.is_empty() {
            quote! {
                #tr::backward(&self.#f, #input, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::Some(d_prev));
            }
        } else {
            let nd = format_ident!("nd{n}");
            quote! {
                #tr::backward(&self.#f, #input, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::Some(&mut cache.#nd[..n]));
                #scatter
            }
        };
        p.params_only = quote! {
            #tr::backward(&self.#f, #input, &mut cache.#n, #fused, &mut grads.#f, ::core::option::Option::None);
        };
        if !self.packed {
            p.outputs = quote!(#tr::outputs(&cache.#n));
            p.last_activation = quote!(#tr::OUTPUTS[0].activation);
        }
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
        let packed = |y: TokenStream| {
            if self.packed {
                quote!(*::kiln::core::tensor::reshape(&#y))
            } else {
                y
            }
        };
        if self.inputs.is_empty() {
            let y = packed(quote!(<#path as ::kiln::Model>::forward(&self.#f, x)));
            return quote! {{
                #io
                *y = #y;
            }};
        }
        // Each input viewed at its offset, then the output written at its own.
        let (t, ty_out, b) = (&cx.t, &cx.yt, cx.b);
        let each: Vec<TokenStream> = cx
            .ins
            .iter()
            .zip(&cx.s.inputs)
            .map(|(&(at, _), shape)| {
                let ty = crate::emit::types::tensor_ty(t, shape);
                quote!(::kiln::core::arena::view::<#ty>(buf, #at))
            })
            .collect();
        let x = self.input_struct(&each);
        let y = packed(quote!(<#path as ::kiln::Model>::forward(&self.#f, &x)));
        quote! {{
            let x = #x;
            *::kiln::core::arena::view_mut::<#ty_out>(buf, #b) = #y;
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

    fn keras_config(&self) -> KerasConfig {
        // Its config is the nested model's own `KERAS_CONFIG`, which this macro cannot see:
        // `kiln::keras::save_keras` puts it in place of this mark at run time.
        if self.packed {
            return Err(
                "a nested model with several outputs, which kiln does not write into \
                        Keras's config yet",
            );
        }
        keras_config(json!({ NESTED_MARK: true }))
    }
}
