use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::Runtime;

/// Values that name one or more socket addresses.
///
/// Conversion is synchronous and does no IO: literal addresses are parsed at once, host
/// names are kept in the [`AddrQuery`] and resolved later, off the runtime's workers
/// (through [`Runtime::spawn_blocking`]). A bad literal (no port, a port above 65535) is kept as an
/// `InvalidInput` error that the query reports when it is used.
pub trait ToSocketAddrs {
    /// Converts `self` into an owned address query.
    fn to_addr_query(&self) -> AddrQuery;
}

/// An owned, `Send + 'static` address query: literal addresses, or a host name and port
/// still to be resolved.
#[derive(Debug, Clone)]
pub struct AddrQuery {
    repr: Query,
}

#[derive(Debug, Clone)]
enum Query {
    One(SocketAddr),
    Many(Vec<SocketAddr>),
    Host(String, u16),
    Invalid(&'static str),
}

impl AddrQuery {
    fn one(addr: SocketAddr) -> AddrQuery {
        AddrQuery {
            repr: Query::One(addr),
        }
    }

    fn invalid(msg: &'static str) -> AddrQuery {
        AddrQuery {
            repr: Query::Invalid(msg),
        }
    }

    fn host(host: &str, port: u16) -> AddrQuery {
        match host.parse::<IpAddr>() {
            Ok(ip) => AddrQuery::one(SocketAddr::new(ip, port)),
            Err(_) => AddrQuery {
                repr: Query::Host(host.to_owned(), port),
            },
        }
    }

    fn parse(s: &str) -> AddrQuery {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return AddrQuery::one(addr);
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return AddrQuery::invalid("invalid socket address: expected `host:port`");
        };
        match port.parse::<u16>() {
            Ok(port) if !host.is_empty() && !host.contains(':') => AddrQuery::host(host, port),
            Ok(_) => AddrQuery::invalid("invalid socket address"),
            Err(_) => AddrQuery::invalid("invalid port value"),
        }
    }

    /// Returns the addresses if they are all literal, without resolving anything (what
    /// the parsing tests look at).
    #[cfg(test)]
    pub(crate) fn literal(&self) -> Option<io::Result<Addrs>> {
        match &self.repr {
            Query::One(a) => Some(Ok(Addrs::one(*a))),
            Query::Many(v) => Some(Addrs::many(v.clone())),
            Query::Host(..) => None,
            Query::Invalid(msg) => Some(Err(io::Error::new(io::ErrorKind::InvalidInput, *msg))),
        }
    }

    /// Resolves the query. A host name is looked up with the system resolver inside
    /// [`Runtime::spawn_blocking`], so the lookup never blocks a worker.
    pub(crate) async fn resolve<R: Runtime>(self, rt: &R) -> io::Result<Addrs> {
        match self.repr {
            Query::One(a) => Ok(Addrs::one(a)),
            Query::Many(v) => Addrs::many(v),
            Query::Invalid(msg) => Err(io::Error::new(io::ErrorKind::InvalidInput, msg)),
            Query::Host(host, port) => {
                let lookup = rt.spawn_blocking(move || {
                    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                        .map(|it| it.collect::<Vec<_>>())
                });
                Addrs::many(crate::runtime::join_io(lookup).await?)
            }
        }
    }

    /// Resolves the query and calls `op` on each address in turn until one succeeds;
    /// returns the last error if none does (as `std::net::TcpStream::connect` does).
    pub(crate) async fn try_each<R, T, F, Fut>(self, rt: &R, mut op: F) -> io::Result<T>
    where
        R: Runtime,
        F: FnMut(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = io::Result<T>>,
    {
        let mut last = None;
        for addr in self.resolve(rt).await? {
            match op(addr).await {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        // `Addrs` is never empty, so `last` is set whenever the loop ran to its end.
        Err(last.unwrap_or_else(no_addresses))
    }
}

fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}

/// The resolved addresses of an [`AddrQuery`]; never empty.
#[derive(Debug, Clone)]
pub struct Addrs {
    inner: AddrsInner,
}

#[derive(Debug, Clone)]
enum AddrsInner {
    One(Option<SocketAddr>),
    Many(std::vec::IntoIter<SocketAddr>),
}

impl Addrs {
    fn one(a: SocketAddr) -> Addrs {
        Addrs {
            inner: AddrsInner::One(Some(a)),
        }
    }

    fn many(v: Vec<SocketAddr>) -> io::Result<Addrs> {
        if v.is_empty() {
            return Err(no_addresses());
        }
        Ok(Addrs {
            inner: AddrsInner::Many(v.into_iter()),
        })
    }
}

impl Iterator for Addrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.inner {
            AddrsInner::One(a) => a.take(),
            AddrsInner::Many(it) => it.next(),
        }
    }
}

/// A query is its own conversion (a clone).
impl ToSocketAddrs for AddrQuery {
    fn to_addr_query(&self) -> AddrQuery {
        self.clone()
    }
}

impl ToSocketAddrs for SocketAddr {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::one(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::one((*self).into())
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::one((*self).into())
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::one(SocketAddr::new(self.0, self.1))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::host(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::host(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::parse(self)
    }
}

impl ToSocketAddrs for String {
    fn to_addr_query(&self) -> AddrQuery {
        AddrQuery::parse(self)
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_addr_query(&self) -> AddrQuery {
        match self {
            [one] => AddrQuery::one(*one),
            many => AddrQuery {
                repr: Query::Many(many.to_vec()),
            },
        }
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_addr_query(&self) -> AddrQuery {
        (**self).to_addr_query()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(q: AddrQuery) -> Option<io::ErrorKind> {
        q.literal().and_then(|r| r.err()).map(|e| e.kind())
    }

    #[test]
    fn literals_parse_without_io() {
        let a: Vec<_> = "127.0.0.1:80"
            .to_addr_query()
            .literal()
            .unwrap()
            .unwrap()
            .collect();
        assert_eq!(a, vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]);
        let a: Vec<_> = "[::1]:9"
            .to_addr_query()
            .literal()
            .unwrap()
            .unwrap()
            .collect();
        assert_eq!(a, vec!["[::1]:9".parse::<SocketAddr>().unwrap()]);
        let a: Vec<_> = ("10.0.0.1", 5)
            .to_addr_query()
            .literal()
            .unwrap()
            .unwrap()
            .collect();
        assert_eq!(a, vec!["10.0.0.1:5".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn host_names_are_kept_for_later() {
        assert!("localhost:80".to_addr_query().literal().is_none());
        assert!(
            ("example.invalid".to_string(), 1)
                .to_addr_query()
                .literal()
                .is_none()
        );
    }

    #[test]
    fn bad_input_is_invalid_input() {
        let k = Some(io::ErrorKind::InvalidInput);
        assert_eq!(kind("not an address".to_addr_query()), k);
        assert_eq!(kind("127.0.0.1:70000".to_addr_query()), k);
        assert_eq!(kind("localhost:http".to_addr_query()), k);
        assert_eq!(kind(":80".to_addr_query()), k);
        let empty: &[SocketAddr] = &[];
        assert_eq!(kind(empty.to_addr_query()), k);
    }
}
