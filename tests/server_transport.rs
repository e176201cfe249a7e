//! The HTTPS transport with a fake handler: real TLS on 127.0.0.1, free ports, certificates made
//! at test time; keep-alive, HTTP/2, limits, timeouts, overload, graceful shutdown.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod https;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use https::{H1, H2, Idms, Pki, plain_get, raw_exchange, tls_connect};
use mikey_sakke::idms::TokenRequest;
use mikey_sakke::server::{
    AuthConfig, Authenticator, BASE_PATH, HandlerReply, KmsHandler, Limits, Principal, Server,
    ServerConfig, ShutdownHandle, TransportRefusal,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Answers 200 with who asked for what, after `delay`.
struct Fake {
    delay: Duration,
    calls: AtomicU64,
}

impl KmsHandler for Fake {
    fn respond(
        &self,
        who: Option<&Principal>,
        path: &str,
        body: &[u8],
        _peer: SocketAddr,
    ) -> HandlerReply {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        HandlerReply {
            status: 200,
            body: format!(
                "<KmsResponse who=\"{}\" path=\"{path}\" body=\"{}\"/>",
                who.map_or("", |p| p.uri.as_str()),
                body.len()
            ),
            issued: 1,
            served: 1,
        }
    }

    fn refusal_document(
        &self,
        refusal: TransportRefusal,
        _path: &str,
        _peer: SocketAddr,
    ) -> String {
        format!(
            "<KmsResponse><KmsError><ErrorCode>{}</ErrorCode></KmsError></KmsResponse>",
            refusal.status()
        )
    }
}

struct Running {
    addr: SocketAddr,
    metrics: SocketAddr,
    handle: ShutdownHandle,
    done: tokio::task::JoinHandle<()>,
    fake: Arc<Fake>,
}

async fn start(pki: &Pki, idms: &Idms, limits: Limits, delay: Duration) -> Running {
    let auth = Authenticator::from_jwks_json(&idms.key.jwks_json(), AuthConfig::default()).unwrap();
    let fake = Arc::new(Fake {
        delay,
        calls: AtomicU64::new(0),
    });
    let server = Server::bind(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
            tls: pki.server_config(),
            auth: Arc::new(auth),
            limits,
            access_log: false,
        },
        Arc::clone(&fake) as Arc<dyn KmsHandler>,
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let metrics = server.metrics_addr().unwrap();
    let handle = server.shutdown_handle();
    let done = tokio::spawn(server.run());
    Running {
        addr,
        metrics,
        handle,
        done,
        fake,
    }
}

fn keyprov() -> String {
    format!("{BASE_PATH}/keyprov")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_keep_alive_and_http2_answer() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let s = start(&pki, &idms, Limits::default(), Duration::ZERO).await;
    let token = idms.token("sip:alice@example.org");
    let mut h1 = H1::connect(&pki, s.addr).await;
    for _ in 0..3 {
        let a = h1.post(&keyprov(), Some(&token)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.body.contains("who=\"sip:alice@example.org\""),
            "{}",
            a.body
        );
        assert_eq!(a.header("content-type"), "application/xml");
        assert_eq!(a.header("cache-control"), "no-store");
    }
    let mut h2 = H2::connect(&pki, s.addr).await;
    let a = h2.post(&format!("{BASE_PATH}/init"), Some(&token)).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("path=\"/keymanagement/identity/v1/init\""));
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 4);
    // Requests by status and the key-set counters on the metrics listener.
    let m = plain_get(s.metrics, "/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.body.contains("kms_http_requests_total{status=\"200\"} 4"),
        "{}",
        m.body
    );
    assert!(m.body.contains("kms_key_sets_issued_total 4"));
    assert!(m.body.contains("kms_http_request_duration_seconds_count 4"));
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_methods_and_tokens() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let s = start(&pki, &idms, Limits::default(), Duration::ZERO).await;
    let mut c = H1::connect(&pki, s.addr).await;
    // No token: 401 with the RFC 6750 challenge; the handler is not called.
    let a = c.post(&keyprov(), None).await;
    assert_eq!(a.status, 401);
    assert!(
        a.header("www-authenticate")
            .starts_with("Bearer error=\"invalid_token\"")
    );
    assert!(a.body.contains("<ErrorCode>401</ErrorCode>"));
    // A token without a KMS scope: 403 insufficient_scope.
    let mut req = TokenRequest::new("sip:alice@example.org");
    req.scope = "openid 3gpp:mc:ptt_service".into();
    let a = c.post(&keyprov(), Some(&idms.token_with(&req))).await;
    assert_eq!(a.status, 403);
    assert!(
        a.header("www-authenticate")
            .contains("error=\"insufficient_scope\"")
    );
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 0);
    // Other methods on the KMS resources: 405 with Allow.
    let token = idms.token("sip:alice@example.org");
    let a = c
        .send("GET", &keyprov(), Some(&token), Vec::new())
        .await
        .unwrap();
    assert_eq!(a.status, 405);
    assert_eq!(a.header("allow"), "POST");
    // Paths outside the KMS resources: 404; a prefix that only looks like one too.
    let a = c.post("/other", Some(&token)).await;
    assert_eq!(a.status, 404);
    let a = c.post(&format!("{BASE_PATH}x/init"), Some(&token)).await;
    assert_eq!(a.status, 404);
    // /healthz answers on the main listener and on the metrics listener.
    let a = c.send("GET", "/healthz", None, Vec::new()).await.unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, "ok\n"));
    let a = plain_get(s.metrics, "/healthz").await;
    assert_eq!((a.status, a.body.as_str()), (200, "ok\n"));
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_get_413() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let s = start(&pki, &idms, Limits::default(), Duration::ZERO).await;
    let token = idms.token("sip:alice@example.org");
    let mut c = H1::connect(&pki, s.addr).await;
    let a = c
        .send("POST", &keyprov(), Some(&token), vec![b'x'; 64 * 1024])
        .await
        .unwrap();
    assert_eq!(a.status, 200, "exactly the limit is accepted");
    assert!(a.body.contains("body=\"65536\""));
    let a = c
        .send("POST", &keyprov(), Some(&token), vec![b'x'; 64 * 1024 + 1])
        .await
        .unwrap();
    assert_eq!(a.status, 413);
    assert!(a.body.contains("<ErrorCode>413</ErrorCode>"));
    // Chunked (no Content-Length): cut while reading.
    let tls = tls_connect(&pki, s.addr, &[b"http/1.1"]).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let body = Chunked(
        (0..20)
            .map(|_| bytes::Bytes::from(vec![b'y'; 8192]))
            .collect(),
    );
    let req = hyper::Request::post(keyprov())
        .header("host", "localhost")
        .header("authorization", format!("Bearer {token}"))
        .body(body)
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 413);
    // Far over the limit by Content-Length: refused before any of the body is sent.
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000000\r\n\r\n",
        keyprov()
    );
    assert!(
        raw_exchange(&pki, s.addr, &head)
            .await
            .starts_with("HTTP/1.1 413")
    );
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 1);
    s.handle.shutdown();
    s.done.await.unwrap();
}

/// A body of ready chunks without a length (sent chunked).
struct Chunked(std::collections::VecDeque<bytes::Bytes>);

impl hyper::body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_client_is_cut_by_the_timeout() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let limits = Limits {
        header_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let s = start(&pki, &idms, limits, Duration::ZERO).await;
    let mut tls = tls_connect(&pki, s.addr, &[b"http/1.1"]).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        keyprov()
    );
    let t = Instant::now();
    let mut cut = false;
    // One byte per second: the whole header would take over 50 s.
    for b in request.bytes() {
        if tls.write_all(&[b]).await.is_err() || tls.flush().await.is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(1), tls.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            Ok(Ok(_)) => {
                // hyper answers 408 before closing; then the connection ends.
                cut = true;
                break;
            }
            Err(_) => {}
        }
        assert!(t.elapsed() < Duration::from_secs(15), "not cut in time");
    }
    assert!(cut);
    let e = t.elapsed();
    assert!(
        e >= Duration::from_secs(1) && e < Duration::from_secs(6),
        "cut after {e:?}"
    );
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 0);
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_gets_408() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let limits = Limits {
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let s = start(&pki, &idms, limits, Duration::ZERO).await;
    let token = idms.token("sip:alice@example.org");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n0123456789",
        keyprov()
    );
    let text = raw_exchange(&pki, s.addr, &head).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(s.fake.calls.load(Ordering::SeqCst), 0);
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_closes_extra_connections() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let s = start(&pki, &idms, limits, Duration::ZERO).await;
    let token = idms.token("sip:alice@example.org");
    let mut a = H1::connect(&pki, s.addr).await;
    let mut b = H1::connect(&pki, s.addr).await;
    assert_eq!(a.post(&keyprov(), Some(&token)).await.status, 200);
    assert_eq!(b.post(&keyprov(), Some(&token)).await.status, 200);
    // The third is closed on accept: the TLS handshake fails.
    assert!(tls_connect(&pki, s.addr, &[b"http/1.1"]).await.is_err());
    // Still served: the two open ones.
    assert_eq!(a.post(&keyprov(), Some(&token)).await.status, 200);
    drop(b);
    // A slot frees up once the server sees the close.
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if tls_connect(&pki, s.addr, &[b"http/1.1"]).await.is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok, "no connection after one closed");
    let m = plain_get(s.metrics, "/metrics").await;
    assert!(
        !m.body.contains("kms_connections_rejected_total 0\n"),
        "{}",
        m.body
    );
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_with_503_while_healthz_answers() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let limits = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let s = start(&pki, &idms, limits, Duration::from_millis(1500)).await;
    let token = idms.token("sip:alice@example.org");
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut c = H1::connect(&pki, s.addr).await;
        let t = token.clone();
        slow.push(tokio::spawn(
            async move { c.post(&keyprov(), Some(&t)).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Both permits are taken: the next requests are shed at once, not queued.
    let mut c = H1::connect(&pki, s.addr).await;
    for _ in 0..5 {
        let t = Instant::now();
        let a = c.post(&keyprov(), Some(&token)).await;
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.body.contains("<ErrorCode>503</ErrorCode>"));
        assert!(t.elapsed() < Duration::from_millis(500));
    }
    let h = plain_get(s.metrics, "/healthz").await;
    assert_eq!(h.status, 200);
    for j in slow {
        assert_eq!(j.await.unwrap().status, 200);
    }
    // Capacity is back.
    assert_eq!(c.post(&keyprov(), Some(&token)).await.status, 200);
    let m = plain_get(s.metrics, "/metrics").await;
    assert!(
        m.body.contains("kms_http_requests_total{status=\"503\"} 5"),
        "{}",
        m.body
    );
    s.handle.shutdown();
    s.done.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let (pki, idms) = (Pki::new(), Idms::new());
    let s = start(&pki, &idms, Limits::default(), Duration::from_millis(1500)).await;
    let token = idms.token("sip:alice@example.org");
    let mut c1 = H1::connect(&pki, s.addr).await;
    let mut c2 = H2::connect(&pki, s.addr).await;
    let t1 = token.clone();
    let r1 = tokio::spawn(async move { c1.post(&keyprov(), Some(&t1)).await });
    let t2 = token.clone();
    let r2 = tokio::spawn(async move { c2.post(&keyprov(), Some(&t2)).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.handle.shutdown();
    // New connections are refused once the listener is closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tls_connect(&pki, s.addr, &[b"http/1.1"]).await.is_err());
    // The requests in flight finish.
    assert_eq!(r1.await.unwrap().status, 200);
    assert_eq!(r2.await.unwrap().status, 200);
    tokio::time::timeout(Duration::from_secs(10), s.done)
        .await
        .expect("run() returns after the last connection")
        .unwrap();
}
