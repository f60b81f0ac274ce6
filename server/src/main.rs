//! `hearth`: the server and its administration commands.

/// mimalloc: a page of statuses allocates thousands of small strings and maps, and glibc's
/// allocator spent a sixth of the server's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hearth::cli::main().await
}
