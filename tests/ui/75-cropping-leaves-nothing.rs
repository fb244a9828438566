kiln::model! {
    struct Net: [8, 8, 1] => <
        Conv2D(4, 3, relu),
        Cropping2D(((2, 1), (3, 3))),
        Flatten,
        Dense(3, softmax),
    >
}

fn main() {}
