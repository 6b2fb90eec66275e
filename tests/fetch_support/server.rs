//! A small HTTP/1.1 server on 127.0.0.1 for the download tests: it serves Range requests with
//! If-Range, drops connections mid-body, answers errors, redirects, raw bytes, endless and
//! trickling bodies, over plain TCP or TLS, and counts every body byte it writes, so that tests
//! can assert what went over the wire.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

pub enum Reply {
    /// A file with an ETag; Range honoured unless `ranges` is false; the connection is closed
    /// after `drop_after` body bytes when set.
    File {
        body: Arc<Vec<u8>>,
        etag: String,
        ranges: bool,
        drop_after: Option<usize>,
        content_type: &'static str,
    },
    Status(u16),
    Redirect(String),
    Text {
        content_type: &'static str,
        body: String,
    },
    /// These bytes exactly (status line, headers, body), then the connection is closed.
    Raw(Vec<u8>),
    /// `head` (status line and headers, without the blank line), then `chunk` bytes every
    /// `every` until the client goes away or `limit` body bytes were sent (a safety bound, so that
    /// a client without bounds fails a test instead of filling the disk). `chunked` frames the
    /// body with chunked transfer encoding (no length at all).
    Stream {
        head: String,
        chunked: bool,
        chunk: usize,
        every: Duration,
        limit: u64,
    },
}

impl Reply {
    pub fn file(body: &Arc<Vec<u8>>, etag: &str) -> Reply {
        Reply::File {
            body: body.clone(),
            etag: etag.into(),
            ranges: true,
            drop_after: None,
            content_type: "application/octet-stream",
        }
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

pub struct Server {
    pub port: u16,
    state: Arc<State>,
    tls: bool,
}

/// A connection, plain or TLS.
trait Conn: Read + Write + Send {
    fn close(&mut self);
}

impl Conn for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

struct State {
    handler: Box<Handler>,
    log: Mutex<Vec<Request>>,
    hits: Mutex<HashMap<String, usize>>,
    body_bytes: AtomicU64,
    active: AtomicUsize,
    max_active: AtomicUsize,
    delay: Mutex<Duration>,
}

impl Server {
    /// `handler(request, n)` where `n` counts earlier requests for the same path.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_with(None, handler)
    }

    /// The same server behind TLS with this configuration (a certificate for 127.0.0.1).
    pub fn start_tls(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::start_with(Some(config), handler)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            handler: Box::new(handler),
            log: Mutex::new(Vec::new()),
            hits: Mutex::new(HashMap::new()),
            body_bytes: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
        });
        let st = state.clone();
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let conn: Box<dyn Conn> = match tls {
                        None => Box::new(conn),
                        Some(cfg) => match rustls::ServerConnection::new(cfg) {
                            Ok(c) => Box::new(rustls::StreamOwned::new(c, conn)),
                            Err(_) => return,
                        },
                    };
                    let _ = serve(conn, &st);
                });
            }
        });
        Server { port, state, tls: is_tls }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The URL with credentials in it (`http://user:pass@127.0.0.1:PORT/path`).
    pub fn url_with(&self, userinfo: &str, path: &str) -> String {
        self.url(path).replacen("://", &format!("://{userinfo}@"), 1)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn requests_for(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// Body bytes written so far, all paths.
    pub fn body_bytes(&self) -> u64 {
        self.state.body_bytes.load(Ordering::SeqCst)
    }

    pub fn max_concurrent(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }

    /// Waits this long before answering each request (to make parallel downloads overlap).
    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }
}

/// An address where nothing listens (connection refused).
pub fn dead_url(path: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}{path}")
}

fn serve(conn: Box<dyn Conn>, st: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let req = Request { method, path: path.clone(), headers };
    let n = {
        let mut hits = st.hits.lock().unwrap();
        let e = hits.entry(path).or_insert(0);
        *e += 1;
        *e - 1
    };
    st.log.lock().unwrap().push(req.clone());
    let now = st.active.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_active.fetch_max(now, Ordering::SeqCst);
    let delay = *st.delay.lock().unwrap();
    std::thread::sleep(delay);
    let reply = (st.handler)(&req, n);
    let r = respond(reader.into_inner(), &req, reply, st);
    st.active.fetch_sub(1, Ordering::SeqCst);
    r
}

fn respond(mut conn: Box<dyn Conn>, req: &Request, reply: Reply, st: &State) -> std::io::Result<()> {
    match reply {
        Reply::Status(code) => {
            let body = format!("status {code}\n");
            write!(
                conn,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
        }
        Reply::Redirect(to) => {
            write!(
                conn,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
        }
        Reply::Text { content_type, body } => {
            write!(conn, "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
            conn.write_all(body.as_bytes())?;
        }
        Reply::File { body, etag, ranges, drop_after, content_type } => {
            let quoted = format!("\"{etag}\"");
            // If-Range: resume only when the client's validator still matches.
            let validator_ok = req.header("if-range").is_none_or(|v| v == quoted);
            let range = req
                .header("range")
                .filter(|_| ranges && validator_ok)
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|s| s.parse::<usize>().ok());
            let (status, start) = match range {
                Some(s) if s < body.len() => ("206 Partial Content", s),
                Some(_) => {
                    write!(conn, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", body.len())?;
                    return Ok(());
                }
                None => ("200 OK", 0),
            };
            let mut head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nETag: {quoted}\r\nLast-Modified: Wed, 21 Oct 2026 07:28:00 GMT\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
                body.len() - start
            );
            if start > 0 {
                head.push_str(&format!("Content-Range: bytes {start}-{}/{}\r\n", body.len() - 1, body.len()));
            }
            head.push_str("\r\n");
            conn.write_all(head.as_bytes())?;
            let end = match drop_after {
                Some(d) => (start + d).min(body.len()),
                None => body.len(),
            };
            for chunk in body[start..end].chunks(64 * 1024) {
                conn.write_all(chunk)?;
                st.body_bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            conn.flush()?;
            if drop_after.is_some() {
                // Give the client time to read what was sent, then cut the connection.
                std::thread::sleep(Duration::from_millis(50));
                conn.close();
            }
        }
        Reply::Raw(bytes) => {
            conn.write_all(&bytes)?;
            conn.flush()?;
            std::thread::sleep(Duration::from_millis(50));
            conn.close();
        }
        Reply::Stream { head, chunked, chunk, every, limit } => {
            let te = if chunked { "Transfer-Encoding: chunked\r\n" } else { "" };
            write!(conn, "{head}\r\n{te}Connection: close\r\n\r\n")?;
            let data = vec![b'x'; chunk];
            let mut sent = 0u64;
            while sent < limit {
                if chunked {
                    write!(conn, "{:x}\r\n", data.len())?;
                    conn.write_all(&data)?;
                    conn.write_all(b"\r\n")?;
                } else {
                    conn.write_all(&data)?;
                }
                conn.flush()?;
                sent += data.len() as u64;
                st.body_bytes.fetch_add(data.len() as u64, Ordering::SeqCst);
                if !every.is_zero() {
                    std::thread::sleep(every);
                }
            }
            conn.close();
        }
    }
    let _ = conn.flush();
    conn.close();
    Ok(())
}
