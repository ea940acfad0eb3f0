//! The real binary under a pseudo-terminal, as a user at a terminal runs it: `script`
//! (util-linux, Debian's bsdutils) gives it a terminal for stdin, stdout and stderr and
//! copies everything the terminal showed.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{BIN, on_path};

/// What the terminal showed (`\r\n` as `\n`), and whether the command succeeded.
pub struct Screen {
    /// The command exited 0.
    pub ok: bool,
    /// Everything written to the terminal, the typed input's echo included.
    pub text: String,
}

/// Runs `newswire ARGS` at a terminal with the variables in `env`, typing `input`.
pub fn newswire_at_terminal(args: &[String], env: &[(&str, &str)], input: &[u8]) -> Screen {
    let script = on_path("script")
        .expect("`script` (util-linux / bsdutils) is needed to run newswire at a terminal");
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let cmd = std::iter::once(BIN)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new(script);
    command
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("script starts");
    // typed ahead, the input waits in the terminal until newswire reads it; stdin stays
    // open until newswire exits (its end would be a ^D to it)
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    Screen {
        ok: out.status.success(),
        text: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    }
}
