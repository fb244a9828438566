kiln::model! {
    pub struct Net {
        input x: [4];
        let a = Dense(4)(x);
        let b = Add(a);
        output y = Subtract(a, b, x);
    }
}

fn main() {}
