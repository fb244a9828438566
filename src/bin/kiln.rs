//! The `kiln` command: `kiln import FILE [--name NAME]` prints the `kiln::model!` source of a
//! Keras model file (`.keras`, legacy `.h5`), whose weights then load from the same file;
//! `kiln plot FILE` prints its diagram as SVG.

use std::process::ExitCode;

const USAGE: &str = "usage: kiln import FILE [--name NAME] [--embed] [--test INPUTS]
       kiln plot FILE

  import   print the Rust source of the Keras model in FILE (.keras or legacy .h5): one
           `kiln::model!` with Keras's layer names, whose weights load from FILE with
           `load_weights`. --name sets the struct's name (default: from the model's name);
           --embed compiles FILE's weights in (`weights = \"FILE\"`, FILE relative to the
           crate's Cargo.toml); --test writes a #[test] that checks the model against
           INPUTS, Keras's outputs for some inputs (see kiln::keras::Reference).
  plot     print the diagram of the Keras model in FILE as SVG: its layers as boxes, with
           arrows to the layers that read them.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `Err((message, true))` is a mistake in the command line, shown with the usage.
    let run = || -> Result<String, (String, bool)> {
        let usage = |m: &str| (m.to_string(), true);
        match args.first().map(String::as_str) {
            Some("import") => {
                let (mut file, mut name, mut embed, mut test) = (None, None, false, None);
                let mut rest = args[1..].iter();
                while let Some(a) = rest.next() {
                    match a.as_str() {
                        "--name" => {
                            let value = rest.next().ok_or_else(|| usage("--name needs a value"))?;
                            name = Some(value.clone());
                        }
                        "--embed" => embed = true,
                        "--test" => {
                            let value = rest.next().ok_or_else(|| usage("--test needs a file"))?;
                            test = Some(std::path::PathBuf::from(value));
                        }
                        flag if flag.starts_with("--") => {
                            return Err(usage(&format!("unknown option {flag}")));
                        }
                        path if file.is_none() => file = Some(path.to_string()),
                        extra => return Err(usage(&format!("unexpected argument {extra}"))),
                    }
                }
                let file = file.ok_or_else(|| usage("import needs a FILE"))?;
                kiln::keras::import(file.as_ref(), name.as_deref(), embed, test.as_deref())
                    .map_err(|e| (e.to_string(), false))
            }
            Some("plot") => match &args[1..] {
                [file] => kiln::keras::plot(file.as_ref()).map_err(|e| (e.to_string(), false)),
                _ => Err(usage("plot takes one FILE")),
            },
            Some("-h" | "--help" | "help") => Ok(USAGE.to_string()),
            Some(other) => Err(usage(&format!("unknown command {other}"))),
            None => Err(usage("no command")),
        }
    };
    match run() {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err((e, true)) => {
            eprintln!("kiln: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err((e, false)) => {
            eprintln!("kiln: {e}");
            ExitCode::from(1)
        }
    }
}
