//! The tests' own `nats-server` (tests/support/nats.rs): it starts on a port of its own,
//! answers a client, and is gone once dropped.

use std::net::TcpStream;

use chit_e2e::nats::Nats;

#[test]
fn a_test_nats_server_answers_ping_with_pong_and_stops_when_dropped() {
    let nats = Nats::start();
    assert!(
        nats.info.contains(&format!("\"port\":{}", nats.port)),
        "{}",
        nats.info
    );
    assert_eq!(nats.ping(), "PONG");
    // Two at once get two ports and two directories.
    let other = Nats::start();
    assert_ne!(other.port, nats.port);
    assert_ne!(other.dir(), nats.dir());
    assert_eq!(other.ping(), "PONG");

    let (port, pid) = (nats.port, nats.pid());
    drop(nats);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "nats-server {pid} was reaped"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port}"
    );
    assert_eq!(other.ping(), "PONG");
}
