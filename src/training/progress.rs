//! Keras-style progress: a bar per epoch with ETA and running figures (verbose 1), or one line
//! per epoch (verbose 2). The epoch's closing line, with its time and images/s, is printed to
//! stdout in both modes so logs keep it.

use super::logs::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

pub(crate) struct Progress {
    verbose: u8,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(verbose: u8, epochs: usize) -> Self {
        Progress {
            verbose,
            epochs,
            bar: None,
        }
    }

    pub fn epoch_begin(&mut self, epoch: usize, steps: usize) {
        if self.verbose == 0 {
            return;
        }
        println!("Epoch {}/{}", epoch + 1, self.epochs);
        if self.verbose == 1 {
            let bar =
                ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} {bar:20.green/white} ETA {eta} - {msg}")
                    .expect("a valid template")
                    .progress_chars("━━─"),
            );
            self.bar = Some(bar);
        }
    }

    pub fn batch_end(&mut self, step: usize, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(logs.line());
        }
    }

    /// Closes the epoch: `elapsed` is its whole time (validation included, as Keras prints),
    /// `training` the time of its training steps alone, which the images/s figure is based on.
    pub fn epoch_end(
        &mut self,
        steps: usize,
        logs: &Logs,
        elapsed: Duration,
        training: Duration,
        samples: usize,
    ) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.verbose == 0 {
            return;
        }
        let train = training.as_secs_f64();
        println!(
            "{steps}/{steps} - {:.1}s {:.0}ms/step - {:.0} images/s - {}",
            elapsed.as_secs_f64(),
            1000.0 * train / steps.max(1) as f64,
            samples as f64 / train.max(1e-9),
            logs.line()
        );
    }
}
