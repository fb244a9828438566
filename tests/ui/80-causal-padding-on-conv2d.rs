kiln::model! {
    struct Net: [16, 16, 3] => <
        Conv2D(8, 3, relu, padding = causal),
        Flatten,
        Dense(2, softmax),
    >
}

fn main() {}
