kiln::model! {
    pub struct Both {
        input a: [4];
        input b: [4];
        output y = Dense(2)(Add(a, b));
    }
}

kiln::model! {
    pub struct Outer: [4] => < Both, Dense(2) >
}

fn main() {}
