//! Phase 5: code generation. Emits the model: a struct with one field per layer that owns
//! parameters, and each way of running it (`forward`, training, batched `predict`, arena
//! `infer`, int8) as calls into `kiln_core` kernels with every size spelled out as a constant.
//! Each submodule walks the graph and asks every layer (`layers::LayerKind`) for its part.
//! Generated code names nothing but `::kiln` paths (and `::core`).

pub mod batch;
pub mod forward;
pub mod infer;
pub mod int8;
pub mod keras_config;
pub mod summary;
pub mod train;
pub mod types;
pub mod weights;

use crate::graph::{nested, Graph};
use crate::shapes::{fmt_named, fmt_shape, Step};
use crate::syntax::ModelDef;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use summary::Row;
use syn::Ident;
use types::{lit, tensor_ty};

/// The parameter-owning field of a layer, if it has one.
struct Field {
    ident: syn::Ident,
    name: String,
    ty: TokenStream,
    doc: String,
}

/// How many scalars the named tensors hold together.
fn elements(list: &[(String, Vec<usize>)]) -> usize {
    list.iter().map(|(_, s)| s.iter().product::<usize>()).sum()
}

/// `{name}Input` or `{name}Output` (`what`: `inputs` or `outputs`): one public field per
/// named tensor, `#[repr(C)]` and Pod, so a sample is one flat run of scalars.
fn io_struct(
    t: &TokenStream,
    vis: &syn::Visibility,
    ident: &Ident,
    list: &[(String, Vec<usize>)],
    name: &Ident,
    what: &str,
) -> TokenStream {
    let fields = list.iter().map(|(n, _)| format_ident!("{n}"));
    let tys = list.iter().map(|(_, s)| tensor_ty(t, s));
    let doc =
        format!("One sample's {what} of [`{name}`], a field each, in the order they are declared.");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug)]
        #[repr(C)]
        #vis struct #ident { #( pub #fields: #tys, )* }
        // SAFETY: `#[repr(C)]` arrays of one float type: no padding, any bits valid.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #ident {}
        unsafe impl ::kiln::core::bytemuck::Pod for #ident {}
    }
}

/// The float model (`f32` or `f64`): its struct, `Model`, and every other impl.
pub fn emit(def: &ModelDef, graph: &Graph, steps: &[Step]) -> TokenStream {
    let input = graph.input();
    let scalar = def.scalar_name();
    let t: TokenStream = scalar.parse().expect("f32 or f64");
    let name = &def.name;
    let snake = crate::naming::snake_case(&name.to_string());
    let several_out = graph.outputs.len() > 1;
    // With several outputs, `output` is their elements in one vector (as `INPUT_SHAPE` for
    // several inputs).
    let output: Vec<usize> = if several_out {
        vec![graph
            .outputs
            .iter()
            .map(|&v| graph.shape(steps, v).iter().product::<usize>())
            .sum()]
    } else {
        graph.shape(steps, graph.output()).to_vec()
    };
    let (in_ty, out_ty) = (
        types::input_ty(&t, name, graph),
        types::output_ty(&t, name, graph, steps),
    );
    let params: usize = graph.owners(steps).map(|(_, s)| s.params).sum();

    let fields: Vec<Field> = graph
        .owners(steps)
        .filter_map(|(l, s)| {
            let ty = l.kind.field_type(&t, s)?;
            let doc = format!(
                "Layer {}, `{}` ({}): {} → {}, {} parameters.",
                l.pos,
                l.name,
                l.class,
                fmt_shape(&s.input),
                fmt_shape(&s.output),
                s.params
            );
            Some(Field {
                ident: format_ident!("{}", l.name),
                name: l.name.clone(),
                ty,
                doc,
            })
        })
        .collect();
    let (body, observed) = forward::emit(&t, graph, steps);
    let ret = if several_out {
        let fields = (0..graph.outputs.len()).map(|o| format_ident!("{}", graph.output_name(o)));
        let xs = graph.outputs.iter().map(|v| format_ident!("x{v}"));
        quote!(#out_ty { #( #fields: *#xs, )* })
    } else {
        let x = format_ident!("x{}", graph.output());
        quote!(*#x)
    };

    let mut rows: Vec<Row> = Vec::new();
    let functional = def.functional.is_some();
    if functional {
        for (v, shape) in graph.inputs.iter().enumerate() {
            rows.push(Row {
                layer: format!("{} (InputLayer)", graph.value_names[v]),
                output: vec![shape.clone()],
                params: 0,
                connected: Some(vec!["-".to_string()]),
            });
        }
    }
    let shown = graph
        .owners(steps)
        .filter(|(l, _)| l.class != crate::layers::pick::CLASS);
    rows.extend(shown.map(|(l, s)| {
        let connected = functional.then(|| {
            graph
                .nodes
                .iter()
                .filter(|n| std::ptr::eq(&*n.layer, l))
                .flat_map(|n| n.inputs.iter().map(|&v| graph.refs[v].clone()))
                .collect()
        });
        // A nested model with several outputs: the shapes of the picks that take them apart.
        let made = graph
            .nodes
            .iter()
            .find(|n| std::ptr::eq(&*n.layer, l))
            .map(|n| n.output);
        let picked: Vec<Vec<usize>> = graph
            .nodes
            .iter()
            .zip(steps)
            .filter(|(n, _)| {
                n.layer.class == crate::layers::pick::CLASS && Some(n.inputs[0]) == made
            })
            .map(|(_, s)| s.output.clone())
            .collect();
        Row {
            layer: format!("{} ({})", l.name, l.class),
            output: if picked.is_empty() {
                vec![s.output.clone()]
            } else {
                picked
            },
            params: s.params,
            connected,
        }
    }));
    let summary = summary::render(&snake, &rows, if scalar == "f64" { 8 } else { 4 });
    let plot = plot_nodes(graph, steps);
    let records = crate::graph::keras_order::records(graph, steps, def.functional.is_some());
    let records = records.iter().map(|r| {
        let (lname, class, params, keras_path) = (&r.name, &r.class, &r.params, &r.keras_path);
        let nested = match &r.nested {
            Some(path) => {
                let ty = crate::graph::head::last_segment(path);
                quote!(::core::option::Option::Some(::kiln::core::NestedRecord {
                    ty: #ty,
                    layers: <#path as ::kiln::Model>::LAYERS,
                    keras_config: <#path as ::kiln::Model>::KERAS_CONFIG,
                }))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::kiln::core::LayerRecord {
                name: #lname,
                class: #class,
                params: &[#(#params),*],
                nested: #nested,
                keras_path: #keras_path,
            }
        }
    });

    let attrs = &def.attrs;
    let vis = &def.vis;
    let several = graph.n_inputs() > 1;
    // Several inputs or outputs: each one's name and shape, in the order declared (empty for
    // one): the fields of `{name}Input`/`{name}Output`, the docs, the nested-model callback.
    let named_inputs: Vec<(String, Vec<usize>)> = if several {
        (0..graph.n_inputs())
            .map(|v| (graph.value_names[v].clone(), graph.inputs[v].clone()))
            .collect()
    } else {
        Vec::new()
    };
    let named_outputs: Vec<(String, Vec<usize>)> = if several_out {
        (0..graph.outputs.len())
            .map(|o| {
                let shape = graph.shape(steps, graph.outputs[o]).to_vec();
                (graph.output_name(o).to_string(), shape)
            })
            .collect()
    } else {
        Vec::new()
    };
    let shapes_doc = [
        String::new(),
        "# Shapes".to_string(),
        if several {
            format!(
                "- inputs (fields of [`{name}Input`]): {}",
                fmt_named(&named_inputs)
            )
        } else {
            format!("- input: `{}`", fmt_shape(input))
        },
        if several_out {
            format!(
                "- outputs (fields of [`{name}Output`]): {}",
                fmt_named(&named_outputs)
            )
        } else {
            format!("- output: `{}`", fmt_shape(&output))
        },
        format!("- parameters: {params}"),
        String::new(),
        "Generated by `kiln::model!`; see [`kiln::Model`] for what it offers.".to_string(),
    ];
    let field_idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
    let field_tys: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let field_docs: Vec<_> = fields.iter().map(|f| &f.doc).collect();
    let field_names: Vec<_> = fields.iter().map(|f| &f.name).collect();
    // With several inputs, the input struct seen as one vector.
    let in_dims: Vec<_> = if several {
        vec![lit(elements(&named_inputs))]
    } else {
        input.iter().map(|&d| lit(d)).collect()
    };
    let input_struct = if several {
        io_struct(
            &t,
            vis,
            &format_ident!("{name}Input"),
            &named_inputs,
            name,
            "inputs",
        )
    } else {
        TokenStream::new()
    };
    let output_struct = if several_out {
        let ident = format_ident!("{name}Output");
        let decl = io_struct(&t, vis, &ident, &named_outputs, name, "outputs");
        let fields: Vec<Ident> = named_outputs
            .iter()
            .map(|(n, _)| format_ident!("{n}"))
            .collect();
        let (first, count, ks) = (&fields[0], fields.len(), 0..fields.len());
        quote! {
            #decl

            ::kiln::__if_std! {
                /// Targets shaped like the outputs, one array per output.
                impl ::kiln::training::Label<#t, #ident> for #ident {
                    fn target(&self) -> ::kiln::core::losses::Target<'_, #t> {
                        ::kiln::training::Part::<#t>::target(&self.#first)
                    }
                    fn class(&self) -> ::core::option::Option<usize> {
                        ::core::option::Option::None
                    }
                    fn parts(&self) -> usize {
                        #count
                    }
                    fn part(&self, k: usize) -> ::core::option::Option<::kiln::core::losses::Target<'_, #t>> {
                        match k {
                            #( #ks => ::core::option::Option::Some(::kiln::training::Part::<#t>::target(&self.#fields)), )*
                            _ => ::core::option::Option::None,
                        }
                    }
                }
            }
        }
    } else {
        TokenStream::new()
    };
    let out_dims = output.iter().map(|&d| lit(d));
    // A model with several inputs answers an empty `input` and each in `inputs`; with several
    // outputs, an empty `output` and each in `outputs`.
    let shapes = nested::Shapes {
        input: if several { &[] } else { input },
        inputs: &named_inputs,
        output: if several_out { &[] } else { &output },
        outputs: &named_outputs,
        params,
        scalar: &scalar,
        keras_class: if def.functional.is_some() {
            "Functional"
        } else {
            "Sequential"
        },
    };
    let answerer = nested::answerer(name, Some(shapes), &snake);
    let keras_config = match keras_config::config(graph, steps, def.functional.is_some(), &snake) {
        Ok(json) => quote!(::core::result::Result::Ok(#json)),
        Err(why) => quote!(::core::result::Result::Err(#why)),
    };
    let train = train::emit(&t, name, vis, graph, steps);
    let batch = batch::emit(&t, name, graph, steps);
    let infer = infer::emit(&t, name, graph, steps);
    let embedded = match &def.weights {
        Some(path) => weights::embed(&t, name, graph, steps, path, def.functional.is_some())
            .unwrap_or_else(|e| e.to_compile_error()),
        None => TokenStream::new(),
    };

    quote! {
        #input_struct

        #output_struct

        #(#attrs)*
        #(#[doc = #shapes_doc])*
        #[derive(Clone, Copy)]
        #[repr(C)]
        #vis struct #name {
            #( #[doc = #field_docs] pub #field_idents: #field_tys, )*
        }

        // SAFETY: every field is a layer of plain float arrays (or a model made of them), for
        // which all-zero bytes are a valid value; `_zeroable_fields` proves each is `Zeroable`.
        unsafe impl ::kiln::core::bytemuck::Zeroable for #name {}
        const _: () = {
            fn _zeroable_fields() {
                fn zeroable<Z: ::kiln::core::bytemuck::Zeroable>() {}
                #( zeroable::<#field_tys>(); )*
            }
        };

        impl ::kiln::core::params::Params<#t> for #name {
            #[allow(unused_variables)]
            fn visit_params(
                &self,
                prefix: ::core::option::Option<&::kiln::core::params::Name<'_>>,
                f: &mut dyn FnMut(::kiln::core::params::Param<'_, #t>),
            ) {
                #({
                    let n = ::kiln::core::params::Name::child(prefix, #field_names);
                    ::kiln::core::params::Params::<#t>::visit_params(&self.#field_idents, ::core::option::Option::Some(&n), f);
                })*
            }
            #[allow(unused_variables)]
            fn visit_params_mut(
                &mut self,
                prefix: ::core::option::Option<&::kiln::core::params::Name<'_>>,
                f: &mut dyn FnMut(::kiln::core::params::ParamMut<'_, #t>),
            ) {
                #({
                    let n = ::kiln::core::params::Name::child(prefix, #field_names);
                    ::kiln::core::params::Params::<#t>::visit_params_mut(&mut self.#field_idents, ::core::option::Option::Some(&n), f);
                })*
            }
            #[allow(unused_variables)]
            fn init_params(&mut self, rng: &mut ::kiln::core::init::Rng) {
                #( ::kiln::core::params::Params::<#t>::init_params(&mut self.#field_idents, rng); )*
            }
        }

        impl #name {
            /// The shape of one input sample (with several inputs, `[n]`: all their elements).
            pub const INPUT_SHAPE: &'static [usize] = &[#(#in_dims),*];
            /// The shape of one output sample (with several outputs, `[n]`: all their elements).
            pub const OUTPUT_SHAPE: &'static [usize] = &[#(#out_dims),*];
            /// The number of parameters.
            pub const PARAMS: usize = #params;

            /// The Keras-style summary table, computed at compile time.
            pub fn summary() -> &'static str {
                <Self as ::kiln::Model>::SUMMARY
            }

            /// Runs one sample through the network in inference mode. No heap allocation.
            #[inline]
            pub fn forward(&self, x: &#in_ty) -> #out_ty {
                <Self as ::kiln::Model>::forward(self, x)
            }
        }

        impl ::kiln::Model for #name {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            const NAME: &'static str = #snake;
            const INPUT_SHAPE: &'static [usize] = #name::INPUT_SHAPE;
            const OUTPUT_SHAPE: &'static [usize] = #name::OUTPUT_SHAPE;
            const PARAMS: usize = #name::PARAMS;
            const SUMMARY: &'static str = #summary;
            const LAYERS: &'static [::kiln::core::LayerRecord<'static>] = &[#(#records),*];
            const PLOT: &'static [::kiln::core::PlotNode<'static>] = &[#(#plot),*];
            const KERAS_CONFIG: ::core::result::Result<&'static str, &'static str> = #keras_config;

            #[inline]
            fn forward(&self, x0: &#in_ty) -> #out_ty {
                #body
                #ret
            }
        }

        impl ::kiln::core::Observe for #name {
            #[allow(clippy::let_and_return)]
            fn forward_observed(
                &self,
                x0: &#in_ty,
                f: &mut dyn FnMut(::kiln::core::Observed<'_, #t>),
            ) -> #out_ty {
                #observed
                #ret
            }
        }

        ::kiln::__if_alloc! {
            impl #name {
                /// A new model on the heap with Keras's default initialisers (glorot_uniform
                /// kernels, zero biases), deterministic for `seed`.
                pub fn init(seed: u64) -> ::kiln::__private::Box<Self> {
                    <Self as ::kiln::Model>::init(seed)
                }

                /// Runs `forward` on every sample of a batch.
                pub fn predict(&self, xs: &[#in_ty]) -> ::kiln::__private::Vec<#out_ty> {
                    <Self as ::kiln::Model>::predict(self, xs)
                }
            }
        }

        ::kiln::__if_std! {
            impl #name {
                /// Writes every parameter to a safetensors file (`<layer>/<param>`, Keras layouts), or to
                /// Keras 3's weights file for a name ending in `.weights.h5` (`kiln::keras::save_weights`).
                pub fn save_weights(&self, path: impl ::core::convert::AsRef<::kiln::__private::Path>) -> ::core::result::Result<(), ::kiln::Error> {
                    ::kiln::__private::save_weights(self, path)
                }

                /// Reads every parameter from kiln's safetensors or from Keras's files (`.keras`,
                /// `.weights.h5`, legacy `.h5`), told apart by their first bytes
                /// (`kiln::keras::load_weights`); on `Err` nothing was changed.
                pub fn load_weights(&mut self, path: impl ::core::convert::AsRef<::kiln::__private::Path>) -> ::core::result::Result<(), ::kiln::Error> {
                    ::kiln::__private::load_weights(self, path)
                }

                /// Writes the model as Keras 3's `.keras` archive (its config and its weights),
                /// which `keras.saving.load_model` reads (`kiln::keras::save_keras`).
                pub fn save_keras(&self, path: impl ::core::convert::AsRef<::kiln::__private::Path>) -> ::core::result::Result<(), ::kiln::Error> {
                    ::kiln::__private::save_keras(self, path)
                }
            }
        }

        #train

        #batch

        #infer

        #embedded

        #answerer
    }
}

/// The boxes of the model's diagram (`Model::PLOT`): each input, then each layer once, with
/// its output shape as Keras writes it and the boxes whose values it reads (through a nested
/// model's hidden picks, to the nested model).
fn plot_nodes(graph: &Graph, steps: &[Step]) -> Vec<TokenStream> {
    let k = graph.n_inputs();
    let owners: Vec<usize> = (0..graph.nodes.len())
        .filter(|&j| {
            let l = &graph.nodes[j].layer;
            l.class != crate::layers::pick::CLASS
                && !graph.nodes[..j]
                    .iter()
                    .any(|m| std::rc::Rc::ptr_eq(&m.layer, l))
        })
        .collect();
    // The box that shows value `v`.
    let shown = |mut v: usize| loop {
        match graph.producer(v) {
            None => return v,
            Some(j) if graph.nodes[j].layer.class == crate::layers::pick::CLASS => {
                v = graph.nodes[j].inputs[0]
            }
            Some(j) => {
                let l = &graph.nodes[j].layer;
                let o = owners
                    .iter()
                    .position(|&o| std::rc::Rc::ptr_eq(&graph.nodes[o].layer, l))
                    .expect("every layer has a first application");
                return k + o;
            }
        }
    };
    let shape = |d: &[usize]| {
        let dims: Vec<String> = d.iter().map(usize::to_string).collect();
        format!("(None, {})", dims.join(", "))
    };
    let mut out = Vec::new();
    for v in 0..k {
        let (name, s) = (&graph.value_names[v], shape(&graph.inputs[v]));
        out.push(quote! {
            ::kiln::core::PlotNode { name: #name, class: "InputLayer", shape: #s, inputs: &[] }
        });
    }
    for &o in &owners {
        let l = &graph.nodes[o].layer;
        let mut ins: Vec<usize> = Vec::new();
        for n in graph
            .nodes
            .iter()
            .filter(|n| std::rc::Rc::ptr_eq(&n.layer, l))
        {
            for &v in &n.inputs {
                let b = shown(v);
                if !ins.contains(&b) {
                    ins.push(b);
                }
            }
        }
        let (name, class, s) = (&l.name, &l.class, shape(&steps[o].output));
        out.push(quote! {
            ::kiln::core::PlotNode { name: #name, class: #class, shape: #s, inputs: &[#(#ins),*] }
        });
    }
    out
}
