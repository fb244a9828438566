// A weights file that isn't there, and an option the macro doesn't know.
kiln::model! {
    pub struct Net: [4] => < Dense(2) >,
    weights = "tests/ui/weights/no_such_file.safetensors",
}

kiln::model! {
    pub struct Other: [4] => < Dense(2) >,
    weight = "model.safetensors",
}

fn main() {}
