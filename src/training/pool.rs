//! A fixed set of threads that run one job at a time: the caller and `n - 1` workers meet at a
//! barrier, each runs the job with its index, and all meet again before `run` returns.
//!
//! Why not rayon: its injector queue allocates a block every few dozen jobs, and a training
//! step must not allocate. Two `std::sync::Barrier` waits per job allocate nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;

/// The job being run, its lifetime erased: see [`Pool::run`] for why that is sound.
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, and it is only dereferenced while `Pool::run` keeps it alive.
unsafe impl Send for Job {}

struct Shared {
    start: Barrier,
    done: Barrier,
    job: Mutex<Option<Job>>,
    stop: AtomicBool,
    panicked: AtomicBool,
}

/// Threads for data-parallel training steps.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool of `n` threads in all: the caller and `n - 1` workers.
    pub fn new(n: usize) -> Pool {
        let n = n.max(1);
        let shared = Arc::new(Shared {
            start: Barrier::new(n),
            done: Barrier::new(n),
            job: Mutex::new(None),
            stop: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
        });
        let handles = (1..n)
            .map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("kiln-train-{i}"))
                    .spawn(move || worker(&shared, i))
                    .expect("the operating system refused to start a training thread")
            })
            .collect();
        Pool { shared, handles }
    }

    /// The number of threads, the caller included.
    pub fn threads(&self) -> usize {
        self.handles.len() + 1
    }

    /// Runs `job(i)` on every thread `i` in `0..threads()` (0 on the caller) and returns when
    /// all have finished. A panic in any of them is resumed here.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        if self.handles.is_empty() {
            return job(0);
        }
        // SAFETY: only the lifetime is erased. Workers dereference the pointer between the
        // `start` and `done` barriers, and this function does not return (or unwind: the
        // caller's part is caught) before `done`, so `job` outlives every use.
        let erased: *const (dyn Fn(usize) + Sync + 'static) =
            unsafe { std::mem::transmute(job as *const (dyn Fn(usize) + Sync)) };
        *self
            .shared
            .job
            .lock()
            .expect("the job slot is never poisoned") = Some(Job(erased));
        self.shared.start.wait();
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        self.shared.done.wait();
        *self
            .shared
            .job
            .lock()
            .expect("the job slot is never poisoned") = None;
        if let Err(payload) = mine {
            std::panic::resume_unwind(payload);
        }
        if self.shared.panicked.swap(false, Ordering::SeqCst) {
            panic!("a kiln training thread panicked");
        }
    }
}

fn worker(shared: &Shared, index: usize) {
    loop {
        shared.start.wait();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let job = shared
            .job
            .lock()
            .expect("the job slot is never poisoned")
            .expect("a job is set before start");
        // SAFETY: see `Pool::run`: the job lives until after the `done` barrier below.
        let f = unsafe { &*job.0 };
        if catch_unwind(AssertUnwindSafe(|| f(index))).is_err() {
            shared.panicked.store(true, Ordering::SeqCst);
        }
        shared.done.wait();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.handles.is_empty() {
            return;
        }
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.start.wait();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_thread_runs_the_job_once_with_its_index() {
        for n in 1..=4 {
            let pool = Pool::new(n);
            let seen = AtomicUsize::new(0);
            for _ in 0..100 {
                pool.run(&|i| {
                    seen.fetch_add(1 << (8 * i), Ordering::SeqCst);
                });
            }
            let expect: usize = (0..n).map(|i| 100 << (8 * i)).sum();
            assert_eq!(seen.load(Ordering::SeqCst), expect, "{n} threads");
        }
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller_and_the_pool_survives() {
        let pool = Pool::new(2);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.run(&|i| assert_ne!(i, 1, "worker 1 fails"));
        }));
        assert!(r.is_err());
        let ran = AtomicUsize::new(0);
        pool.run(&|_| {
            ran.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
