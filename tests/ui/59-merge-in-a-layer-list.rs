kiln::model! {
    pub struct Net: [16] => < Dense(8, relu), Add, Dense(2) >
}

fn main() {}
