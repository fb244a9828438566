//! `DepthwiseConv2D(kernel_size[, activation])`: each channel of a channels-last image
//! convolved with `depth_multiplier` filters of its own, Keras's `DepthwiseConv2D` (`valid` or
//! `same` padding, strides, bias; no dilation).

use super::{
    keras_config, p, Act, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, Padding,
    QuantRole, Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{fmt_shape, window, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["DepthwiseConv2D"],
    keras_class: "DepthwiseConv2D",
    auto_name: "depthwise_conv2d",
    params: &[
        p("kernel_size", true, true),
        p("activation", true, false),
        p("strides", false, false),
        p("padding", false, false),
        p("depth_multiplier", false, false),
        p("use_bias", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "DepthwiseConv2D(kernel_size[, activation]), e.g. \
            `DepthwiseConv2D(3, relu, depth_multiplier = 2)`",
    build,
};

pub struct DepthwiseConv2D {
    pub kernel: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    /// Filters per input channel: the output has `channels · depth_multiplier` channels.
    pub multiplier: usize,
    pub act: Act,
    pub bias: bool,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(DepthwiseConv2D {
        kernel: args.size2("kernel_size", errs).unwrap_or((1, 1)),
        strides: args.pair("strides", (1, 1), errs),
        padding: args.padding(false, errs),
        multiplier: args.count("depth_multiplier", errs).unwrap_or(1),
        // Keras's second positional argument is the strides, kiln's the activation: say so.
        act: args.activation(errs, true),
        bias: args.use_bias(errs),
    })
}

impl DepthwiseConv2D {
    /// The const generics of `kiln_core::layers::DepthwiseConv2D` after the scalar.
    fn generics(&self, s: &Step) -> TokenStream {
        let [kh, kw, c, m, co, sh, sw, pt, pl] = [
            self.kernel.0,
            self.kernel.1,
            s.input[2],
            self.multiplier,
            s.output[2],
            self.strides.0,
            self.strides.1,
            s.pad.0,
            s.pad.1,
        ]
        .map(lit);
        let bias = self.bias;
        quote!(#kh, #kw, #c, #m, #co, #sh, #sw, #pt, #pl, #bias)
    }
}

impl LayerKind for DepthwiseConv2D {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[h, w, c] = input else {
            return Err(cx.need_image(input, ""));
        };
        let (kh, kw) = self.kernel;
        let rows = window(h, kh, self.strides.0, self.padding);
        let cols = window(w, kw, self.strides.1, self.padding);
        let (Some((oh, pt)), Some((ow, pl))) = (rows, cols) else {
            return Err(format!(
                "{}: its {kh}x{kw} kernel does not fit in the {h}x{w} image {} it receives from {} \
                 with `padding = valid`; use a kernel of at most {h}x{w}, or `padding = same`{}",
                cx.label,
                fmt_shape(input),
                cx.from,
                cx.or_less()
            ));
        };
        let co = c * self.multiplier;
        let params = kh * kw * co + if self.bias { co } else { 0 };
        Ok(cx.step(input, vec![oh, ow, co], params, (pt, pl)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        let g = self.generics(s);
        Some(quote!(::kiln::core::layers::DepthwiseConv2D<#t, #g>))
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        vec![
            Weight {
                name: "kernel",
                shape: vec![self.kernel.0, self.kernel.1, s.input[2], self.multiplier],
                stored: true,
            },
            Weight {
                name: "bias",
                shape: vec![s.output[2]],
                stored: self.bias,
            },
        ]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(DepthwiseConv2D)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        cx.field_forward(&self.act, cx.s.output[2])
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (f, input) = (&cx.field, &cx.input);
        let mut p = cx.field_forward(&self.act);
        let field_ty = self
            .field_type(&cx.t, cx.s)
            .expect("DepthwiseConv2D has parameters");
        let dy = cx.at(&cx.g);
        p.with_dx = quote!(self.#f.backward(#input, &#dy, d_prev, &mut grads.#f););
        p.params_only = quote!(<#field_ty>::backward_params(#input, &#dy, &mut grads.#f););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        cx.sample_forward(&self.act, cx.s.output[2])
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        cx.forward_then_act(&self.act, cx.s.output[2])
    }

    fn fusion(&self) -> Fusion {
        // Not a `Conv`: the fused convolution-and-pool paths run Conv2D's kernels.
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("DepthwiseConv2D has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({
            "kernel_size": [self.kernel.0, self.kernel.1],
            "strides": [self.strides.0, self.strides.1],
            "padding": self.padding.keras(),
            "depth_multiplier": self.multiplier,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": self.act.name,
            "use_bias": self.bias,
        }))
    }
}
