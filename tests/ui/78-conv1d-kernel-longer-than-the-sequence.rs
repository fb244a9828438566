kiln::model! {
    struct Net: [20, 8] => <
        Conv1D(16, 5, relu),
        MaxPooling1D(4),
        Conv1D(32, 5, relu),
        Flatten,
        Dense(2, softmax),
    >
}

fn main() {}
