// mimalloc instead of glibc's malloc, whose fastbin consolidation (run when an allocation of
// 1 KiB or more finds freed small chunks waiting, as in every request) showed in every profile: in four interleaved
// A/B rounds the gateway's CPU per request fell 9% for presign, 11% for the PostObject form
// and 16% for a fresh signed callback (README, Benchmarks). Without transparent huge pages,
// which cost 14 MiB of RSS for the same load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    upload_gateway::cli::run()
}
