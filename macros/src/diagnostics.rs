//! Every mistake in one build: errors are collected at their tokens and combined at the end.

use quote::ToTokens;
use std::fmt::Display;

/// The errors found so far, each spanning the tokens it is about.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    /// Records an error made elsewhere.
    pub fn push(&mut self, e: syn::Error) {
        self.0.push(e);
    }

    /// Records `msg` at the tokens of `at` (their first to last token).
    pub fn at(&mut self, at: impl ToTokens, msg: impl Display) {
        self.0.push(syn::Error::new_spanned(at, msg));
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

/// Tokens as the user wrote them, near enough: `-0.1` rather than the printer's `- 0.1`.
pub fn shown(tokens: &impl ToTokens) -> String {
    let s = tokens.to_token_stream().to_string().replace(" ,", ",");
    match s.strip_prefix("- ") {
        Some(rest) => format!("-{rest}"),
        None => s,
    }
}

/// Why a value must be a literal, said only when it is not one (`UNITS`, `2 * 16`).
pub fn literal_note(e: &syn::Expr) -> &'static str {
    use syn::Expr;
    match e {
        Expr::Lit(_) | Expr::Unary(_) | Expr::Tuple(_) | Expr::Paren(_) | Expr::Group(_) => "",
        _ => " (the macro computes shapes from the tokens it is given, so it cannot read constants or expressions)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_reads_as_written() {
        let e: syn::Expr = syn::parse_quote!(-0.1);
        assert_eq!(shown(&e), "-0.1");
        let e: syn::Expr = syn::parse_quote!((3, 3, 1));
        assert_eq!(shown(&e), "(3, 3, 1)");
    }

    #[test]
    fn literal_note_only_for_non_literals() {
        assert_eq!(literal_note(&syn::parse_quote!(0)), "");
        assert_eq!(literal_note(&syn::parse_quote!(10.5)), "");
        assert!(literal_note(&syn::parse_quote!(UNITS)).contains("constants"));
    }
}
