//! The functional form's grammar: a body of statements instead of a layer list.
//!
//! ```text
//! body   := '{' stmt* '}'
//! stmt   := 'input' Ident ':' '[' dims ']' ';'
//!         | 'let' Ident '=' value ';'           // a value, or a layer to share: `let enc = Dense(32);`
//!         | 'let' '(' Ident (',' Ident)* ')' '=' value ';'  // the outputs of a nested model
//!         | 'output' Ident ('=' value)? ';'
//! value  := Ident                              // a value defined before
//!         | layer '(' value (',' value)* ')'   // a layer applied: `Dense(10)(x)`, `Add(x, y)`
//! layer  := path ('(' arg (',' arg)* ')')?     // as in the Sequential form, or a shared layer's name
//! ```
//!
//! `Name(a, b)` with one pair of parentheses is an application when `Name` is a merge, a model
//! made with `model!`, a shared layer, or a layer without required arguments; otherwise its
//! parentheses hold the layer's arguments, and the layer is bound to be shared.
//! Every layer written goes to [`ModelDef::layers`](super::ModelDef) in source order, so the
//! Sequential form's naming and checks apply unchanged; values refer to them by index.

use super::{InputShape, LayerCall};
use crate::layers;
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::collections::HashSet;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, bracketed, Expr, Ident, Path, Token};

/// The statements of a functional model.
pub struct Functional {
    pub inputs: Vec<InputDecl>,
    pub stmts: Vec<Stmt>,
    /// The braces around the body, for errors about the whole model.
    pub braces: TokenStream,
}

/// `input image: [28, 28, 1];`
pub struct InputDecl {
    pub name: Ident,
    pub shape: InputShape,
}

pub enum Stmt {
    /// `let x = …;`
    Let { name: Ident, value: Value },
    /// `let (a, b) = Model(x);`: each output of a nested model with several.
    LetMany {
        names: Vec<Ident>,
        value: Value,
        /// The parenthesised names, for errors.
        tokens: TokenStream,
    },
    /// `output y = …;` or `output y;`
    Output { name: Ident, value: Option<Value> },
}

/// A value expression.
pub enum Value {
    /// A value defined before (or a misspelling of one).
    Name(Ident),
    /// A layer applied to values.
    Apply {
        layer: Applied,
        inputs: Vec<Value>,
        tokens: TokenStream,
    },
    /// A layer written but not applied: shared when bound with `let`, a mistake elsewhere.
    Layer { index: usize, tokens: TokenStream },
}

/// The layer of an application.
pub enum Applied {
    /// Written in place: its index in `ModelDef::layers`.
    Inline(usize),
    /// A layer bound with `let` before, applied by its name.
    Shared(Ident),
}

/// Parses the body, appending every layer it writes to `layers`.
pub fn parse_body(input: ParseStream, layers: &mut Vec<LayerCall>) -> syn::Result<Functional> {
    let content;
    let brace = braced!(content in input);
    let mut braces = TokenStream::new();
    brace.surround(&mut braces, |_| {});
    let mut inputs = Vec::new();
    let mut stmts = Vec::new();
    // Names bound to a layer so far: `enc(x)` applies one.
    let mut shared = HashSet::new();
    while !content.is_empty() {
        if content.peek(Token![let]) {
            content.parse::<Token![let]>()?;
            if content.peek(syn::token::Paren) {
                let names;
                let paren = syn::parenthesized!(names in content);
                let names: Punctuated<Ident, Token![,]> =
                    names.parse_terminated(Ident::parse, Token![,])?;
                let mut tokens = TokenStream::new();
                paren.surround(&mut tokens, |t| names.to_tokens(t));
                content.parse::<Token![=]>()?;
                let value = parse_value(&content, layers, &shared)?;
                for n in &names {
                    shared.remove(&n.to_string());
                }
                stmts.push(Stmt::LetMany {
                    names: names.into_iter().collect(),
                    value,
                    tokens,
                });
                content.parse::<Token![;]>().map_err(|e| {
                    syn::Error::new(e.span(), "expected `;` at the end of the statement")
                })?;
                continue;
            }
            let name: Ident = content.parse()?;
            content.parse::<Token![=]>()?;
            let value = parse_value(&content, layers, &shared)?;
            if matches!(value, Value::Layer { .. }) {
                shared.insert(name.to_string());
            } else {
                shared.remove(&name.to_string());
            }
            stmts.push(Stmt::Let { name, value });
        } else {
            let word: Ident = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `input name: [shape];`, `let name = …;` or `output name = …;`",
                )
            })?;
            if word == "input" {
                let name: Ident = content.parse()?;
                content.parse::<Token![:]>().map_err(|e| {
                    syn::Error::new(e.span(), format!("expected `:` and the shape of one sample, as in `input {name}: [28, 28, 1];`"))
                })?;
                inputs.push(InputDecl {
                    name,
                    shape: parse_shape(&content)?,
                });
            } else if word == "output" {
                let name: Ident = content.parse()?;
                let value = if content.peek(Token![=]) {
                    content.parse::<Token![=]>()?;
                    Some(parse_value(&content, layers, &shared)?)
                } else {
                    None
                };
                stmts.push(Stmt::Output { name, value });
            } else {
                return Err(syn::Error::new(
                    word.span(),
                    format!("expected `input`, `let` or `output`, found `{word}`"),
                ));
            }
        }
        content
            .parse::<Token![;]>()
            .map_err(|e| syn::Error::new(e.span(), "expected `;` at the end of the statement"))?;
    }
    Ok(Functional {
        inputs,
        stmts,
        braces,
    })
}

/// `[28, 28, 1]`.
pub fn parse_shape(input: ParseStream) -> syn::Result<InputShape> {
    let content;
    let bracket = bracketed!(content in input);
    let dims: Punctuated<Expr, Token![,]> = content.parse_terminated(Expr::parse, Token![,])?;
    let mut tokens = TokenStream::new();
    bracket.surround(&mut tokens, |t| dims.to_tokens(t));
    Ok(InputShape {
        dims: dims.into_iter().collect(),
        tokens,
    })
}

/// Whether `Name(…)` with one pair of parentheses applies the layer to what they hold.
fn applies(path: &Path, group: &TokenStream, shared: &HashSet<String>) -> bool {
    let key = crate::graph::nested::path_key(path);
    if shared.contains(&key) {
        return true;
    }
    match layers::layer(&key) {
        // A model made with `model!` (or a misspelt layer, reported later).
        None => true,
        Some(info) => {
            matches!(info.arity, layers::Arity::Merge { .. })
                || (!info.params.iter().any(|p| p.required) && are_values(group, shared))
        }
    }
}

/// Whether `group` reads as values (names, or layers applied to values), not as arguments.
fn are_values(group: &TokenStream, shared: &HashSet<String>) -> bool {
    let parse = |input: ParseStream| -> syn::Result<bool> {
        let mut scratch = Vec::new();
        let mut all = true;
        while !input.is_empty() {
            let v = parse_value(input, &mut scratch, shared)?;
            all &= !matches!(v, Value::Layer { .. });
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(all)
    };
    syn::parse::Parser::parse2(parse, group.clone()).unwrap_or(false)
}

fn parse_value(
    input: ParseStream,
    layers: &mut Vec<LayerCall>,
    shared: &HashSet<String>,
) -> syn::Result<Value> {
    let path = Path::parse_mod_style(input)?;
    if !input.peek(syn::token::Paren) {
        return match path.get_ident() {
            Some(i)
                if !shared.contains(&i.to_string()) && layers::layer(&i.to_string()).is_none() =>
            {
                Ok(Value::Name(i.clone()))
            }
            // A layer without arguments (`Flatten`) or a shared one, not applied.
            _ => {
                let tokens = path.to_token_stream();
                layers.push(LayerCall {
                    path,
                    args: None,
                    tokens: tokens.clone(),
                });
                Ok(Value::Layer {
                    index: layers.len() - 1,
                    tokens,
                })
            }
        };
    }
    let first: proc_macro2::Group = input.parse()?;
    let key = crate::graph::nested::path_key(&path);
    let mut head = path.to_token_stream();
    let two = input.peek(syn::token::Paren);
    let (layer, inputs_group) = if two || !applies(&path, &first.stream(), shared) {
        first.to_tokens(&mut head);
        let call: LayerCall = syn::parse2(head.clone())?;
        layers.push(call);
        if !two {
            return Ok(Value::Layer {
                index: layers.len() - 1,
                tokens: head,
            });
        }
        (
            Applied::Inline(layers.len() - 1),
            input.parse::<proc_macro2::Group>()?,
        )
    } else if shared.contains(&key) {
        (
            Applied::Shared(path.get_ident().expect("a shared layer is named").clone()),
            first,
        )
    } else {
        layers.push(LayerCall {
            path: path.clone(),
            args: None,
            tokens: head.clone(),
        });
        (Applied::Inline(layers.len() - 1), first)
    };
    let values = |inner: ParseStream| -> syn::Result<Vec<Value>> {
        let mut out = Vec::new();
        while !inner.is_empty() {
            out.push(parse_value(inner, layers, shared)?);
            if !inner.is_empty() {
                inner.parse::<Token![,]>()?;
            }
        }
        Ok(out)
    };
    let inputs = syn::parse::Parser::parse2(values, inputs_group.stream())?;
    let mut tokens = head;
    inputs_group.to_tokens(&mut tokens);
    Ok(Value::Apply {
        layer,
        inputs,
        tokens,
    })
}
