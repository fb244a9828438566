//! One output of a nested model with several, taken apart by `let (a, b) = Model(x);`: the
//! nested model's node makes its outputs packed in one value (`{Name}Output` seen as a vector),
//! and a `Pick` per output reads its part. Made by the wiring, never written by a user; it
//! has no weights and no row in the summary.

use super::{Fusion, KerasConfig, LayerKind, Mode, QuantRole, Weight};
use crate::emit::{batch, forward, infer, int8, train};
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;
use quote::quote;

/// The class the summary leaves out.
pub const CLASS: &str = "Pick";

pub struct Pick {
    /// Where the output starts in the packed value, in elements.
    pub offset: usize,
    pub shape: Vec<usize>,
}

impl LayerKind for Pick {
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String> {
        Ok(cx.step(input, self.shape.clone(), 0, (0, 0)))
    }

    fn output_alone(&self, _: &ShapeCx) -> Option<Vec<usize>> {
        Some(self.shape.clone())
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
        let (t, x_out, x_in, ty_out, off) = (&cx.t, &cx.x_out, &cx.x_in, &cx.ty_out, self.offset);
        forward::Parts {
            run: TokenStream::new(),
            act: TokenStream::new(),
            bind: quote!(let #x_out: &#ty_out = ::kiln::core::tensor::part::<#t, _, #ty_out>(#x_in, #off);),
            act_name: "linear",
        }
    }

    fn mode(&self) -> Mode {
        Mode::Sample
    }

    fn train(&self, cx: &train::Cx) -> train::Parts {
        let (t, input, ty_out, off) = (&cx.t, &cx.input, &cx.out_ty, self.offset);
        let mut p = cx.parts();
        let (out, dy) = (cx.at(&cx.a), cx.at(&cx.g));
        p.forward = quote!(#out = *::kiln::core::tensor::part::<#t, _, #ty_out>(#input, #off););
        // The packed value's gradient: this output's part, zero elsewhere (the other parts
        // come from the other picks, summed).
        p.with_dx = quote! {
            *d_prev = ::kiln::core::bytemuck::Zeroable::zeroed();
            *::kiln::core::tensor::part_mut::<#t, _, #ty_out>(d_prev, #off) = #dy;
        };
        p
    }

    fn batch(&self, _: &batch::Cx) -> batch::Parts {
        unreachable!("a graph with picks runs `forward` sample by sample in `predict`")
    }

    fn in_place(&self) -> bool {
        false
    }

    fn arena(&self, cx: &infer::Cx) -> TokenStream {
        let (t, io, ty_out, off) = (&cx.t, &cx.io, &cx.yt, self.offset);
        quote! {{
            #io
            *y = *::kiln::core::tensor::part::<#t, _, #ty_out>(x, #off);
        }}
    }

    fn fusion(&self) -> Fusion {
        Fusion::None
    }

    fn int8(&self, cx: &int8::Check) -> int8::Role {
        int8::Role::Unsupported(cx.no_kernel())
    }

    fn int8_code(&self, _: &int8::Cx) -> int8::Code {
        unreachable!("picks have no int8 kernel")
    }

    fn quant_role(&self) -> QuantRole {
        QuantRole::Unsupported
    }

    fn keras_config(&self) -> KerasConfig {
        Err("one output of a nested model with several")
    }
}
