kiln::model! {
    pub struct Heads {
        input x: [4];
        output class = Dense(3, softmax)(x);
        output score = Dense(1)(x);
    }
}

kiln::model! {
    pub struct Outer: [4] => < Heads, Dense(2) >
}

fn main() {}
