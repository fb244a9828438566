//! Every layer kind `model!` knows, one file each. A file holds everything the macro knows
//! about its layer: its arguments and Keras names (`INFO`), how its arguments are read
//! (`build`), its shape rule and the words of its errors, its parameters, and its code for each
//! way a model runs. [`LayerKind`] has no default methods, so a layer that forgets one fails to
//! build kiln, not a user's model.
//!
//! Adding a layer: a new file here with its `INFO` and a [`LayerKind`] impl, its runtime half
//! in `core/src/layers/`, and one line in [`LAYERS`].

pub mod activation;
pub mod bidirectional;
pub mod conv1d;
pub mod conv2d;
pub mod dense;
pub mod depthwise_conv2d;
pub mod dropout;
pub mod embedding;
pub mod global_pool;
pub mod layer_norm;
pub mod merge;
pub mod nested;
pub mod pad_crop;
pub mod pick;
pub mod pool;
pub mod recurrent;
pub mod reshape;
pub mod separable_conv2d;
pub mod unary;
pub mod upsampling;

use crate::diagnostics::Errors;
use crate::emit::{batch, forward, infer, int8, train};
use crate::graph::args::Args;
use crate::shapes::{ShapeCx, Step};
use proc_macro2::TokenStream;

/// The registry: one line per layer kind. Error messages list layers from here.
pub const LAYERS: &[LayerInfo] = &[
    dense::INFO,
    conv2d::INFO,
    conv1d::INFO,
    depthwise_conv2d::INFO,
    separable_conv2d::INFO,
    pool::MAX_INFO,
    pool::AVG_INFO,
    pool::MAX_1D_INFO,
    pool::AVG_1D_INFO,
    global_pool::AVG_INFO,
    global_pool::MAX_INFO,
    global_pool::AVG_1D_INFO,
    global_pool::MAX_1D_INFO,
    pad_crop::PAD_INFO,
    pad_crop::CROP_INFO,
    upsampling::INFO,
    layer_norm::INFO,
    recurrent::LSTM_INFO,
    recurrent::GRU_INFO,
    recurrent::SIMPLE_INFO,
    bidirectional::INFO,
    embedding::INFO,
    reshape::FLATTEN_INFO,
    reshape::INFO,
    dropout::INFO,
    activation::INFO,
    merge::ADD_INFO,
    merge::SUBTRACT_INFO,
    merge::MULTIPLY_INFO,
    merge::AVERAGE_INFO,
    merge::MAXIMUM_INFO,
    merge::MINIMUM_INFO,
    merge::CONCATENATE_INFO,
];

/// One argument a layer takes.
pub struct Param {
    pub name: &'static str,
    /// Whether it may be given by position (in the order of the layer's list).
    pub positional: bool,
    pub required: bool,
}

pub const fn p(name: &'static str, positional: bool, required: bool) -> Param {
    Param {
        name,
        positional,
        required,
    }
}

/// `name = "…"`, which every layer takes.
pub const NAME: Param = p("name", false, false);

/// One layer the macro knows: how it is written, and how it is built from its arguments.
pub struct LayerInfo {
    /// Accepted spellings, the short kiln name first, then Keras's.
    pub spellings: &'static [&'static str],
    /// Keras's class name, shown in summaries.
    pub keras_class: &'static str,
    /// Keras's automatic name prefix: `conv2d`, `conv2d_1`, ...
    pub auto_name: &'static str,
    pub params: &'static [Param],
    /// Every positional argument goes to the first parameter (`Reshape(28, 28, 1)`).
    pub variadic: bool,
    /// How many values it reads, in the functional form.
    pub arity: Arity,
    /// How to write it, shown when it is used wrongly.
    pub usage: &'static str,
    /// Reads the bound arguments into the layer, reporting each bad value (the layer is then
    /// discarded, so a bad value may be replaced by any default).
    pub build: fn(&Args, &mut Errors) -> Box<dyn LayerKind>,
}

/// How many values a layer reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    One,
    /// A merge: two values or more, at most `max` (`Subtract`: exactly two).
    Merge {
        max: Option<usize>,
    },
}

/// Finds a layer by any of its spellings.
pub fn layer(name: &str) -> Option<&'static LayerInfo> {
    LAYERS.iter().find(|l| l.spellings.contains(&name))
}

/// Every accepted layer spelling, for suggestions.
pub fn layer_spellings() -> impl Iterator<Item = &'static str> {
    LAYERS.iter().flat_map(|l| l.spellings.iter().copied())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Padding {
    Valid,
    Same,
    /// Conv1D's: `kernel − 1` zero steps before the sequence, none after.
    Causal,
}

impl Padding {
    /// Keras's word for it.
    pub fn keras(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
}

/// An activation: its Keras name and the `kiln_core::activations` type that computes it.
#[derive(Clone, Copy, Debug)]
pub struct Act {
    pub name: &'static str,
    pub ty: &'static str,
}

pub const LINEAR: Act = Act {
    name: "linear",
    ty: "Linear",
};

/// The recurrent layers' defaults: `activation` and `recurrent_activation`.
pub const TANH: Act = Act {
    name: "tanh",
    ty: "Tanh",
};
pub const SIGMOID: Act = Act {
    name: "sigmoid",
    ty: "Sigmoid",
};

/// The activations (Keras 3 names and definitions) and the `kiln_core::activations` type of each.
pub const ACTIVATIONS: &[(&str, &str)] = &[
    ("linear", "Linear"),
    ("relu", "Relu"),
    ("relu6", "Relu6"),
    ("sigmoid", "Sigmoid"),
    ("tanh", "Tanh"),
    ("softmax", "Softmax"),
    ("leaky_relu", "LeakyRelu"),
    ("elu", "Elu"),
    ("gelu", "Gelu"),
    ("swish", "Swish"),
    ("silu", "Swish"),
    ("softplus", "Softplus"),
    ("hard_sigmoid", "HardSigmoid"),
];

/// A pooling window, for the emitters that compute a pool inside the convolution feeding it.
#[derive(Clone, Copy)]
pub struct Window {
    pub max: bool,
    pub pool: (usize, usize),
    pub strides: (usize, usize),
}

/// A convolution's geometry, for the same emitters.
#[derive(Clone, Copy)]
pub struct Conv {
    pub filters: usize,
    pub kernel: (usize, usize),
    pub strides: (usize, usize),
    pub act: Act,
}

/// What other layers may fuse with: a convolution, a pool, or neither.
pub enum Fusion {
    Conv(Conv),
    Pool(Window),
    None,
}

/// How a layer runs on a block of samples (training and `predict`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On all of the block's samples at once (Dense, a nested model): one product per block.
    Block,
    /// On one sample at a time (Conv2D, pools), so a sample's images stay in cache.
    Sample,
    /// Either way, as its neighbours do (reshapes, dropout, activation layers).
    Neutral,
}

/// A parameter tensor, declared once: its name in weight files and its Keras shape.
pub struct Weight {
    pub name: &'static str,
    pub shape: Vec<usize>,
    /// Whether the file holds it (a bias with `use_bias = false` is a zero field, not a tensor).
    pub stored: bool,
}

/// What `kiln::quantize` does with a layer: the variant of `kiln_core::QuantRole` it names.
#[derive(Clone, Copy, Debug)]
pub enum QuantRole {
    Conv2D,
    Dense,
    PassThrough,
    Merge,
    Activation,
    Unsupported,
}

/// A layer kind's behaviour in every phase. One impl per file of this folder.
pub trait LayerKind {
    /// Output shape, parameter count and leading padding from the input shape, by Keras's
    /// rule; the message a user reads when the shape cannot work.
    fn infer(&self, input: &[usize], cx: &ShapeCx) -> Result<Step, String>;
    /// The output shape when the input is unknown (after an earlier mistake), if it does not
    /// depend on the input, so later layers are still checked.
    fn output_alone(&self, cx: &ShapeCx) -> Option<Vec<usize>>;
    /// Whether the layer's own definition is broken (a nested model with errors), so the
    /// model using it cannot be emitted either.
    fn is_broken(&self, cx: &ShapeCx) -> bool;

    /// The type of the model's field for this layer, `None` without parameters.
    fn field_type(&self, t: &TokenStream, s: &Step) -> Option<TokenStream>;
    /// The parameter tensors, as `save_weights` names and shapes them.
    fn weights(&self, s: &Step) -> Vec<Weight>;
    /// The `kiln_core::layers` type that holds the parameters, for embedded weights; `None`
    /// when the layer has none, `Err` when they cannot be embedded.
    fn embedded_type(&self) -> Result<Option<TokenStream>, &'static str>;

    /// Inference on one sample (`forward`, `forward_observed`).
    fn forward(&self, cx: &forward::Cx) -> forward::Parts;
    /// How the layer runs on a block of samples.
    fn mode(&self) -> Mode;
    /// Training on a block: forward into the cache, and backward.
    fn train(&self, cx: &train::Cx) -> train::Parts;
    /// The batched forward pass `predict` runs.
    fn batch(&self, cx: &batch::Cx) -> batch::Parts;
    /// Whether the layer's output is its input's bytes (a reshape, an identity, an in-place
    /// activation), for the arena plan.
    fn in_place(&self) -> bool;
    /// Arena inference, between the planned offsets of its input and output.
    fn arena(&self, cx: &infer::Cx) -> TokenStream;
    /// What the layer is to fusing emitters.
    fn fusion(&self) -> Fusion;
    /// Its place in an int8 model, or why it has none yet.
    fn int8(&self, cx: &int8::Check) -> int8::Role;
    /// Its int8 field and code; called only for layers whose role has code.
    fn int8_code(&self, cx: &int8::Cx) -> int8::Code;
    /// What `kiln::quantize` does with it at run time (`kiln_core::QuantRole`).
    fn quant_role(&self) -> QuantRole;
    /// Its own entries in Keras's model config (`units`, `activation`, …), from which Keras
    /// rebuilds it (`save_keras`), or why it has none.
    fn keras_config(&self) -> KerasConfig;
}

/// A layer's own entries in Keras 3's `config.json` (beside `name`, `trainable` and `dtype`,
/// which the model's emitter adds), or why Keras cannot rebuild it.
pub type KerasConfig = Result<serde_json::Map<String, serde_json::Value>, &'static str>;

/// A layer's Keras config from a `json!` object.
pub fn keras_config(v: serde_json::Value) -> KerasConfig {
    match v {
        serde_json::Value::Object(m) => Ok(m),
        _ => unreachable!("layers write their Keras config as an object"),
    }
}
