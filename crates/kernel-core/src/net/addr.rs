//! Socket addresses as the program passes them (struct sockaddr_un, sockaddr_in, sockaddr_in6) and as
//! nutshell keeps them. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are kept as IPv4 inside, so that
//! an AF_INET6 socket that is not IPV6_V6ONLY talks to IPv4 peers; they are mapped back when an AF_INET6
//! socket reports them.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::consts::*;
use crate::errno::Errno;

/// The name of an AF_UNIX socket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnixAddr {
    /// Not bound (getsockname shows only the family).
    Unnamed,
    /// A path in the filesystem, as given (without the terminating NUL).
    Path(Vec<u8>),
    /// A name in the abstract namespace (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

/// Longest sun_path.
pub const UNIX_PATH_MAX: usize = 108;

/// Parse a struct sockaddr_un of `len` bytes (`len` 2: the unnamed address, used for autobind).
pub fn parse_unix(b: &[u8]) -> Result<UnixAddr, Errno> {
    if b.len() < 2 || b.len() > 2 + UNIX_PATH_MAX {
        return Err(EINVAL);
    }
    if u32::from(u16::from_le_bytes([b[0], b[1]])) != AF_UNIX {
        return Err(EINVAL);
    }
    let path = &b[2..];
    if path.is_empty() {
        return Ok(UnixAddr::Unnamed);
    }
    if path[0] == 0 {
        return Ok(UnixAddr::Abstract(path[1..].to_vec()));
    }
    let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
    Ok(UnixAddr::Path(path[..end].to_vec()))
}

/// struct sockaddr_un bytes of `a` (a path with its NUL, as Linux reports it).
pub fn encode_unix(a: &UnixAddr) -> Vec<u8> {
    let mut out = (AF_UNIX as u16).to_le_bytes().to_vec();
    match a {
        UnixAddr::Unnamed => {}
        UnixAddr::Path(p) => {
            out.extend_from_slice(p);
            if p.len() < UNIX_PATH_MAX {
                out.push(0);
            }
        }
        UnixAddr::Abstract(n) => {
            out.push(0);
            out.extend_from_slice(n);
        }
    }
    out
}

/// An IPv4-mapped IPv6 address as IPv4; others unchanged.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parse a struct sockaddr_in (`family` AF_INET) or sockaddr_in6 (AF_INET6) for a socket of `family`.
/// Linux's checks: a short address is EINVAL, another family EAFNOSUPPORT.
pub fn parse_inet(family: u32, b: &[u8]) -> Result<SocketAddr, Errno> {
    if b.len() < 2 {
        return Err(EINVAL);
    }
    let fam = u32::from(u16::from_le_bytes([b[0], b[1]]));
    match family {
        AF_INET => {
            if b.len() < 16 {
                return Err(EINVAL);
            }
            if fam != AF_INET {
                // AF_UNSPEC with INADDR_ANY is accepted as AF_INET by bind (see inet_bind).
                if !(fam == AF_UNSPEC && b[4..8] == [0; 4]) {
                    return Err(EAFNOSUPPORT);
                }
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Ok(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        AF_INET6 => {
            if b.len() < 24 {
                return Err(EINVAL);
            }
            if fam != AF_INET6 {
                return Err(EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let scope = if b.len() >= 28 {
                u32::from_le_bytes([b[24], b[25], b[26], b[27]])
            } else {
                0
            };
            let ip = Ipv6Addr::from(a);
            Ok(match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
                None => SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope)),
            })
        }
        _ => Err(EAFNOSUPPORT),
    }
}

/// The struct sockaddr of `a` as a socket of `family` reports it.
pub fn encode_inet(family: u32, a: &SocketAddr) -> Vec<u8> {
    if family == AF_INET {
        let mut out = alloc::vec![0u8; 16];
        out[0..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
        out[2..4].copy_from_slice(&a.port().to_be_bytes());
        if let IpAddr::V4(v4) = a.ip() {
            out[4..8].copy_from_slice(&v4.octets());
        }
        return out;
    }
    let mut out = alloc::vec![0u8; 28];
    out[0..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
    out[2..4].copy_from_slice(&a.port().to_be_bytes());
    match a {
        SocketAddr::V4(v4) => {
            let ip = if v4.ip().is_unspecified() {
                Ipv6Addr::UNSPECIFIED
            } else {
                v4.ip().to_ipv6_mapped()
            };
            out[8..24].copy_from_slice(&ip.octets());
        }
        SocketAddr::V6(v6) => {
            out[4..8].copy_from_slice(&v6.flowinfo().to_be_bytes());
            out[8..24].copy_from_slice(&v6.ip().octets());
            out[24..28].copy_from_slice(&v6.scope_id().to_le_bytes());
        }
    }
    out
}

/// The unspecified address of a socket family, port 0.
pub fn any_addr(family: u32) -> SocketAddr {
    if family == AF_INET6 {
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))
    } else {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    }
}

/// The loopback address of the same IP version as `ip`.
pub fn loopback_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}
