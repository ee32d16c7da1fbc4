//! The kitchen display and rider console (to come).
