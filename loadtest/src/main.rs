//! busbar-load: load generator and comparison harness for Redis-compatible servers.
//!
//! # Layout
//! - `main.rs`: the CLI (one subcommand per scenario, plus `sink` and `compare`).
//! - `run.rs`: common flags, the process clock, run phases, progress line, outcome and JSON.
//! - `resp.rs`: RESP encoding, frame boundaries and reply parsing (client side).
//! - `client.rs`: blocking connection for the control path and blocking commands.
//! - `verify.rs`: message stamps and the loss / duplicate / reorder / exactly-once trackers.
//! - `kv.rs`, `fanout.rs`, `flood.rs`, `queue.rs`, `stream.rs`: the scenarios.
//! - `sink.rs`: a trivial RESP responder, to measure the client's own ceiling.
//! - `compare.rs`, `plot.rs`: A/B rounds against servers it starts, tables and SVG plots.

mod client;
mod compare;
mod fanout;
mod flood;
mod kv;
mod plot;
mod queue;
mod resp;
mod run;
mod sink;
mod stream;
mod verify;

use clap::{Parser, Subcommand};

/// Errors cross threads (a worker's failure aborts the run), so they are `Send + Sync`.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Load generator for Redis-compatible servers: kv, pub/sub fanout, queues, streams.
#[derive(Parser)]
#[command(name = "busbar-load", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// GET/SET mix: key distribution, value size, connections, pipelining.
    Kv(kv::KvArgs),
    /// Pub/sub fanout: end-to-end delivery latency, loss/duplicate/reorder checks.
    Fanout(fanout::FanoutArgs),
    /// Unwindowed publishers, per-subscriber received counts (starvation and backlog check).
    Flood(flood::FloodArgs),
    /// Job queue: LPUSH/RPUSH producers, BRPOP or BLMOVE workers, exactly-once check.
    Queue(queue::QueueArgs),
    /// Stream consumer group: XADD producers, XREADGROUP + XACK consumers, exactly-once check.
    Stream(stream::StreamArgs),
    /// Trivial responder: answers every complete command with +OK (client ceiling).
    Sink(sink::SinkArgs),
    /// Start redis-server and busbar, run a scenario A/B for several rounds, write tables/plots.
    Compare(compare::CompareArgs),
}

fn main() {
    // Start the process clock before any thread can stamp a message.
    run::now_ns();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Kv(args) => kv::run(args).and_then(|o| run::report(&args.common, args, &o)),
        Command::Fanout(args) => {
            fanout::run(args).and_then(|o| run::report(&args.common, args, &o))
        }
        Command::Flood(args) => flood::run(args),
        Command::Queue(args) => queue::run(args).and_then(|o| run::report(&args.common, args, &o)),
        Command::Stream(args) => {
            stream::run(args).and_then(|o| run::report(&args.common, args, &o))
        }
        Command::Sink(args) => sink::serve(args).map(|()| 0),
        Command::Compare(args) => compare::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("busbar-load: {e}");
            std::process::exit(2);
        }
    }
}
