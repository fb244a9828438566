kiln::model! {
    pub struct Net {
        let a = Dense(4)(x);
        output y = Dense(2)(a);
    }
}

fn main() {}
