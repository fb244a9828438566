kiln::model! {
    struct Net: [8, 8, 1] => <
        ZeroPadding2D((1, 2, 3)),
        Conv2D(4, 3, relu),
        Flatten,
        Dense(3, softmax),
    >
}

fn main() {}
