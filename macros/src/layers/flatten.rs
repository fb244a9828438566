//! `Flatten`: the same values as a vector, Keras's `Flatten`. A zero-copy view everywhere.

use super::{Fusion, LayerInfo, LayerKind, Mode, QuantRole, Weight, NAME};
use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;

pub const INFO: LayerInfo = LayerInfo {
    spellings: &["Flatten"],
    keras_class: "Flatten",
    auto_name: "flatten",
    params: &[NAME],
    variadic: false,
    usage: "Flatten",
    build,
};

pub struct Flatten;

fn build(_: &Args, _: &mut Errors) -> Box<dyn LayerKind> {
    Box::new(Flatten)
}

impl LayerKind for Flatten {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        Ok(cx.step(input, vec![input.iter().product()], 0, (0, 0)))
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
        unreachable!("Flatten is an alias in int8 models")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::PassThrough
    }
}
