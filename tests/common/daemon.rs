//! The real `newswire` binary as a running daemon: `newswire run --config …`, its base URL
//! (learnt from the "listening on http://…" log line), its log as it comes, and signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::BIN;

/// How long the daemon may take to listen, and to stop on SIGTERM.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running daemon whose stderr log is collected line by line as it comes. Dropping it
/// kills the process (and prints the log when the test is panicking).
pub struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    base: String,
}

impl Daemon {
    /// `newswire run --config <config>` with RUST_LOG=info and the test's environment.
    pub fn start(config: &Path) -> Daemon {
        Daemon::start_with(config, &[], &[])
    }

    /// As [`Daemon::start`], without the variables in `remove` and then with those in `env`.
    pub fn start_with(config: &Path, env: &[(&str, &str)], remove: &[&str]) -> Daemon {
        let mut cmd = Daemon::command(BIN, config);
        for k in remove {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon::start_command(cmd)
    }

    /// `<bin> run --config <config>` with RUST_LOG=info, to adjust before
    /// [`Daemon::start_command`] (another user, another copy of the binary).
    pub fn command(bin: impl AsRef<std::ffi::OsStr>, config: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info");
        cmd
    }

    /// Starts `cmd` (a `newswire run`) with its stderr collected as the log, and waits until
    /// it listens.
    pub fn start_command(mut cmd: Command) -> Daemon {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the newswire binary starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(url) = listening_url(&line) {
                        let _ = tx.send(url);
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut daemon = Daemon {
            child,
            log,
            base: String::new(),
        };
        match rx.recv_timeout(PATIENCE) {
            Ok(base) => daemon.base = base,
            // the log is printed as the daemon drops
            Err(_) => panic!("daemon did not start listening"),
        }
        daemon
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The base URL, `http://host:port` (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The log so far, one entry a line.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log so far as one string, each line ending in `\n`.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Sends the signal `sig` (a name for `kill`, such as "HUP" or "TERM").
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} failed");
    }

    /// SIGTERM, then the exit status (panics if it does not stop in time).
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                // the log is printed as the daemon drops
                panic!("daemon did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The base URL in a "listening on http://host:port/…" line (plain, journald or JSON).
fn listening_url(line: &str) -> Option<String> {
    let at = line.find("listening on http://")?;
    let rest = &line[at + "listening on ".len()..];
    Some(rest.split('/').take(3).collect::<Vec<_>>().join("/"))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("daemon log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
