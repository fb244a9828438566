kiln::model! {
    pub struct Net {
        input x: [16];
        let a = Dense(8, relu)(x);
        let b = Dense(8, relu)(x);
        output y = Dense(2)(a);
    }
}

fn main() {}
