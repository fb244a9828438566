kiln::model! {
    pub struct Net {
        input dense: [16];
        output y = Dense(2)(dense);
    }
}

fn main() {}
