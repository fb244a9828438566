kiln::model! {
    pub struct Net {
        input x: [16];
        let a = Dense(4)(x);
        output y = Dense(2)(a, x);
    }
}

fn main() {}
