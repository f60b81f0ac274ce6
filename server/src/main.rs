//! `hearth`: the server and its administration commands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    hearth::cli::main().await
}
