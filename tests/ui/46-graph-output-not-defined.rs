kiln::model! {
    pub struct Net {
        input x: [16];
        let h = Dense(4)(x);
        output logits;
    }
}

fn main() {}
