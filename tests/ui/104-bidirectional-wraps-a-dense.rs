kiln::model! {
    struct Net: [10, 4] => < Bidirectional(Dense(3)), Dense(2) >
}

fn main() {}

kiln::model! {
    struct Bare: [10, 4] => < Bidirectional(GRU), Dense(2) >
}
