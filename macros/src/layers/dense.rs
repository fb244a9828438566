//! `Dense(units[, activation])`: a kernel product along the last axis, Keras's `Dense`.

use super::{
    keras_config, p, Act, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{fmt_shape, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Dense"],
    keras_class: "Dense",
    auto_name: "dense",
    params: &[
        p("units", true, true),
        p("activation", true, false),
        p("use_bias", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "Dense(units[, activation]), e.g. `Dense(128, relu)`",
    build,
};

pub struct Dense {
    pub units: usize,
    pub act: Act,
    pub bias: bool,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Dense {
        units: args.count("units", errs).unwrap_or(1),
        act: args.activation(errs, false),
        bias: args.use_bias(errs),
    })
}

impl Dense {
    fn inputs(s: &Step) -> usize {
        *s.input.last().expect("rank >= 1")
    }
}

impl LayerKind for Dense {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let last = *input.last().expect("shapes have rank >= 1");
        let mut out = input.to_vec();
        *out.last_mut().expect("rank >= 1") = self.units;
        let params = last * self.units + if self.bias { self.units } else { 0 };
        Ok(cx.step(input, out, params, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        let (i, o, bias) = (lit(Self::inputs(s)), lit(self.units), self.bias);
        Some(quote!(::kiln::core::layers::Dense<#t, #i, #o, #bias>))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        vec![
            Weight {
                name: "kernel",
                shape: vec![Self::inputs(s), self.units],
                stored: true,
            },
            Weight {
                name: "bias",
                shape: vec![self.units],
                stored: self.bias,
            },
        ]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(Dense)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (t, f, x_in, b) = (&cx.t, &cx.field, &cx.x_in, &cx.b);
        let (i, o) = (lit(Self::inputs(cx.s)), lit(self.units));
        let zeroed = cx.zeroed();
        let run = quote! {
            #zeroed
            self.#f.forward(
                ::kiln::core::tensor::Rows::<#t, #i>::rows(#x_in),
                ::kiln::core::tensor::Rows::<#t, #o>::rows_mut(&mut #b),
            );
        };
        cx.parts(run, cx.act_on(&self.act, self.units), self.act.name)
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, f, cast, cast_mut) = (&cx.t, &cx.field, &cx.cast, &cx.cast_mut);
        let (cin, cout) = (&cx.cin, &cx.cout);
        let mut p = cx.parts();
        let x_rows = {
            let input = &cx.input;
            quote!(#cast::<_, [#t; #cin]>(#input))
        };
        let out = cx.at(cx.target(&self.act));
        p.forward = quote!(self.#f.forward(#x_rows, #cast_mut::<_, [#t; #cout]>(&mut #out)););
        if self.act.name != "linear" {
            cx.activated(&mut p, &self.act);
        }
        let field_ty = self.field_type(t, cx.s).expect("Dense has parameters");
        let dy = cx.rows(&cx.g);
        p.with_dx = quote! {
            self.#f.backward(#x_rows, #dy, #cast_mut::<_, [#t; #cin]>(d_prev), &mut grads.#f);
        };
        p.params_only = quote!(<#field_ty>::backward_params(#x_rows, #dy, &mut grads.#f););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (t, f, x_out, b) = (&cx.t, &cx.field, &cx.x_out, &cx.b);
        let (ty_out, c_out) = (&cx.ty_out, &cx.c_out);
        assert!(!cx.in_run, "runs hold no block layers");
        let mut p = cx.block_output();
        let out = cx.block_out();
        let act = cx.apply_act(&self.act, self.units, out.clone());
        let rows_in = cx.rows_in();
        p.code = quote! {
            self.#f.forward(
                #rows_in,
                ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, [#t; #c_out]>(#out),
            );
            #act
            let #x_out: &[#ty_out] = &s.#b[..n];
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, f, io) = (&cx.t, &cx.field, &cx.io);
        let (i, o) = (lit(Self::inputs(cx.s)), lit(self.units));
        let act = cx.act_in_place(&self.act, self.units);
        quote! {{
            #io
            self.#f.forward(
                ::kiln::core::tensor::Rows::<#t, #i>::rows(x),
                ::kiln::core::tensor::Rows::<#t, #o>::rows_mut(y),
            );
            #act
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        if let Some(why) = cx.activation_missing(&self.act) {
            return int8::Role::Unsupported(why);
        }
        if cx.s.input.len() != 1 {
            return int8::Role::Unsupported(format!(
                "{}: an int8 Dense needs a flat input, but gets {}; put `Flatten` before it",
                cx.label,
                fmt_shape(&cx.s.input)
            ));
        }
        int8::Role::Weighted
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        let (f, args) = (&cx.field, &cx.ctor_args);
        let (i, o) = (cx.s.input[0], cx.s.output[0]);
        let [i, o, i4] = [i, o, i.div_ceil(4) * 4].map(lit);
        int8::Code {
            field: Some((
                quote!(::kiln::core::quant::QDense<#i, #o, #i4>),
                quote!(::kiln::core::quant::QDense::<#i, #o, #i4>::new(#args)),
            )),
            call: quote!(self.#f.forward(x, y);),
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Dense
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(
            json!({ "units": self.units, "activation": self.act.name, "use_bias": self.bias }),
        )
    }
}
