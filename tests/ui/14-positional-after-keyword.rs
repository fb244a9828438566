kiln::model! {
    pub struct Net: [784] => <
        Dense(units = 10, relu),
    >
}

fn main() {}
