//! Text as chit's terminal clients (`chit`, `chit-kitchen`, `chit-rider`) show it:
//! cut, padded and wrapped by the columns a terminal gives it, never splitting a
//! character from its combining marks ([`width`]), and times in the machine's local
//! time zone ([`clock`]). Nothing here knows about orders or the wire.

pub mod clock;
pub mod width;

pub use clock::{local_clock, local_clock_of, local_date_time, local_hm};
pub use width::{fit, pad, tail, width, wrap};
