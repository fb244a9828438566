//! `Conv2D(filters, kernel_size[, activation])`: a 2-D convolution over channels-last images,
//! Keras's `Conv2D` (`valid` or `same` padding, strides, bias).

use super::{
    keras_config, p, Act, Arity, Conv, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, Padding,
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
    spellings: &["Conv2D", "Convolution2D"],
    keras_class: "Conv2D",
    auto_name: "conv2d",
    params: &[
        p("filters", true, true),
        p("kernel_size", true, true),
        p("activation", true, false),
        p("strides", false, false),
        p("padding", false, false),
        p("use_bias", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "Conv2D(filters, kernel_size[, activation]), e.g. `Conv2D(32, 3, relu)`",
    build,
};

pub struct Conv2D {
    pub filters: usize,
    pub kernel: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    pub act: Act,
    pub bias: bool,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Conv2D {
        filters: args.count("filters", errs).unwrap_or(1),
        kernel: args.size2("kernel_size", errs).unwrap_or((1, 1)),
        strides: args.pair("strides", (1, 1), errs),
        padding: args.padding(false, errs),
        // Keras's third positional argument is the strides, kiln's the activation: say so.
        act: args.activation(errs, true),
        bias: args.use_bias(errs),
    })
}

impl LayerKind for Conv2D {
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
        let params = kh * kw * c * self.filters + if self.bias { self.filters } else { 0 };
        Ok(cx.step(input, vec![oh, ow, self.filters], params, (pt, pl)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        None
    }

    fn is_broken(&self, _: &ShapeCx) -> bool {
        false
    }

    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream> {
        let [kh, kw, ci, co, sh, sw, pt, pl] = [
            self.kernel.0,
            self.kernel.1,
            s.input[2],
            self.filters,
            self.strides.0,
            self.strides.1,
            s.pad.0,
            s.pad.1,
        ]
        .map(lit);
        let bias = self.bias;
        Some(
            quote!(::kiln::core::layers::Conv2D<#t, #kh, #kw, #ci, #co, #sh, #sw, #pt, #pl, #bias>),
        )
    }

    fn weights(&self, s: &Step) -> Vec<Weight> {
        vec![
            Weight {
                name: "kernel",
                shape: vec![self.kernel.0, self.kernel.1, s.input[2], self.filters],
                stored: true,
            },
            Weight {
                name: "bias",
                shape: vec![self.filters],
                stored: self.bias,
            },
        ]
    }

    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str> {
        Ok(Some(quote!(Conv2D)))
    }

    fn forward(&self, cx: &forward::Cx) -> forward::Parts {
        cx.field_forward(&self.act, self.filters)
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (f, input) = (&cx.field, &cx.input);
        let mut p = cx.field_forward(&self.act);
        let field_ty = self.field_type(&cx.t, cx.s).expect("Conv2D has parameters");
        let dy = cx.at(&cx.g);
        p.with_dx = quote!(self.#f.backward(#input, &#dy, d_prev, &mut grads.#f););
        p.params_only = quote!(<#field_ty>::backward_params(#input, &#dy, &mut grads.#f););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        cx.sample_forward(&self.act, self.filters)
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        cx.forward_then_act(&self.act, self.filters)
    }

    fn fusion(&self) -> Fusion {
        Fusion::Conv(Conv {
            filters: self.filters,
            kernel: self.kernel,
            strides: self.strides,
            act: self.act,
        })
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        match cx.activation_missing(&self.act) {
            Some(why) => int8::Role::Unsupported(why),
            None => int8::Role::Weighted,
        }
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        let (f, args, s) = (&cx.field, &cx.ctor_args, cx.s);
        let (kh, kw) = self.kernel;
        let k4 = (kh * kw * s.input[2]).div_ceil(4) * 4;
        let [kh, kw, ci, co, sh, sw, pt, pl, k4] = [
            kh,
            kw,
            s.input[2],
            self.filters,
            self.strides.0,
            self.strides.1,
            s.pad.0,
            s.pad.1,
            k4,
        ]
        .map(lit);
        let ty = quote!(::kiln::core::quant::QConv2D<#kh, #kw, #ci, #co, #sh, #sw, #pt, #pl, #k4>);
        let ctor = quote!(::kiln::core::quant::QConv2D::<#kh, #kw, #ci, #co, #sh, #sw, #pt, #pl, #k4>::new(#args));
        let call = match cx.pooled {
            Some((win, qs)) => {
                let max = win.max;
                let [h, w, oh, ow, ph, pw, psh, psw, poh, pow] = [
                    s.input[0],
                    s.input[1],
                    s.output[0],
                    s.output[1],
                    win.pool.0,
                    win.pool.1,
                    win.strides.0,
                    win.strides.1,
                    qs.output[0],
                    qs.output[1],
                ]
                .map(lit);
                quote!(self.#f.forward_pooled::<#h, #w, #oh, #ow, #ph, #pw, #psh, #psw, #max, #poh, #pow>(x, y);)
            }
            None => quote!(self.#f.forward(x, y);),
        };
        int8::Code {
            field: Some((ty, ctor)),
            call,
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Conv2D
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({
            "filters": self.filters,
            "kernel_size": [self.kernel.0, self.kernel.1],
            "strides": [self.strides.0, self.strides.1],
            "padding": self.padding.keras(),
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "groups": 1,
            "activation": self.act.name,
            "use_bias": self.bias,
        }))
    }
}
