//! How the server uses glibc's malloc: few arenas, and freed memory handed back to the
//! system (no-ops on other platforms).

/// glibc's malloc arenas: the sync pool's threads take turns on each plan, and with an
/// arena per thread one plan's allocations spread over all of them (load-bench, one plan of
/// 500 clients: peak 196 MB with glibc's default, 145 MB with two).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: i32 = 2;

/// Allocations this large or larger are mapped on their own and unmapped when freed. Set,
/// it stays fixed (glibc otherwise raises it to the largest block freed, after which a
/// plan's large temporary buffers come from, and fragment, the heap).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 256 << 10;

/// How often freed memory is handed back to the system.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Sets malloc's parameters; call before any other thread exists.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Starts a thread that hands freed memory back to the system every [`TRIM_EVERY`]. glibc
/// keeps what plans free (a plan resting as its saved bytes, an idle plan unloaded) for
/// reuse, so without this the server's memory stays at its highest (load-bench --plans
/// 1000: the plans resting freed 100 MB that the process went on holding). A trim takes a
/// few milliseconds.
pub fn trim_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim only releases free memory; it is thread-safe.
                unsafe {
                    libc::malloc_trim(0);
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "could not start the thread that hands freed memory back; the server runs on, holding it");
        }
    }
}
