//! The `hearth` program again, under another name: the end-to-end tests start it as a real
//! server process, to kill it with `kill -9` and start it again.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hearth::cli::main().await
}
