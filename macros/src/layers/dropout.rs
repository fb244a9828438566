//! `Dropout(rate)`: zeroes a `rate` fraction of its inputs in training and scales the rest,
//! Keras's `Dropout`; the identity at inference.

use super::{
    keras_config, p, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::{nonneg, rate};
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Dropout"],
    keras_class: "Dropout",
    auto_name: "dropout",
    params: &[p("rate", true, true), p("seed", false, false), NAME],
    variadic: false,
    arity: Arity::One,
    usage: "Dropout(rate), e.g. `Dropout(0.5)`",
    build,
};

pub struct Dropout {
    pub rate: f64,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    if let Some(e) = args.get("seed") {
        nonneg(e, "seed", &args.label, errs);
    }
    let rate = args.get("rate").and_then(|e| rate(e, &args.label, errs));
    Box::new(Dropout {
        rate: rate.unwrap_or(0.0),
    })
}

impl LayerKind for Dropout {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        Ok(cx.step(input, input.to_vec(), 0, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, _: &TokenStream, _: &Step) -> Option<TokenStream> {
        None
    }

    fn weights(&self, _: &Step) -> Vec<Weight> {
        Vec::new()
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(None)
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        cx.identity()
    }

    fn mode(&self) -> Mode {
        Mode::Neutral
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, input, rate) = (&cx.t, &cx.input, self.rate);
        let (in_ty, out_ty, m) = (&cx.in_ty, &cx.out_ty, &cx.m);
        let mut p = cx.parts();
        cx.field(&mut p, m);
        let (out, mask, dy) = (cx.at(&cx.a), cx.at(m), cx.at(&cx.g));
        p.forward = quote! {
            ::kiln::core::layers::Dropout::forward_train(
                #rate,
                &mut rngs[s],
                ::kiln::core::tensor::flat::<#t, #in_ty>(#input),
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
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        cx.identity()
    }

    fn in_place(&self) -> bool {
        true
    }

    fn arena(&self, _: &infer::Cx) -> TokenStream {
        TokenStream::new()
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, _: &int8::Check) -> int8::Role {
        int8::Role::Alias
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("Dropout is an alias in int8 models")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::PassThrough
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({ "rate": self.rate, "noise_shape": null, "seed": null }))
    }
}
