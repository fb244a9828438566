//! `GlobalAvgPool`: each channel's mean over height and width, Keras's `GlobalAveragePooling2D`.

use super::{Arity, Fusion, LayerInfo, LayerKind, Mode, QuantRole, Weight, NAME};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["GlobalAvgPool", "GlobalAvgPool2D", "GlobalAveragePooling2D"],
    keras_class: "GlobalAveragePooling2D",
    auto_name: "global_average_pooling2d",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "GlobalAvgPool",
    build,
};

pub struct GlobalAvgPool;

fn build(_: &Args, _: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(GlobalAvgPool)
}

const KERNEL: &str = "::kiln::core::layers::GlobalAvgPool2D";

fn kernel() -> TokenStream {
    KERNEL.parse().expect("a path")
}

impl LayerKind for GlobalAvgPool {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        match input {
            &[_, _, c] => Ok(cx.step(input, vec![c], 0, (0, 0))),
            _ => Err(cx.need_image(
                input,
                "it averages each channel over height and width, so use it on an image (before any `Flatten`), or remove it",
            )),
        }
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
        let (k, x_in, b) = (kernel(), &cx.x_in, &cx.b);
        let zeroed = cx.zeroed();
        let run = quote! {
            #zeroed
            #k.forward(#x_in, &mut #b);
        };
        cx.parts(run, TokenStream::new(), "linear")
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (k, input) = (kernel(), &cx.input);
        let mut p = cx.parts();
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = quote!(#k.forward(#input, &mut #out););
        p.with_dx = quote!(#k.backward(&#dy, d_prev););
        p
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        assert!(cx.in_run, "per-sample layers are in runs");
        let (k, x, x_out, ty_out) = (kernel(), &cx.x, &cx.x_out, &cx.ty_out);
        let (mut p, out) = cx.sample_output();
        p.code = quote! {
            #k.forward(#x, &mut #out);
            let #x_out: &#ty_out = &#out;
        };
        p
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (k, io) = (kernel(), &cx.io);
        quote! {{
            #io
            #k.forward(x, y);
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("GlobalAvgPool has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }
}
