//! What a connection may cost the server, over real sockets: headers within 10 s of a
//! request's start, keep-alive rest of 60 s, 32 KiB of headers, a cap on open
//! connections, and a shutdown that does not wait for a dawdling client.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Server, serve};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: taskdeck\r\n\r\n";

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect to taskdeck");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Reads one answer's head and body (bodies here are small and sized), or `None` when
/// the server closed the connection or nothing came within `wait`.
fn read_answer(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return None,
            Err(error) => panic!("reading the answer failed: {error}"),
        }
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|n| n.trim().to_owned()))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Some(text);
            }
        }
    }
}

/// Waits until the server closes the connection, and returns how long that took;
/// fails if it is still open after `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    let mut byte = [0_u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => started.elapsed(),
        Err(error) if error.kind() == ErrorKind::ConnectionReset => started.elapsed(),
        Ok(_) => panic!("the server sent bytes on a connection that owed it a request"),
        Err(error) => panic!("the connection was still open after {limit:?} ({error})"),
    }
}

#[test]
fn a_client_that_trickles_its_headers_is_cut_off_after_ten_seconds() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let mut stream = connect(server.address);
    let started = Instant::now();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: taskdeck\r\n").expect("request line");
    // One header byte a second: the whole head would take 20 s.
    let mut cut_after = None;
    for byte in b"X-Slow: aaaaaaaaaaa\r\n\r\n" {
        thread::sleep(Duration::from_secs(1));
        if stream.write_all(&[*byte]).is_err() {
            cut_after = Some(started.elapsed());
            break;
        }
        stream.set_read_timeout(Some(Duration::from_millis(1))).expect("read timeout");
        let mut probe = [0_u8; 64];
        match stream.read(&mut probe) {
            Ok(0) => {
                cut_after = Some(started.elapsed());
                break;
            }
            Ok(_) => panic!("a request whose headers never finished was answered"),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                cut_after = Some(started.elapsed());
                break;
            }
        }
    }
    let cut_after = cut_after.expect("the trickling client was never cut off");
    assert!(cut_after >= Duration::from_secs(9), "cut off too early, after {cut_after:?}");
    assert!(cut_after <= Duration::from_secs(13), "cut off after {cut_after:?}, not about 10 s");
}

#[test]
fn a_connection_that_never_sends_a_request_is_closed_after_ten_seconds() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let mut silent = connect(server.address);
    let waited = closed_within(&mut silent, Duration::from_secs(20));
    assert!(waited >= Duration::from_secs(9), "closed too early, after {waited:?}");
}

#[test]
fn a_keep_alive_connection_rests_for_a_minute_between_requests_and_no_longer() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let mut stream = connect(server.address);
    stream.write_all(HEALTH).expect("first request");
    let first = read_answer(&mut stream, Duration::from_secs(10)).expect("first answer");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    // Longer than the header timeout: resting between requests is not trickling.
    thread::sleep(Duration::from_secs(15));
    stream.write_all(HEALTH).expect("second request on the rested connection");
    let second = read_answer(&mut stream, Duration::from_secs(10)).expect("the rested connection still serves");
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");

    let rested = closed_within(&mut stream, Duration::from_secs(75));
    assert!(rested >= Duration::from_secs(55), "closed after {rested:?} of rest, before the minute");
}

#[test]
fn headers_beyond_32_kib_are_refused_with_431_and_below_served() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let request = |padding: usize| {
        format!("GET /health HTTP/1.1\r\nHost: taskdeck\r\nX-Padding: {}\r\n\r\n", "p".repeat(padding)).into_bytes()
    };
    let mut modest = connect(server.address);
    modest.write_all(&request(30 * 1024)).expect("30 KiB of headers");
    let answer = read_answer(&mut modest, Duration::from_secs(10)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(200)]);

    let mut huge = connect(server.address);
    // The server may close before reading all of it; what it answered is what counts.
    let _ = huge.write_all(&request(40 * 1024));
    let answer = read_answer(&mut huge, Duration::from_secs(10)).expect("an answer to oversized headers");
    assert!(answer.starts_with("HTTP/1.1 431"), "{}", &answer[..answer.len().min(200)]);
}

#[test]
fn at_the_connection_cap_a_new_client_waits_while_the_others_are_served() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = serve(dir.path());
    command.env("TASKDECK_MAX_CONNECTIONS", "3");
    let server = Server::spawn(command);
    let mut open: Vec<TcpStream> = (0..3).map(|_| connect(server.address)).collect();
    for stream in &mut open {
        stream.write_all(HEALTH).expect("request");
        assert!(read_answer(stream, Duration::from_secs(10)).is_some_and(|a| a.starts_with("HTTP/1.1 200")));
    }

    let mut waiting = connect(server.address);
    waiting.write_all(HEALTH).expect("the fourth client's request is buffered by the kernel");
    assert_eq!(read_answer(&mut waiting, Duration::from_secs(2)), None, "the fourth connection is not served yet");

    // The three keep being served meanwhile.
    open[0].write_all(HEALTH).expect("request");
    let answer = read_answer(&mut open[0], Duration::from_secs(10)).expect("an open connection is served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    drop(open.remove(1));
    let answer = read_answer(&mut waiting, Duration::from_secs(10)).expect("served once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn shutdown_waits_for_a_dawdling_request_no_longer_than_its_deadline() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = Server::start(dir.path());
    let mut stream = connect(server.address);
    // A registration whose body comes a byte a second: its handler waits for the body,
    // which the request timeout alone would allow for 30 s.
    let body = br#"{"email":"slow@example.com","password":"correct horse battery"}"#;
    let head = format!(
        "POST /api/users HTTP/1.1\r\nHost: taskdeck\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(&body[..1]).expect("first body byte");
    let trickle = thread::spawn(move || {
        for byte in &body[1..] {
            thread::sleep(Duration::from_secs(1));
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
        }
    });
    thread::sleep(Duration::from_secs(1));
    let stopping = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(25));
    let took = stopping.elapsed();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", server.log.text());
    assert!(took < Duration::from_secs(16), "shutdown took {took:?}, past its 10 s deadline:\n{}", server.log.text());
    let _ = trickle.join();
}
