kiln::model! {
    struct Net: [10, 4] => <
        Dense(8, relu),
        LayerNormalization(axis = 3),
        Flatten,
        Dense(1),
    >
}

fn main() {}
