//! Emits the batched forward pass used by `predict` (see issue 5). Empty for now.

use crate::layer::Layer;
use crate::shape::Step;
use proc_macro2::TokenStream;

pub fn emit(
    _t: &TokenStream,
    _name: &syn::Ident,
    _input: &[usize],
    _layers: &[Layer],
    _steps: &[Step],
) -> TokenStream {
    TokenStream::new()
}
