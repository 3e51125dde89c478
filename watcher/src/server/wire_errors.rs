//! JSON bodies for the errors the HTTP layer answers by itself.
//!
//! hyper rejects some requests before any handler runs and answers them with a bodiless
//! head: a request target over its fixed 64 KiB limit (`414`), a header section over
//! its buffer limit or with more than 100 fields (`431`), and bytes that are not
//! HTTP/1.1 (`400`). The read API promises JSON errors for every bad request, so the
//! server's sockets are wrapped in [`JsonErrors`], which recognises exactly that head
//! on its way out and sends it with the API's error JSON instead.
//!
//! Recognising it is unambiguous: hyper writes it as one buffer holding only
//! `HTTP/1.1 400|414|431 <reason>`, `connection: close`, `content-length: 0` and
//! `date`, then closes the connection. Every response of ours carries a
//! `content-type`, so none of them looks like that.

use promptshelf_core::api::ApiError;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's longest accepted request target (`MAX_URI_LEN` in its HTTP/1 parser).
pub const HTTP_MAX_TARGET_BYTES: usize = 65_534;

/// The error the HTTP layer's bare `status` stands for.
fn error_for(status: u16) -> Option<ApiError> {
    Some(match status {
        414 => ApiError::new(
            414,
            "uri_too_long",
            format!(
                "the request target is longer than {HTTP_MAX_TARGET_BYTES} bytes \
                 (the read API accepts targets up to 8 KiB)"
            ),
        ),
        431 => ApiError::new(
            431,
            "headers_too_large",
            "the request's header section is too large or has more than 100 fields",
        ),
        400 => ApiError::new(
            400,
            "bad_request",
            "the request is not valid HTTP/1.1 (malformed request line or header)",
        ),
        _ => return None,
    })
}

/// If `head` is one of hyper's own bodiless error responses, the same response with
/// the JSON error body (and the headers every API error carries).
pub fn rewrite(head: &[u8], allow_any_origin: bool) -> Option<Vec<u8>> {
    // hyper's error heads are ~100 bytes; anything long is not one.
    if head.len() > 256 || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(&head[..head.len() - 4]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let e = error_for(status)?;
    let (mut close, mut empty, mut date) = (false, false, None);
    for line in lines {
        match line.split_once(": ")? {
            ("connection", "close") if !close => close = true,
            ("content-length", "0") if !empty => empty = true,
            ("date", d) if date.is_none() => date = Some(d),
            _ => return None,
        }
    }
    let date = date.filter(|_| close && empty)?;
    let body = e.body();
    let cors = if allow_any_origin {
        "access-control-allow-origin: *\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\n{cors}connection: close\r\n\
         content-length: {}\r\ndate: {date}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// A connection whose HTTP-layer error responses get JSON bodies (see the module
/// docs). Everything else passes through untouched.
pub struct JsonErrors<S> {
    inner: S,
    allow_any_origin: bool,
    /// A replacement being written: its bytes, how many are written, and how many
    /// bytes of the caller's buffer it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S, allow_any_origin: bool) -> Self {
        JsonErrors {
            inner,
            allow_any_origin,
            pending: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes the pending replacement to the end, then reports the replaced buffer
    /// as written (the caller retries with the same buffer after `Pending`).
    fn drain(&mut self, cx: &mut Context<'_>, buf_len: usize) -> Poll<io::Result<usize>> {
        while let Some((bytes, done, _)) = self.pending.as_mut() {
            if *done == bytes.len() {
                break;
            }
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..])) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => *done += n,
                Err(e) => {
                    self.pending = None;
                    return Poll::Ready(Err(e));
                }
            }
        }
        let stands_for = self.pending.take().map_or(buf_len, |(_, _, n)| n);
        Poll::Ready(Ok(stands_for.min(buf_len)))
    }

    fn intercept(&mut self, buf: &[u8]) -> bool {
        if self.pending.is_none() {
            if let Some(rep) = rewrite(buf, self.allow_any_origin) {
                self.pending = Some((rep, 0, buf.len()));
            }
        }
        self.pending.is_some()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.intercept(buf) {
            return this.drain(cx, buf.len());
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        // hyper writes its error head alone, as one slice.
        if let (Some(first), None) = (non_empty.next(), non_empty.next()) {
            if this.intercept(first) {
                return this.drain(cx, first.len());
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The server's listener: a TCP listener whose connections are [`JsonErrors`].
pub struct Listener {
    pub inner: tokio::net::TcpListener,
    pub allow_any_origin: bool,
}

impl axum::serve::Listener for Listener {
    type Io = JsonErrors<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (JsonErrors::new(io, self.allow_any_origin), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Fri, 27 Nov 2026 13:41:55 GMT";

    fn head(status: &str, headers: &[&str]) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {status}\r\n");
        for h in headers {
            s.push_str(h);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    #[test]
    fn rewrites_exactly_hypers_error_heads() {
        for (status, code) in [
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
            ("400 Bad Request", "bad_request"),
        ] {
            let h = head(status, &["connection: close", "content-length: 0", DATE]);
            let out = rewrite(&h, true).unwrap_or_else(|| panic!("{status}"));
            let text = String::from_utf8(out).unwrap();
            let (top, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(top.starts_with(&format!("HTTP/1.1 {status}\r\n")));
            assert!(top.contains("content-type: application/json\r\n"));
            assert!(top.contains("access-control-allow-origin: *\r\n"));
            assert!(top.contains(&format!("content-length: {}\r\n", body.len())));
            assert!(top.ends_with(DATE));
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["error"]["code"], code);
            assert_eq!(
                v["error"]["message"].as_str().map(str::is_empty),
                Some(false)
            );
        }
        let h = head(
            "400 Bad Request",
            &["connection: close", "content-length: 0", DATE],
        );
        assert!(!String::from_utf8(rewrite(&h, false).unwrap())
            .unwrap()
            .contains("access-control"));
    }

    #[test]
    fn leaves_every_other_response_alone() {
        let std = ["connection: close", "content-length: 0", DATE];
        let cases = [
            // Other statuses, e.g. axum's bodiless 405 or a 404.
            head("405 Method Not Allowed", &std),
            head("404 Not Found", &std),
            head("200 OK", &std),
            // Our own JSON 414 (targets over 8 KiB) has a content-type and a body.
            head(
                "414 URI Too Long",
                &["content-type: application/json", "content-length: 61", DATE],
            ),
            // A head with any other header, or a non-empty body, is not hyper's.
            head(
                "400 Bad Request",
                &["connection: close", "content-length: 0", DATE, "allow: GET"],
            ),
            head(
                "400 Bad Request",
                &["connection: close", "content-length: 5", DATE],
            ),
            head("400 Bad Request", &["content-length: 0", DATE]),
            head(
                "400 Bad Request",
                &["connection: close", "content-length: 0"],
            ),
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n".to_vec(),
            b"{\"error\":1}".to_vec(),
            Vec::new(),
        ];
        for c in cases {
            assert_eq!(rewrite(&c, true), None, "{}", String::from_utf8_lossy(&c));
        }
    }

    /// A writer that accepts at most 7 bytes per call and is `Pending` every other
    /// call, to drive the replacement through partial writes.
    struct Trickle {
        out: Vec<u8>,
        tick: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.tick = !self.tick;
            if self.tick {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(7);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, mut buf: &[u8]) {
        while !buf.is_empty() {
            let n = std::future::poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, buf))
                .await
                .unwrap();
            assert!(n > 0 && n <= buf.len());
            buf = &buf[n..];
        }
    }

    #[tokio::test]
    async fn partial_writes_send_the_whole_replacement_once() {
        let err = head(
            "414 URI Too Long",
            &["connection: close", "content-length: 0", DATE],
        );
        let mut w = JsonErrors::new(
            Trickle {
                out: Vec::new(),
                tick: false,
            },
            false,
        );
        write_all(&mut w, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        write_all(&mut w, &err).await;
        let out = String::from_utf8(w.inner.out).unwrap();
        let expected = String::from_utf8(rewrite(&err, false).unwrap()).unwrap();
        assert_eq!(
            out,
            format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok{expected}")
        );
    }
}
