//! The compact fill encoding: 11 bytes per fill, because every byte of
//! instruction data is a byte not available for another fill.
//!
//! | byte  | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 0     | taker: index of the taker's margin account in the batch      |
//! | 1     | maker: index of the maker's margin account in the batch      |
//! | 2     | bit 7: taker buys; bits 0..=6: market slot in the batch       |
//! | 3..7  | quantity in base lots, `u32` little-endian                   |
//! | 7..11 | price in ticks, `u32` little-endian                          |

pub const FILL_LEN: usize = 11;
const TAKER_BUYS: u8 = 0x80;
const MARKET_SLOT_MASK: u8 = 0x7f;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub taker: u8,
    pub maker: u8,
    pub market_slot: u8,
    pub taker_buys: bool,
    pub quantity_lots: u32,
    pub price_ticks: u32,
}

impl Fill {
    #[inline(always)]
    pub fn decode(bytes: &[u8; FILL_LEN]) -> Fill {
        Fill {
            taker: bytes[0],
            maker: bytes[1],
            market_slot: bytes[2] & MARKET_SLOT_MASK,
            taker_buys: bytes[2] & TAKER_BUYS != 0,
            quantity_lots: u32::from_le_bytes([bytes[3], bytes[4], bytes[5], bytes[6]]),
            price_ticks: u32::from_le_bytes([bytes[7], bytes[8], bytes[9], bytes[10]]),
        }
    }

    /// Encodes the fill; the market slot keeps its low seven bits.
    pub fn encode(&self) -> [u8; FILL_LEN] {
        let q = self.quantity_lots.to_le_bytes();
        let p = self.price_ticks.to_le_bytes();
        let side = if self.taker_buys { TAKER_BUYS } else { 0 };
        [
            self.taker,
            self.maker,
            side | (self.market_slot & MARKET_SLOT_MASK),
            q[0],
            q[1],
            q[2],
            q[3],
            p[0],
            p[1],
            p[2],
            p[3],
        ]
    }

    /// Signed base change of the taker (the maker gets the opposite).
    #[inline(always)]
    pub fn taker_delta(&self) -> i64 {
        if self.taker_buys {
            i64::from(self.quantity_lots)
        } else {
            i64::from(self.quantity_lots).wrapping_neg()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let fill = Fill {
            taker: 63,
            maker: 2,
            market_slot: 5,
            taker_buys: true,
            quantity_lots: 0xdead_beef,
            price_ticks: 12_345_678,
        };
        let bytes = fill.encode();
        assert_eq!(bytes.len(), 11);
        assert_eq!(Fill::decode(&bytes), fill);
        assert_eq!(fill.taker_delta(), 0xdead_beef_i64);
        let sell = Fill { taker_buys: false, ..fill };
        assert_eq!(Fill::decode(&sell.encode()).taker_delta(), -0xdead_beef_i64);
    }
}
