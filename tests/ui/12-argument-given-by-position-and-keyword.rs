kiln::model! {
    pub struct Net: [784] => <
        Dense(10, relu, activation = tanh),
    >
}

fn main() {}
