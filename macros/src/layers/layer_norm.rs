//! `LayerNormalization`: each sample's last axis shifted to mean 0 and scaled to variance 1,
//! then by the learned `gamma` and `beta`; Keras's `LayerNormalization` with its defaults
//! (`axis = -1`, `epsilon = 1e-3`, `center` and `scale` on).

use super::{
    keras_config, p, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::{axis, positive};
use crate::shapes::{describe, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["LayerNormalization", "LayerNorm"],
    keras_class: "LayerNormalization",
    auto_name: "layer_normalization",
    params: &[
        p("axis", true, false),
        p("epsilon", false, false),
        p("center", false, false),
        p("scale", false, false),
        p("rms_scaling", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "LayerNormalization, or `LayerNormalization(epsilon = 1e-5)`",
    build,
};

/// Keras's default `epsilon`.
const EPSILON: f64 = 1e-3;

pub struct LayerNorm {
    /// Keras's `axis` as written (`-1` by default); checked against the rank in `infer`.
    axis: i64,
    epsilon: f64,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    // `center = false` / `scale = false` drop `beta` / `gamma`; kiln always has both, so say so
    // rather than train parameters Keras would not have.
    args.fixed_flag("center", true, " (no `beta`)", errs);
    args.fixed_flag("scale", true, " (no `gamma`)", errs);
    args.fixed_flag("rms_scaling", false, "", errs);
    let label = &args.label;
    Box::new(LayerNorm {
        axis: args
            .get("axis")
            .and_then(|e| axis(e, label, errs))
            .unwrap_or(-1),
        epsilon: args
            .get("epsilon")
            .and_then(|e| positive(e, "epsilon", label, errs))
            .unwrap_or(EPSILON),
    })
}

impl LayerNorm {
    fn features(s: &Step) -> usize {
        *s.input.last().expect("rank >= 1")
    }

    /// `epsilon` as the model's scalar type.
    fn eps(&self, t: &TokenStream) -> TokenStream {
        let e = self.epsilon;
        quote!(<#t as ::kiln::core::scalar::Scalar>::of(#e))
    }

    fn kernel_ty(t: &TokenStream, s: &Step) -> TokenStream {
        let c = lit(Self::features(s));
        quote!(::kiln::core::layers::LayerNormalization<#t, #c>)
    }
}

impl LayerKind for LayerNorm {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let rank = input.len() as i64;
        // Keras counts the batch as axis 0, so a sample's last axis is `rank` or `-1`.
        if self.axis != -1 && self.axis != rank {
            let what = if self.axis == 0 || self.axis == -rank - 1 {
                "is the batch axis".to_string()
            } else if self.axis < -rank || self.axis > rank {
                format!("does not exist (its axes are 1 to {rank}, or -{rank} to -1)")
            } else {
                "is not its last axis".to_string()
            };
            return Err(format!(
                "{}: kiln normalizes the last axis only, but `axis = {}` {what} in {} from {}; \
                 use `axis = -1` (Keras's default)",
                cx.label,
                self.axis,
                describe(input),
                cx.from,
            ));
        }
        let c = *input.last().expect("shapes have rank >= 1");
        Ok(cx.step(input, input.to_vec(), 2 * c, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        Some(Self::kernel_ty(t, s))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        let c = Self::features(s);
        ["gamma", "beta"]
            .into_iter()
            .map(|name| Weight {
                name,
                shape: vec![c],
                stored: true,
            })
            .collect()
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(LayerNormalization)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        let (t, f, x_in, b) = (&cx.t, &cx.field, &cx.x_in, &cx.b);
        let (c, eps) = (lit(Self::features(cx.s)), self.eps(t));
        let zeroed = cx.zeroed();
        let run = quote! {
            #zeroed
            self.#f.forward(
                #eps,
                ::kiln::core::tensor::Rows::<#t, #c>::rows(#x_in),
                ::kiln::core::tensor::Rows::<#t, #c>::rows_mut(&mut #b),
            );
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Block
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, f, cast, cast_mut, c) = (&cx.t, &cx.field, &cx.cast, &cx.cast_mut, &cx.cin);
        let eps = self.eps(t);
        let mut p = cx.parts();
        let x_rows = {
            let input = &cx.input;
            quote!(#cast::<_, [#t; #c]>(#input))
        };
        let out = cx.at(&cx.a);
        p.forward = quote!(self.#f.forward(#eps, #x_rows, #cast_mut::<_, [#t; #c]>(&mut #out)););
        let field_ty = Self::kernel_ty(t, cx.s);
        let dy = cx.rows(&cx.g);
        p.with_dx = quote! {
            self.#f.backward(#eps, #x_rows, #dy, #cast_mut::<_, [#t; #c]>(d_prev), &mut grads.#f);
        };
        p.params_only = quote!(<#field_ty>::backward_params(#eps, #x_rows, #dy, &mut grads.#f););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        let (t, f, x_out, b) = (&cx.t, &cx.field, &cx.x_out, &cx.b);
        let (ty_out, c) = (&cx.ty_out, &cx.c_out);
        assert!(!cx.in_run, "runs hold no block layers");
        let eps = self.eps(t);
        let mut p = cx.block_output();
        let out = cx.block_out();
        let rows_in = cx.rows_in();
        p.code = quote! {
            self.#f.forward(
                #eps,
                #rows_in,
                ::kiln::core::bytemuck::cast_slice_mut::<#ty_out, [#t; #c]>(#out),
            );
            let #x_out: &[#ty_out] = &s.#b[..n];
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, f, io) = (&cx.t, &cx.field, &cx.io);
        let (c, eps) = (lit(Self::features(cx.s)), self.eps(t));
        quote! {{
            #io
            self.#f.forward(
                #eps,
                ::kiln::core::tensor::Rows::<#t, #c>::rows(x),
                ::kiln::core::tensor::Rows::<#t, #c>::rows_mut(y),
            );
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("LayerNormalization has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": true,
            "scale": true,
            "rms_scaling": false,
        }))
    }
}
