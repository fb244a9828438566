kiln::model! {
    struct Net: [10, 4] => <
        Bidirectional(LSTM(8, return_sequence = true), merge_mode = concatenate),
        Bidirectional(GRU(4, go_backwards = true, name = "enc")),
        Bidirectional(Lstm(4)),
        Dense(2),
    >
}

fn main() {}
