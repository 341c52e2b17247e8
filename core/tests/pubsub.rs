//! Pub/Sub basics against real servers: the three kinds of subscription in RESP2 and RESP3,
//! confirmations, unsubscribe at any time, sharded channels on every shard of a cluster, and
//! the bounded queue's overflow behaviour.

mod support;

use std::time::Duration;

use bytes::Bytes;
use slotwise::pubsub::Kind;
use slotwise::{cmd, Client, Options, Protocol, PubSub, PubSubItem};
use support::Deployment;

async fn next(ps: &PubSub) -> PubSubItem {
    tokio::time::timeout(Duration::from_secs(5), ps.next())
        .await
        .expect("an item within 5 s")
        .expect("not closed")
}

fn message(kind: Kind, channel: &str, pattern: Option<&str>, payload: &str) -> PubSubItem {
    PubSubItem::Message {
        kind,
        channel: Bytes::copy_from_slice(channel.as_bytes()),
        pattern: pattern.map(|p| Bytes::copy_from_slice(p.as_bytes())),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    }
}

fn subscribed(kind: Kind, name: &str, count: usize) -> PubSubItem {
    PubSubItem::Subscribed {
        kind,
        name: Bytes::copy_from_slice(name.as_bytes()),
        count,
    }
}

async fn publish(client: &Client, verb: &str, ch: &str, msg: &str) -> i64 {
    client
        .execute(cmd(verb).arg(ch).arg(msg))
        .await
        .expect(verb)
        .as_int()
        .expect("receiver count")
}

async fn three_kinds(client: &Client) {
    let ps = client.pubsub().expect("pubsub");
    ps.subscribe(Kind::Channel, ["a", "b"])
        .await
        .expect("subscribe");
    ps.subscribe(Kind::Pattern, ["p.*"])
        .await
        .expect("psubscribe");
    ps.subscribe(Kind::Sharded, ["s{1}"])
        .await
        .expect("ssubscribe");
    let mut confirmations = vec![
        next(&ps).await,
        next(&ps).await,
        next(&ps).await,
        next(&ps).await,
    ];
    confirmations.sort_by_key(|i| format!("{i:?}"));
    assert_eq!(confirmations, {
        let mut v = vec![
            subscribed(Kind::Channel, "a", 2),
            subscribed(Kind::Channel, "b", 2),
            subscribed(Kind::Pattern, "p.*", 3),
            subscribed(Kind::Sharded, "s{1}", 4),
        ];
        v.sort_by_key(|i| format!("{i:?}"));
        v
    });
    assert_eq!(ps.subscription_count(), 4);
    // (In a cluster PUBLISH counts only the receiving node's subscribers.)
    publish(client, "PUBLISH", "a", "1").await;
    assert_eq!(next(&ps).await, message(Kind::Channel, "a", None, "1"));
    publish(client, "PUBLISH", "p.x", "2").await;
    assert_eq!(
        next(&ps).await,
        message(Kind::Pattern, "p.x", Some("p.*"), "2")
    );
    assert_eq!(publish(client, "SPUBLISH", "s{1}", "3").await, 1);
    assert_eq!(next(&ps).await, message(Kind::Sharded, "s{1}", None, "3"));

    // Unsubscribe: confirmed at once, and nothing of that channel arrives afterwards.
    ps.unsubscribe(Kind::Channel, ["a"])
        .await
        .expect("unsubscribe");
    assert_eq!(
        next(&ps).await,
        PubSubItem::Unsubscribed {
            kind: Kind::Channel,
            name: Bytes::from_static(b"a"),
            count: 3
        }
    );
    publish(client, "PUBLISH", "a", "gone").await;
    publish(client, "PUBLISH", "b", "4").await;
    assert_eq!(next(&ps).await, message(Kind::Channel, "b", None, "4"));
    // Every sharded channel at once (an empty list).
    ps.unsubscribe(Kind::Sharded, Vec::<&str>::new())
        .await
        .expect("sunsubscribe all");
    assert!(matches!(
        next(&ps).await,
        PubSubItem::Unsubscribed {
            kind: Kind::Sharded,
            ..
        }
    ));
    publish(client, "SPUBLISH", "s{1}", "gone").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        ps.try_next().expect("open"),
        None,
        "nothing after unsubscribe"
    );
    assert!(
        ps.subscribe(Kind::Channel, Vec::<&str>::new())
            .await
            .is_err(),
        "no channel is a clear error"
    );
    ps.close();
    assert!(ps.next().await.is_none(), "closed and drained");
    assert!(ps.subscribe(Kind::Channel, ["x"]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_three_kinds_in_resp2_and_resp3() {
    let d = Deployment::standalone();
    for protocol in [Protocol::Resp3, Protocol::Resp2] {
        let client = Client::standalone(&d.seeds[0], Options::default().with_protocol(protocol))
            .await
            .expect("connect");
        three_kinds(&client).await;
        client.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_sharded_channels_on_every_shard_and_the_queue_overflow() {
    let d = Deployment::cluster(3, 0);
    let client = Client::cluster(&d.seeds, Options::default())
        .await
        .expect("connect");
    three_kinds(&client).await;

    // Sharded channels spread over every shard, each served by its own primary.
    let ps = client.pubsub().expect("pubsub");
    let channels: Vec<String> = (0..30).map(|i| format!("ch:{i}")).collect();
    ps.subscribe(Kind::Sharded, &channels)
        .await
        .expect("ssubscribe");
    let owners: std::collections::HashSet<String> = channels
        .iter()
        .map(|c| {
            let slot = slotwise::slot::key_slot(c.as_bytes());
            client
                .topology()
                .shard_for_slot(slot)
                .unwrap()
                .primary
                .addr
                .to_string()
        })
        .collect();
    assert_eq!(owners.len(), 3, "the channels span every shard");
    for c in &channels {
        assert_eq!(
            publish(&client, "SPUBLISH", c, c).await,
            1,
            "{c} has its subscriber"
        );
    }
    let mut got = Vec::new();
    while got.len() < channels.len() {
        if let PubSubItem::Message {
            channel, payload, ..
        } = next(&ps).await
        {
            assert_eq!(channel, payload);
            got.push(String::from_utf8(channel.to_vec()).unwrap());
        }
    }
    got.sort();
    let mut want = channels.clone();
    want.sort();
    assert_eq!(got, want);
    drop(ps);

    // A queue of 5: the rest are dropped and counted where they would have been.
    let small = Client::cluster(&d.seeds, Options::default().with_pubsub_queue(5))
        .await
        .expect("connect");
    let ps = small.pubsub().expect("pubsub");
    ps.subscribe(Kind::Channel, ["flood"])
        .await
        .expect("subscribe");
    for i in 0..20 {
        publish(&client, "PUBLISH", "flood", &i.to_string()).await;
    }
    // The confirmation holds one place in the queue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut items = Vec::new();
    while let Some(i) = ps.try_next().expect("open") {
        items.push(i);
    }
    assert!(
        matches!(items[0], PubSubItem::Subscribed { .. }),
        "{items:?}"
    );
    // (Order across publishers' nodes is not kept: PUBLISH reaches us over the cluster bus.)
    for item in &items[1..5] {
        assert!(
            matches!(item, PubSubItem::Message { channel, .. } if channel == "flood"),
            "{item:?}"
        );
    }
    assert_eq!(items[5], PubSubItem::Dropped { count: 16 });
    assert_eq!(items.len(), 6);
}
