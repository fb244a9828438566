//! The `model!` grammar, parsed into plain structs with every token's span kept for errors.
//!
//! ```text
//! model   := known* attr* vis 'struct' Ident ('<' Ident '>')? (':' '[' dims ']')? '=>' '<' layer (',' layer)* ','? '>' (',' option)* ','?
//! option  := 'weights' '=' string        // a safetensors file, embedded at compile time
//! layer   := path ('(' arg (',' arg)* ','? ')')?
//! arg     := expr | ident '=' expr
//! known   := '@kiln_known' '{' ... '}'      // written by a nested model's callback, see nested.rs
//! ```
//!
//! or, in the functional form, `vis 'struct' Ident ('<' Ident '>')? body (',' option)*` with the
//! body of [`functional`].

pub mod functional;

use crate::graph::nested::KnownModel;
use functional::Functional;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Attribute, Expr, Ident, Path, Token, Visibility};

/// One `model!` invocation.
pub struct ModelDef {
    /// Shapes of nested models, handed back by their callbacks.
    pub known: Vec<KnownModel>,
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The element type written as `struct Net<f64>: …`; `None` means `f32`.
    pub scalar: Option<Ident>,
    /// `None` when the input shape was left out (an error reported later, with the others).
    pub input: Option<InputShape>,
    pub layers: Vec<LayerCall>,
    /// The `<` and `>` around the layer list, for errors about the list as a whole.
    pub brackets: TokenStream,
    /// `weights = "file.safetensors"`: weights to embed, read and checked at compile time.
    pub weights: Option<syn::LitStr>,
    /// The functional form's statements; its layers are in `layers`, in source order.
    pub functional: Option<Functional>,
}

/// `[28, 28, 1]`: the shape of one input sample.
pub struct InputShape {
    pub dims: Vec<Expr>,
    pub tokens: TokenStream,
}

impl ModelDef {
    /// The element type's name: `f32` unless the model says `f64`.
    pub fn scalar_name(&self) -> String {
        self.scalar
            .as_ref()
            .map_or_else(|| "f32".to_string(), ToString::to_string)
    }
}

/// One layer as written, e.g. `Conv2D(32, 3, activation = relu)` or a nested model's path.
pub struct LayerCall {
    pub path: Path,
    /// `None` when written without parentheses (`Flatten`, or a nested model).
    pub args: Option<Vec<Arg>>,
    /// All the layer's tokens, so errors can underline the whole layer.
    pub tokens: TokenStream,
}

/// A positional or keyword argument of a layer.
pub enum Arg {
    Positional(Expr),
    Keyword { key: Ident, value: Expr },
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            Ok(Arg::Keyword { key, value })
        } else {
            Ok(Arg::Positional(input.parse()?))
        }
    }
}

impl Parse for LayerCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let fork = input.fork();
        let path = Path::parse_mod_style(input)?;
        let args = if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let args: Punctuated<Arg, Token![,]> =
                content.parse_terminated(Arg::parse, Token![,])?;
            Some(args.into_iter().collect())
        } else {
            None
        };
        // Re-read the consumed tokens from the fork so errors can span the whole layer.
        let mut tokens = TokenStream::new();
        path.to_tokens(&mut tokens);
        if args.is_some() {
            let _ = Path::parse_mod_style(&fork);
            let group: proc_macro2::Group = fork.parse()?;
            group.to_tokens(&mut tokens);
        }
        Ok(LayerCall { path, args, tokens })
    }
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut known = Vec::new();
        while input.peek(Token![@]) {
            known.push(input.parse()?);
        }
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `struct Name: [input shape] => < layers >`",
            )
        })?;
        let name: Ident = input.parse()?;
        let scalar = if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            let t: Ident = input.parse()?;
            input.parse::<Token![>]>()?;
            Some(t)
        } else {
            None
        };
        if input.peek(syn::token::Brace) {
            let mut layers = Vec::new();
            let body = functional::parse_body(input, &mut layers)?;
            let brackets = body.braces.clone();
            let weights = options(input)?;
            return Ok(ModelDef {
                known,
                attrs,
                vis,
                name,
                scalar,
                input: None,
                layers,
                brackets,
                weights,
                functional: Some(body),
            });
        }
        let shape = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(functional::parse_shape(input)?)
        } else {
            None
        };
        input.parse::<Token![=>]>().map_err(|e| {
            let hint = if shape.is_none() {
                ": [input shape]"
            } else {
                ""
            };
            syn::Error::new(
                e.span(),
                format!("expected `=>`, as in `struct {name}{hint} => < layers >`"),
            )
        })?;
        let open = input.parse::<Token![<]>()?;
        let mut layers: Vec<LayerCall> = Vec::new();
        while !input.peek(Token![>]) {
            if input.is_empty() {
                return Err(input.error("expected `>` to close the layer list"));
            }
            layers.push(input.parse::<LayerCall>()?);
            if !input.peek(Token![>]) && input.parse::<Token![,]>().is_err() {
                let last = &layers.last().expect("just pushed").tokens;
                return Err(syn::Error::new_spanned(
                    last,
                    "expected `,` after this layer, or `>` if it is the last one",
                ));
            }
        }
        let close = input.parse::<Token![>]>()?;
        let brackets = quote::quote!(#open #close);
        let weights = options(input)?;
        Ok(ModelDef {
            known,
            attrs,
            vis,
            name,
            scalar,
            input: shape,
            layers,
            brackets,
            weights,
            functional: None,
        })
    }
}

/// The options after the layer list or the body: `, weights = "file.safetensors"`.
fn options(input: ParseStream) -> syn::Result<Option<syn::LitStr>> {
    let mut weights = None;
    while input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an option after the layer list, e.g. `weights = \"model.safetensors\"`",
            )
        })?;
        if key != "weights" {
            return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{key}`; after the layer list `model!` takes `weights = \"file.safetensors\"`"),
                ));
        }
        input.parse::<Token![=]>()?;
        let path: syn::LitStr = input.parse().map_err(|e| {
                syn::Error::new(e.span(), "`weights` takes a file path in quotes, relative to the crate's Cargo.toml: `weights = \"model.safetensors\"`")
            })?;
        if weights.replace(path).is_some() {
            return Err(syn::Error::new(key.span(), "`weights` is given twice"));
        }
    }
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the layer list"));
    }
    Ok(weights)
}
