kiln::model! {
    struct Net: [8, 8, 3] => <
        Conv2D(4, 3, relu),
        GlobalAveragePooling1D,
        Dense(3, softmax),
    >
}

fn main() {}
