//! `hearth`: the server and its administration commands.

/// mimalloc: a page of statuses allocates thousands of small strings and maps, and glibc's
/// allocator spent a sixth of the server's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Threads for blocking work (database calls, media, password hashes), at most. Tokio's
/// default, 512, was reached under load: a database call ending and the next one starting
/// race, and the next often finds no idle thread and starts one. Each thread kept its own
/// heap, and a busy server grew to 850 MiB. The database pool (10 connections by default)
/// bounds how many database calls run at once anyway; the rest wait in the queue.
const BLOCKING_THREADS: usize = 64;

fn main() -> std::process::ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime.block_on(hearth::cli::main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
