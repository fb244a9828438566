//! `Activation(name)`: an activation on its own, applied along the last axis, Keras's
//! `Activation`. The activations themselves are listed in `layers::ACTIVATIONS`.

use super::{
    keras_config, p, Act, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Activation"],
    keras_class: "Activation",
    auto_name: "activation",
    params: &[p("activation", true, true), NAME],
    variadic: false,
    arity: Arity::One,
    usage: "Activation(name), e.g. `Activation(relu)`",
    build,
};

pub struct Activation {
    pub act: Act,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Activation {
        act: args.activation(errs, false),
    })
}

fn width(s: &Step) -> usize {
    *s.output.last().expect("rank >= 1")
}

impl LayerKind for Activation {
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
        let (b, ty_out, x_in) = (&cx.b, &cx.ty_out, &cx.x_in);
        let run = quote!(let mut #b: #ty_out = *#x_in;);
        cx.parts(run, cx.act_on(&self.act, width(cx.s)), self.act.name)
    }

    fn mode(&self) -> Mode {
        Mode::Neutral
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (input, z) = (&cx.input, &cx.z);
        let mut p = cx.parts();
        let (zs, dy) = (cx.at(z), cx.at(&cx.g));
        p.forward = quote!(#zs = *#input;);
        cx.activated(&mut p, &self.act);
        p.with_dx = quote!(*d_prev = #dy;);
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (x_out, ty_out, b) = (&cx.x_out, &cx.ty_out, &cx.b);
        if cx.in_run {
            // Never the run's last layer: runs end at a convolution or pool.
            let x = &cx.x;
            let (mut p, out) = cx.sample_output();
            let act = cx.apply_act(&self.act, width(cx.s), cx.one(&out));
            p.code = quote! {
                #out = *#x;
                #act
                let #x_out: &#ty_out = &#out;
            };
            p
        } else {
            let x_in = &cx.x_in;
            let mut p = cx.block_output();
            let act = cx.apply_act(&self.act, width(cx.s), cx.block_out());
            p.code = quote! {
                s.#b[..n].copy_from_slice(#x_in);
                #act
                let #x_out: &[#ty_out] = &s.#b[..n];
            };
            p
        }
    }

    fn in_place(&self) -> bool {
        true
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (yt, b) = (&cx.yt, cx.b);
        let act = cx.act_in_place(&self.act, width(cx.s));
        quote! {{ let y = ::kiln::core::arena::view_mut::<#yt>(buf, #b); #act }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        if let Some(why) = cx.activation_missing(&self.act) {
            return int8::Role::Unsupported(why);
        }
        match self.act.name {
            // Softmax on the output: the int8 model outputs its logits, the input itself.
            "linear" | "softmax" => int8::Role::Alias,
            _ => int8::Role::Clamp,
        }
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        let (lo, hi) = cx.clamp;
        int8::Code {
            field: None,
            call: quote! {
                ::kiln::core::quant::clamp(
                    ::kiln::core::tensor::flat::<i8, _>(x),
                    ::kiln::core::tensor::flat_mut::<i8, _>(y),
                    #lo,
                    #hi,
                );
            },
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Activation
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({ "activation": self.act.name }))
    }
}
