//! `forward` and `forward_batch` never touch the heap: a counting global allocator proves it.
//! It counts each thread's allocations apart, so that tests running at once do not see each
//! other's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;
thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// The allocations made so far on this thread.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Not counted while the thread is being torn down.
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
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
    let before = allocations();
    let a = cnn.forward(&x);
    let b = every.forward(&y);
    let after = allocations();
    assert_eq!(
        after - before,
        0,
        "forward allocated {} times",
        after - before
    );
    assert!(a.iter().all(|v| v.is_finite()) && b.iter().all(|v| v.is_finite()));
}

#[test]
fn forward_batch_allocates_nothing_once_its_scratch_exists() {
    use kiln::core::model::{ForwardBatch, Scratch};
    let cnn = Cnn::init(0);
    let every = Everything::init(0);
    let xs = vec![[[[0.25f32; 1]; 28]; 28]; 35];
    let zs = vec![[[[0.5f32; 3]; 9]; 9]; 70];
    let (mut ys, mut ws) = (vec![[0.0f32; 10]; 35], vec![[0.0f32; 6]; 70]);
    let mut cnn_scratch: Box<Scratch<Cnn>> = kiln::core::bytemuck::zeroed_box();
    let mut every_scratch: Box<Scratch<Everything>> = kiln::core::bytemuck::zeroed_box();
    let _ = kiln::core::kernels::isa();
    let before = allocations();
    cnn.forward_batch(&xs, &mut ys, &mut cnn_scratch);
    every.forward_batch(&zs, &mut ws, &mut every_scratch);
    let after = allocations();
    assert_eq!(
        after - before,
        0,
        "forward_batch allocated {} times",
        after - before
    );
    assert_eq!(ys[34], cnn.forward(&xs[34]));
    assert_eq!(ws[69], every.forward(&zs[69]));
}
