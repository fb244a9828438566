//! Emits the model: a struct with one field per layer that owns parameters, and a forward pass
//! as straight-line calls into `kiln_core` kernels with every size spelled out as a constant.
//! Generated code names nothing but `::kiln` paths (and `::core`).

use crate::layer::{Act, Config, Layer};
use crate::nested;
use crate::shape::{fmt_shape, Step};
use crate::summary::{self, Row};
use crate::syntax::ModelDef;
use crate::types::{field_type, lit, tensor_ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Applies `act` in place to `rows`, an expression of type `&mut [[T; c]]` (a tensor seen as
/// rows of its last axis, where Keras applies activations). Nothing for `linear`.
pub fn apply_act(t: &TokenStream, act: &Act, c: usize, rows: TokenStream) -> TokenStream {
    if act.name == "linear" {
        return TokenStream::new();
    }
    let ty = format_ident!("{}", act.ty);
    let c = lit(c);
    quote! {
        <::kiln::core::activations::#ty as ::kiln::core::activations::Activation>::apply::<#t, #c>(#rows);
    }
}

/// `apply_act` on the tensor in the local `buf`.
fn act_on(t: &TokenStream, act: &Act, c: usize, buf: &syn::Ident) -> TokenStream {
    let rows = quote!(::kiln::core::tensor::Rows::<#t, #c>::rows_mut(&mut #buf));
    apply_act(t, act, c, rows)
}

/// The parameter-owning field of a layer, if it has one.
struct Field {
    ident: syn::Ident,
    name: String,
    ty: TokenStream,
    doc: String,
}

pub fn emit(def: &ModelDef, input: &[usize], layers: &[Layer], steps: &[Step]) -> TokenStream {
    let scalar = def.scalar_name();
    let t: TokenStream = scalar.parse().expect("f32 or f64");
    let name = &def.name;
    let snake = crate::naming::snake_case(&name.to_string());
    let output = steps.last().map_or(input.to_vec(), |s| s.output.clone());
    let (in_ty, out_ty) = (tensor_ty(&t, input), tensor_ty(&t, &output));
    let params: usize = steps.iter().map(|s| s.params).sum();

    let mut fields: Vec<Field> = Vec::new();
    let mut body = TokenStream::new();
    let mut observed = TokenStream::new();
    for (i, (l, s)) in layers.iter().zip(steps).enumerate() {
        let x_in = format_ident!("x{}", i);
        let x_out = format_ident!("x{}", i + 1);
        let b = format_ident!("b{}", i + 1);
        let ty_out = tensor_ty(&t, &s.output);
        let ident = format_ident!("{}", l.name);
        let zeroed = quote!(let mut #b: #ty_out = ::kiln::core::bytemuck::Zeroable::zeroed(););
        let mut field = |ty: TokenStream| {
            let doc = format!(
                "Layer {}, `{}` ({}): {} → {}, {} parameters.",
                l.pos,
                l.name,
                l.class,
                fmt_shape(&s.input),
                fmt_shape(&s.output),
                s.params
            );
            fields.push(Field {
                ident: ident.clone(),
                name: l.name.clone(),
                ty,
                doc,
            });
        };
        // Each step is split in three so the observed pass (for calibration) can look between
        // them: `run` computes the layer into `b`, `act` applies its activation, `bind` names the
        // result `x_out`.
        let bind = quote!(let #x_out = &#b;);
        let (run, act, bind, act_name) = match &l.config {
            Config::Dense { units, act, .. } => {
                let (i_dim, o) = (lit(*s.input.last().expect("rank >= 1")), lit(*units));
                field(field_type(&t, l, s).expect("Dense has parameters"));
                let run = quote! {
                    #zeroed
                    self.#ident.forward(
                        ::kiln::core::tensor::Rows::<#t, #i_dim>::rows(#x_in),
                        ::kiln::core::tensor::Rows::<#t, #o>::rows_mut(&mut #b),
                    );
                };
                (run, act_on(&t, act, *units, &b), bind, act.name)
            }
            Config::Conv2D { filters, act, .. } => {
                field(field_type(&t, l, s).expect("Conv2D has parameters"));
                let run = quote! {
                    #zeroed
                    self.#ident.forward(#x_in, &mut #b);
                };
                (run, act_on(&t, act, *filters, &b), bind, act.name)
            }
            Config::Pool {
                max, pool, strides, ..
            } => {
                let [ph, pw, sh, sw, pt, pl] =
                    [pool.0, pool.1, strides.0, strides.1, s.pad.0, s.pad.1].map(lit);
                let kernel = if *max {
                    quote!(MaxPool2D)
                } else {
                    quote!(AvgPool2D)
                };
                let run = quote! {
                    #zeroed
                    ::kiln::core::layers::#kernel::<#ph, #pw, #sh, #sw, #pt, #pl>.forward(#x_in, &mut #b);
                };
                (run, TokenStream::new(), bind, "linear")
            }
            Config::GlobalAvgPool => {
                let run = quote! {
                    #zeroed
                    ::kiln::core::layers::GlobalAvgPool2D.forward(#x_in, &mut #b);
                };
                (run, TokenStream::new(), bind, "linear")
            }
            Config::Flatten | Config::Reshape { .. } => {
                let bind = quote!(let #x_out: &#ty_out = ::kiln::core::tensor::reshape(#x_in););
                (TokenStream::new(), TokenStream::new(), bind, "linear")
            }
            Config::Dropout { .. } => {
                // Dropout is the identity at inference.
                let bind = quote!(let #x_out: &#ty_out = #x_in;);
                (TokenStream::new(), TokenStream::new(), bind, "linear")
            }
            Config::Activation { act } => {
                let run = quote!(let mut #b: #ty_out = *#x_in;);
                let act_tokens = act_on(&t, act, *s.output.last().expect("rank >= 1"), &b);
                (run, act_tokens, bind, act.name)
            }
            Config::Nested { path, .. } => {
                field(field_type(&t, l, s).expect("a nested model has parameters"));
                let run = quote! {
                    let #b: #ty_out = <#path as ::kiln::Model>::forward(&self.#ident, #x_in);
                };
                (run, TokenStream::new(), bind, "linear")
            }
        };
        let (pos, lname, class) = (l.pos, &l.name, &l.class);
        let observe = |v: TokenStream| {
            quote! {
                f(::kiln::core::Observed {
                    position: #pos,
                    name: #lname,
                    class: #class,
                    activation: #act_name,
                    output: ::kiln::core::tensor::flat(#v),
                });
            }
        };
        body.extend(quote!(#run #act #bind));
        observed.extend(if act_name == "softmax" {
            let seen = observe(quote!(&#b));
            quote!(#run #seen #act #bind)
        } else {
            let seen = observe(quote!(#x_out));
            quote!(#run #act #bind #seen)
        });
    }
    let x_last = format_ident!("x{}", layers.len());

    let rows: Vec<Row> = layers
        .iter()
        .zip(steps)
        .map(|(l, s)| Row {
            layer: format!("{} ({})", l.name, l.class),
            output: s.output.clone(),
            params: s.params,
        })
        .collect();
    let summary = summary::render(&snake, &rows, if scalar == "f64" { 8 } else { 4 });

    let attrs = &def.attrs;
    let vis = &def.vis;
    let shapes_doc = [
        String::new(),
        "# Shapes".to_string(),
        format!("- input: `{}`", fmt_shape(input)),
        format!("- output: `{}`", fmt_shape(&output)),
        format!("- parameters: {params}"),
        String::new(),
        "Generated by `kiln::model!`; see [`kiln::Model`] for what it offers.".to_string(),
    ];
    let field_idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let field_tys: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let field_docs: Vec<_> = fields.iter().map(|f| &f.doc).collect();
    let field_names: Vec<_> = fields.iter().map(|f| &f.name).collect();
    let in_dims = input.iter().map(|&d| lit(d));
    let out_dims = output.iter().map(|&d| lit(d));
    let shapes = nested::Shapes {
        input,
        output: &output,
        params,
        scalar: &scalar,
    };
    let answerer = nested::answerer(name, Some(shapes), &snake);
    let train = crate::codegen_train::emit(&t, name, vis, input, layers, steps);
    let batch = crate::codegen_batch::emit(&t, name, input, layers, steps);
    let infer = crate::codegen_infer::emit(&t, name, input, layers, steps);
    let embedded = match &def.weights {
        Some(path) => crate::codegen_infer::embed(&t, name, layers, steps, path)
            .unwrap_or_else(|e| e.to_compile_error()),
        None => TokenStream::new(),
    };

    quote! {
        #(#attrs)*
        #(#[doc = #shapes_doc])*
        #[derive(Clone, Copy)]
        #[repr(C)]
        #vis struct #name {
            #( #[doc = #field_docs] pub #field_idents: #field_tys, )*
        }

        // SAFETY: every field is a layer of plain float arrays (or a model made of them), for
        // which all-zero bytes are a valid value; `_zeroable_fields` proves each is `Zeroable`.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #name {}
        const _: () = {
            fn _zeroable_fields() {
                fn zeroable<Z: ::kiln::core::bytemuck::Zeroable>() {}
                #( zeroable::<#field_tys>(); )*
            }
        };

        impl ::kiln::core::params::Params<#t> for #name {
            #[allow(unused_variables)]
            fn visit_params(
                &self,
                prefix: ::core::option::Option<&::kiln::core::params::Name<'_>>,
                f: &mut dyn FnMut(::kiln::core::params::Param<'_, #t>),
            ) {
                #({
                    let n = ::kiln::core::params::Name::child(prefix, #field_names);
                    ::kiln::core::params::Params::<#t>::visit_params(&self.#field_idents, ::core::option::Option::Some(&n), f);
                })*
            }
            #[allow(unused_variables)]
            fn visit_params_mut(
                &mut self,
                prefix: ::core::option::Option<&::kiln::core::params::Name<'_>>,
                f: &mut dyn FnMut(::kiln::core::params::ParamMut<'_, #t>),
            ) {
                #({
                    let n = ::kiln::core::params::Name::child(prefix, #field_names);
                    ::kiln::core::params::Params::<#t>::visit_params_mut(&mut self.#field_idents, ::core::option::Option::Some(&n), f);
                })*
            }
            #[allow(unused_variables)]
            fn init_params(&mut self, rng: &mut ::kiln::core::init::Rng) {
                #( ::kiln::core::params::Params::<#t>::init_params(&mut self.#field_idents, rng); )*
            }
        }

        impl #name {
            /// The shape of one input sample.
            pub const INPUT_SHAPE: &'static [usize] = &[#(#in_dims),*];
            /// The shape of one output sample.
            pub const OUTPUT_SHAPE: &'static [usize] = &[#(#out_dims),*];
            /// The number of parameters.
            pub const PARAMS: usize = #params;

            /// The Keras-style summary table, computed at compile time.
            pub fn summary() -> &'static str {
                <Self as ::kiln::Model>::SUMMARY
            }

            /// Runs one sample through the network in inference mode. No heap allocation.
            #[inline]
            pub fn forward(&self, x: &#in_ty) -> #out_ty {
                <Self as ::kiln::Model>::forward(self, x)
            }
        }

        impl ::kiln::Model for #name {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            const NAME: &'static str = #snake;
            const INPUT_SHAPE: &'static [usize] = #name::INPUT_SHAPE;
            const OUTPUT_SHAPE: &'static [usize] = #name::OUTPUT_SHAPE;
            const PARAMS: usize = #name::PARAMS;
            const SUMMARY: &'static str = #summary;

            #[inline]
            fn forward(&self, x0: &#in_ty) -> #out_ty {
                #body
                *#x_last
            }
        }

        impl ::kiln::core::Observe for #name {
            #[allow(clippy::let_and_return)]
            fn forward_observed(
                &self,
                x0: &#in_ty,
                f: &mut dyn FnMut(::kiln::core::Observed<'_, #t>),
            ) -> #out_ty {
                #observed
                *#x_last
            }
        }

        ::kiln::__if_alloc! {
            impl #name {
                /// A new model on the heap with Keras's default initialisers (glorot_uniform
                /// kernels, zero biases), deterministic for `seed`.
                pub fn init(seed: u64) -> ::kiln::__private::Box<Self> {
                    <Self as ::kiln::Model>::init(seed)
                }

                /// Runs `forward` on every sample of a batch.
                pub fn predict(&self, xs: &[#in_ty]) -> ::kiln::__private::Vec<#out_ty> {
                    <Self as ::kiln::Model>::predict(self, xs)
                }
            }
        }

        ::kiln::__if_std! {
            impl #name {
                /// Writes every parameter to a safetensors file (`<layer>/<param>`, Keras layouts).
                pub fn save_weights(&self, path: impl ::core::convert::AsRef<::kiln::__private::Path>) -> ::core::result::Result<(), ::kiln::Error> {
                    <Self as ::kiln::Model>::save_weights(self, path)
                }

                /// Reads every parameter from a safetensors file; on `Err` nothing was changed.
                pub fn load_weights(&mut self, path: impl ::core::convert::AsRef<::kiln::__private::Path>) -> ::core::result::Result<(), ::kiln::Error> {
                    <Self as ::kiln::Model>::load_weights(self, path)
                }
            }
        }

        #train

        #batch

        #infer

        #embedded

        #answerer
    }
}
