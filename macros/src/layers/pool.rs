//! `MaxPool(pool_size[, strides[, padding]])` and `AvgPool(…)`: Keras's `MaxPooling2D` and
//! `AveragePooling2D`, and their 1-D forms on sequences, `MaxPooling1D` and
//! `AveragePooling1D`. One file for the four: they share arguments, shape rule and window
//! code, and differ only in the `kiln_core` kernel they call.

use super::{
    keras_config, p, unary, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, Padding,
    QuantRole, Weight, Window, NAME,
};
use crate::diagnostics::Errors;
use crate::emit::types::lit;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{fmt_shape, to_image_hint, window, ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::json;

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
    build: |args, errs| build(true, false, args, errs),
};

pub const AVG_INFO: LayerInfo = LayerInfo {
    spellings: &["AvgPool", "AvgPool2D", "AveragePooling2D"],
    keras_class: "AveragePooling2D",
    auto_name: "average_pooling2d",
    params: PARAMS,
    variadic: false,
    arity: Arity::One,
    usage: "AvgPool(pool_size[, strides[, padding]]), e.g. `AvgPool(2)`",
    build: |args, errs| build(false, false, args, errs),
};

pub const MAX_1D_INFO: LayerInfo = LayerInfo {
    spellings: &["MaxPool1D", "MaxPooling1D"],
    keras_class: "MaxPooling1D",
    auto_name: "max_pooling1d",
    params: PARAMS,
    variadic: false,
    arity: Arity::One,
    usage: "MaxPool1D(pool_size[, strides[, padding]]), e.g. `MaxPool1D(2)`",
    build: |args, errs| build(true, true, args, errs),
};

pub const AVG_1D_INFO: LayerInfo = LayerInfo {
    spellings: &["AvgPool1D", "AveragePooling1D"],
    keras_class: "AveragePooling1D",
    auto_name: "average_pooling1d",
    params: PARAMS,
    variadic: false,
    arity: Arity::One,
    usage: "AvgPool1D(pool_size[, strides[, padding]]), e.g. `AvgPool1D(2)`",
    build: |args, errs| build(false, true, args, errs),
};

pub struct Pool {
    pub max: bool,
    /// Over a sequence's steps (`[steps, features]`, the `.1` sizes 1), not an image.
    pub seq: bool,
    pub pool: (usize, usize),
    /// Keras's default: the pool size.
    pub strides: (usize, usize),
    pub padding: Padding,
}

fn build(max: bool, seq: bool, args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    let (pool, strides) = if seq {
        let pool = args.size1("pool_size", 2, errs);
        ((pool, 1), (args.size1("strides", pool, errs), 1))
    } else {
        let pool = args.pair("pool_size", (2, 2), errs);
        (pool, args.pair("strides", pool, errs))
    };
    Box::new(Pool {
        max,
        seq,
        pool,
        strides,
        padding: args.padding(false, errs),
    })
}

impl Pool {
    /// The kernel, every size a literal: `MaxPool2D::<2, 2, 2, 2, 0, 0>`, `MaxPool1D::<2, 2, 0>`.
    fn kernel(&self, s: &Step) -> TokenStream {
        if self.seq {
            let [p, st, pt] = [self.pool.0, self.strides.0, s.pad.0].map(lit);
            let k = if self.max {
                quote!(MaxPool1D)
            } else {
                quote!(AvgPool1D)
            };
            return quote!(::kiln::core::layers::#k::<#p, #st, #pt>);
        }
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

impl Pool {
    /// The 1-D shape rule: `[steps, features]` to `[pooled steps, features]`.
    fn infer_1d(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let &[l, c] = input else {
            let name = if self.max {
                "MaxPooling2D"
            } else {
                "AveragePooling2D"
            };
            let fix = match input {
                [_, _, _] => format!("to pool an image, use `{name}`"),
                _ => "add `Reshape(steps, features)` before it".to_string(),
            };
            return Err(cx.need_sequence(input, &fix));
        };
        let (p, st) = (self.pool.0, self.strides.0);
        let Some((ol, pt)) = window(l, p, st, self.padding) else {
            return Err(format!(
                "{}: its pool of {p} steps is longer than the {l} steps of {} it receives from {} \
                 with `padding = valid`, so its output would be empty; use a pool of at most {l}, or `padding = same`{}",
                cx.label,
                fmt_shape(input),
                cx.from,
                cx.or_less()
            ));
        };
        Ok(cx.step(input, vec![ol, c], 0, (pt, 0)))
    }
}

impl LayerKind for Pool {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        if self.seq {
            return self.infer_1d(input, cx);
        }
        let &[h, w, c] = input else {
            if let [_, _] = input {
                let name = if self.max {
                    "MaxPooling1D"
                } else {
                    "AveragePooling1D"
                };
                let fix = format!(
                    "to pool a sequence's steps, use `{name}`; to pool it as an image, {}",
                    to_image_hint(input)
                );
                return Err(cx.need_image(input, &fix));
            }
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
        if self.seq {
            return Fusion::None;
        }
        Fusion::Pool(Window {
            max: self.max,
            pool: self.pool,
            strides: self.strides,
        })
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        if self.seq {
            return int8::Role::Unsupported(cx.no_kernel());
        }
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
        if self.seq {
            return QuantRole::Unsupported;
        }
        QuantRole::PassThrough
    }

    fn keras_config(&self) -> KerasConfig {
        let (pool, strides) = if self.seq {
            (json!([self.pool.0]), json!([self.strides.0]))
        } else {
            (
                json!([self.pool.0, self.pool.1]),
                json!([self.strides.0, self.strides.1]),
            )
        };
        keras_config(json!({
            "pool_size": pool,
            "strides": strides,
            "padding": self.padding.keras(),
            "data_format": "channels_last",
        }))
    }
}
