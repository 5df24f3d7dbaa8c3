//! Key -> slot -> owner shard: Redis Cluster's CRC16 slot function with `{hash tags}`.

/// Number of hash slots, as Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16-CCITT (XMODEM), the polynomial Redis Cluster uses, table-driven.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut j = 0;
        while j < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            j += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC16 of `data` as Redis Cluster computes it.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC16_TABLE[(((crc >> 8) as u8) ^ b) as usize];
    }
    crc
}

/// The part of `key` that is hashed: the content of the first `{...}` if non-empty.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = memchr::memchr(b'{', key) {
        if let Some(close) = memchr::memchr(b'}', &key[open + 1..]) {
            if close > 0 {
                return &key[open + 1..open + 1 + close];
            }
        }
    }
    key
}

/// The cluster slot of `key`.
pub fn slot_of(key: &[u8]) -> usize {
    (crc16(hash_tag(key)) as usize) & (SLOTS - 1)
}

/// The shard that owns `slot` when `shards` shards split the slots in contiguous ranges
/// (so a later cluster mode can hand out ranges without re-hashing keys).
pub fn shard_of_slot(slot: usize, shards: usize) -> usize {
    slot * shards / SLOTS
}

/// The owner shard of `key`.
pub fn shard_of(key: &[u8], shards: usize) -> usize {
    if shards == 1 {
        0
    } else {
        shard_of_slot(slot_of(key), shards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Reference values from `CLUSTER KEYSLOT` on redis-server.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"bar"), 5061);
        assert_eq!(
            slot_of(b"{user1000}.following"),
            slot_of(b"{user1000}.followers")
        );
        assert_eq!(slot_of(b"foo{}{bar}"), slot_of(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
    }

    #[test]
    fn every_slot_has_an_owner_in_range() {
        for n in 1..9 {
            assert_eq!(shard_of_slot(0, n), 0);
            assert_eq!(shard_of_slot(SLOTS - 1, n), n - 1);
        }
    }
}
