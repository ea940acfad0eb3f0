//! Work that can wait: a small pool of threads for parsing and normalizing fetched documents,
//! which the daemon runs below the HTTP server's CPU priority.
//!
//! A first poll of a thousand feeds is CPU-bound for seconds on every core. On tokio's
//! blocking pool its parsing ran at the same priority as the server's handlers and renders,
//! and a reader's request queued behind it. Here the threads are our own, so that their nice
//! value can be raised (Linux keeps one per thread) without touching the threads that serve:
//! the scheduler then gives a runnable server thread the core first, and the parse threads
//! still take every cycle nobody else wants (a nice value, not an idle class, so a server
//! under constant load cannot starve a poll). Commands without a server (`newswire poll`)
//! leave the priority as it is.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// How far below the process's priority the pool's threads run (nice increment).
static LOWER_BY: AtomicI32 = AtomicI32::new(0);

/// Runs the pool's threads `by` nice steps (1 to 19) below the process's priority, from
/// their next job on. Only ever lowers: raising a thread's priority back would need
/// privileges a service does not have.
pub fn lower_priority(by: i32) {
    LOWER_BY.fetch_max(by.clamp(0, 19), Ordering::Relaxed);
}

/// Runs `f` on the pool (one thread per core) and returns what it returned, or the panic's
/// message if it panicked.
pub async fn run<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|p| panic_message(p.as_ref()));
        // the caller may have gone (shutdown): nobody to tell
        let _ = tx.send(result);
    });
    let sent = match pool() {
        Some(pool) => pool.lock().unwrap_or_else(|p| p.into_inner()).send(job),
        None => Err(mpsc::SendError(job)),
    };
    if let Err(mpsc::SendError(job)) = sent {
        // no thread could be started: tokio's blocking pool, at the server's priority
        drop(tokio::task::spawn_blocking(job));
    }
    rx.await
        .map_err(|_| "the parse thread ended without an answer".to_string())?
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    format!("panicked with message \"{text}\"")
}

/// The pool's queue, or `None` when not one thread could be started.
fn pool() -> Option<&'static Mutex<mpsc::Sender<Job>>> {
    static POOL: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let started = (0..threads)
            .filter(|i| {
                let rx = Arc::clone(&rx);
                std::thread::Builder::new()
                    .name(format!("newswire-parse-{i}"))
                    .spawn(move || work(&rx))
                    .is_ok()
            })
            .count();
        (started > 0).then(|| Mutex::new(tx))
    })
    .as_ref()
}

fn work(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut lowered = 0;
    loop {
        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let by = LOWER_BY.load(Ordering::Relaxed);
        if by > lowered {
            lower_thread(by - lowered);
            lowered = by;
        }
        job();
    }
}

/// Adds `by` to the calling thread's nice value (Linux keeps one per thread; elsewhere
/// nothing is done).
fn lower_thread(by: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid, getpriority and setpriority take plain integers and touch no memory
    // of ours
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + by).min(19));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_names_a_panic() {
        assert_eq!(run(|| 6 * 7).await, Ok(42));
        let e = run(|| -> u8 { panic!("set_encoding() called") })
            .await
            .unwrap_err();
        assert!(e.contains("set_encoding() called"), "{e}");
        // the pool survives a panicking job
        assert_eq!(run(|| "still here").await, Ok("still here"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn lowered_threads_run_below_the_callers_priority() {
        // SAFETY: as in `lower_thread`
        let tid = || unsafe { libc::syscall(libc::SYS_gettid) as libc::id_t };
        let ours = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid()) };
        lower_priority(7);
        // every thread of the pool takes a job before any finishes, so each applies it
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let jobs = (0..threads).map(|_| {
            let b = Arc::clone(&barrier);
            run(move || {
                b.wait();
                unsafe { libc::getpriority(libc::PRIO_PROCESS, tid()) }
            })
        });
        for nice in futures_util::future::join_all(jobs).await {
            assert_eq!(nice, Ok((ours + 7).min(19)));
        }
        // the caller's thread is untouched
        assert_eq!(
            unsafe { libc::getpriority(libc::PRIO_PROCESS, tid()) },
            ours
        );
    }
}
