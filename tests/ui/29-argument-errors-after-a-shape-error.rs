kiln::model! {
    pub struct Net: [784] => <
        Conv2D(32, 3, relu),
        MaxPool(2),
        Flatten,
        Dense(10, activaton = softmax),
    >
}

fn main() {}
