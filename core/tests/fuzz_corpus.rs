//! Replays the fuzz seed corpus (`fuzz/corpus/<target>/`) and every input that once crashed a
//! fuzz target (`fuzz/regressions/<target>/`) through the same entry points the fuzzer uses, on
//! stable, so CI runs them without cargo-fuzz.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            let data = std::fs::read(&path).expect("read corpus file");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{} breaks {target}", path.display());
            count += 1;
        }
    }
    assert!(count > 0, "no seed inputs for {target}");
}

#[test]
fn resp_corpus() {
    replay("resp", slotwise::fuzzing::resp);
}

#[test]
fn cluster_shards_corpus() {
    replay("cluster_shards", slotwise::fuzzing::cluster_shards);
}

#[test]
fn cluster_slots_corpus() {
    replay("cluster_slots", slotwise::fuzzing::cluster_slots);
}

#[test]
fn cluster_nodes_corpus() {
    replay("cluster_nodes", slotwise::fuzzing::cluster_nodes);
}

#[test]
fn redirect_corpus() {
    replay("redirect", slotwise::fuzzing::redirect);
}

#[test]
fn options_corpus() {
    replay("options", slotwise::fuzzing::options);
}

#[test]
fn url_corpus() {
    replay("url", slotwise::fuzzing::url);
}
