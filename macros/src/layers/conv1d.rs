//! `Conv1D(filters, kernel_size[, activation])`: a 1-D convolution along a sequence's steps,
//! Keras's `Conv1D` (`valid`, `same` or `causal` padding, strides or `dilation_rate`, bias).
//! Undilated, it runs on the Conv2D kernels, as a `kernel_size × 1` window over a one-column
//! image.

use super::{
    keras_config, p, Act, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values;
use crate::shapes::{fmt_shape, window, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Conv1D", "Convolution1D"],
    keras_class: "Conv1D",
    auto_name: "conv1d",
    params: &[
        p("filters", true, true),
        p("kernel_size", true, true),
        p("activation", true, false),
        p("strides", false, false),
        p("padding", false, false),
        p("dilation_rate", false, false),
        p("use_bias", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "Conv1D(filters, kernel_size[, activation]), e.g. `Conv1D(16, 3, relu)`",
    build,
};

pub struct Conv1D {
    pub filters: usize,
    pub kernel: usize,
    pub strides: usize,
    /// Steps between the kernel's taps (Keras's `dilation_rate`); 1 with strides above 1.
    pub dilation: usize,
    pub padding: super::Padding,
    pub act: Act,
    pub bias: bool,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    let strides = args.size1("strides", 1, errs);
    let dilation = args.size1("dilation_rate", 1, errs);
    if dilation > 1 && strides > 1 {
        let at = args.get("dilation_rate").expect("given, as it is not 1");
        errs.at(
            at,
            format!(
                "{}: `strides = {strides}` with `dilation_rate = {dilation}`: a dilated kernel moves \
                 one step at a time (Keras refuses both above 1 too); drop `strides`, or follow \
                 the layer with `MaxPooling1D({strides})` to shorten the sequence",
                args.label
            ),
        );
    }
    Box::new(Conv1D {
        filters: args.count("filters", errs).unwrap_or(1),
        kernel: args
            .get("kernel_size")
            .and_then(|e| values::size1(e, "kernel_size", &args.label, errs))
            .unwrap_or(1),
        strides,
        dilation,
        padding: args.padding(true, errs),
        act: args.activation(errs, true),
        bias: args.use_bias(errs),
    })
}

impl Conv1D {
    /// The `kiln_core` layer type, every size a literal.
    fn ty(&self, t: &TokenStream, s: &Step) -> TokenStream {
        let [k, ci, co, st, d, pt] = [
            self.kernel,
            s.input[1],
            self.filters,
            self.strides,
            self.dilation,
            s.pad.0,
        ]
        .map(lit);
        let bias = self.bias;
        quote!(::kiln::core::layers::Conv1D<#t, #k, #ci, #co, #st, #d, #pt, #bias>)
    }
}

impl LayerKind for Conv1D {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[l, c] = input else {
            let fix = match input {
                [_, _, _] => "to convolve an image, use `Conv2D`".to_string(),
                _ => "add `Reshape(steps, features)` before it".to_string(),
            };
            return Err(cx.need_sequence(input, &fix));
        };
        let (k, d) = (self.kernel, self.dilation);
        // The steps the kernel spans, its taps `d` apart.
        let span = (k - 1).saturating_mul(d).saturating_add(1);
        let Some((ol, pt)) = window(l, span, self.strides, self.padding) else {
            let kernel = if d > 1 {
                format!("its kernel of {k} taps dilated by {d} spans {span} steps, which is")
            } else {
                format!("its kernel of {k} steps is")
            };
            let fix = if d > 1 {
                format!("a kernel and dilation that span at most {l} steps")
            } else {
                format!("a kernel of at most {l}")
            };
            return Err(format!(
                "{}: {kernel} longer than the {l} steps of {} it receives from {} with \
                 `padding = valid`; use {fix}, or `padding = same` or `causal`{}",
                cx.label,
                fmt_shape(input),
                cx.from,
                cx.or_less()
            ));
        };
        let params = k * c * self.filters + if self.bias { self.filters } else { 0 };
        Ok(cx.step(input, vec![ol, self.filters], params, (pt, 0)))
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
        vec![
            Weight {
                name: "kernel",
                shape: vec![self.kernel, s.input[1], self.filters],
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
        Ok(Some(quote!(Conv1D)))
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
        let field_ty = self.ty(&cx.t, cx.s);
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
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("Conv1D has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({
            "filters": self.filters,
            "kernel_size": [self.kernel],
            "strides": [self.strides],
            "padding": self.padding.keras(),
            "data_format": "channels_last",
            "dilation_rate": [self.dilation],
            "groups": 1,
            "activation": self.act.name,
            "use_bias": self.bias,
        }))
    }
}
