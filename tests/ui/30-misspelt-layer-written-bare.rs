kiln::model! {
    pub struct Net: [784] => <
        Dens,
        Dense(10, softmax),
    >
}

fn main() {}
