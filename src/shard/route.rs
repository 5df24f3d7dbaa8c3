//! Key -> slot -> owner shard: Redis Cluster's CRC16 slot function with `{hash tags}`.

/// Number of hash slots, as Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16-CCITT (XMODEM), the polynomial Redis Cluster uses, sliced by 8: `CRC16_TABLES[k][b]`
/// is the CRC of byte `b` followed by `k` zero bytes. The CRC is linear, so eight bytes fold
/// into the state at once — the first two mixed with the state's two bytes, the other six
/// alone — with eight independent table reads instead of a chain of eight dependent ones.
const CRC16_TABLES: [[u16; 256]; 8] = {
    let mut t = [[0u16; 256]; 8];
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
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            // One more zero byte after what t[k - 1][i] covers.
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// CRC16 of `data` as Redis Cluster computes it.
pub fn crc16(data: &[u8]) -> u16 {
    let t = &CRC16_TABLES;
    let mut crc: u16 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        crc = t[7][((crc >> 8) as u8 ^ c[0]) as usize]
            ^ t[6][(crc as u8 ^ c[1]) as usize]
            ^ t[5][c[2] as usize]
            ^ t[4][c[3] as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc << 8) ^ t[0][(((crc >> 8) as u8) ^ b) as usize];
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
    fn the_sliced_crc_is_the_bytewise_one() {
        let bytewise = |data: &[u8]| {
            let mut crc: u16 = 0;
            for &b in data {
                crc = (crc << 8) ^ CRC16_TABLES[0][(((crc >> 8) as u8) ^ b) as usize];
            }
            crc
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..100 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_eq!(crc16(&data), bytewise(&data), "length {len}");
        }
    }

    #[test]
    fn every_slot_has_an_owner_in_range() {
        for n in 1..9 {
            assert_eq!(shard_of_slot(0, n), 0);
            assert_eq!(shard_of_slot(SLOTS - 1, n), n - 1);
        }
    }
}
