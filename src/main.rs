//! The `busbar` binary: mimalloc, the redis-server-style command line, then the server.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match busbar::config::parse_cli(&args) {
        Ok(busbar::config::Cli::Version) => {
            println!(
                "busbar server v={} redis_version={} sha=00000000:0 malloc=mimalloc bits=64",
                env!("CARGO_PKG_VERSION"),
                busbar::cmd::server::REDIS_VERSION
            );
        }
        Ok(busbar::config::Cli::Help) => {
            println!("Usage: busbar [/path/to/redis.conf] [options] [-]");
            println!("       busbar - (read config from stdin)");
            println!("       busbar -v or --version");
            println!("       busbar -h or --help");
            println!();
            println!("Examples:");
            println!("       busbar (run the server with default config)");
            println!("       busbar /etc/redis/6379.conf");
            println!("       busbar --port 7777 --threads 4");
            println!("       busbar /etc/myredis.conf --loglevel verbose");
        }
        Ok(busbar::config::Cli::Run(cfg)) => std::process::exit(busbar::server::run(cfg)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
