//! `UpSampling2D(size)`: each pixel repeated into a `size` block, Keras's `UpSampling2D` with
//! its default `interpolation = "nearest"`.

use super::{
    keras_config, p, unary, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["UpSampling2D"],
    keras_class: "UpSampling2D",
    auto_name: "up_sampling2d",
    params: &[
        p("size", true, false),
        p("interpolation", false, false),
        NAME,
    ],
    variadic: false,
    arity: Arity::One,
    usage: "UpSampling2D(size), e.g. `UpSampling2D(2)` or `UpSampling2D((2, 3))`",
    build,
};

/// Rows repeated `size.0` times, columns `size.1` times.
pub struct UpSampling {
    size: (usize, usize),
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    if let Some(e) = args.get("interpolation") {
        let word = crate::graph::values::word(e);
        if word.as_deref() != Some("nearest") {
            let got = word.unwrap_or_else(|| crate::diagnostics::shown(e));
            errs.at(
                e,
                format!(
                    "{}: interpolation `{got}` is not supported; kiln's UpSampling2D repeats pixels \
                     (`interpolation = nearest`, Keras's default)",
                    args.label
                ),
            );
        }
    }
    Box::new(UpSampling {
        size: args.pair("size", (2, 2), errs),
    })
}

impl UpSampling {
    fn kernel(&self) -> TokenStream {
        let [sh, sw] = [self.size.0, self.size.1].map(lit);
        quote!(::kiln::core::layers::UpSampling2D::<#sh, #sw>)
    }
}

impl LayerKind for UpSampling {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[h, w, c] = input else {
            return Err(cx.need_image(input, ""));
        };
        let (sh, sw) = self.size;
        Ok(cx.step(input, vec![h * sh, w * sw, c], 0, (0, 0)))
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
        unary::forward(&self.kernel(), cx)
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        unary::train(&self.kernel(), cx, false)
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        unary::batch(&self.kernel(), cx)
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        unary::arena(&self.kernel(), cx)
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("UpSampling2D has no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({
            "size": [self.size.0, self.size.1],
            "data_format": "channels_last",
            "interpolation": "nearest",
        }))
    }
}
