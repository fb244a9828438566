kiln::model! {
    pub struct Net => <
        Dense(10, softmax),
    >
}

fn main() {}
