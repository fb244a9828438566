//! `LSTM(units)`: Keras's `LSTM` on a sequence `[steps, features]`, with `activation`,
//! `recurrent_activation`, `use_bias`, `return_sequences` and `go_backwards`; gates i, f, c, o
//! in Keras's layouts (`kernel` `[f, 4u]`, `recurrent_kernel` `[u, 4u]`, `bias` `[4u]`).

use super::{p, Act, Arity, Fusion, LayerInfo, LayerKind, Mode, QuantRole, Weight, NAME};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::{activation, boolean};
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["LSTM"],
    keras_class: "LSTM",
    auto_name: "lstm",
    params: &[
        p("units", true, true),
        p("activation", true, false),
        p("recurrent_activation", true, false),
        p("use_bias", false, false),
        p("return_sequences", false, false),
        p("go_backwards", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "LSTM(units), e.g. `LSTM(128)` or `LSTM(64, return_sequences = true)`",
    build,
};

/// Rows the batched forward pass (`predict`) runs at once; its states are on the stack.
const BATCH_ROWS: usize = 8;

pub struct Lstm {
    units: usize,
    act: Act,
    recurrent: Act,
    bias: bool,
    sequences: bool,
    backwards: bool,
}

/// The activations an LSTM gate can use: Keras's element-wise ones (not softmax).
fn gate_activation(args: &Args, key: &str, default: &str, errs: &mut Errors) -> Act {
    let named = |name: &str| {
        let &(name, ty) = super::ACTIVATIONS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a known activation");
        Act { name, ty }
    };
    let Some(e) = args.get(key) else {
        return named(default);
    };
    match activation(e, false, &args.label, errs) {
        Some(a) if a.name == "softmax" => {
            errs.at(
                e,
                format!(
                    "{}: `{key} = softmax` acts across a gate's units, not on each; use an \
                     element-wise activation such as `{default}` (Keras's default)",
                    args.label
                ),
            );
            named(default)
        }
        Some(a) => a,
        None => named(default),
    }
}

fn flag(args: &Args, key: &str, errs: &mut Errors) -> bool {
    args.get(key)
        .and_then(|e| boolean(e, key, &args.label, errs))
        .unwrap_or(false)
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Lstm {
        units: args.count("units", errs).unwrap_or(1),
        act: gate_activation(args, "activation", "tanh", errs),
        recurrent: gate_activation(args, "recurrent_activation", "sigmoid", errs),
        bias: args.use_bias(errs),
        sequences: flag(args, "return_sequences", errs),
        backwards: flag(args, "go_backwards", errs),
    })
}

impl Lstm {
    /// `(steps, features)` of the input sequence.
    fn input(s: &Step) -> (usize, usize) {
        (s.input[0], s.input[1])
    }

    fn ty(&self, t: &TokenStream, s: &Step) -> TokenStream {
        let (_, f) = Self::input(s);
        let (f, u, g, b) = (lit(f), lit(self.units), lit(4 * self.units), self.bias);
        quote!(::kiln::core::layers::Lstm<#t, #f, #u, #g, #b>)
    }

    /// `A, R, S`: the activation types and the sequence length, the generics every method
    /// starts with.
    fn generics(&self, s: &Step) -> TokenStream {
        let ty = |a: &Act| {
            let ty = format_ident!("{}", a.ty);
            quote!(::kiln::core::activations::#ty)
        };
        let (a, r, steps) = (ty(&self.act), ty(&self.recurrent), lit(s.input[0]));
        quote!(#a, #r, #steps)
    }

    /// The inference call on the input samples `x` (a slice) into the flat output `y`.
    fn forward_call(&self, field: &TokenStream, s: &Step, rows: usize) -> TokenStream {
        let (g, seq, back, rows) = (self.generics(s), self.sequences, self.backwards, lit(rows));
        quote!(#field.forward::<#g, #seq, #back, #rows>(x, y))
    }
}

impl LayerKind for Lstm {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[steps, features] = input else {
            let fix = match input {
                [n] => format!("add `Reshape({n}, 1)` before it for {n} steps of one feature"),
                [h, w, c] => format!(
                    "add `Reshape({h}, {})` before it to read the rows as {h} steps",
                    w * c
                ),
                _ => String::new(),
            };
            return Err(cx.need_sequence(input, &fix));
        };
        let (u, g) = (self.units, 4 * self.units);
        let params = features * g + u * g + if self.bias { g } else { 0 };
        let output = if self.sequences {
            vec![steps, u]
        } else {
            vec![u]
        };
        Ok(cx.step(input, output, params, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        Some(self.ty(t, s))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        let (_, f) = Self::input(s);
        let (u, g) = (self.units, 4 * self.units);
        vec![
            Weight {
                name: "kernel",
                shape: vec![f, g],
                stored: true,
            },
            Weight {
                name: "recurrent_kernel",
                shape: vec![u, g],
                stored: true,
            },
            Weight {
                name: "bias",
                shape: vec![g],
                stored: self.bias,
            },
        ]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(Lstm)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (t, f, x_in, b, ty_out) = (&cx.t, &cx.field, &cx.x_in, &cx.b, &cx.ty_out);
        let zeroed = cx.zeroed();
        let call = self.forward_call(&quote!(self.#f), cx.s, 1);
        let run = quote! {
            #zeroed
            {
                let x = ::core::slice::from_ref(#x_in);
                let y = ::kiln::core::tensor::flat_mut::<#t, #ty_out>(&mut #b);
                #call;
            }
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, f, cast, cast_mut) = (&cx.t, &cx.field, &cx.cast, &cx.cast_mut);
        assert!(cx.blocked, "LSTM runs on the block");
        let (steps, feats) = Self::input(cx.s);
        let (s_lit, f_lit, u, g) = (lit(steps), lit(feats), lit(self.units), lit(4 * self.units));
        // The gates' pre-activations, the cell states and the outputs of every step.
        let name = |p: &str| format_ident!("{p}{}", &cx.a.to_string()[1..]);
        let (zs, cs, hs) = (name("lstm_z"), name("lstm_c"), name("lstm_h"));
        let block = &cx.block;
        let mut p = cx.parts();
        let z_ty = quote!([[[#t; #g]; #s_lit]; #block]);
        let c_ty = quote!([[[#t; #u]; #s_lit]; #block]);
        p.fields
            .extend(quote!(pub #zs: #z_ty, pub #cs: #c_ty, pub #hs: #c_ty,));
        p.cache_tys.extend([z_ty, c_ty.clone(), c_ty]);
        let x = {
            let input = &cx.input;
            quote!(#cast::<_, [[#t; #f_lit]; #s_lit]>(#input))
        };
        let (gen, seq, back) = (self.generics(cx.s), self.sequences, self.backwards);
        let (a, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        let out = if self.sequences {
            quote!(#a.copy_from_slice(&cache.#hs[..n]);)
        } else {
            quote! {
                for (a, h) in #a.iter_mut().zip(&cache.#hs[..n]) {
                    *a = h[#s_lit - 1];
                }
            }
        };
        p.forward = quote! {
            self.#f.forward_train::<#gen, #back>(
                #x, &mut cache.#zs[..n], &mut cache.#cs[..n], &mut cache.#hs[..n],
            );
            #out
        };
        let backward = |dx: TokenStream| {
            quote! {
                self.#f.backward::<#gen, #seq, #back>(
                    #x,
                    &mut cache.#zs[..n],
                    &mut cache.#cs[..n],
                    &cache.#hs[..n],
                    #cast::<_, #t>(&#dy),
                    #dx,
                    &mut grads.#f,
                );
            }
        };
        p.with_dx = backward(quote!(::core::option::Option::Some(
            #cast_mut::<_, [[#t; #f_lit]; #s_lit]>(d_prev)
        )));
        p.params_only = backward(quote!(::core::option::Option::None));
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (t, f, x_in, x_out, b) = (&cx.t, &cx.field, &cx.x_in, &cx.x_out, &cx.b);
        let ty_out = &cx.ty_out;
        assert!(!cx.in_run, "runs hold no block layers");
        let mut p = cx.block_output();
        let out = cx.block_out();
        let call = self.forward_call(&quote!(self.#f), cx.s, BATCH_ROWS);
        p.code = quote! {
            {
                let x = #x_in;
                let y = ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, #t>(#out);
                #call;
            }
            let #x_out: &[#ty_out] = &s.#b[..n];
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, f, io, yt) = (&cx.t, &cx.field, &cx.io, &cx.yt);
        let call = self.forward_call(&quote!(self.#f), cx.s, 1);
        quote! {{
            #io
            let x = ::core::slice::from_ref(x);
            let y = ::kiln::core::tensor::flat_mut::<#t, #yt>(y);
            #call;
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("LSTM has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }
}
