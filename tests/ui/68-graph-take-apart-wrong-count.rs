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
        let (c, s, extra) = Heads(v);
        output y = Dense(2)(Concatenate(c, s, extra));
    }
}

fn main() {}
