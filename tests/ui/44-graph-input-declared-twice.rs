kiln::model! {
    pub struct Net {
        input x: [16];
        input x: [8];
        output y = Dense(2)(x);
    }
}

fn main() {}
