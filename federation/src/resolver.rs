//! Which addresses Hearth may connect to, checked on the address actually connected to.
//!
//! The check lives in the HTTP client's DNS resolver, so it runs at connect time on every
//! request, redirects included, and DNS rebinding cannot slip past it. Name lookup itself is
//! behind the [`Lookup`] trait so that tests can map names to any address without a packet
//! leaving the machine.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::HashMap,
    fmt,
    future::Future,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

/// Which remote addresses outgoing requests may reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Production: only globally routable addresses; loopback, private, link-local, CGNAT,
    /// multicast, reserved and IPv4-mapped forms of them are refused.
    PublicOnly,
    /// A closed network: only addresses inside these networks, and nothing of the internet.
    /// Loopback federation (tests, development) is 127.0.0.0/8 and ::1, so that nothing ever
    /// leaves the machine; clinics trying federation on a private network name theirs.
    Within(Arc<[IpNet]>),
}

impl AddressPolicy {
    /// The loopback networks, 127.0.0.0/8 and ::1.
    pub fn loopback_networks() -> Vec<IpNet> {
        vec![
            IpNet::new_assert(IpAddr::V4(Ipv4Addr::LOCALHOST), 8),
            IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        ]
    }

    /// Whether this policy lets a connection go to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match self {
            Self::PublicOnly => is_global(ip),
            Self::Within(networks) => networks.iter().any(|net| net.contains(&ip)),
        }
    }
}

/// Resolves a host name to addresses. The system resolver in production; a table in tests.
pub trait Lookup: Send + Sync + fmt::Debug {
    /// All addresses `host` resolves to.
    fn lookup(&self, host: String)
    -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;
}

/// The operating system's resolver (`/etc/hosts`, then DNS).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed table of names, for tests: a name not in the table does not resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticLookup(pub HashMap<String, Vec<IpAddr>>);

impl Lookup for StaticLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        let found = self.0.get(&host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host}: unknown")))
        })
    }
}

/// Refusal of a host whose addresses the policy does not allow.
#[derive(Debug, thiserror::Error)]
#[error("refusing to connect to {host}: it resolves to {ip}, which the address policy forbids")]
pub struct AddressRefused {
    /// The host name that was looked up.
    pub host: String,
    /// The first forbidden address it resolved to.
    pub ip: IpAddr,
}

/// A reqwest DNS resolver that looks names up and refuses forbidden addresses, before any
/// connection is attempted.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: AddressPolicy,
    lookup: Arc<dyn Lookup>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy` over the names `lookup` returns.
    pub fn new(policy: AddressPolicy, lookup: Arc<dyn Lookup>) -> Self {
        Self { policy, lookup }
    }

    /// Looks `host` up and returns its addresses, or an error if any of them is forbidden.
    /// A host with one forbidden address is refused outright, so that a name cannot mix a
    /// public address with an internal one.
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<IpAddr>, io::Error> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let addrs = self.lookup.lookup(host.clone()).await?;
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: no address"),
            ));
        }
        if let Some(ip) = addrs.iter().copied().find(|ip| !self.policy.allows(*ip)) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                AddressRefused { host, ip },
            ));
        }
        Ok(addrs)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this.resolve_checked(&host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Whether an address is globally routable, mirroring the unstable `IpAddr::is_global`.
pub fn is_global(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_documentation()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || a == 0 // 0.0.0.0/8 reaches the local host on Linux
        || (a == 100 && (b & 0xc0) == 0x40) // 100.64.0.0/10, carrier-grade NAT
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // 192.0.0.0/24, protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || a >= 240) // 240.0.0.0/4, reserved
}

fn is_global_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address: judge that address.
    if matches!(s, [0x64, 0xff9b, 0, 0, 0, 0, ..]) {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_global_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        || matches!(s, [0, 0, 0, 0, 0, 0, ..]) // IPv4-compatible (deprecated)
        || matches!(s, [0, 0, 0, 0, 0, 0xffff, ..]) // IPv4-mapped
        || matches!(s, [0x64, 0xff9b, 1, ..]) // local-use NAT64
        || matches!(s, [0x2001, 0xdb8, ..]) // documentation
        || matches!(s, [0x3fff, 0..=0x0fff, ..]) // documentation
        || matches!(s, [0x2002, ..])) // 6to4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("bad test address {s}"))
    }

    #[test]
    fn production_refuses_internal_addresses() {
        for addr in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "::1",
            "fe80::1",
            "fc00::1",
            "64:ff9b::a00:1",
            "240.0.0.1",
        ] {
            assert!(
                !AddressPolicy::PublicOnly.allows(ip(addr)),
                "{addr} must be refused"
            );
        }
        for addr in ["93.184.215.14", "2606:4700::1111", "64:ff9b::5db8:d70e"] {
            assert!(
                AddressPolicy::PublicOnly.allows(ip(addr)),
                "{addr} must be allowed"
            );
        }
    }

    #[test]
    fn loopback_mode_allows_only_loopback() {
        let loopback = AddressPolicy::Within(AddressPolicy::loopback_networks().into());
        assert!(loopback.allows(ip("127.0.0.1")));
        assert!(loopback.allows(ip("127.8.9.10")));
        assert!(loopback.allows(ip("::1")));
        assert!(loopback.allows(ip("::ffff:127.0.0.1")));
        for addr in [
            "10.0.0.1",
            "93.184.215.14",
            "169.254.169.254",
            "0.0.0.0",
            "::2",
        ] {
            assert!(!loopback.allows(ip(addr)), "{addr} must be refused");
        }
    }

    #[test]
    fn a_private_network_allows_its_own_addresses_and_nothing_else() {
        let network: IpNet = "172.30.0.0/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let closed = AddressPolicy::Within(vec![network].into());
        assert!(closed.allows(ip("172.30.0.2")));
        assert!(closed.allows(ip("::ffff:172.30.0.9")));
        for addr in [
            "172.30.1.2",
            "172.16.0.1",
            "127.0.0.1",
            "93.184.215.14",
            "169.254.169.254",
        ] {
            assert!(!closed.allows(ip(addr)), "{addr} must be refused");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused() {
        let table = StaticLookup(HashMap::from([
            ("clinic.example".to_owned(), vec![ip("10.0.0.7")]),
            (
                "mixed.example".to_owned(),
                vec![ip("93.184.215.14"), ip("192.168.0.1")],
            ),
            ("public.example".to_owned(), vec![ip("93.184.215.14")]),
        ]));
        let resolver = GuardedResolver::new(AddressPolicy::PublicOnly, Arc::new(table));
        for host in ["clinic.example", "CLINIC.example.", "mixed.example"] {
            let err = resolver.resolve_checked(host).await.err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(io::ErrorKind::PermissionDenied),
                "{host}"
            );
        }
        assert!(resolver.resolve_checked("public.example").await.is_ok());
    }
}
