//! Any 11 bytes decode to a fill, and its encoding decodes to the same fill.
#![no_main]

use clearshard_engine::{Fill, FILL_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: [u8; FILL_LEN]| {
    let fill = Fill::decode(&bytes);
    assert!(fill.market_slot < 0x80);
    assert_eq!(Fill::decode(&fill.encode()), fill);
    assert_eq!(fill.taker_delta().unsigned_abs(), u64::from(fill.quantity_lots));
});
