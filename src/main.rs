fn main() -> std::process::ExitCode {
    upload_gateway::cli::run()
}
