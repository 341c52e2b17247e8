//! N sequential GETs through the cluster client, for instruction counts under callgrind
//! (`make profile-get`): run it with two values of N and divide the difference in
//! instructions by the difference in N, so start-up and connection costs cancel out.
//!
//! One runtime thread: with worker threads, whether a thread parks between two requests
//! depends on timing, and the counts wander by several hundred instructions per GET.
//!
//! `get_loop --seeds H:P[,H:P] --n N`

use slotwise::{cmd, Client, Options};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let (Some(seeds), Some(n)) = (
        arg("--seeds"),
        arg("--n").and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: get_loop --seeds H:P[,H:P] --n N");
        std::process::exit(2)
    };
    let client = Client::cluster(seeds.split(','), Options::default())
        .await
        .unwrap_or_else(|e| {
            eprintln!("connect: {e}");
            std::process::exit(1)
        });
    client
        .execute(cmd("SET").arg("profile:key").arg("x".repeat(100)))
        .await
        .expect("SET");
    for _ in 0..n {
        client
            .execute(cmd("GET").arg("profile:key"))
            .await
            .expect("GET");
    }
    client.close();
}
