kiln::model! {
    struct OnVector: [16] => < Dense(8, relu), SimpleRNN(4), Dense(1) >
}

kiln::model! {
    struct NoGate: [10, 4] => < SimpleRNN(4, recurrent_activation = sigmoid), Dense(1) >
}

fn main() {}
