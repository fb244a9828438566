kiln::model! {
    struct Net: [10, 4] => <
        LSTM(8, recurrent_activation = softmax, return_sequences = yes),
        Dense(1),
    >
}

fn main() {}
