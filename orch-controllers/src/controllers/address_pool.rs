//! `Ipv4Pool`: hands out fixed-size IPv4 blocks (a /24 per node, a /32 per load balancer) from a range.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Errors of the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The range or block size is not valid CIDR.
    #[error("invalid range {range:?}: {reason}")]
    InvalidRange {
        /// The text given.
        range: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Every block is taken.
    #[error("the pool {0} is exhausted")]
    Exhausted(String),
    /// The requested block belongs to someone else or is outside the pool.
    #[error("{block} is not available: {reason}")]
    Unavailable {
        /// The block asked for.
        block: String,
        /// Why.
        reason: &'static str,
    },
}

/// Blocks of `/block_prefix` inside `base/prefix`, each owned by a name; allocation is
/// deterministic (lowest free block after the last one handed out, wrapping).
///
/// ```
/// use orch_controllers::controllers::address_pool::Ipv4Pool;
/// let mut pool = Ipv4Pool::new("127.64.0.0/10", 24).unwrap();
/// assert_eq!(pool.allocate("node-a").unwrap(), "127.64.0.0/24");
/// assert_eq!(pool.allocate("node-b").unwrap(), "127.64.1.0/24");
/// assert_eq!(pool.allocate("node-a").unwrap(), "127.64.0.0/24"); // idempotent
/// pool.release("node-a");
/// assert_eq!(pool.allocated(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct Ipv4Pool {
    range: String,
    base: u32,
    block_prefix: u8,
    blocks: u32,
    used: BTreeMap<u32, String>,
    by_owner: BTreeMap<String, u32>,
    next: u32,
}

fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, prefix) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some((u32::from(ip), prefix))
}

impl Ipv4Pool {
    /// Blocks of `/block_prefix` in `range` (CIDR).
    ///
    /// # Errors
    /// `InvalidRange` for malformed CIDR, host bits set, or blocks larger than the range.
    pub fn new(range: &str, block_prefix: u8) -> Result<Self, PoolError> {
        let invalid = |reason| PoolError::InvalidRange { range: range.to_owned(), reason };
        let (base, prefix) = parse_cidr(range).ok_or(invalid("expected a.b.c.d/n"))?;
        if block_prefix > 32 || block_prefix < prefix {
            return Err(invalid("blocks must fit in the range"));
        }
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        if base & !mask != 0 {
            return Err(invalid("host bits are set"));
        }
        Ok(Self::masked(Ipv4Addr::from(base), prefix, block_prefix))
    }

    /// A pool from parts, never failing: the prefix is capped at 32, the block size kept within
    /// the range, and host bits cleared.
    pub fn masked(addr: Ipv4Addr, prefix: u8, block_prefix: u8) -> Self {
        let prefix = prefix.min(32);
        let block_prefix = block_prefix.clamp(prefix, 32);
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let base = u32::from(addr) & mask;
        let blocks = 1u64 << (block_prefix - prefix);
        Ipv4Pool {
            range: format!("{}/{prefix}", Ipv4Addr::from(base)),
            base,
            block_prefix,
            blocks: u32::try_from(blocks).unwrap_or(u32::MAX),
            used: BTreeMap::new(),
            by_owner: BTreeMap::new(),
            next: 0,
        }
    }

    fn render(&self, slot: u32) -> String {
        let step = 1u64 << (32 - self.block_prefix);
        let addr = Ipv4Addr::from((self.base as u64 + slot as u64 * step) as u32);
        if self.block_prefix == 32 { addr.to_string() } else { format!("{addr}/{}", self.block_prefix) }
    }

    fn slot_of(&self, block: &str) -> Option<u32> {
        let (addr, prefix) = match block.split_once('/') {
            Some(_) => parse_cidr(block)?,
            None => (u32::from(block.parse::<Ipv4Addr>().ok()?), 32),
        };
        if prefix != self.block_prefix || addr < self.base {
            return None;
        }
        let step = 1u64 << (32 - self.block_prefix);
        let off = (addr - self.base) as u64;
        (off % step == 0 && off / step < self.blocks as u64).then(|| (off / step) as u32)
    }

    /// The block of `owner`, allocating one if it has none.
    ///
    /// # Errors
    /// `Exhausted` when no block is free.
    pub fn allocate(&mut self, owner: &str) -> Result<String, PoolError> {
        if let Some(slot) = self.by_owner.get(owner) {
            return Ok(self.render(*slot));
        }
        for i in 0..self.blocks {
            let slot = (self.next + i) % self.blocks;
            if let std::collections::btree_map::Entry::Vacant(e) = self.used.entry(slot) {
                e.insert(owner.to_owned());
                self.by_owner.insert(owner.to_owned(), slot);
                self.next = (slot + 1) % self.blocks;
                return Ok(self.render(slot));
            }
        }
        Err(PoolError::Exhausted(self.range.clone()))
    }

    /// Records that `owner` holds `block` (after a restart, or a requested address).
    ///
    /// # Errors
    /// `Unavailable` when the block is outside the pool or held by another owner.
    pub fn reserve(&mut self, owner: &str, block: &str) -> Result<(), PoolError> {
        let unavailable = |reason| PoolError::Unavailable { block: block.to_owned(), reason };
        let slot = self.slot_of(block).ok_or(unavailable("outside the pool"))?;
        match self.used.get(&slot) {
            Some(o) if o == owner => Ok(()),
            Some(_) => Err(unavailable("held by another owner")),
            None => {
                if let Some(old) = self.by_owner.insert(owner.to_owned(), slot) {
                    self.used.remove(&old);
                }
                self.used.insert(slot, owner.to_owned());
                Ok(())
            }
        }
    }

    /// Whether `block` lies in this pool.
    pub fn contains(&self, block: &str) -> bool {
        self.slot_of(block).is_some()
    }

    /// Frees the block of `owner`; returns it.
    pub fn release(&mut self, owner: &str) -> Option<String> {
        let slot = self.by_owner.remove(owner)?;
        self.used.remove(&slot);
        Some(self.render(slot))
    }

    /// The block held by `owner`.
    pub fn block_of(&self, owner: &str) -> Option<String> {
        self.by_owner.get(owner).map(|s| self.render(*s))
    }

    /// Blocks in use.
    pub fn allocated(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_hands_out_each_block_once_until_exhausted() {
        let mut p = Ipv4Pool::new("10.0.0.0/30", 32).unwrap();
        let got: Vec<String> = (0..4).map(|i| p.allocate(&format!("o{i}")).unwrap()).collect();
        assert_eq!(got, ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert!(matches!(p.allocate("o4"), Err(PoolError::Exhausted(_))));
        p.release("o1");
        assert_eq!(p.allocate("o4").unwrap(), "10.0.0.1");
    }

    #[test]
    fn reserve_refuses_blocks_of_others_and_outside_the_range() {
        let mut p = Ipv4Pool::new("127.64.0.0/10", 24).unwrap();
        p.reserve("a", "127.64.5.0/24").unwrap();
        assert!(p.reserve("b", "127.64.5.0/24").is_err());
        assert!(p.reserve("b", "10.0.0.0/24").is_err());
        assert!(p.reserve("b", "127.64.5.1/24").is_err());
        assert_eq!(p.allocate("a").unwrap(), "127.64.5.0/24");
    }

    #[test]
    fn malformed_ranges_are_rejected() {
        for (r, b) in [("127.64.0.1/10", 24), ("nope", 24), ("127.64.0.0/24", 16), ("1.2.3.4/33", 32)] {
            assert!(Ipv4Pool::new(r, b).is_err(), "{r}");
        }
    }
}
