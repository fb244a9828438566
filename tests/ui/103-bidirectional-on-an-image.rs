kiln::model! {
    struct Net: [8, 8, 1] => < Conv2D(4, 3, relu), Bidirectional(LSTM(16)), Dense(2) >
}

fn main() {}
