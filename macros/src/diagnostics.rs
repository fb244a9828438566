//! Every mistake in one build: errors are collected at their tokens and combined at the end.

use quote::ToTokens;
use std::fmt::Display;

/// The errors found so far, each spanning the tokens it is about.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    /// Records `msg` at the tokens of `at` (their first to last token).
    pub fn at(&mut self, at: impl ToTokens, msg: impl Display) {
        self.0.push(syn::Error::new_spanned(at, msg));
    }

    /// Records an error already built.
    pub fn push(&mut self, e: syn::Error) {
        self.0.push(e);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// All errors as one, or `None` when there were none.
    pub fn combined(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        })
    }
}
