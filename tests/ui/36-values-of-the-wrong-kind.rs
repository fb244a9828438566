const UNITS: usize = 10;

kiln::model! {
    pub struct Net: [784] => <
        Dense(UNITS, use_bias = 1),
        Reshape(0, -1, -1),
        Dropout(half),
        Dense(10.5, activation = 3, name = features),
    >
}

fn main() {}
