//! What the MNIST examples share: their command line and how they report.

use kiln::datasets::mnist::{self, Image};
use kiln::datasets::to_categorical;
use kiln::training::History;

/// Inputs and one-hot labels.
pub type Data<X> = (Vec<X>, Vec<[f32; 10]>);

/// MNIST as the examples train on it: the first `limit` training images (all without one) and
/// every test image, converted by `images` (to images or to flat vectors), the labels one-hot;
/// says how many there are. Returns the training and the test data.
pub fn mnist<X>(
    limit: Option<usize>,
    images: impl Fn(&[Image]) -> Vec<X>,
) -> Result<(Data<X>, Data<X>), kiln::Error> {
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
    let n = limit.unwrap_or(x_train.len()).min(x_train.len());
    let train = (images(&x_train[..n]), to_categorical::<10>(&y_train[..n])?);
    let test = (images(&x_test), to_categorical::<10>(&y_test)?);
    println!(
        "{} training images, {} test images",
        train.0.len(),
        test.0.len()
    );
    Ok((train, test))
}

/// `--epochs N`, `--batch-size N`, `--limit N` (train on the first N images, for a quick run).
pub struct Args {
    pub epochs: usize,
    pub batch_size: usize,
    pub limit: Option<usize>,
}

impl Args {
    /// Parses the command line, with the example's default number of epochs.
    pub fn parse(default_epochs: usize) -> Args {
        let mut args = Args {
            epochs: default_epochs,
            batch_size: 128,
            limit: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = |name: &str| -> usize {
                let v = it
                    .next()
                    .unwrap_or_else(|| usage(&format!("{name} needs a value")));
                v.parse().ok().filter(|n| *n > 0).unwrap_or_else(|| {
                    usage(&format!("{name} takes a positive integer, got `{v}`"))
                })
            };
            match flag.as_str() {
                "--epochs" => args.epochs = value("--epochs"),
                "--batch-size" => args.batch_size = value("--batch-size"),
                "--limit" => args.limit = Some(value("--limit")),
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument `{other}`")),
            }
        }
        args
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: [--epochs N] [--batch-size N] [--limit N]");
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

/// Writes `history.csv` and `history.svg` beside the working directory, and says so.
pub fn save_history(history: &History) -> Result<(), kiln::Error> {
    history.write_csv("history.csv")?;
    history.plot("history.svg")?;
    println!("wrote history.csv and history.svg");
    Ok(())
}

/// Runs an example's body, printing its error in words (not `Debug`) and failing the process.
pub fn run(body: impl FnOnce() -> Result<(), kiln::Error>) -> std::process::ExitCode {
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
