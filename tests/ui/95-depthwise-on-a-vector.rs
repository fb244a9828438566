kiln::model! {
    struct Net: [10] => < DepthwiseConv2D(3, relu), Dense(2) >
}

fn main() {}
