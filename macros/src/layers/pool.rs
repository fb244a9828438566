//! `MaxPool(pool_size[, strides[, padding]])` and `AvgPool(…)`: Keras's `MaxPooling2D` and
//! `AveragePooling2D`. One file for both: they share arguments, shape rule and window code,
//! and differ only in the `kiln_core` kernel they call.

use super::{
    p, unary, Arity, Fusion, LayerInfo, LayerKind, Mode, Padding, QuantRole, Weight, Window, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{fmt_shape, window, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;

const PARAMS: &[super::Param] = &[
    p("pool_size", true, false),
    p("strides", true, false),
    p("padding", true, false),
    NAME,
];

pub const MAX_INFO: LayerInfo = LayerInfo {
    spellings: &["MaxPool", "MaxPool2D", "MaxPooling2D"],
    keras_class: "MaxPooling2D",
    auto_name: "max_pooling2d",
    params: PARAMS,
    variadic: false,
    arity: Arity::One,
    usage: "MaxPool(pool_size[, strides[, padding]]), e.g. `MaxPool(2)`",
    build: |args, errs| build(true, args, errs),
};

pub const AVG_INFO: LayerInfo = LayerInfo {
    spellings: &["AvgPool", "AvgPool2D", "AveragePooling2D"],
    keras_class: "AveragePooling2D",
    auto_name: "average_pooling2d",
    params: PARAMS,
    variadic: false,
    arity: Arity::One,
    usage: "AvgPool(pool_size[, strides[, padding]]), e.g. `AvgPool(2)`",
    build: |args, errs| build(false, args, errs),
};

pub struct Pool {
    pub max: bool,
    pub pool: (usize, usize),
    /// Keras's default: the pool size.
    pub strides: (usize, usize),
    pub padding: Padding,
}

fn build(max: bool, args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    let pool = args.pair("pool_size", (2, 2), errs);
    Box::new(Pool {
        max,
        pool,
        strides: args.pair("strides", pool, errs),
        padding: args.padding(errs),
    })
}

impl Pool {
    /// The kernel, every size a literal: `MaxPool2D::<2, 2, 2, 2, 0, 0>`.
    fn kernel(&self, s: &Step) -> TokenStream {
        let [ph, pw, sh, sw, pt, pl] = [
            self.pool.0,
            self.pool.1,
            self.strides.0,
            self.strides.1,
            s.pad.0,
            s.pad.1,
        ]
        .map(lit);
        let k = if self.max {
            quote!(MaxPool2D)
        } else {
            quote!(AvgPool2D)
        };
        quote!(::kiln::core::layers::#k::<#ph, #pw, #sh, #sw, #pt, #pl>)
    }
}

impl LayerKind for Pool {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[h, w, c] = input else {
            return Err(cx.need_image(input, ""));
        };
        let (ph, pw) = self.pool;
        let rows = window(h, ph, self.strides.0, self.padding);
        let cols = window(w, pw, self.strides.1, self.padding);
        let (Some((oh, pt)), Some((ow, pl))) = (rows, cols) else {
            let smaller = if h * w > 1 {
                format!("use a pool of at most {h}x{w}")
            } else {
                "remove it".to_string()
            };
            return Err(format!(
                "{}: its {ph}x{pw} pool does not fit in the {h}x{w} image {} it receives from {} \
                 with `padding = valid`, so its output would be empty; {smaller}, use `padding = same`{}",
                cx.label,
                fmt_shape(input),
                cx.from,
                cx.or_less()
            ));
        };
        Ok(cx.step(input, vec![oh, ow, c], 0, (pt, pl)))
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
        unary::forward(&self.kernel(cx.s), cx)
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        unary::train(&self.kernel(cx.s), cx, true)
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        unary::batch(&self.kernel(cx.s), cx)
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        unary::arena(&self.kernel(cx.s), cx)
    }

    fn fusion(&self) -> Fusion {
        Fusion::Pool(Window {
            max: self.max,
            pool: self.pool,
            strides: self.strides,
        })
    }

    fn int8(&self, _: &int8::Check) -> int8::Role {
        int8::Role::Pool
    }

    fn int8_code(&self, cx: &int8::Cx) -> int8::Code {
        let s = cx.s;
        let f = if self.max {
            quote!(max_pool2d)
        } else {
            quote!(avg_pool2d)
        };
        let [c, h, w, oh, ow, ph, pw, sh, sw, pt, pl] = [
            s.input[2],
            s.input[0],
            s.input[1],
            s.output[0],
            s.output[1],
            self.pool.0,
            self.pool.1,
            self.strides.0,
            self.strides.1,
            s.pad.0,
            s.pad.1,
        ]
        .map(lit);
        int8::Code {
            field: None,
            call: quote!(::kiln::core::quant::#f::<#c, #h, #w, #oh, #ow, #ph, #pw, #sh, #sw, #pt, #pl>(x, y);),
        }
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::PassThrough
    }
}
