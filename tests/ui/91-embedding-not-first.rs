kiln::model! {
    struct After: [10] => < Dense(10, relu), Embedding(100, 8), GRU(4) >
}

kiln::model! {
    struct Column: [10, 1] => < Embedding(100, 8), GRU(4) >
}

fn main() {}
