use super::*;

fn ok(url: &str) -> ConnectionUrl {
    ConnectionUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn err(url: &str) -> String {
    let e = ConnectionUrl::parse(url).expect_err(url);
    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{e}");
    e.to_string()
}

#[test]
fn every_scheme_and_its_defaults() {
    let u = ok("redis://h");
    assert_eq!((u.mode, u.tls), (UrlMode::Standalone, false));
    assert_eq!(u.addresses, ["h:6379"]);
    assert_eq!((u.db, u.username, u.password), (None, None, None));
    let u = ok("REDISS://h:1/3");
    assert_eq!((u.mode, u.tls, u.db), (UrlMode::Standalone, true, Some(3)));
    let u = ok("rediss+cluster://a:1,b,[::1]:7001,[::2]");
    assert_eq!((u.mode, u.tls), (UrlMode::Cluster, true));
    assert_eq!(u.addresses, ["a:1", "b:6379", "[::1]:7001", "[::2]:6379"]);
    let u = ok("redis+sentinel://s1,s2:5000/my%20master/2");
    assert_eq!((u.mode, u.tls), (UrlMode::Sentinel, false));
    assert_eq!(u.addresses, ["s1:26379", "s2:5000"]);
    assert_eq!(u.service_name.as_deref(), Some("my master"));
    assert_eq!(u.db, Some(2));
    assert!(ok("rediss+sentinel://s/m").tls);
}

#[test]
fn credentials_and_query_are_decoded() {
    let u = ok("redis+cluster://us%40r:p%3Ass/w@h1:7000?request_timeout=2.5&x=a+b%26c&flag");
    assert_eq!(u.username.as_deref(), Some("us@r"));
    assert_eq!(u.password.as_deref(), Some("p:ss/w"));
    assert_eq!(u.addresses, ["h1:7000"]);
    assert_eq!(
        u.query,
        [
            ("request_timeout".into(), "2.5".into()),
            ("x".into(), "a b&c".into()),
            ("flag".into(), String::new())
        ]
    );
    let u = ok("redis://:pw@host/3#frag");
    assert_eq!(
        (u.username, u.password.as_deref(), u.db),
        (None, Some("pw"), Some(3))
    );
    let u = ok("redis://only-user@host");
    assert_eq!(
        (u.username.as_deref(), u.password),
        (Some("only-user"), None)
    );
    assert!(!format!("{:?}", ok("redis://u:hunter2@h")).contains("hunter2"));
}

#[test]
fn bad_urls_say_why_without_the_password() {
    for (url, want) in [
        ("http://h:1", "unsupported URL scheme \"http\""),
        ("h:1", "not a redis URL"),
        ("redis://", "no host"),
        ("redis://u:hunter2@", "no host"),
        ("redis://a:1,b:2", "redis+cluster"),
        ("redis://a:1,,b:2", "empty host"),
        ("redis+cluster://a:1/3", "no database"),
        ("redis://h:1/x", "must be a number"),
        ("redis://h:1/-1", "must be a number"),
        ("redis://h:1/99999999999", "must be a number"),
        ("redis+sentinel://a:1", "service name"),
        ("redis://::1:6379", "brackets"),
        ("redis://[::1:6379", "unclosed bracket"),
        ("redis://u:hunter2%zz@h", "password"),
        ("redis://h?a=%ff", "percent-encoding"),
    ] {
        let msg = err(url);
        assert!(msg.contains(want), "{url}: {msg}");
        assert!(!msg.contains("hunter2"), "{url}: {msg}");
    }
    assert_eq!(redact("redis://u:p@w@h/1"), "redis://***@h/1");
    assert_eq!(redact("redis://h/1"), "redis://h/1");
}
