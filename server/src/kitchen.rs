//! The kitchen's rules as plain functions, with no SQL and no threads: reading a menu
//! file, routing an order's items to stations, item bumps and what they do to the
//! order, when a held order fires, and speed-of-service figures. The store's writer
//! applies them inside its transactions.

pub mod items;
pub mod menu_file;
pub mod routing;
pub mod schedule;
pub mod speed;
