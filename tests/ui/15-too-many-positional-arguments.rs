kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(32, 3, relu, 2),
        MaxPool(2, 2, valid, 1),
        Flatten(1),
        Dense(10, softmax, false),
    >
}

fn main() {}
