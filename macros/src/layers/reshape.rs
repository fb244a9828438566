//! `Reshape(dims...)` and `Flatten`: the same values in another shape (one `-1` inferred, or
//! all in one vector), Keras's `Reshape` and `Flatten`. One file for both: they differ only in
//! their shape rule, and are a zero-copy view everywhere.

use super::{
    keras_config, p, Arity, Fusion, KerasConfig, LayerInfo, LayerKind, Mode, QuantRole, Weight,
    NAME,
};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::graph::values::reshape_dims;
use crate::shapes::{fmt_shape, ShapeCx, Step};
use proc_macro2::TokenStream;
use serde_json::json;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Reshape"],
    keras_class: "Reshape",
    auto_name: "reshape",
    params: &[p("target_shape", true, true), NAME],
    variadic: true,
    arity: Arity::One,
    usage: "Reshape(dims...), e.g. `Reshape(28, 28, 1)` or `Reshape(-1, 4)`",
    build,
};

pub const FLATTEN_INFO: LayerInfo = LayerInfo {
    spellings: &["Flatten"],
    keras_class: "Flatten",
    auto_name: "flatten",
    params: &[NAME],
    variadic: false,
    arity: Arity::One,
    usage: "Flatten",
    build: |_, _| Box::new(Reshape { dims: None }),
};

/// `dims` as written, or `None` for `Flatten`.
pub struct Reshape {
    pub dims: Option<Vec<i64>>,
}

fn build(args: &Args, errs: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Reshape {
        dims: Some(reshape_dims(args.call, &args.label, errs).unwrap_or_default()),
    })
}

/// The divisors of `n` when there are few enough to list, for `-1` messages.
fn divisors(n: usize) -> Option<String> {
    let ds: Vec<String> = (1..=n)
        .filter(|d| n.is_multiple_of(*d))
        .map(|d| d.to_string())
        .collect();
    (ds.len() <= 12).then(|| ds.join(", "))
}

impl LayerKind for Reshape {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        let Some(dims) = &self.dims else {
            return Ok(cx.step(input, vec![input.iter().product()], 0, (0, 0)));
        };
        let (label, from) = (&cx.label, &cx.from);
        let total: usize = input.iter().product();
        let fixed: usize = dims
            .iter()
            .filter(|d| **d > 0)
            .map(|d| *d as usize)
            .product();
        let shown = format!(
            "[{}]",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if dims.contains(&-1) && !total.is_multiple_of(fixed) {
            let fit = divisors(total).map_or(String::new(), |ds| format!(" ({ds})"));
            return Err(format!(
                "{label}: cannot reshape {} ({total} elements) from {from} into {shown}: {total} is not a multiple of {fixed}, \
                 so no size fits the -1; the other dimensions must multiply to a divisor of {total}{fit}",
                fmt_shape(input)
            ));
        }
        let out: Vec<usize> = dims
            .iter()
            .map(|&d| if d == -1 { total / fixed } else { d as usize })
            .collect();
        let count: usize = out.iter().product();
        if count != total {
            return Err(format!(
                "{label}: cannot reshape {} ({total} elements) from {from} into {shown} ({count} elements); \
                 the element counts must match: give dimensions whose product is {total}, or -1 for one of them to have it inferred",
                fmt_shape(input)
            ));
        }
        Ok(cx.step(input, out, 0, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        let dims = self.dims.as_ref()?;
        (!dims.contains(&-1)).then(|| dims.iter().map(|&d| d as usize).collect())
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
        cx.reshaped()
    }

    fn mode(&self) -> Mode {
        Mode::Neutral
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        cx.reshaped()
    }

    fn batch(&self, cx: &batch::Cx) -> batch::Parts {
        cx.reshaped()
    }

    fn in_place(&self) -> bool {
        true
    }

    fn arena(&self, _: &infer::Cx) -> TokenStream {
        TokenStream::new()
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, _: &int8::Check) -> int8::Role {
        int8::Role::Alias
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("Reshape and Flatten are aliases in int8 models")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::PassThrough
    }

    fn keras_config(&self) -> KerasConfig {
        keras_config(match &self.dims {
            Some(dims) => json!({ "target_shape": dims }),
            None => json!({ "data_format": "channels_last" }),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn divisors_are_listed_only_when_few() {
        assert_eq!(super::divisors(10).as_deref(), Some("1, 2, 5, 10"));
        assert_eq!(super::divisors(720720), None);
    }
}
