//! The MLLP listener: many connections (bounded), each read into frames; each message is
//! handled on a blocking thread (stored before it is answered) and its acknowledgement sent
//! back framed, in the order the messages came. A connection idle too long is closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::handle::{Options, handle};
use super::mllp::{Frame, Framer, frame};
use super::parse::MAX_MESSAGE;
use crate::server::store::Store;

/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 64;
/// A connection with nothing to say for this long is closed.
pub const IDLE: Duration = Duration::from_secs(300);

/// Serves MLLP on `listener` until `shutdown` completes.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    options: Options,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let options = Arc::new(options);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (socket, peer) = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "MLLP accept failed");
                    continue;
                }
            },
        };
        let store = store.clone();
        let options = options.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(store, socket, options).await {
                tracing::info!(peer = %peer.ip(), error = %e, "MLLP connection ended");
            }
        });
    }
}

async fn connection(
    store: Store,
    mut socket: tokio::net::TcpStream,
    options: Arc<Options>,
) -> std::io::Result<()> {
    let mut framer = Framer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(IDLE, socket.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        for f in framer.push(&buf[..n]) {
            let bytes = match f {
                Frame::Message(m) => m,
                // Too long to read: answered as a message that could not be read.
                Frame::TooLong => b"MSH|^~\\&|||||||?|||\r".to_vec(),
            };
            let store = store.clone();
            let options = options.clone();
            let answer = tokio::task::spawn_blocking(move || handle(&store, &bytes, &options))
                .await
                .map_err(std::io::Error::other)?;
            if let Some(a) = answer {
                socket.write_all(&frame(a.as_bytes())).await?;
            }
        }
    }
}
