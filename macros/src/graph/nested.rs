//! Models inside models. A proc macro cannot see another macro's output, so each generated
//! model also defines a hidden `macro_rules!` under its own name. When `model!` meets a layer
//! it does not know (a path written without arguments), it calls that macro with its whole
//! input; the macro calls `model!` back with the nested model's shapes prepended as a
//! `@kiln_known { … }` block. Shape checks at the layer's tokens then work as for any layer.
//! A model with errors still defines the macro, answering `broken`: the outer model then
//! checks what it can and adds no error of its own about a model already reported.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::{braced, parenthesized, Ident, LitInt, LitStr, Path, Token};

/// What a nested model's callback tells the outer model.
pub struct KnownModel {
    /// The path as the outer model wrote it, as a string (`feats::Features`).
    pub path: String,
    /// Its input shape; empty when it has several (then in `inputs`).
    pub input: Vec<usize>,
    /// With several inputs, each one's name (its field in `{Name}Input`) and shape.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Its output shape; empty when it has several (then in `outputs`).
    pub output: Vec<usize>,
    /// With several outputs, each one's name (its field in `{Name}Output`) and shape.
    pub outputs: Vec<(String, Vec<usize>)>,
    pub params: usize,
    /// Its Keras-style name, e.g. `features` for `Features`.
    pub name: String,
    /// Its element type, `f32` or `f64`.
    pub scalar: String,
    /// Whether the nested model has errors of its own (its shapes are then unknown).
    pub broken: bool,
    /// Keras's class for it: `Sequential` or `Functional`.
    pub keras_class: String,
}

/// A nested model's shapes, as its callback reports them.
pub struct Shapes<'a> {
    pub input: &'a [usize],
    /// With several inputs, each one's name and shape (`input` is then empty).
    pub inputs: &'a [(String, Vec<usize>)],
    pub output: &'a [usize],
    /// With several outputs, each one's name and shape (`output` is then empty).
    pub outputs: &'a [(String, Vec<usize>)],
    pub params: usize,
    pub scalar: &'a str,
    /// Keras's class for the model: `Sequential` or `Functional`.
    pub keras_class: &'a str,
}

/// The key a path is matched by.
pub fn path_key(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

fn dims(input: ParseStream) -> syn::Result<Vec<usize>> {
    let content;
    syn::bracketed!(content in input);
    let lits = content.parse_terminated(LitInt::parse, Token![,])?;
    lits.iter().map(LitInt::base10_parse).collect()
}

/// `[a = [4], b = [2]]`: names and shapes.
fn named(input: ParseStream) -> syn::Result<Vec<(String, Vec<usize>)>> {
    let each;
    syn::bracketed!(each in input);
    let mut out = Vec::new();
    while !each.is_empty() {
        let name: Ident = each.parse()?;
        each.parse::<Token![=]>()?;
        out.push((name.to_string(), dims(&each)?));
        if !each.is_empty() {
            each.parse::<Token![,]>()?;
        }
    }
    Ok(out)
}

fn key(input: ParseStream, want: &str) -> syn::Result<()> {
    let k: Ident = input.parse()?;
    if k != want {
        return Err(syn::Error::new(
            k.span(),
            format!("kiln internal: expected `{want}`"),
        ));
    }
    input.parse::<Token![=]>()?;
    Ok(())
}

impl Parse for KnownModel {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        input.parse::<Token![@]>()?;
        let tag: Ident = input.parse()?;
        if tag != "kiln_known" {
            return Err(syn::Error::new(tag.span(), "expected `struct`"));
        }
        let body;
        braced!(body in input);
        key(&body, "path")?;
        let p;
        parenthesized!(p in body);
        let path = path_key(&Path::parse_mod_style(&p)?);
        body.parse::<Token![,]>()?;
        if body.peek(Ident) && body.fork().parse::<Ident>()? == "broken" {
            body.parse::<Ident>()?;
            let name = String::new();
            return Ok(KnownModel {
                path,
                input: Vec::new(),
                inputs: Vec::new(),
                output: Vec::new(),
                outputs: Vec::new(),
                params: 0,
                name,
                scalar: String::new(),
                broken: true,
                keras_class: String::new(),
            });
        }
        key(&body, "input")?;
        let input_dims = dims(&body)?;
        body.parse::<Token![,]>()?;
        key(&body, "inputs")?;
        let inputs = named(&body)?;
        body.parse::<Token![,]>()?;
        key(&body, "output")?;
        let output = dims(&body)?;
        body.parse::<Token![,]>()?;
        key(&body, "outputs")?;
        let outputs = named(&body)?;
        body.parse::<Token![,]>()?;
        key(&body, "params")?;
        let params = body.parse::<LitInt>()?.base10_parse()?;
        body.parse::<Token![,]>()?;
        key(&body, "name")?;
        let name = body.parse::<LitStr>()?.value();
        body.parse::<Token![,]>()?;
        key(&body, "scalar")?;
        let scalar = body.parse::<LitStr>()?.value();
        body.parse::<Token![,]>()?;
        key(&body, "keras_class")?;
        let keras_class = body.parse::<LitStr>()?.value();
        Ok(KnownModel {
            path,
            input: input_dims,
            inputs,
            output,
            outputs,
            params,
            name,
            scalar,
            broken: false,
            keras_class,
        })
    }
}

/// Re-invokes the nested model's macro at `path` with the whole input, so it can answer.
pub fn ask(path: &Path, whole_input: TokenStream) -> TokenStream {
    quote! { #path! { @kiln_nest (#path) #whole_input } }
}

/// The hidden macro a model defines so that other models can nest it; `None` shapes when the
/// model has errors.
pub fn answerer(name: &Ident, shapes: Option<Shapes>, snake: &str) -> TokenStream {
    let mac = format_ident!("__kiln_model_{}", name);
    let answer = match shapes {
        Some(Shapes {
            input,
            inputs,
            output,
            outputs,
            params,
            scalar,
            keras_class,
        }) => {
            let named = |list: &[(String, Vec<usize>)]| {
                let each = list.iter().map(|(n, s)| {
                    let n = format_ident!("{n}");
                    quote!(#n = [#(#s),*])
                });
                quote!([#(#each),*])
            };
            let (inputs, outputs) = (named(inputs), named(outputs));
            quote! {
            input = [#(#input),*],
            inputs = #inputs,
            output = [#(#output),*],
            outputs = #outputs,
            params = #params,
            name = #snake,
            scalar = #scalar,
            keras_class = #keras_class
            }
        }
        None => quote!(broken),
    };
    quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #mac {
            (@kiln_nest ($($path:tt)*) $($rest:tt)*) => {
                ::kiln::model! {
                    @kiln_known {
                        path = ($($path)*),
                        #answer
                    }
                    $($rest)*
                }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #mac as #name;
    }
}
