kiln::model! {
    pub struct Net {
        input x: [16];
        let y = Dense(2)(x);
    }
}

fn main() {}
