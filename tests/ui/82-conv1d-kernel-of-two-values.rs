kiln::model! {
    struct Net: [10, 3] => <
        Conv1D(4, (3, 3)),
        Flatten,
        Dense(2),
    >
}

fn main() {}
