//! The frame decoder: any text either decodes into a request that survives a round trip
//! through JSON, or is refused with `bad_request`; it never panics. A request decodes
//! exactly as `ClientFrame`'s derived parser reads it (the server reads the common ones
//! its own quicker way).
#![no_main]

use chit_protocol::ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match chit_server::parse_frame(text) {
        Ok(frame) => {
            let derived = serde_json::from_str::<chit_protocol::ClientFrame>(text).ok();
            assert_eq!(derived.as_ref(), Some(&frame), "read otherwise than derived: {text}");
            let again = serde_json::to_string(&frame).expect("a decoded frame serializes");
            let back = chit_server::parse_frame(&again)
                .unwrap_or_else(|(_, r)| panic!("{again} does not decode again: {r}"));
            assert_eq!(back, frame, "round trip changed {text}");
        }
        Err((_, refusal)) => assert_eq!(refusal.code, ErrorCode::BadRequest),
    }
});
