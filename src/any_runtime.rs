use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyrt_core::dynamic::{
    AnyJoinHandle, AnyTcpListener, AnyTcpStream, AnyUdpSocket, BoxSleep, DynRuntime,
};
use anyrt_core::net::ToSocketAddrs;

use crate::Runtime;

/// A runtime chosen at run time: any [`Runtime`] behind an `Arc<dyn DynRuntime>`, and a
/// `Runtime` itself, so every generic library accepts it.
///
/// Cloning it is an `Arc` clone. Tasks, handles and sockets are the wrapped backend's own
/// (detach on drop, `abort`, panics caught, all as there), reached through one virtual call;
/// what a call costs more than on the static backend is in [`anyrt_core::dynamic`] (a
/// spawn boxes three times, a sleep or an accept once; reads and writes allocate nothing).
///
/// ```
/// use anyrt::{AnyRuntime, Runtime};
///
/// // The backend from configuration: `ANYRT_BACKEND=smol`, say (the default backend when
/// // it is unset).
/// let rt = AnyRuntime::from_env()?;
/// let answer = rt.block_on(rt.spawn(async { 6 * 7 })).unwrap();
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AnyRuntime {
    inner: Arc<dyn DynRuntime>,
}

impl AnyRuntime {
    /// Wraps `rt`, any runtime: one of anyrt's backends or one from another crate.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use anyrt::{AnyRuntime, Runtime};
    ///
    /// let rt = AnyRuntime::new(anyrt::Tokio::new());
    /// assert_eq!(rt.name(), "tokio");
    /// # }
    /// ```
    pub fn new<R: Runtime>(rt: R) -> AnyRuntime {
        AnyRuntime {
            inner: Arc::new(rt),
        }
    }

    /// Starts the backend called `name` (`"tokio"`, `"smol"` or `"green"`) with its
    /// default settings.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the feature to enable when that backend is not compiled in
    /// (or the name is none of anyrt's); the backend's own error if it cannot start.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let rt = anyrt::AnyRuntime::from_name("tokio")?;
    /// # }
    /// let err = anyrt::AnyRuntime::from_name("trio").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
    pub fn from_name(name: &str) -> io::Result<AnyRuntime> {
        let mut built = None;
        let mut compiled_in = Vec::new();
        macro_rules! try_backend {
            ($backend:ident, $runtime:ty) => {
                compiled_in.push(stringify!($backend));
                if built.is_none() && name == stringify!($backend) {
                    built = Some(<$runtime>::builder().build().map(AnyRuntime::new));
                }
            };
        }
        crate::for_each_backend!(try_backend);
        built.unwrap_or_else(|| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "anyrt backend `{name}` is not compiled in (this build has {}): enable \
                     anyrt's `{name}` feature, if it is one of anyrt's backends",
                    compiled_in.join(", ")
                ),
            ))
        })
    }

    /// Starts the backend named by the `ANYRT_BACKEND` environment variable, or the
    /// default backend ([`crate::DefaultRuntime`]) when it is unset or empty.
    ///
    /// # Errors
    ///
    /// As [`from_name`](AnyRuntime::from_name); `InvalidData` if the variable is not
    /// Unicode.
    #[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
    pub fn from_env() -> io::Result<AnyRuntime> {
        match std::env::var("ANYRT_BACKEND") {
            Ok(name) if !name.trim().is_empty() => AnyRuntime::from_name(name.trim()),
            Ok(_) | Err(std::env::VarError::NotPresent) => {
                // The default backend: the first compiled in, as `DefaultRuntime` is.
                let mut first = None;
                macro_rules! first {
                    ($backend:ident, $runtime:ty) => {
                        first = first.or(Some(stringify!($backend)));
                    };
                }
                crate::for_each_backend!(first);
                AnyRuntime::from_name(first.unwrap_or_default())
            }
            Err(std::env::VarError::NotUnicode(_)) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "ANYRT_BACKEND is not valid Unicode",
            )),
        }
    }

    /// The wrapped runtime, as a trait object.
    pub fn as_dyn(&self) -> &dyn DynRuntime {
        &*self.inner
    }

    /// The wrapped runtime, if it is an `R`: to reach what only its type has (Tokio's and
    /// Smol's `shutdown`, say).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use anyrt::{AnyRuntime, Runtime};
    ///
    /// let rt = AnyRuntime::new(anyrt::Tokio::new());
    /// rt.downcast_ref::<anyrt::Tokio>().unwrap().shutdown();
    /// assert!(rt.is_shut_down());
    /// # }
    /// ```
    pub fn downcast_ref<R: Runtime>(&self) -> Option<&R> {
        self.inner.dyn_as_any().downcast_ref::<R>()
    }
}

impl fmt::Debug for AnyRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyRuntime")
            .field("backend", &self.inner.dyn_name())
            .finish()
    }
}

impl Runtime for AnyRuntime {
    type JoinHandle<T: Send + 'static> = AnyJoinHandle<T>;
    type Sleep = BoxSleep;
    type TcpListener = AnyTcpListener;
    type TcpStream = AnyTcpStream;
    type UdpSocket = AnyUdpSocket;
    #[cfg(unix)]
    type UnixListener = anyrt_core::dynamic::AnyUnixListener;
    #[cfg(unix)]
    type UnixStream = anyrt_core::dynamic::AnyUnixStream;
    #[cfg(unix)]
    type UnixDatagram = anyrt_core::dynamic::AnyUnixDatagram;

    fn name(&self) -> &'static str {
        self.inner.dyn_name()
    }

    fn spawn<F>(&self, future: F) -> AnyJoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        AnyJoinHandle::spawn(&*self.inner, future)
    }

    fn spawn_blocking<F, T>(&self, f: F) -> AnyJoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        AnyJoinHandle::spawn_blocking(&*self.inner, f)
    }

    fn spawn_implicit<F, T>(&self, f: F) -> AnyJoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        AnyJoinHandle::spawn_implicit(&*self.inner, f)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut output = None;
        {
            let slot = &mut output;
            let fut = std::pin::pin!(async move {
                *slot = Some(future.await);
            });
            self.inner.dyn_block_on(fut);
        }
        match output {
            Some(v) => v,
            None => unreachable!("block_on returns once its future has completed"),
        }
    }

    fn is_shut_down(&self) -> bool {
        self.inner.dyn_is_shut_down()
    }

    fn now(&self) -> Instant {
        self.inner.dyn_now()
    }

    fn sleep(&self, duration: Duration) -> BoxSleep {
        self.inner.dyn_sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxSleep {
        self.inner.dyn_sleep_until(deadline)
    }

    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<AnyTcpListener>> + Send + use<A> {
        self.inner.dyn_tcp_listen(addr.to_addr_query())
    }

    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<AnyTcpStream>> + Send + use<A> {
        self.inner.dyn_tcp_connect(addr.to_addr_query())
    }

    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<AnyUdpSocket>> + Send + use<A> {
        self.inner.dyn_udp_bind(addr.to_addr_query())
    }

    fn tcp_listener_from_std(&self, listener: std::net::TcpListener) -> io::Result<AnyTcpListener> {
        self.inner.dyn_tcp_listener_from_std(listener)
    }

    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<AnyTcpStream> {
        self.inner.dyn_tcp_stream_from_std(stream)
    }

    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<AnyUdpSocket> {
        self.inner.dyn_udp_socket_from_std(socket)
    }

    #[cfg(unix)]
    fn unix_connect<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> impl Future<Output = io::Result<anyrt_core::dynamic::AnyUnixStream>> + Send + use<P> {
        self.inner.dyn_unix_connect(path.as_ref().to_path_buf())
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<anyrt_core::dynamic::AnyUnixListener> {
        self.inner.dyn_unix_listener_from_std(listener)
    }

    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<anyrt_core::dynamic::AnyUnixStream> {
        self.inner.dyn_unix_stream_from_std(stream)
    }

    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<anyrt_core::dynamic::AnyUnixDatagram> {
        self.inner.dyn_unix_datagram_from_std(socket)
    }
}
