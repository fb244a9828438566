kiln::model! {
    pub struct Echo {
        input x: [4];
        input skip: [2];
        output y = Dense(2)(x);
        output passed = skip;
    }
}

fn main() {}
