//! The COS listener's front: COS writes `ETag`, `Content-Type`, `Location`… in their usual
//! case and cos-python-sdk-v5 reads response headers from a plain, case-sensitive dict
//! (`rt['ETag']` in `upload_file`), while actix writes every name in lower case. So a small
//! TCP front rewrites the names of each response head. Each response closes its connection
//! (`connection: close`), so a head is always the first bytes the backend sends.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The case COS uses for the names it sends; every other name (`x-cos-*`) stays lower case.
const CASED: &[&str] = &[
    "ETag",
    "Content-Type",
    "Content-Length",
    "Last-Modified",
    "Location",
    "Date",
    "Server",
    "Connection",
    "Transfer-Encoding",
];

pub fn recase_head(head: &str) -> String {
    head.split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, rest)) => {
                let cased = CASED
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(name))
                    .copied()
                    .unwrap_or(name);
                format!("{cased}:{rest}")
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

pub async fn serve(listener: TcpListener, backend: SocketAddr) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(backend).await {
                let _ = relay(client, server).await;
            }
        });
    }
}

async fn relay(client: TcpStream, server: TcpStream) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    });
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = sr.read(&mut chunk).await?;
        if n == 0 {
            cw.write_all(&buf).await?;
            upstream.abort();
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    cw.write_all(recase_head(&head).as_bytes()).await?;
    cw.write_all(&buf[end..]).await?;
    tokio::io::copy(&mut sr, &mut cw).await?;
    cw.shutdown().await?;
    upstream.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_cos_capitalises_are_recased_and_x_cos_ones_kept() {
        let head = "HTTP/1.1 200 OK\r\netag: \"ab\"\r\ncontent-length: 0\r\nx-cos-request-id: 1";
        assert_eq!(
            super::recase_head(head),
            "HTTP/1.1 200 OK\r\nETag: \"ab\"\r\nContent-Length: 0\r\nx-cos-request-id: 1"
        );
    }
}
