use super::*;
use crate::error::ErrorKind;
use crate::topology::{
    parse_cluster_shards, parse_cluster_slots, Addr, NodeHealth, Role, Shard, Topology,
};

const ID1: &str = "09596b30c136458caa111010fb7c99e2b141c833";
const ID3: &str = "5f7673fcfd42968c991224ff8b6982611f04ea0d";
const ID4: &str = "b198bada8c53aca038d5f8e498a9b4114764ade2";
const ID6: &str = "4c9993244e3fc779f7497cb1a96ff9e8f7217384";

fn queried() -> Addr {
    Addr::new("10.9.9.9", 30001)
}

fn local(port: u16) -> Addr {
    Addr::new("127.0.0.1", port)
}

fn by_primary_port(shards: &[Shard], port: u16) -> &Shard {
    shards
        .iter()
        .find(|s| s.primary.addr.port == port)
        .unwrap_or_else(|| panic!("no shard with primary port {port}"))
}

fn replica_addrs(shard: &Shard) -> Vec<Addr> {
    shard.replicas.iter().map(|n| n.addr.clone()).collect()
}

/// The healthy 3x2 cluster, however it was reported.
fn assert_healthy_cluster(shards: &[Shard]) {
    assert_eq!(shards.len(), 3);
    let s1 = by_primary_port(shards, 30001);
    assert_eq!(s1.slots, [(0, 5460)]);
    assert_eq!(s1.primary.id, ID1);
    assert_eq!(s1.primary.addr, local(30001));
    assert_eq!(s1.primary.role, Role::Primary);
    assert_eq!(s1.primary.health, NodeHealth::Online);
    assert_eq!(replica_addrs(s1), [local(30004)]);
    assert_eq!(s1.replicas[0].id, ID4);
    assert_eq!(s1.replicas[0].role, Role::Replica);
    assert_eq!(by_primary_port(shards, 30002).slots, [(5461, 10922)]);
    assert_eq!(
        replica_addrs(by_primary_port(shards, 30002)),
        [local(30005)]
    );
    assert_eq!(by_primary_port(shards, 30003).slots, [(10923, 16383)]);
    assert_eq!(
        replica_addrs(by_primary_port(shards, 30003)),
        [local(30006)]
    );
    let topo = Topology::from_shards(shards.to_vec()).unwrap();
    assert_eq!(topo.covered_slots(), 16384);
}

#[test]
fn shards_resp2_and_resp3_from_a_healthy_cluster() {
    let two = parse_cluster_shards(&resp(SHARDS2), &queried()).unwrap();
    assert_healthy_cluster(&two);
    assert_eq!(by_primary_port(&two, 30001).primary.replication_offset, 28);
    let three = parse_cluster_shards(&resp(SHARDS3), &queried()).unwrap();
    assert_healthy_cluster(&three);
    assert_eq!(two, three);
}

#[test]
fn shards_after_a_failover() {
    let shards = parse_cluster_shards(&resp(SHARDS3_FAILOVER), &queried()).unwrap();
    assert_eq!(shards.len(), 4);
    let promoted = by_primary_port(&shards, 30006);
    assert_eq!(promoted.primary.id, ID6);
    assert_eq!(promoted.slots, [(10923, 16383)]);
    assert!(promoted.replicas.is_empty());
    // The dead primary is reported as its own shard, with no slots and health "fail".
    let dead = by_primary_port(&shards, 30003);
    assert_eq!(dead.primary.id, ID3);
    assert!(dead.slots.is_empty());
    assert_eq!(dead.primary.health, NodeHealth::Failed);
    let topo = Topology::from_shards(shards).unwrap();
    assert_eq!(topo.covered_slots(), 16384);
    assert_eq!(
        topo.shard_for_slot(16383).unwrap().primary.addr,
        local(30006)
    );
}

#[test]
fn shards_endpoint_falls_back_to_ip() {
    // cluster-preferred-endpoint-type hostname: 30001 announces a hostname, others say "?".
    let shards = parse_cluster_shards(&resp(SHARDS2_HOSTNAME), &queried()).unwrap();
    assert_eq!(
        by_primary_port(&shards, 30001).primary.addr,
        Addr::new("node1.example", 30001)
    );
    assert_eq!(
        replica_addrs(by_primary_port(&shards, 30001)),
        [local(30004)]
    );
    assert_eq!(by_primary_port(&shards, 30002).primary.addr, local(30002));
    // unknown-endpoint: endpoints are empty.
    let shards = parse_cluster_shards(&resp(SHARDS2_UNKNOWN), &queried()).unwrap();
    assert!(shards.iter().all(|s| s.primary.addr.host == "127.0.0.1"));
}

fn shard_node(fields: Vec<(&str, Value)>) -> Value {
    map(fields)
}

fn node_fields(port: i64, role: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("id", bulk("n")),
        ("port", int(port)),
        ("ip", bulk("10.0.0.1")),
        ("endpoint", bulk("10.0.0.1")),
        ("role", bulk(role)),
        ("replication-offset", int(5)),
        ("health", bulk("online")),
    ]
}

fn one_shard(slots: Vec<Value>, nodes: Vec<Value>) -> Value {
    arr(vec![map(vec![
        ("slots", arr(slots)),
        ("nodes", arr(nodes)),
    ])])
}

#[test]
fn shards_unknown_address_uses_the_queried_host() {
    let node = shard_node(vec![
        ("id", bulk("x")),
        ("port", int(7000)),
        ("endpoint", bulk("?")),
        ("role", bulk("master")),
    ]);
    let shards = parse_cluster_shards(&one_shard(vec![int(0), int(9)], vec![node]), &queried());
    let shards = shards.unwrap();
    assert_eq!(shards[0].primary.addr, Addr::new("10.9.9.9", 7000));
    assert_eq!(shards[0].primary.health, NodeHealth::Online);
    assert_eq!(shards[0].primary.replication_offset, 0);
}

#[test]
fn shards_accept_simple_and_verbatim_strings_and_string_numbers() {
    let node = shard_node(vec![
        ("id", Value::Simple("x".into())),
        ("port", bulk("7000")),
        (
            "endpoint",
            Value::Verbatim {
                format: *b"txt",
                text: "h1".into(),
            },
        ),
        ("role", Value::Simple("slave".into())),
        ("health", bulk("loading")),
    ]);
    let primary = shard_node(node_fields(7001, "master"));
    let reply = one_shard(vec![bulk("10"), int(20)], vec![node, primary]);
    let shards = parse_cluster_shards(&reply, &queried()).unwrap();
    assert_eq!(shards[0].slots, [(10, 20)]);
    assert_eq!(shards[0].replicas[0].addr, Addr::new("h1", 7000));
    assert_eq!(shards[0].replicas[0].health, NodeHealth::Loading);
}

#[test]
fn shards_skip_unreachable_nodes_and_primaryless_shards() {
    let mut no_port = node_fields(0, "master");
    no_port.retain(|(k, _)| *k != "port");
    let reply = arr(vec![
        // Only a replica: skipped.
        map(vec![
            ("slots", arr(vec![int(0), int(5)])),
            ("nodes", arr(vec![shard_node(node_fields(7000, "replica"))])),
        ]),
        // The primary has no port (address unknown): skipped.
        map(vec![
            ("slots", arr(vec![int(6), int(9)])),
            ("nodes", arr(vec![shard_node(no_port)])),
        ]),
        // Port 0 replica dropped, primary kept.
        map(vec![
            ("slots", arr(vec![int(10), int(12), int(20), int(30)])),
            (
                "nodes",
                arr(vec![
                    shard_node(node_fields(0, "replica")),
                    shard_node(node_fields(7002, "master")),
                ]),
            ),
        ]),
    ]);
    let shards = parse_cluster_shards(&reply, &queried()).unwrap();
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0].primary.addr.port, 7002);
    assert_eq!(shards[0].slots, [(10, 12), (20, 30)]);
    assert!(shards[0].replicas.is_empty());
}

#[test]
fn shards_prefer_the_healthy_primary() {
    let mut failed = node_fields(7000, "master");
    failed[6] = ("health", bulk("failed"));
    let reply = one_shard(
        vec![int(0), int(1)],
        vec![shard_node(failed), shard_node(node_fields(7001, "master"))],
    );
    let shards = parse_cluster_shards(&reply, &queried()).unwrap();
    assert_eq!(shards[0].primary.addr.port, 7001);
}

fn shards_error(reply: Value) -> String {
    let err = parse_cluster_shards(&reply, &queried()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err:?}");
    assert!(err.message().contains("CLUSTER SHARDS"), "{err:?}");
    err.message().to_owned()
}

#[test]
fn malformed_shards_replies_are_protocol_errors() {
    let ok = || shard_node(node_fields(7000, "master"));
    assert!(shards_error(int(1)).contains("expected an array"));
    assert!(shards_error(arr(vec![int(1)])).contains("not a map"));
    assert!(shards_error(one_shard(vec![int(0)], vec![ok()])).contains("odd"));
    assert!(shards_error(one_shard(vec![int(0), int(16384)], vec![ok()])).contains("16384"));
    assert!(shards_error(one_shard(vec![int(-1), int(5)], vec![ok()])).contains("-1"));
    assert!(shards_error(one_shard(vec![int(9), int(5)], vec![ok()])).contains("9-5"));
    assert!(shards_error(one_shard(vec![bulk("x"), int(5)], vec![ok()])).contains("slot"));
    assert!(shards_error(one_shard(vec![], vec![int(3)])).contains("not a map"));
    let port = |p: Value| {
        let mut f = node_fields(1, "master");
        f[1] = ("port", p);
        one_shard(vec![], vec![shard_node(f)])
    };
    assert!(shards_error(port(int(70000))).contains("70000"));
    assert!(shards_error(port(int(-1))).contains("port"));
    assert!(shards_error(port(bulk("abc"))).contains("port"));
    assert!(
        shards_error(one_shard(vec![], vec![shard_node(node_fields(1, "boss"))])).contains("boss")
    );
    let mut no_role = node_fields(1, "master");
    no_role.retain(|(k, _)| *k != "role");
    assert!(shards_error(one_shard(vec![], vec![shard_node(no_role)])).contains("role"));
    let mut offset = node_fields(1, "master");
    offset[5] = ("replication-offset", int(-3));
    assert!(shards_error(one_shard(vec![], vec![shard_node(offset)])).contains("offset"));
    let mut id = node_fields(1, "master");
    id[0] = ("id", int(3));
    assert!(shards_error(one_shard(vec![], vec![shard_node(id)])).contains("id"));
    let no_nodes = arr(vec![map(vec![("slots", arr(vec![]))])]);
    assert!(shards_error(no_nodes).contains("nodes"));
    let no_slots = arr(vec![map(vec![("nodes", arr(vec![]))])]);
    assert!(shards_error(no_slots).contains("slots"));
}

#[test]
fn error_replies_are_server_errors() {
    let reply = Value::Error("ERR unknown subcommand 'SHARDS'".into());
    let err = parse_cluster_shards(&reply, &queried()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.message().contains("unknown subcommand"));
    let err = parse_cluster_slots(&reply, &queried()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
}

#[test]
fn slots_resp2_and_resp3_from_a_healthy_cluster() {
    let two = parse_cluster_slots(&resp(SLOTS2), &queried()).unwrap();
    assert_healthy_cluster(&two);
    let three = parse_cluster_slots(&resp(SLOTS3), &queried()).unwrap();
    assert_eq!(two, three);
    assert!(two
        .iter()
        .flat_map(|s| &s.replicas)
        .all(|n| n.role == Role::Replica));
}

#[test]
fn slots_unknown_hosts_fall_back_to_metadata_ip() {
    // Hostname preferred: 30001 has one, the others are "?" with their ip in metadata.
    let shards = parse_cluster_slots(&resp(SLOTS3_HOSTNAME), &queried()).unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(
        by_primary_port(&shards, 30001).primary.addr,
        Addr::new("node1.example", 30001)
    );
    assert_eq!(
        replica_addrs(by_primary_port(&shards, 30001)),
        [local(30004)]
    );
    assert_eq!(by_primary_port(&shards, 30006).slots, [(10923, 16383)]);
    // Unknown endpoints come as nil hosts in RESP2.
    let shards = parse_cluster_slots(&resp(SLOTS2_UNKNOWN), &queried()).unwrap();
    assert!(shards.iter().all(|s| s.primary.addr.host == "127.0.0.1"));
}

fn slots_node(host: &str, port: i64, id: Option<&str>) -> Value {
    let mut v = vec![bulk(host), int(port)];
    if let Some(id) = id {
        v.push(bulk(id));
    }
    arr(v)
}

#[test]
fn slots_merge_entries_of_one_primary() {
    let reply = arr(vec![
        arr(vec![
            int(0),
            int(9),
            slots_node("a", 1, Some("A")),
            slots_node("r", 2, Some("R")),
        ]),
        arr(vec![int(20), int(29), slots_node("b", 3, Some("B"))]),
        arr(vec![
            int(10),
            int(19),
            slots_node("a", 1, Some("A")),
            slots_node("r", 2, Some("R")),
        ]),
        // Without ids, merged by address.
        arr(vec![int(40), int(40), slots_node("c", 4, None)]),
        arr(vec![
            int(50),
            int(50),
            slots_node("c", 4, None),
            slots_node("", 5, None),
        ]),
    ]);
    let shards = parse_cluster_slots(&reply, &queried()).unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[0].slots, [(0, 19)]);
    assert_eq!(replica_addrs(&shards[0]), [Addr::new("r", 2)]);
    assert_eq!(shards[2].slots, [(40, 40), (50, 50)]);
    assert_eq!(shards[2].primary.id, "");
    // An empty host without metadata is the queried node's.
    assert_eq!(replica_addrs(&shards[2]), [Addr::new("10.9.9.9", 5)]);
}

#[test]
fn slots_skip_entries_whose_primary_has_no_port() {
    let reply = arr(vec![
        arr(vec![int(0), int(9), slots_node("a", 0, Some("A"))]),
        arr(vec![
            int(10),
            int(19),
            slots_node("b", 1, Some("B")),
            slots_node("r", 0, None),
        ]),
    ]);
    let shards = parse_cluster_slots(&reply, &queried()).unwrap();
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0].slots, [(10, 19)]);
    assert!(shards[0].replicas.is_empty());
}

fn slots_error(reply: Value) -> String {
    let err = parse_cluster_slots(&reply, &queried()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err:?}");
    assert!(err.message().contains("CLUSTER SLOTS"), "{err:?}");
    err.message().to_owned()
}

#[test]
fn malformed_slots_replies_are_protocol_errors() {
    let n = || slots_node("a", 1, Some("A"));
    assert!(slots_error(Value::Map(vec![])).contains("expected an array"));
    assert!(slots_error(arr(vec![int(1)])).contains("entry 0"));
    assert!(slots_error(arr(vec![arr(vec![int(0), int(1)])])).contains("entry 0"));
    assert!(slots_error(arr(vec![arr(vec![int(0), int(16384), n()])])).contains("16384"));
    assert!(slots_error(arr(vec![arr(vec![int(5), int(1), n()])])).contains("5-1"));
    assert!(slots_error(arr(vec![arr(vec![int(0), int(1), bulk("a")])])).contains("node 0"));
    assert!(
        slots_error(arr(vec![arr(vec![int(0), int(1), arr(vec![bulk("a")])])])).contains("node 0")
    );
    assert!(slots_error(arr(vec![arr(vec![
        int(0),
        int(1),
        slots_node("a", 65536, None)
    ])]))
    .contains("65536"));
    assert!(slots_error(arr(vec![arr(vec![
        int(0),
        int(1),
        n(),
        arr(vec![int(1), int(2)])
    ])]))
    .contains("node 1"));
}

#[test]
fn resp2_flat_maps_parse_like_resp3_maps() {
    let fields = node_fields(7000, "master");
    let as_map = one_shard(vec![int(0), int(1)], vec![map(fields.clone())]);
    let as_flat = arr(vec![flat(vec![
        ("slots", arr(vec![int(0), int(1)])),
        ("nodes", arr(vec![flat(fields)])),
    ])]);
    assert_eq!(
        parse_cluster_shards(&as_map, &queried()).unwrap(),
        parse_cluster_shards(&as_flat, &queried()).unwrap()
    );
}

/// A TLS-only node (`--port 0 --tls-port`) lists only `tls-port`; a node with both lists both.
#[test]
fn shards_use_tls_port_for_tls_clients() {
    let b = |s: &str| Value::Bulk(s.as_bytes().to_vec().into());
    let node = |extra: Vec<(Value, Value)>| {
        let mut m = vec![
            (b("id"), b(ID1)),
            (b("ip"), b("127.0.0.1")),
            (b("role"), b("master")),
            (b("health"), b("online")),
        ];
        m.extend(extra);
        Value::Map(m)
    };
    let reply = |n: Value| {
        Value::Array(vec![Value::Map(vec![
            (
                b("slots"),
                Value::Array(vec![Value::Int(0), Value::Int(16383)]),
            ),
            (b("nodes"), Value::Array(vec![n])),
        ])])
    };
    let tls_only = reply(node(vec![(b("tls-port"), Value::Int(7443))]));
    let shards = crate::topology::parse_cluster_shards_tls(&tls_only, &queried(), true).unwrap();
    assert_eq!(shards[0].primary.addr, local(7443));
    // A plain client finds no port it can use there: the shard is left out.
    assert!(parse_cluster_shards(&tls_only, &queried())
        .unwrap()
        .is_empty());
    let both = reply(node(vec![
        (b("port"), Value::Int(7000)),
        (b("tls-port"), Value::Int(7443)),
    ]));
    let tls = crate::topology::parse_cluster_shards_tls(&both, &queried(), true).unwrap();
    assert_eq!(tls[0].primary.addr, local(7443));
    let plain = parse_cluster_shards(&both, &queried()).unwrap();
    assert_eq!(plain[0].primary.addr, local(7000));
}
