// mimalloc: 10-16% fewer instructions per presign, form and callback than glibc's malloc
// (callgrind, scripts/load/instructions.sh), whose fastbin consolidation showed in every
// profile. Without transparent huge pages, which cost 14 MiB of RSS for the same load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    upload_gateway::cli::run()
}
