kiln::model! {
    pub struct Casc {
        input v: [4];
        let x = Dense(4)(undefined);
        output y = Dense(2)(x);
    }
}
fn main() {}
