//! The test harness itself: clusters, standalone servers and Sentinel deployments start
//! healthy, follow failovers and IP changes, and leave no process behind.

mod support;

use std::time::Duration;

use support::{process_alive, Deployment};

#[test]
fn cluster_and_standalone_start_healthy_and_die_with_their_deployment() {
    let cluster = Deployment::cluster(3, 1);
    assert_eq!(cluster.nodes.len(), 6);
    assert_eq!(cluster.seeds.len(), 6);
    assert_eq!(cluster.primaries().len(), 3);
    let hosts: std::collections::HashSet<_> = cluster.nodes.iter().map(|n| &n.host).collect();
    assert_eq!(hosts.len(), 6, "every node has its own IP");
    for n in &cluster.nodes {
        let info = cluster.cli(n.index, &["CLUSTER", "INFO"]);
        assert!(
            info.contains("cluster_state:ok"),
            "node {}: {info}",
            n.index
        );
        assert!(
            info.contains("cluster_known_nodes:6"),
            "node {}: {info}",
            n.index
        );
    }

    let standalone = Deployment::standalone();
    assert_eq!(standalone.cli(0, &["PING"]), "PONG");

    let pids: Vec<u32> = cluster
        .nodes
        .iter()
        .chain(&standalone.nodes)
        .map(|n| n.pid)
        .collect();
    assert!(pids.iter().all(|&p| process_alive(p)));
    drop(cluster);
    drop(standalone);
    let alive: Vec<u32> = pids.into_iter().filter(|&p| process_alive(p)).collect();
    assert!(alive.is_empty(), "still running after drop: {alive:?}");
}

#[test]
fn failover_and_restart_on_a_new_ip_are_followed() {
    let mut c = Deployment::cluster_shared_ip(3, 1);
    let victim = c.primaries()[0].index;
    c.signal(victim, "KILL");
    c.wait_ok(30);
    c.refresh_roles();
    assert!(!c.node(victim).alive);
    assert_eq!(c.primaries().len(), 3, "a replica took over: {:?}", c.nodes);

    let node = c.restart_node(victim, Some("auto"));
    assert_ne!(node.host, "127.0.0.1");
    c.wait_ok(30);
    c.refresh_roles();
    assert_eq!(c.node(victim).role, "replica");
    let nodes = c.cli((victim + 1) % c.nodes.len(), &["CLUSTER", "NODES"]);
    assert!(
        nodes.contains(&node.addr()),
        "peers learned the new address: {nodes}"
    );

    let standalone = Deployment::standalone_with(&["--requirepass", "s3cret"]);
    assert_eq!(standalone.cli(0, &["SET", "k", "v"]), "OK");
    support::wait_until("k to read back", Duration::from_secs(5), || {
        standalone.cli(0, &["GET", "k"]) == "v"
    });
}

#[test]
fn sentinel_failover_is_followed() {
    let mut s = Deployment::sentinel(1, 3);
    assert_eq!(s.service.as_deref(), Some("mymaster"));
    assert_eq!(s.seeds.len(), 3);
    let sentinel = s.nodes.iter().find(|n| n.role == "sentinel").unwrap().index;
    let named = s.cli(
        sentinel,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
    );
    assert_eq!(named.replace('\n', ":"), s.node(0).addr());

    s.signal(0, "KILL");
    s.wait_ok(30);
    s.refresh_roles();
    assert_eq!(s.primaries().len(), 1);
    assert_eq!(s.primaries()[0].index, 1, "the replica was promoted");
}
