//! The Keras callbacks (`EarlyStopping`, `ModelCheckpoint`, `ReduceLROnPlateau`, `CSVLogger`),
//! a user-written callback, and `History`'s files and plot.
//!
//! Most cases drive a callback by hand through scripted logs, as `fit` calls it, so the
//! expected epochs, learning rates and files are exact; the expected values come from running
//! Keras 3.15.1's own callbacks on the same scripts. Each callback also runs once in a real
//! `fit`.

use kiln::core::train::Flat;
use kiln::prelude::*;
use kiln::training::callbacks::{Context, Mode, SaveFreq};
use kiln::training::{Logs, Trainer};
use kiln::Error;
use std::path::Path;

kiln::model! {
    struct Tiny: [4] => < Dense(8, relu), Dense(3, softmax) >
}

/// Logs from `(name, value)` pairs, in order.
fn logs(pairs: &[(&str, f64)]) -> Logs {
    let mut logs = Logs::default();
    for (name, value) in pairs {
        logs.set(name, *value);
    }
    logs
}

/// `val_loss` logs, one per epoch.
fn val_losses(values: &[f64]) -> Vec<Logs> {
    values.iter().map(|v| logs(&[("val_loss", *v)])).collect()
}

/// What a scripted run did: the epochs run, and the learning rate after each.
struct Scripted {
    epochs: usize,
    learning_rates: Vec<f64>,
}

/// Calls `cb` as `fit` does for each epoch's logs in `script` (with one batch per epoch), until
/// it asks to stop. Before each epoch ends, the model's parameters are all set to the epoch's
/// number, so which epoch's weights the model holds can be read off any parameter.
fn drive<C: Callback<Tiny>>(
    cb: &mut C,
    net: &mut Tiny,
    optimizer: &mut SGD<f32>,
    script: &[Logs],
) -> Result<Scripted, Error> {
    let mut ctx = Context {
        model: net,
        optimizer,
        stop_training: false,
    };
    let mut run = Scripted {
        epochs: 0,
        learning_rates: Vec::new(),
    };
    cb.on_train_begin(&mut ctx)?;
    for (epoch, logs) in script.iter().enumerate() {
        cb.on_epoch_begin(epoch, &mut ctx)?;
        ctx.model.flat_mut().fill(epoch as f32);
        cb.on_batch_end(0, logs, &mut ctx)?;
        cb.on_epoch_end(epoch, logs, &mut ctx)?;
        run.epochs += 1;
        run.learning_rates.push(ctx.optimizer.learning_rate());
        if ctx.stop_training {
            break;
        }
    }
    cb.on_train_end(&mut ctx)?;
    Ok(run)
}

/// Drives `cb` through `script` on a fresh model: the run, and the epoch whose weights the
/// model holds at the end.
fn drive_fresh<C: Callback<Tiny>>(cb: &mut C, script: &[Logs]) -> (Scripted, f32) {
    let mut net = Tiny::init(0);
    let mut sgd = SGD::new(1.0);
    let run = drive(cb, &mut net, &mut sgd, script).expect("the script runs");
    let held = net.flat()[0];
    assert!(net.flat().iter().all(|w| *w == held));
    (run, held)
}

/// A deterministic stream of numbers in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Samples labelled by which of three fixed directions they point most along. With
/// `rotate_labels` the labels are shifted by one class: a validation set the model gets worse
/// at as it learns the training set, so that its `val_loss` turns upwards.
fn dataset(n: usize, seed: u64, rotate_labels: bool) -> (Vec<[f32; 4]>, Vec<u8>) {
    let mut rng = Lcg(seed);
    let x: Vec<[f32; 4]> = (0..n)
        .map(|_| [rng.next(), rng.next(), rng.next(), rng.next()])
        .collect();
    let y = x
        .iter()
        .map(|v| {
            let scores = [v[0] + v[1], v[2] - v[0], v[3] - v[1]];
            let class = (0..3).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
            ((class + rotate_labels as usize) % 3) as u8
        })
        .collect();
    (x, y)
}

fn compile(net: &mut Tiny, lr: f64) -> Trainer<'_, Tiny, SGD<f32>> {
    net.compile(
        SGD::new(lr),
        Loss::SparseCategoricalCrossentropy,
        &[Metric::Accuracy],
    )
    .with_threads(1)
}

// ---------------------------------------------------------------------------------------------
// EarlyStopping

const PLATEAU: [f64; 10] = [1.0, 0.9, 0.95, 0.92, 0.91, 0.85, 0.9, 0.9, 0.9, 0.9];

#[test]
fn early_stopping_stops_when_patience_runs_out() {
    let mut es = EarlyStopping::new("val_loss").patience(2);
    let (run, held) = drive_fresh(&mut es, &val_losses(&PLATEAU));
    assert_eq!(run.epochs, 4);
    assert_eq!(es.stopped_epoch(), Some(3));
    assert_eq!(es.best(), Some(0.9));
    assert_eq!(es.best_epoch(), Some(1));
    assert_eq!(
        held, 3.0,
        "without restore_best_weights the last weights stay"
    );
}

#[test]
fn early_stopping_min_delta_ignores_its_sign() {
    // 0.85 after 0.9 beats the best by 0.05, which is not more than min_delta.
    let mut es = EarlyStopping::new("val_loss").patience(1).min_delta(-0.05);
    let (run, _) = drive_fresh(&mut es, &val_losses(&PLATEAU));
    assert_eq!((run.epochs, es.stopped_epoch()), (3, Some(2)));
    let mut es = EarlyStopping::new("val_loss").patience(2).min_delta(0.05);
    let (run, _) = drive_fresh(&mut es, &val_losses(&PLATEAU));
    assert_eq!((run.epochs, es.stopped_epoch()), (4, Some(3)));
}

#[test]
fn early_stopping_patience_zero_stops_at_the_first_epoch_without_improvement() {
    let mut es = EarlyStopping::new("val_loss");
    let (run, _) = drive_fresh(&mut es, &val_losses(&[1.0, 1.0, 0.5]));
    assert_eq!((run.epochs, es.stopped_epoch()), (2, Some(1)));
}

#[test]
fn early_stopping_maximizes_accuracy() {
    let script: Vec<Logs> = [0.5, 0.6, 0.6, 0.65, 0.64, 0.63]
        .iter()
        .map(|v| logs(&[("val_accuracy", *v)]))
        .collect();
    for mode in [Mode::Auto, Mode::Max] {
        let mut es = EarlyStopping::new("val_accuracy").patience(2).mode(mode);
        let (run, _) = drive_fresh(&mut es, &script);
        assert_eq!(run.epochs, 6);
        assert_eq!(es.stopped_epoch(), Some(5));
        assert_eq!((es.best(), es.best_epoch()), (Some(0.65), Some(3)));
    }
}

#[test]
fn early_stopping_baseline_must_be_beaten() {
    // Improving but never below 0.5: the wait is not reset, yet an improving epoch never stops.
    let mut es = EarlyStopping::new("val_loss").patience(2).baseline(0.5);
    let (run, _) = drive_fresh(&mut es, &val_losses(&[0.9, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6]));
    assert_eq!((run.epochs, es.stopped_epoch()), (5, Some(4)));

    let mut es = EarlyStopping::new("val_loss")
        .patience(2)
        .baseline(0.5)
        .restore_best_weights(true);
    let script = val_losses(&[0.9, 0.8, 0.4, 0.45, 0.5, 0.5, 0.5]);
    let (run, held) = drive_fresh(&mut es, &script);
    assert_eq!((run.epochs, es.stopped_epoch()), (5, Some(4)));
    assert_eq!(held, 2.0);
}

#[test]
fn early_stopping_waits_until_start_from_epoch() {
    let mut es = EarlyStopping::new("val_loss")
        .patience(1)
        .start_from_epoch(3)
        .restore_best_weights(true);
    let script = val_losses(&[1.0, 2.0, 3.0, 0.5, 0.6, 0.7, 0.8]);
    let (run, held) = drive_fresh(&mut es, &script);
    assert_eq!((run.epochs, es.stopped_epoch()), (5, Some(4)));
    assert_eq!((es.best(), es.best_epoch()), (Some(0.5), Some(3)));
    assert_eq!(held, 3.0);
}

#[test]
fn early_stopping_restores_the_best_weights_when_it_stops() {
    let mut es = EarlyStopping::new("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let (run, held) = drive_fresh(&mut es, &val_losses(&PLATEAU));
    assert_eq!(run.epochs, 4);
    assert_eq!(held, 1.0, "the weights of epoch 1, the best");
}

#[test]
fn early_stopping_restores_the_best_weights_without_stopping_too() {
    // Keras 3 restores at the end of training however it ended.
    let mut es = EarlyStopping::new("val_loss")
        .patience(5)
        .restore_best_weights(true);
    let (run, held) = drive_fresh(&mut es, &val_losses(&[1.0, 0.5, 0.7, 0.8]));
    assert_eq!((run.epochs, es.stopped_epoch()), (4, None));
    assert_eq!(held, 1.0);
}

#[test]
fn early_stopping_is_reset_by_each_fit() {
    let mut es = EarlyStopping::new("val_loss").patience(2);
    drive_fresh(&mut es, &val_losses(&PLATEAU));
    let (run, _) = drive_fresh(&mut es, &val_losses(&[3.0, 2.0, 1.0]));
    assert_eq!(
        (run.epochs, es.stopped_epoch(), es.best()),
        (3, None, Some(1.0))
    );
}

#[test]
fn early_stopping_names_a_missing_figure_and_the_logged_ones() {
    let mut es = EarlyStopping::new("val_los").mode(Mode::Min);
    let mut net = Tiny::init(0);
    let err = drive(
        &mut es,
        &mut net,
        &mut SGD::new(0.1),
        &[logs(&[("loss", 1.0), ("val_loss", 1.0)])],
    )
    .err()
    .expect("a misspelt monitor fails");
    let err = err.to_string();
    assert!(
        err.contains("`val_los`") && err.contains("loss, val_loss"),
        "{err}"
    );
}

#[test]
fn early_stopping_without_validation_data_says_why_val_loss_is_missing() {
    let (x, y) = dataset(64, 1, false);
    let mut net = Tiny::init(1);
    let err = compile(&mut net, 0.1)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 3,
                verbose: 0,
                callbacks: vec![Box::new(EarlyStopping::default())],
                ..Default::default()
            },
        )
        .expect_err("val_loss is never logged");
    let err = err.to_string();
    assert!(err.contains("`val_loss`"), "{err}");
    assert!(err.contains("validation_data"), "{err}");
}

#[test]
fn a_monitor_of_unknown_direction_fails_before_training() {
    let mut net = Tiny::init(0);
    let err = drive(
        &mut EarlyStopping::new("val_mystery"),
        &mut net,
        &mut SGD::new(0.1),
        &[],
    )
    .err()
    .expect("auto mode cannot tell");
    let err = err.to_string();
    assert!(
        err.contains("`val_mystery`") && err.contains("Mode::Max"),
        "{err}"
    );
    assert!(
        err.contains("accuracy, precision"),
        "the names it knows: {err}"
    );
    let mut es = EarlyStopping::new("val_mystery").mode(Mode::Min);
    let (run, _) = drive_fresh(&mut es, &[logs(&[("val_mystery", 1.0)])]);
    assert_eq!(run.epochs, 1);
}

/// Records the weights and the logs at the end of every epoch.
#[derive(Default)]
struct Recorder {
    weights: Vec<Vec<f32>>,
    val_loss: Vec<f64>,
}

impl Callback<Tiny> for Recorder {
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &Logs,
        ctx: &mut Context<'_, Tiny>,
    ) -> Result<(), Error> {
        self.weights.push(ctx.model.flat().to_vec());
        self.val_loss.push(logs.get("val_loss").expect("validated"));
        Ok(())
    }
}

#[test]
fn early_stopping_in_fit_restores_the_weights_of_the_best_epoch() {
    let (x, y) = dataset(96, 7, false);
    let (vx, vy) = dataset(48, 8, true);
    let mut net = Tiny::init(3);
    let mut recorder = Recorder::default();
    let mut es = EarlyStopping::new("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let mut trainer = compile(&mut net, 0.5);
    let history = trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 40,
                batch_size: 16,
                validation_data: Some((&vx, &vy)),
                verbose: 0,
                callbacks: vec![Box::new(&mut recorder), Box::new(&mut es)],
                ..Default::default()
            },
        )
        .unwrap();

    let epochs = history.epoch.len();
    let stopped = es
        .stopped_epoch()
        .expect("val_loss rises: training stops early");
    assert_eq!(epochs, stopped + 1);
    assert!(epochs < 40);
    assert_eq!(history.get("val_loss").unwrap(), recorder.val_loss);
    let best = (0..epochs).fold(0, |b, e| {
        if recorder.val_loss[e] < recorder.val_loss[b] {
            e
        } else {
            b
        }
    });
    assert_eq!(es.best_epoch(), Some(best));
    assert_eq!(
        stopped,
        best + 2,
        "patience 2: two epochs without improvement"
    );
    assert_ne!(recorder.weights[best], recorder.weights[epochs - 1]);
    assert_eq!(trainer.model().flat(), &recorder.weights[best][..]);
}

// ---------------------------------------------------------------------------------------------
// ModelCheckpoint

/// The weights in a checkpoint file, loaded into a fresh model.
fn load(path: &Path) -> Vec<f32> {
    let mut net = Tiny::init(99);
    net.load_weights(path).expect("a checkpoint loads back");
    net.flat().to_vec()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn model_checkpoint_saves_only_improvements_under_formatted_names() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir
        .path()
        .join("ckpt-{epoch:02d}-{val_loss:.3f}.safetensors");
    let mut cp = ModelCheckpoint::new(template.to_str().unwrap()).save_best_only(true);
    let script = val_losses(&[1.0, 0.9, 0.95, 0.92, 0.85, 0.85, 0.9]);
    drive_fresh(&mut cp, &script);
    assert_eq!(
        files_in(dir.path()),
        [
            "ckpt-01-1.000.safetensors",
            "ckpt-02-0.900.safetensors",
            "ckpt-05-0.850.safetensors",
        ]
    );
    let weights = load(&dir.path().join("ckpt-05-0.850.safetensors"));
    assert!(
        weights.iter().all(|w| *w == 4.0),
        "epoch 5's weights (0-based 4)"
    );
    assert_eq!(cp.best(), Some(0.85));
}

#[test]
fn model_checkpoint_overwrites_one_file_with_the_best_weights() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/best.safetensors");
    let mut cp = ModelCheckpoint::new(path.to_str().unwrap())
        .monitor("val_accuracy")
        .save_best_only(true);
    let script: Vec<Logs> = [0.5, 0.7, 0.6, 0.7, 0.65]
        .iter()
        .map(|v| logs(&[("val_accuracy", *v)]))
        .collect();
    drive_fresh(&mut cp, &script);
    assert!(load(&path).iter().all(|w| *w == 1.0));

    // The best is kept across fits (as Keras does), and a threshold can be set up front.
    drive_fresh(&mut cp, &script);
    assert!(load(&path).iter().all(|w| *w == 1.0));
    let mut cp = ModelCheckpoint::new(path.to_str().unwrap())
        .monitor("val_accuracy")
        .mode(Mode::Max)
        .save_best_only(true)
        .initial_value_threshold(0.68);
    std::fs::remove_file(&path).unwrap();
    drive_fresh(&mut cp, &script);
    assert!(load(&path).iter().all(|w| *w == 1.0));
}

#[test]
fn model_checkpoint_saves_every_epoch_or_every_n_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut cp = ModelCheckpoint::new(dir.path().join("e{epoch}.safetensors").to_str().unwrap());
    drive_fresh(&mut cp, &val_losses(&[1.0, 2.0, 3.0]));
    assert_eq!(
        files_in(dir.path()),
        ["e1.safetensors", "e2.safetensors", "e3.safetensors"]
    );

    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("e{epoch}-b{batch}-{loss:.1f}.safetensors");
    let (x, y) = dataset(40, 3, false);
    let mut net = Tiny::init(2);
    let cp = ModelCheckpoint::new(template.to_str().unwrap()).save_freq(SaveFreq::Batches(3));
    compile(&mut net, 0.01)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                batch_size: 10,
                verbose: 0,
                callbacks: vec![Box::new(cp)],
                ..Default::default()
            },
        )
        .unwrap();
    // Four batches an epoch: saves after the 3rd, 6th (epoch 2, batch 2) batches.
    let names: Vec<String> = files_in(dir.path())
        .iter()
        .map(|n| n.split('-').take(2).collect::<Vec<_>>().join("-"))
        .collect();
    assert_eq!(names, ["e1-b3", "e2-b2"]);
}

#[test]
fn model_checkpoint_names_a_field_it_cannot_fill() {
    let dir = tempfile::tempdir().unwrap();
    let mut cp = ModelCheckpoint::new(dir.path().join("{val_acc:.2f}.st").to_str().unwrap());
    let mut net = Tiny::init(0);
    let err = drive(&mut cp, &mut net, &mut SGD::new(0.1), &val_losses(&[1.0]))
        .err()
        .expect("val_acc is not logged");
    let err = err.to_string();
    assert!(err.contains("`val_acc` is not logged"), "{err}");
    assert!(err.contains("epoch, val_loss"), "{err}");
}

#[test]
fn model_checkpoint_in_fit_keeps_the_best_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let (x, y) = dataset(96, 7, false);
    let (vx, vy) = dataset(48, 8, true);
    let mut net = Tiny::init(3);
    let mut recorder = Recorder::default();
    let cp = ModelCheckpoint::new(path.to_str().unwrap()).save_best_only(true);
    compile(&mut net, 0.5)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 8,
                batch_size: 16,
                validation_data: Some((&vx, &vy)),
                verbose: 0,
                callbacks: vec![Box::new(&mut recorder), Box::new(cp)],
                ..Default::default()
            },
        )
        .unwrap();
    let best = (0..8).fold(0, |b, e| {
        if recorder.val_loss[e] < recorder.val_loss[b] {
            e
        } else {
            b
        }
    });
    assert_eq!(load(&path), recorder.weights[best]);
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau

/// Eight epochs at 1.0, then a better plateau at 0.5.
const TWO_PLATEAUS: [f64; 16] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
];

#[test]
fn reduce_lr_on_plateau_waits_cools_down_and_stops_at_min_lr() {
    let mut cb = ReduceLROnPlateau::new()
        .factor(0.5)
        .patience(2)
        .cooldown(1)
        .min_lr(0.2);
    let (run, _) = drive_fresh(&mut cb, &val_losses(&TWO_PLATEAUS));
    // Keras 3.15.1 gives the same, with 0.2 as float32 (0.20000000298023224).
    let mut expected = vec![1.0, 1.0, 0.5, 0.5, 0.25, 0.25];
    expected.resize(16, 0.2);
    assert_eq!(run.learning_rates, expected);
}

#[test]
fn reduce_lr_on_plateau_counts_patience_afresh_after_each_reduction() {
    let mut cb = ReduceLROnPlateau::new().factor(0.5).patience(2);
    let (run, _) = drive_fresh(&mut cb, &val_losses(&TWO_PLATEAUS));
    assert_eq!(
        run.learning_rates,
        [
            1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625, 0.03125, 0.03125,
            0.015625, 0.015625, 0.0078125
        ]
    );
}

#[test]
fn reduce_lr_on_plateau_needs_more_than_min_delta() {
    // Default min_delta 1e-4: steps of 5e-5 are no improvement, 1e-4 exactly is none either.
    let mut cb = ReduceLROnPlateau::new().factor(0.5).patience(1);
    let script = val_losses(&[1.0, 0.99995, 0.9999, 0.99985, 0.9998, 0.9997]);
    let (run, _) = drive_fresh(&mut cb, &script);
    assert_eq!(run.learning_rates, [1.0, 0.5, 0.25, 0.25, 0.125, 0.125]);
}

#[test]
fn reduce_lr_on_plateau_with_patience_zero_and_cooldown() {
    let mut cb = ReduceLROnPlateau::new()
        .factor(0.5)
        .patience(0)
        .cooldown(2)
        .min_lr(0.1);
    let (run, _) = drive_fresh(&mut cb, &val_losses(&TWO_PLATEAUS));
    let mut expected = vec![1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125];
    expected.resize(16, 0.1);
    assert_eq!(run.learning_rates, expected);
}

#[test]
fn reduce_lr_on_plateau_rejects_a_factor_of_one() {
    let mut net = Tiny::init(0);
    let err = drive(
        &mut ReduceLROnPlateau::new().factor(1.0),
        &mut net,
        &mut SGD::new(0.1),
        &[],
    )
    .err()
    .expect("factor 1 never reduces");
    assert!(err.to_string().contains("factor >= 1.0"), "{err}");
}

#[test]
fn reduce_lr_on_plateau_in_fit_lowers_the_optimizer_rate() {
    let (x, y) = dataset(64, 5, false);
    let mut net = Tiny::init(4);
    // Training loss as the monitor, with a min_delta no epoch can beat: reduces every 2 epochs.
    let cb = ReduceLROnPlateau::new()
        .monitor("loss")
        .min_delta(100.0)
        .patience(2)
        .factor(0.5);
    let mut trainer = compile(&mut net, 0.4);
    trainer
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 7,
                verbose: 0,
                callbacks: vec![Box::new(cb)],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(trainer.optimizer().learning_rate(), 0.4 / 8.0);
}

// ---------------------------------------------------------------------------------------------
// CSVLogger

fn drive_csv(logger: &mut CSVLogger, script: &[Logs]) {
    drive_fresh(logger, script);
}

#[test]
fn csv_logger_writes_keras_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut logger = CSVLogger::new(&path);
    let script = [
        logs(&[("loss", 1.25), ("accuracy", 0.5)]),
        logs(&[("loss", 0.1 + 0.2), ("accuracy", 1e-5)]),
    ];
    drive_csv(&mut logger, &script);
    // Byte for byte what Keras 3.15.1's CSVLogger writes for these logs.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "epoch,accuracy,loss,val_accuracy,val_loss\r\n\
         0,0.5,1.25,NA,NA\r\n\
         1,1e-05,0.30000000000000004,NA,NA\r\n"
    );
    // Without append, a new fit starts the file afresh.
    drive_csv(&mut logger, &script[..1]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.5,1.25,NA,NA\r\n"
    );
}

#[test]
fn csv_logger_appends_without_a_second_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut logger = CSVLogger::new(&path).separator(';');
    drive_csv(
        &mut logger,
        &[logs(&[
            ("loss", 1.25),
            ("accuracy", 0.5),
            ("val_loss", 2.0),
            ("val_accuracy", 0.25),
        ])],
    );
    let mut logger = CSVLogger::new(&path).separator(';').append(true);
    drive_csv(
        &mut logger,
        &[logs(&[
            ("loss", 1.0),
            ("accuracy", 0.75),
            ("val_loss", 1.5),
            ("val_accuracy", 0.5),
        ])],
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "epoch;accuracy;loss;val_accuracy;val_loss\r\n0;0.5;1.25;0.25;2.0\r\n0;0.75;1.0;0.5;1.5\r\n"
    );

    // Appending to a missing or empty file writes the header.
    std::fs::write(&path, "").unwrap();
    drive_csv(&mut logger, &[logs(&[("loss", 1.0), ("val_loss", 2.0)])]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "epoch;loss;val_loss\r\n0;1.0;2.0\r\n"
    );
}

#[test]
fn csv_logger_quotes_fields_holding_the_separator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut logger = CSVLogger::new(&path).separator('_');
    drive_csv(
        &mut logger,
        &[
            logs(&[("loss", 1.0), ("val_loss", 2.0)]),
            logs(&[("loss", 0.5)]),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "epoch_loss_\"val_loss\"\r\n0_1.0_2.0\r\n1_0.5_NA\r\n"
    );
}

#[test]
fn csv_logger_in_fit_writes_a_row_per_epoch_as_history_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("training.csv");
    let (x, y) = dataset(64, 5, false);
    let (vx, vy) = dataset(16, 6, false);
    let mut net = Tiny::init(4);
    let history = compile(&mut net, 0.1)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 3,
                validation_data: Some((&vx, &vy)),
                verbose: 0,
                callbacks: vec![Box::new(CSVLogger::new(&path))],
                ..Default::default()
            },
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.split_terminator("\r\n");
    assert_eq!(
        lines.next(),
        Some("epoch,accuracy,loss,val_accuracy,val_loss")
    );
    for epoch in 0..3 {
        let row: Vec<f64> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let expected: Vec<f64> = ["accuracy", "loss", "val_accuracy", "val_loss"]
            .iter()
            .map(|k| history.get(k).unwrap()[epoch])
            .collect();
        assert_eq!(row[0], epoch as f64);
        assert_eq!(row[1..], expected[..], "values read back exactly");
    }
    assert_eq!(lines.next(), None);
}

// ---------------------------------------------------------------------------------------------
// A user-written callback

/// Counts every call, and stops training at the end of epoch `stop_after` (0-based).
#[derive(Default)]
struct Counter {
    train_begin: usize,
    epoch_begin: usize,
    batch_end: usize,
    epoch_end: usize,
    train_end: usize,
    stop_after: usize,
}

impl Callback<Tiny> for Counter {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_, Tiny>) -> Result<(), Error> {
        self.train_begin += 1;
        Ok(())
    }
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut Context<'_, Tiny>) -> Result<(), Error> {
        self.epoch_begin += 1;
        Ok(())
    }
    fn on_batch_end(
        &mut self,
        _batch: usize,
        _logs: &Logs,
        _ctx: &mut Context<'_, Tiny>,
    ) -> Result<(), Error> {
        self.batch_end += 1;
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &Logs,
        ctx: &mut Context<'_, Tiny>,
    ) -> Result<(), Error> {
        self.epoch_end += 1;
        ctx.stop_training = epoch == self.stop_after;
        Ok(())
    }
    fn on_train_end(&mut self, _ctx: &mut Context<'_, Tiny>) -> Result<(), Error> {
        self.train_end += 1;
        Ok(())
    }
}

#[test]
fn a_user_callback_sees_every_hook_and_can_stop_training() {
    let (x, y) = dataset(50, 9, false);
    let mut net = Tiny::init(5);
    let mut counter = Counter {
        stop_after: 2,
        ..Counter::default()
    };
    let history = compile(&mut net, 0.1)
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 10,
                batch_size: 16,
                verbose: 0,
                callbacks: vec![Box::new(&mut counter)],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(history.epoch, [0, 1, 2]);
    let calls = [
        counter.train_begin,
        counter.epoch_begin,
        counter.batch_end,
        counter.epoch_end,
        counter.train_end,
    ];
    assert_eq!(
        calls,
        [1, 3, 3 * 4, 3, 1],
        "4 batches of 16 cover 50 samples"
    );
}

// ---------------------------------------------------------------------------------------------
// History

fn scripted_history() -> History {
    let mut history = History::default();
    history.push(
        0,
        &logs(&[
            ("loss", 1.5),
            ("accuracy", 0.25),
            ("val_loss", 2.0),
            ("val_accuracy", 0.125),
        ]),
    );
    history.push(
        1,
        &logs(&[
            ("loss", 0.75),
            ("accuracy", 0.5),
            ("val_loss", f64::NAN),
            ("val_accuracy", 0.375),
        ]),
    );
    history.push(
        2,
        &logs(&[
            ("loss", 0.1 + 0.2),
            ("accuracy", 0.875),
            ("val_loss", 1.0),
            ("val_accuracy", 0.5),
        ]),
    );
    history
}

#[test]
fn history_writes_csv_and_json() {
    let history = scripted_history();
    assert_eq!(
        history.to_csv(),
        "epoch,loss,accuracy,val_loss,val_accuracy\n\
         1,1.5,0.25,2,0.125\n\
         2,0.75,0.5,NaN,0.375\n\
         3,0.30000000000000004,0.875,1,0.5\n"
    );
    assert_eq!(
        history.to_json(),
        "{\"epoch\": [1, 2, 3], \"loss\": [1.5, 0.75, 0.30000000000000004], \
         \"accuracy\": [0.25, 0.5, 0.875], \"val_loss\": [2, null, 1], \
         \"val_accuracy\": [0.125, 0.375, 0.5]}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    history.write_csv(dir.path().join("h.csv")).unwrap();
    history.write_json(dir.path().join("h.json")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("h.csv")).unwrap(),
        history.to_csv()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("h.json")).unwrap(),
        history.to_json()
    );
}

/// The value of attribute `attr` of every `<tag ...>` element in `svg`.
fn attributes<'a>(svg: &'a str, tag: &str, attr: &str) -> Vec<&'a str> {
    svg.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|element| {
            let element = &element[..element.find('>')?];
            let start = element.find(&format!("{attr}=\""))? + attr.len() + 2;
            Some(&element[start..start + element[start..].find('"')?])
        })
        .collect()
}

/// Every coloured `<polyline>` (axes and ticks are black): its colour and number of points.
fn lines(svg: &str) -> Vec<(&str, usize)> {
    let strokes = attributes(svg, "polyline", "stroke");
    let points = attributes(svg, "polyline", "points");
    assert_eq!(strokes.len(), points.len());
    strokes
        .into_iter()
        .zip(points)
        .filter(|(stroke, _)| *stroke != "#000000")
        .map(|(stroke, points)| (stroke, points.split_whitespace().count()))
        .collect()
}

/// The contents of every `<text>` element.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .map(|t| t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()].trim())
        .collect()
}

#[test]
fn history_plot_draws_loss_and_metrics_panels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.svg");
    scripted_history().plot(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();

    assert!(svg.starts_with("<svg "), "{}", &svg[..80]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("width=\"1280\" height=\"420\""), "two panels");
    // Each panel: a figure in blue then its `val_` twin in orange, each a line through its
    // finite points, then the legend's keys. val_loss is NaN at epoch 2.
    let (blue, orange) = ("#1F77B4", "#FF7F0E");
    assert_eq!(
        lines(&svg),
        [
            (blue, 3),
            (orange, 2),
            (blue, 2),
            (orange, 2),
            (blue, 3),
            (orange, 3),
            (blue, 2),
            (orange, 2)
        ]
    );
    let texts = texts(&svg);
    for name in ["loss", "val_loss", "accuracy", "val_accuracy", "epoch"] {
        assert!(texts.contains(&name), "{name} labelled: {texts:?}");
    }
    for epoch in ["1", "2", "3"] {
        assert!(texts.contains(&epoch), "tick {epoch}: {texts:?}");
    }
    assert!(!texts.contains(&"0"), "epochs start at 1: {texts:?}");
    // A dot per finite point: loss 3, val_loss 2 (one NaN), accuracy 3, val_accuracy 3.
    assert_eq!(attributes(&svg, "circle", "cx").len(), 11);
}

#[test]
fn history_plot_of_loss_only_has_one_panel() {
    let mut history = History::default();
    for epoch in 0..25 {
        history.push(epoch, &logs(&[("loss", 1.0 / (epoch + 1) as f64)]));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.svg");
    history.plot(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("width=\"640\" height=\"420\""));
    assert_eq!(
        lines(&svg),
        [("#1F77B4", 25), ("#1F77B4", 2)],
        "the line and its key"
    );
    // 25 epochs are labelled every 5th.
    let texts = texts(&svg);
    for tick in ["5", "10", "15", "20", "25"] {
        assert!(texts.contains(&tick), "tick {tick}: {texts:?}");
    }
    assert!(!texts.contains(&"3"), "{texts:?}");
    History::default()
        .plot(dir.path().join("empty.svg"))
        .expect("an empty history plots empty axes");
}
