kiln::model! {
    struct Net: [28, 28, 1] => <
        Conv1D(16, 3, relu),
        Flatten,
        Dense(10, softmax),
    >
}

fn main() {}
