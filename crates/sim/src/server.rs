//! The accept loop. It is ours rather than `axum::serve` so that a restart can drop every
//! open connection (and with them every watch) and listen again on the same port.

use std::net::SocketAddr;
use std::sync::Mutex;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::{JoinHandle, JoinSet};

pub struct ApiServer {
    addr: SocketAddr,
    router: Router,
    task: Mutex<Option<JoinHandle<()>>>,
}

pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl ApiServer {
    pub fn start(listener: TcpListener, router: Router) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, router.clone()));
        Ok(ApiServer {
            addr,
            router,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops accepting and drops every connection, without waiting (for `Drop`).
    pub fn abort(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }

    pub async fn stop(&self) {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            // The task was aborted; its JoinError says only that.
            let _ = task.await;
        }
    }

    pub async fn restart(&self) -> std::io::Result<()> {
        self.stop().await;
        self.resume()
    }

    /// Listen again after [`Self::stop`], on the same port.
    pub fn resume(&self) -> std::io::Result<()> {
        let listener = bind(self.addr)?;
        let task = tokio::spawn(accept_loop(listener, self.router.clone()));
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(())
    }
}

/// Connections live in a JoinSet owned by this task: aborting the task drops the set,
/// which aborts every connection.
async fn accept_loop(listener: TcpListener, router: Router) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                conns.spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    // A client hanging up mid-request is its business.
                    let _ = conn.await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
