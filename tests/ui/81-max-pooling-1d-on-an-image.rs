kiln::model! {
    struct Net: [12, 12, 2] => <
        Conv2D(4, 3, relu),
        MaxPooling1D(2),
        Flatten,
        Dense(2, softmax),
    >
}

fn main() {}
