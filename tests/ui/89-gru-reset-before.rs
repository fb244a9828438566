kiln::model! {
    struct Net: [10, 4] => <
        GRU(8, reset_after = false),
        Dense(1),
    >
}

fn main() {}
