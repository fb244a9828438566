kiln::model! {
    pub struct Net {
        input a: [16];
        input b: [16];
        output y = Dense(2)(Add(a, b));
    }
}

fn main() {}
