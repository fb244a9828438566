kiln::model! {
    pub struct Net {
        input x: [16];
        let enc = Dense(4, relu);
        let a = enc(x);
        let b = enc(Dense(8)(x));
        output y = Concatenate(a, b);
    }
}

fn main() {}
