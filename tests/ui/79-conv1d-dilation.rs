kiln::model! {
    struct Net: [32, 4] => <
        Conv1D(8, 3, relu, dilation_rate = 2),
        GlobalAveragePooling1D,
        Dense(2, softmax),
    >
}

fn main() {}
