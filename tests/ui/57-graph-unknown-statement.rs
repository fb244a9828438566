kiln::model! {
    pub struct Net {
        input x: [16];
        lett a = Dense(4)(x);
        output y = Dense(2)(a);
    }
}

fn main() {}
