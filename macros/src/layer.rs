//! The typed layer: each layer's configuration with every value checked, and building it from
//! its head by binding its arguments and reading their values.

use crate::args::bind;
use crate::catalog::Kind;
use crate::diagnostics::Errors;
use crate::head::{unknown, Head, What};
use crate::values::{
    activation, boolean, count, layer_name, nonneg, padding, rate, reshape_dims, size2,
};
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::Path;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Padding {
    Valid,
    Same,
}

/// An activation: its Keras name and the `kiln_core::activations` type that computes it.
#[derive(Clone, Copy, Debug)]
pub struct Act {
    pub name: &'static str,
    pub ty: &'static str,
}

pub const LINEAR: Act = Act {
    name: "linear",
    ty: "Linear",
};

/// A layer's configuration, every value checked.
pub enum Config {
    Dense {
        units: usize,
        act: Act,
        bias: bool,
    },
    Conv2D {
        filters: usize,
        kernel: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
        act: Act,
        bias: bool,
    },
    Pool {
        max: bool,
        pool: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    },
    GlobalAvgPool,
    Flatten,
    Reshape {
        dims: Vec<i64>,
    },
    /// The identity at inference; its rate is checked here and used by training.
    Dropout {
        rate: f64,
    },
    Activation {
        act: Act,
    },
    /// A nested model: its path and the index of its shapes among the known models.
    Nested {
        path: Path,
        known: usize,
    },
}

/// One layer, ready for shape inference.
pub struct Layer {
    pub config: Config,
    /// Keras's class name (`Conv2D`) or the nested model's type name.
    pub class: String,
    /// The layer's name: given with `name = "…"`, else Keras's automatic one.
    pub name: String,
    /// The layer's tokens, for errors.
    pub tokens: TokenStream,
    /// 1-based position in the layer list.
    pub pos: usize,
}

impl Layer {
    /// How messages refer to the layer: "layer 3 `max_pooling2d` (MaxPooling2D)".
    pub fn label(&self) -> String {
        format!("layer {} `{}` ({})", self.pos, self.name, self.class)
    }
}

impl ToTokens for Layer {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.tokens.to_tokens(tokens);
    }
}

/// Builds a layer from its head, reporting every mistake in its arguments; `None` when there
/// was one.
pub fn build(head: &Head, errs: &mut Errors) -> Option<Layer> {
    let info = match head.what {
        What::Layer(info) => info,
        What::Unknown => {
            unknown(head, errs);
            return None;
        }
        What::Nested(found) => {
            let found = found.expect("nested models are resolved before building");
            return Some(Layer {
                config: Config::Nested {
                    path: head.call.path.clone(),
                    known: found,
                },
                class: head.class().expect("a nested model has a class"),
                name: head.name.clone(),
                tokens: head.call.tokens.clone(),
                pos: head.pos,
            });
        }
    };
    let call = head.call;
    let label = &head.label();
    let before = errs.len();
    let args = bind(info, call, label, errs);
    let get = |name: &str| args.get(name).map(|b| b.value);
    let act = |errs: &mut Errors| {
        get("activation").map_or(Some(LINEAR), |e| activation(e, info, label, errs))
    };
    let bias = |errs: &mut Errors| {
        get("use_bias").map_or(Some(true), |e| boolean(e, "use_bias", label, errs))
    };
    let padding = |errs: &mut Errors| {
        get("padding").map_or(Some(Padding::Valid), |e| padding(e, label, errs))
    };
    let pair = |name: &str, default: (usize, usize), errs: &mut Errors| {
        get(name).map_or(Some(default), |e| size2(e, name, label, errs))
    };
    let count = |name: &str, errs: &mut Errors| get(name).and_then(|e| count(e, name, label, errs));

    let config = match info.kind {
        Kind::Dense => Config::Dense {
            units: count("units", errs).unwrap_or(1),
            act: act(errs).unwrap_or(LINEAR),
            bias: bias(errs).unwrap_or(true),
        },
        Kind::Conv2D => Config::Conv2D {
            filters: count("filters", errs).unwrap_or(1),
            kernel: get("kernel_size")
                .and_then(|e| size2(e, "kernel_size", label, errs))
                .unwrap_or((1, 1)),
            strides: pair("strides", (1, 1), errs).unwrap_or((1, 1)),
            padding: padding(errs).unwrap_or(Padding::Valid),
            act: act(errs).unwrap_or(LINEAR),
            bias: bias(errs).unwrap_or(true),
        },
        Kind::MaxPool | Kind::AvgPool => {
            let pool = pair("pool_size", (2, 2), errs).unwrap_or((2, 2));
            Config::Pool {
                max: info.kind == Kind::MaxPool,
                pool,
                strides: pair("strides", pool, errs).unwrap_or(pool),
                padding: padding(errs).unwrap_or(Padding::Valid),
            }
        }
        Kind::GlobalAvgPool => Config::GlobalAvgPool,
        Kind::Flatten => Config::Flatten,
        Kind::Reshape => Config::Reshape {
            dims: reshape_dims(call, label, errs).unwrap_or_default(),
        },
        Kind::Dropout => {
            if let Some(e) = get("seed") {
                nonneg(e, "seed", label, errs);
            }
            let rate = get("rate").and_then(|e| rate(e, label, errs));
            Config::Dropout {
                rate: rate.unwrap_or(0.0),
            }
        }
        Kind::Activation => Config::Activation {
            act: act(errs).unwrap_or(LINEAR),
        },
    };
    if let Some(e) = get("name") {
        layer_name(e, label, errs);
    }
    if errs.len() > before {
        return None;
    }
    Some(Layer {
        config,
        class: info.keras_class.to_string(),
        name: head.name.clone(),
        tokens: call.tokens.clone(),
        pos: head.pos,
    })
}
