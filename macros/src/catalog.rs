//! What `model!` knows: the layers it accepts (with Keras's names and aliases), each layer's
//! arguments, and the activations. Error messages list from here, so they never go stale.

/// A layer kind, independent of how it was spelled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dense,
    Conv2D,
    MaxPool,
    AvgPool,
    GlobalAvgPool,
    Flatten,
    Reshape,
    Dropout,
    Activation,
}

/// One argument a layer takes.
pub struct Param {
    pub name: &'static str,
    /// Whether it may be given by position (in the order of the layer's list).
    pub positional: bool,
    pub required: bool,
}

/// One layer the macro knows.
pub struct LayerInfo {
    pub kind: Kind,
    /// Accepted spellings, the short kiln name first, then Keras's.
    pub spellings: &'static [&'static str],
    /// Keras's class name, shown in summaries.
    pub keras_class: &'static str,
    /// Keras's automatic name prefix: `conv2d`, `conv2d_1`, ...
    pub auto_name: &'static str,
    pub params: &'static [Param],
    /// How to write it, shown when it is used wrongly.
    pub usage: &'static str,
}

const fn p(name: &'static str, positional: bool, required: bool) -> Param {
    Param {
        name,
        positional,
        required,
    }
}

const NAME: Param = p("name", false, false);
const POOL: &[Param] = &[
    p("pool_size", true, false),
    p("strides", true, false),
    p("padding", true, false),
    NAME,
];

pub const LAYERS: &[LayerInfo] = &[
    LayerInfo {
        kind: Kind::Dense,
        spellings: &["Dense"],
        keras_class: "Dense",
        auto_name: "dense",
        params: &[
            p("units", true, true),
            p("activation", true, false),
            p("use_bias", false, false),
            NAME,
        ],
        usage: "Dense(units[, activation]), e.g. `Dense(128, relu)`",
    },
    LayerInfo {
        kind: Kind::Conv2D,
        spellings: &["Conv2D", "Convolution2D"],
        keras_class: "Conv2D",
        auto_name: "conv2d",
        params: &[
            p("filters", true, true),
            p("kernel_size", true, true),
            p("activation", true, false),
            p("strides", false, false),
            p("padding", false, false),
            p("use_bias", false, false),
            NAME,
        ],
        usage: "Conv2D(filters, kernel_size[, activation]), e.g. `Conv2D(32, 3, relu)`",
    },
    LayerInfo {
        kind: Kind::MaxPool,
        spellings: &["MaxPool", "MaxPool2D", "MaxPooling2D"],
        keras_class: "MaxPooling2D",
        auto_name: "max_pooling2d",
        params: POOL,
        usage: "MaxPool(pool_size[, strides[, padding]]), e.g. `MaxPool(2)`",
    },
    LayerInfo {
        kind: Kind::AvgPool,
        spellings: &["AvgPool", "AvgPool2D", "AveragePooling2D"],
        keras_class: "AveragePooling2D",
        auto_name: "average_pooling2d",
        params: POOL,
        usage: "AvgPool(pool_size[, strides[, padding]]), e.g. `AvgPool(2)`",
    },
    LayerInfo {
        kind: Kind::GlobalAvgPool,
        spellings: &["GlobalAvgPool", "GlobalAvgPool2D", "GlobalAveragePooling2D"],
        keras_class: "GlobalAveragePooling2D",
        auto_name: "global_average_pooling2d",
        params: &[NAME],
        usage: "GlobalAvgPool",
    },
    LayerInfo {
        kind: Kind::Flatten,
        spellings: &["Flatten"],
        keras_class: "Flatten",
        auto_name: "flatten",
        params: &[NAME],
        usage: "Flatten",
    },
    LayerInfo {
        kind: Kind::Reshape,
        spellings: &["Reshape"],
        keras_class: "Reshape",
        auto_name: "reshape",
        params: &[p("target_shape", true, true), NAME],
        usage: "Reshape(dims...), e.g. `Reshape(28, 28, 1)` or `Reshape(-1, 4)`",
    },
    LayerInfo {
        kind: Kind::Dropout,
        spellings: &["Dropout"],
        keras_class: "Dropout",
        auto_name: "dropout",
        params: &[p("rate", true, true), p("seed", false, false), NAME],
        usage: "Dropout(rate), e.g. `Dropout(0.5)`",
    },
    LayerInfo {
        kind: Kind::Activation,
        spellings: &["Activation"],
        keras_class: "Activation",
        auto_name: "activation",
        params: &[p("activation", true, true), NAME],
        usage: "Activation(name), e.g. `Activation(relu)`",
    },
];

/// Finds a layer by any of its spellings.
pub fn layer(name: &str) -> Option<&'static LayerInfo> {
    LAYERS.iter().find(|l| l.spellings.contains(&name))
}

/// Every accepted layer spelling, for suggestions.
pub fn layer_spellings() -> impl Iterator<Item = &'static str> {
    LAYERS.iter().flat_map(|l| l.spellings.iter().copied())
}

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
