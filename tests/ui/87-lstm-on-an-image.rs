kiln::model! {
    struct Net: [28, 28, 1] => <
        LSTM(32),
        Dense(10, softmax),
    >
}

fn main() {}
