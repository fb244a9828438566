kiln::model! {
    pub struct Net: [28, 28, 1] => <
        Conv2D(0, 3),
        Conv2D(8, 3, strides = 0),
        MaxPool(2, (2, 0)),
        Flatten,
        Dense(0),
    >
}

fn main() {}
