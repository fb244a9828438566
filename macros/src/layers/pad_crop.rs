//! `ZeroPadding2D(padding)` and `Cropping2D(cropping)`: rows and columns of zeros added around
//! an image, or cut from its edges, Keras's layers of those names. They share the file because
//! each one's backward is the other's forward.

use super::{
    keras_config, p, unary, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole,
    Weight, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::sides;
use crate::shapes::{fmt_shape, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

pub const PAD_INFO: LayerInfo = LayerInfo {
    spellings: &["ZeroPadding2D"],
    keras_class: "ZeroPadding2D",
    auto_name: "zero_padding2d",
    params: &[p("padding", true, false), NAME],
    variadic: false,
    arity: Arity::One,
    usage: "ZeroPadding2D(padding), e.g. `ZeroPadding2D(1)` or `ZeroPadding2D(((1, 0), (2, 2)))`",
    build: |args, errs| build(args, errs, false),
};

pub const CROP_INFO: LayerInfo = LayerInfo {
    spellings: &["Cropping2D"],
    keras_class: "Cropping2D",
    auto_name: "cropping2d",
    params: &[p("cropping", true, false), NAME],
    variadic: false,
    arity: Arity::One,
    usage: "Cropping2D(cropping), e.g. `Cropping2D(2)` or `Cropping2D(((1, 0), (2, 2)))`",
    build: |args, errs| build(args, errs, true),
};

/// Padding, or cropping if `crop`: `((top, bottom), (left, right))`.
pub struct PadCrop {
    crop: bool,
    sides: [(usize, usize); 2],
}

fn build(args: &Args, errs: &mut Errors, crop: bool) -> Box<dyn LayerKind> {
    // Keras's defaults: one of padding on every side, no cropping.
    let (what, default) = if crop {
        ("cropping", [(0, 0), (0, 0)])
    } else {
        ("padding", [(1, 1), (1, 1)])
    };
    let sides = args
        .get(what)
        .map_or(Some(default), |e| sides(e, what, &args.label, errs))
        .unwrap_or(default);
    Box::new(PadCrop { crop, sides })
}

impl PadCrop {
    fn kernel(&self) -> TokenStream {
        let [(top, _), (left, _)] = self.sides;
        if self.crop {
            quote!(::kiln::core::layers::Cropping2D::<#top, #left>)
        } else {
            quote!(::kiln::core::layers::ZeroPadding2D::<#top, #left>)
        }
    }
}

impl LayerKind for PadCrop {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[h, w, c] = input else {
            let what = if self.crop {
                "cuts rows and columns from"
            } else {
                "adds rows and columns around"
            };
            return Err(cx.need_image(
                input,
                &format!("it {what} an image; use it before any `Flatten`"),
            ));
        };
        let [(t, b), (l, r)] = self.sides;
        if !self.crop {
            return Ok(cx.step(input, vec![h + t + b, w + l + r, c], 0, (0, 0)));
        }
        let cut = [("rows", t, b, h), ("columns", l, r, w)];
        if let Some((what, a, z, n)) = cut.into_iter().find(|&(_, a, z, n)| a + z >= n) {
            return Err(format!(
                "{} cuts {a} + {z} {what} from the image {} from {}, which has {n}: no {what} are left; crop less",
                cx.label,
                fmt_shape(input),
                cx.from
            ));
        }
        Ok(cx.step(input, vec![h - t - b, w - l - r, c], 0, (0, 0)))
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
        unreachable!("ZeroPadding2D and Cropping2D have no int8 kernel yet")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        let [(t, b), (l, r)] = self.sides;
        let key = if self.crop { "cropping" } else { "padding" };
        keras_config(json!({ key: [[t, b], [l, r]], "data_format": "channels_last" }))
    }
}
