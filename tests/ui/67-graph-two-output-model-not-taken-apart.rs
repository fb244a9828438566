kiln::model! {
    pub struct Heads {
        input x: [4];
        output class = Dense(3, softmax)(x);
        output score = Dense(1)(x);
    }
}

kiln::model! {
    pub struct Outer {
        input v: [4];
        let h = Heads(v);
        output y = Dense(2)(h);
    }
}

fn main() {}
