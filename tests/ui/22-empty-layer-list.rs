kiln::model! {
    pub struct Net: [784] => < >
}

fn main() {}
