// int8 models: layers without an int8 kernel, and no weights file to build them from.
kiln::model! {
    pub struct Net<i8>: [28, 28, 1] => <
        Conv2D(8, 3, tanh), LayerNormalization, GlobalAvgPool, Dense(10, softmax),
    >
}

// A float weights file given to an int8 model, and an int8 file given to a float one.
kiln::model! {
    pub struct FromFloat<i8>: [6, 6, 2] => <
        Conv2D(3, 3, relu, padding = same), MaxPool(2), Flatten, Dense(3, softmax),
    >,
    weights = "tests/fixtures/embed_small.safetensors",
}

kiln::model! {
    pub struct FromInt8: [10, 10, 2] => <
        Conv2D(4, 3, activation = relu, padding = same), MaxPool(2), AvgPool(2, padding = same),
        Conv2D(6, 2, activation = relu6), Flatten, Dense(8, relu), Dropout(0.5), Dense(5, softmax),
    >,
    weights = "tests/fixtures/int8_mixed.int8.safetensors",
}

fn main() {}
