//! The global pools: each channel's mean or largest value over height and width
//! (`GlobalAveragePooling2D`, `GlobalMaxPooling2D`) or each feature's over the steps of a
//! sequence (`GlobalAveragePooling1D`, `GlobalMaxPooling1D`). They differ in their kernel, the
//! rank they take, and what backward needs (the maximum needs its input, the mean does not).

use super::{
    keras_config, unary, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::emit::{batch, forward, infer, int8, train};
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const AVG_INFO: LayerInfo = LayerInfo {
    spellings: &["GlobalAvgPool", "GlobalAvgPool2D", "GlobalAveragePooling2D"],
    keras_class: "GlobalAveragePooling2D",
    auto_name: "global_average_pooling2d",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "GlobalAvgPool",
    build: |_, _| {
        Box::new(GlobalPool {
            max: false,
            seq: false,
        })
    },
};

pub const MAX_INFO: LayerInfo = LayerInfo {
    spellings: &["GlobalMaxPool", "GlobalMaxPool2D", "GlobalMaxPooling2D"],
    keras_class: "GlobalMaxPooling2D",
    auto_name: "global_max_pooling2d",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "GlobalMaxPool",
    build: |_, _| {
        Box::new(GlobalPool {
            max: true,
            seq: false,
        })
    },
};

pub const AVG_1D_INFO: LayerInfo = LayerInfo {
    spellings: &["GlobalAvgPool1D", "GlobalAveragePooling1D"],
    keras_class: "GlobalAveragePooling1D",
    auto_name: "global_average_pooling1d",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "GlobalAvgPool1D",
    build: |_, _| {
        Box::new(GlobalPool {
            max: false,
            seq: true,
        })
    },
};

pub const MAX_1D_INFO: LayerInfo = LayerInfo {
    spellings: &["GlobalMaxPool1D", "GlobalMaxPooling1D"],
    keras_class: "GlobalMaxPooling1D",
    auto_name: "global_max_pooling1d",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "GlobalMaxPool1D",
    build: |_, _| {
        Box::new(GlobalPool {
            max: true,
            seq: true,
        })
    },
};

/// A global pool: the maximum if `max`, else the mean; over a sequence's steps if `seq`, else
/// over an image's pixels.
pub struct GlobalPool {
    max: bool,
    seq: bool,
}

impl GlobalPool {
    fn kernel(&self) -> TokenStream {
        match (self.max, self.seq) {
            (true, false) => quote!(::kiln::core::layers::GlobalMaxPool2D),
            (false, false) => quote!(::kiln::core::layers::GlobalAvgPool2D),
            (true, true) => quote!(::kiln::core::layers::GlobalMaxPool1D),
            (false, true) => quote!(::kiln::core::layers::GlobalAvgPool1D),
        }
    }
}

impl LayerKind for GlobalPool {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let what = if self.max { "largest value" } else { "mean" };
        let keras = if self.max {
            "GlobalMaxPooling"
        } else {
            "GlobalAveragePooling"
        };
        match (input, self.seq) {
            (&[_, _, c], false) | (&[_, c], true) => Ok(cx.step(input, vec![c], 0, (0, 0))),
            (&[_, _], false) => Err(cx.need_image(
                input,
                &format!("on a sequence use `{keras}1D`, which takes each feature's {what} over the steps"),
            )),
            (&[_, _, _], true) => Err(cx.need_sequence(
                input,
                &format!("on an image use `{keras}2D`, which takes each channel's {what} over height and width"),
            )),
            (_, false) => Err(cx.need_image(
                input,
                &format!(
                    "it takes each channel's {what} over height and width, so use it on an image (before any `Flatten`), or remove it"
                ),
            )),
            (_, true) => Err(cx.need_sequence(
                input,
                &format!("it takes each feature's {what} over the steps, and a vector has none: remove it"),
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
        unary::forward(&self.kernel(), cx)
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        unary::train(&self.kernel(), cx, self.max)
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

    fn int8(&self, _: &int8::Check) -> int8::Role {
        int8::Role::Pool
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        // Every pixel (or step) as one row of channels.
        let c = *cx.s.input.last().expect("rank >= 2");
        let n = cx.s.input.iter().product::<usize>() / c;
        let f = if self.max {
            quote!(global_max_pool)
        } else {
            quote!(global_avg_pool)
        };
        int8::Code {
            field: None,
            call: quote! {
                ::kiln::core::quant::#f::<#n, #c>(::kiln::core::tensor::reshape(x), y);
            },
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::PassThrough
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(json!({ "data_format": "channels_last", "keepdims": false }))
    }
}
