kiln::model! {
    struct Net: [12, 4] => < Conv1D(8, 3, relu), SeparableConv2D(16, 3, relu), Flatten, Dense(2) >
}

fn main() {}
