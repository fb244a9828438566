//! `Embedding(input_dim, output_dim)`: Keras's `Embedding` on a sequence of token ids `[t]`
//! (in the model's element type; truncated and clamped to the table, see
//! `kiln_core::layers::Embedding`), making `[t, output_dim]`.

use super::{
    keras_config, p, unary, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{describe, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Embedding"],
    keras_class: "Embedding",
    auto_name: "embedding",
    params: &[
        p("input_dim", true, true),
        p("output_dim", true, true),
        p("mask_zero", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "Embedding(input_dim, output_dim), e.g. `Embedding(1000, 64)` for 1000 token ids",
    build,
};

pub struct Embedding {
    /// Token ids `0..vocab`.
    vocab: usize,
    dim: usize,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    args.fixed_flag(
        "mask_zero",
        false,
        " (kiln has no masks: id 0 would be read as a token)",
        errs,
    );
    Box::new(Embedding {
        vocab: args.count("input_dim", errs).unwrap_or(1),
        dim: args.count("output_dim", errs).unwrap_or(1),
    })
}

impl Embedding {
    fn ty(&self, t: &TokenStream) -> TokenStream {
        let (v, d) = (lit(self.vocab), lit(self.dim));
        quote!(::kiln::core::layers::Embedding<#t, #v, #d>)
    }
}

impl LayerKind for Embedding {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        if !cx.first {
            return Err(format!(
                "{} reads token ids, so it must read the model's input, but reads {} from {}; \
                 put it first (ids are not computed by layers)",
                cx.label,
                describe(input),
                cx.from,
            ));
        }
        let &[steps] = input else {
            let fix = if let [t, 1] = input {
                format!("declare the input as `[{t}]`, one id per step")
            } else {
                "declare the input as `[steps]`, one token id per step".to_string()
            };
            return Err(format!(
                "{} needs a sequence of token ids [steps], but receives {} from {}; {fix}",
                cx.label,
                describe(input),
                cx.from,
            ));
        };
        Ok(cx.step(input, vec![steps, self.dim], self.vocab * self.dim, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, _: &Step) -> Option<TokenStream> {
        Some(self.ty(t))
    }

    fn weights(&self, _: &Step) -> Vec<Weight> {
        vec![Weight {
            name: "embeddings",
            shape: vec![self.vocab, self.dim],
            stored: true,
        }]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(Embedding)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let f = &cx.field;
        unary::forward(&quote!(self.#f), cx)
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (f, input) = (&cx.field, &cx.input);
        let mut p = cx.parts();
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = quote!(self.#f.forward(#input, &mut #out););
        let ty = self.ty(&cx.t);
        p.with_dx = quote!(<#ty>::backward(#input, &#dy, d_prev, &mut grads.#f););
        p.params_only = quote!(<#ty>::backward_params(#input, &#dy, &mut grads.#f););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let f = &cx.field;
        unary::batch(&quote!(self.#f), cx)
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let f = &cx.field;
        unary::arena(&quote!(self.#f), cx)
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("Embedding has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({ "input_dim": self.vocab, "output_dim": self.dim, "mask_zero": false }))
    }
}
