kiln::model! {
    pub struct Net: [784] => <
        Dense(128, rellu),
        Dense(10, activation = softmaks),
    >
}

fn main() {}
