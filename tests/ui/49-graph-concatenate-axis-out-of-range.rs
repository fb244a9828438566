kiln::model! {
    pub struct Net {
        input x: [16];
        let a = Dense(4)(x);
        let b = Dense(4)(x);
        output y = Concatenate(axis = 2)(a, b);
    }
}

fn main() {}
