// A name given by hand that Keras gives an earlier layer automatically...
kiln::model! {
    pub struct Earlier: [784] => <
        Dense(64, relu),
        Dense(10, softmax, name = "dense"),
    >
}

// ...or a later one: the error is at the name given by hand either way.
kiln::model! {
    pub struct Later: [784] => <
        Dense(64, relu, name = "dense_1"),
        Dense(32, relu),
        Dense(10, softmax),
    >
}

fn main() {}
