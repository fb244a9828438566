// A weights file saved from a model with 4 filters in its first Conv2D, embedded into one with
// 3: the build fails, naming each tensor that doesn't fit and the layer that needs it.
kiln::model! {
    pub struct Net: [6, 6, 2] => <
        Conv2D(3, 3, relu, padding = same), MaxPool(2), Activation(tanh), Flatten, Dropout(0.5),
        Dense(4, relu), Dense(3, softmax),
    >,
    weights = "tests/ui/weights/wrong_filters.safetensors",
}

fn main() {}
