//! After the first batch, a training step allocates nothing: a counting global allocator
//! proves it, single- and multi-threaded.

use kiln::prelude::*;
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
    struct Net: [12, 12, 1] => <
        Conv2D(4, 3, relu), MaxPool(2), Dropout(0.25), Flatten, Dense(16, relu), Dense(10, softmax),
    >
}

#[test]
fn a_training_step_allocates_nothing_after_the_first() {
    let x = vec![[[[0.5f32; 1]; 12]; 12]; 64];
    let y: Vec<u8> = (0..64).map(|i| (i % 10) as u8).collect();
    // Reading `KILN_ISA`, when it is set, allocates once: do it before counting.
    let _ = kiln::core::kernels::isa();
    for threads in [1, 2] {
        let mut net = Net::init(0);
        let mut trainer = net
            .compile(
                Adam::default(),
                Loss::SparseCategoricalCrossentropy,
                &[Metric::Accuracy],
            )
            .with_threads(threads);
        trainer.train_on_batch(&x, &y).unwrap(); // the first step sizes the optimizer's state
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..50 {
            trainer.train_on_batch(&x, &y).unwrap();
        }
        let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert_eq!(
            allocations, 0,
            "{threads} threads: 50 steps allocated {allocations} times"
        );
    }
}
