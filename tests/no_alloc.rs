//! `forward` never touches the heap: a counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

kiln::model! {
    struct Cnn: [28, 28, 1] => <
        Conv2D(32, 3, relu), Conv2D(64, 3, relu), MaxPool(2), Dropout(0.25),
        Flatten, Dense(128, relu), Dropout(0.5), Dense(10, softmax),
    >
}

kiln::model! {
    struct Everything: [9, 9, 3] => <
        Conv2D(4, (3, 2), strides = 2, padding = same, activation = gelu), AvgPool(2, padding = same),
        MaxPool(1), GlobalAvgPool, Reshape(2, 2), Dense(3, swish), Activation(softmax), Flatten,
    >
}

#[test]
fn forward_allocates_nothing() {
    let cnn = Cnn::init(0);
    let every = Everything::init(0);
    let x = [[[0.25f32; 1]; 28]; 28];
    let y = [[[0.5f32; 3]; 9]; 9];
    // Reading `KILN_ISA`, when it is set, allocates once: do it before counting.
    let _ = kiln::core::kernels::isa();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let a = cnn.forward(&x);
    let b = every.forward(&y);
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(
        after - before,
        0,
        "forward allocated {} times",
        after - before
    );
    assert!(a.iter().all(|v| v.is_finite()) && b.iter().all(|v| v.is_finite()));
}
